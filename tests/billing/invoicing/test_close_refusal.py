"""A refused close says why: on the form before anything is queued, in the list when the worker refuses."""

import pytest
from django.urls import reverse
from django.utils import translation

from accounts.models import StaffRole
from billing.invoicing.models import PeriodClose
from billing.invoicing.tasks import period_close_task
from tests.billing.factories import staff

pytestmark = pytest.mark.django_db


def test_a_close_of_a_period_not_ended_is_refused_on_the_page_with_its_reason(client, eager_celery):
    client.force_login(staff(StaffRole.FINANCE))
    response = client.post(reverse("staff-period-closes"), {"period": "2099-01"})
    assert response.status_code == 400
    assert "a period can only be closed after it has ended" in response.content.decode()
    assert not PeriodClose.objects.exists()  # nothing queued
    with translation.override("en"):  # the request switches to Chinese; the tests after it must not
        chinese = client.post(
            reverse("staff-period-closes"), {"period": "2099-01"}, HTTP_ACCEPT_LANGUAGE="zh-hans"
        )
    assert "期间只能在结束后才能结账" in chinese.content.decode()


def test_a_close_refused_on_the_worker_shows_its_reason_in_the_list(client):
    with translation.override("en"):  # the worker's language
        period_close_task("2099-01")
    record = PeriodClose.objects.get()
    assert record.state == PeriodClose.State.FAILED and "after it has ended" in record.error
    client.force_login(staff(StaffRole.AUDITOR))
    page = client.get(reverse("staff-period-closes")).content.decode()
    assert 'data-testid="close-error"' in page and "a period can only be closed after it has ended" in page
