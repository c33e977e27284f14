"""Figures far beyond the plausible answer with a page and a field error, never a 500: a huge prepayment
with almost no burn (days of cover past the calendar), validity and dates typed with too many digits."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import StaffRole
from billing.ledger.verify import ledger_problems
from billing.upstream.alerts import cover_alerts
from billing.upstream.bills import vendor_bill_record
from billing.upstream.cover import MAX_COVER_DAYS, cover_for_channels
from billing.upstream.models import UpstreamPack
from billing.upstream.packs import upstream_pack_buy
from tests.billing.factories import staff
from tests.billing.upstream.ledger.conftest import at, buy

pytestmark = pytest.mark.django_db


@pytest.fixture
def finance():
    client = Client(raise_request_exception=False)
    client.force_login(staff(StaffRole.FINANCE))
    return client


def test_a_big_prepayment_with_one_test_request_lasts_more_than_ten_years(finance, channel, usage):
    channel.low_cover_days = 7
    channel.save(update_fields=["low_cover_days"])
    buy(channel, "TOPUP", "10000", kind="prepayment")
    today = timezone.localdate()
    usage(today - timedelta(days=1), 1)  # one test request: 0.003 a week
    cover = cover_for_channels([channel], today=today)[channel.pk]
    assert cover.days > MAX_COVER_DAYS and cover.beyond
    assert cover.runs_out_on is None and not cover.low
    assert cover_alerts(today=today) == []
    listing = finance.get(reverse("upstream-ledger"))
    page = finance.get(reverse("upstream-ledger-channel", args=[channel.pk]))
    csv = finance.get(reverse("upstream-ledger") + "?format=csv")
    assert (listing.status_code, page.status_code, csv.status_code) == (200, 200, 200)
    assert "10 years" in listing.content.decode()
    assert "10 years" in page.content.decode()
    assert "runs out about" not in page.content.decode()
    assert ledger_problems() == []


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"validity_days": "999999999"}, "validity_days"),
        ({"validity_days": "3000000"}, "validity_days"),
        ({"expires_on": "9999-12-31"}, "expires_on"),
        ({"starts_on": "9999-12-30"}, "starts_on"),
        ({"purchased_on": "9999-12-31"}, "purchased_on"),
        ({"price": "12345678901234567890123"}, "price"),
    ],
)
def test_purchase_form_answers_far_values_on_the_field(finance, channel, extra, field):
    data = {
        "kind": "amount",
        "reference": "R1",
        "price": "10",
        "credit": "10",
        "purchased_on": "2026-01-01",
        "payment": "bank",
        **extra,
    }
    response = finance.post(reverse("upstream-ledger-buy", args=[channel.pk]), data)
    assert response.status_code == 400
    assert field in response.context["purchase_form"].errors
    assert not UpstreamPack.objects.exists()


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"validity_days": 3_000_000}, "validity_days"),
        ({"expires_at": at(date(9999, 12, 31))}, "expires_at"),
        ({"starts_at": at(date(9999, 12, 30))}, "starts_at"),
    ],
)
def test_purchase_service_refuses_far_dates_on_the_field(channel, arguments, field):
    with pytest.raises(ValidationError) as caught:
        upstream_pack_buy(
            channel=channel,
            kind="amount",
            reference="R1",
            price=Decimal("10"),
            credit=Decimal("10"),
            purchased_at=at(date(2026, 1, 1)),
            payment="bank",
            **arguments,
        )
    assert field in caught.value.message_dict


@pytest.mark.parametrize(
    "extra",
    [
        {"issued_on": "9999-12-31"},
        {"due_on": "9999-12-31"},
        {"amount": "12345678901234567890123"},
        {"month": "99999-01"},
    ],
)
def test_invoice_form_answers_far_values_without_a_500(finance, postpaid_channel, extra):
    data = {"number": "INV-1", "kind": "usage", "month": "2026-01", "amount": "6", "issued_on": "2026-02-03"}
    response = finance.post(reverse("upstream-ledger-bill", args=[postpaid_channel.pk]), data | extra)
    assert response.status_code in (302, 400)
    if response.status_code == 400:
        assert response.context["bill_form"].errors
    assert ledger_problems() == []


@pytest.mark.parametrize("extra", [{"paid_on": "9999-12-31"}, {"amount": "12345678901234567890123"}])
def test_payment_form_answers_far_values_without_a_500(finance, postpaid_channel, extra):
    bill, _ = vendor_bill_record(
        channel=postpaid_channel,
        number="INV-1",
        kind="usage",
        month=date(2026, 1, 1),
        amount=Decimal("6"),
        currency="CNY",
        issued_on=date(2026, 2, 3),
    )
    data = {"bill": bill.pk, "amount": "6", "paid_on": "2026-02-10", "reference": "B-1"}
    response = finance.post(reverse("upstream-ledger-pay", args=[postpaid_channel.pk]), data | extra)
    assert response.status_code in (302, 400)
    assert ledger_problems() == []
