"""A reseller closes a period for its own book from the portal; it sees its own closes and the operator's
runs of every book, never another reseller's."""

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import Customer
from billing.invoicing.close.services import close_period, period_close_book
from billing.invoicing.models import PeriodClose
from billing.terms.services import customer_onboard
from tests.billing.customers.conftest import member

pytestmark = pytest.mark.django_db

LAST_YEAR = f"{timezone.localdate().year - 1}-11"


def test_the_owner_closes_a_period_for_its_book(as_owner, seller, credit):
    response = as_owner.post(reverse("portal-seller-close"), {"period": LAST_YEAR})

    assert response.status_code == 302
    run = PeriodClose.objects.get()
    assert (run.period, run.book, run.all_books, run.state) == (LAST_YEAR, seller, False, "done")
    assert run.started_by.membership.customer == seller


def test_a_period_not_ended_is_refused_with_the_reason(as_owner):
    this_month = timezone.localdate().strftime("%Y-%m")
    response = as_owner.post(reverse("portal-seller-close"), {"period": this_month})

    assert response.status_code == 200
    assert "can only be closed after it has ended" in response.content.decode()
    assert not PeriodClose.objects.exists()


def test_a_viewer_sees_the_closes_but_cannot_run_one(client, seller):
    client.force_login(member(seller, "v@example.com", "viewer"))
    page = client.get(reverse("portal-seller-close"))
    assert page.status_code == 200 and page.context["form"] is None
    assert client.post(reverse("portal-seller-close"), {"period": LAST_YEAR}).status_code == 403
    assert not PeriodClose.objects.exists()


def test_the_list_shows_its_own_and_the_operators_closes_only(as_owner, seller):
    other = customer_onboard(
        name="Other",
        code="other-s",
        kind=Customer.Kind.SUB_DISTRIBUTOR,
        parent=None,
        language="en",
        contact_email="",
        mode="prepaid",
        currency="CNY",
    )
    period_close_book(
        book=other, period=f"{timezone.localdate().year - 1}-09", actor=member(other, "o@x.com")
    )
    close_period(f"{timezone.localdate().year - 1}-10")
    as_owner.post(reverse("portal-seller-close"), {"period": LAST_YEAR})

    shown = [(c.period, c.all_books) for c in as_owner.get(reverse("portal-seller-close")).context["closes"]]

    assert sorted(shown) == [(f"{timezone.localdate().year - 1}-10", True), (LAST_YEAR, False)]
