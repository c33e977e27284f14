"""Redis down: a price change that raises an alert commits and answers; the alert's e-mail waits in the
outbox for the task queue instead of failing the change after it committed."""

import pytest
from django.core import mail

from catalog.models import PriceAlert
from catalog.services.alerts import price_check_run
from common.models import OutboxTask
from common.outbox import outbox_drain
from tests.catalog.test_alerts import MAR, setup  # noqa: F401
from tests.common.redis_down import broker_back, broker_down  # noqa: F401
from tests.factories import StaffFactory


@pytest.mark.django_db
def test_a_new_alert_s_e_mail_is_kept_and_sent_once_the_queue_is_back(
    setup,  # noqa: F811
    broker_down,  # noqa: F811
    django_capture_on_commit_callbacks,
):
    StaffFactory(email="fin@op.example.com", staff_role="finance")
    with django_capture_on_commit_callbacks(execute=True):
        result = price_check_run(trigger="test", at=MAR)

    assert result.raised
    kept = OutboxTask.objects.get()
    assert kept.task == "catalog.tasks.notify_price_alerts_task"
    assert kept.args == [[a.pk for a in result.raised]]
    assert PriceAlert.objects.filter(resolved_at__isnull=True).count() == len(result.raised)
    assert mail.outbox == []

    broker_back(broker_down)
    assert outbox_drain().sent == 1
    assert [m.to for m in mail.outbox] == [["fin@op.example.com"]]
