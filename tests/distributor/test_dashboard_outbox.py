"""The dashboard tells staff when notifications wait in the outbox for the task queue (issue 22)."""

import pytest
from django.utils import timezone

from accounts.models import StaffRole
from common.models import OutboxTask
from tests.common.redis_down import cache_down  # noqa: F401
from tests.distributor.test_dashboard import _fresh_cache, _page  # noqa: F401

pytestmark = pytest.mark.django_db

SIGN = 'data-testid="outbox-unsent"'
TASK = "billing.gateway.tasks.notify_gateway_webhook_task"


def _kept(count: int) -> None:
    for number in range(count):
        OutboxTask.objects.create(task=TASK, args=[number, {}])


def test_unsent_notifications_are_counted_for_support_and_finance(client):
    _kept(2)
    OutboxTask.objects.create(task=TASK, sent_at=timezone.now())

    for role in (StaffRole.SUPPORT, StaffRole.FINANCE):
        html = _page(client, role)
        assert SIGN in html and "2 notifications (webhooks or e-mails) are waiting" in html


def test_nothing_is_shown_when_all_was_sent_or_to_sales(client):
    OutboxTask.objects.create(task=TASK, sent_at=timezone.now())
    assert SIGN not in _page(client, StaffRole.FINANCE)

    _kept(1)
    assert SIGN not in _page(client, StaffRole.SALES)  # sales see no work queues


def test_with_the_cache_down_the_dashboard_still_answers_and_shows_the_count(client, cache_down):  # noqa: F811
    _kept(3)

    html = _page(client, StaffRole.FINANCE)

    assert "3 notifications (webhooks or e-mails) are waiting" in html
