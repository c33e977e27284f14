"""The upstream ledger pages: who may see and write them, what they show, their forms and CSV."""

import csv
import io
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import StaffRole
from billing.upstream.models import UpstreamPack, VendorBill, VendorPayment
from tests.billing.factories import staff
from tests.billing.upstream.ledger.conftest import buy

pytestmark = pytest.mark.django_db


def client_for(role):
    client = Client()
    client.force_login(staff(role))
    return client


@pytest.fixture
def finance():
    return client_for(StaffRole.FINANCE)


def urls(channel, bill=None):
    gets = [
        reverse("upstream-ledger"),
        reverse("upstream-ledger-channel", args=[channel.pk]),
        reverse("upstream-bills"),
        reverse("upstream-bills") + "?format=csv",
    ]
    posts = [
        reverse("upstream-ledger-buy", args=[channel.pk]),
        reverse("upstream-ledger-bill", args=[channel.pk]),
        reverse("upstream-ledger-pay", args=[channel.pk]),
        reverse("upstream-ledger-burn", args=[channel.pk]),
    ]
    return gets, posts


@pytest.mark.parametrize("role", [StaffRole.SALES, StaffRole.SUPPORT])
def test_sales_and_support_are_refused_everywhere(channel, role):
    client = client_for(role)
    gets, posts = urls(channel)
    assert [client.get(url).status_code for url in gets] == [403] * len(gets)
    assert [client.post(url, {}).status_code for url in posts] == [403] * len(posts)


def test_auditors_read_but_cannot_write(channel):
    client = client_for(StaffRole.AUDITOR)
    gets, posts = urls(channel)
    assert [client.get(url).status_code for url in gets] == [200] * len(gets)
    page = client.get(reverse("upstream-ledger-channel", args=[channel.pk])).content.decode()
    assert 'data-testid="purchase-form"' not in page
    reference = {
        "kind": "prepayment",
        "reference": "A-1",
        "price": "10",
        "purchased_on": "2026-01-01",
        "payment": "bank",
    }
    assert client.post(posts[0], reference).status_code == 403
    assert not UpstreamPack.objects.exists()


def test_anonymous_is_sent_to_sign_in(channel):
    response = Client().get(reverse("upstream-ledger"))
    assert response.status_code == 302


def test_ledger_list_shows_cover_with_a_warning_under_the_threshold(
    finance, channel, usage, postpaid_channel
):
    today = timezone.localdate()
    buy(channel, "TOPUP", "1", kind="prepayment", bought=today - timedelta(days=10))
    for offset in range(1, 4):
        usage(today - timedelta(days=offset), 100)  # 0.3 a day for 3 days: 0.9 in the week, 0.1286/day

    page = finance.get(reverse("upstream-ledger"))
    html = page.content.decode()
    assert page.status_code == 200
    assert "deepseek-main" in html and "deepseek-post" in html
    assert 'data-testid="low-cover"' in html  # 0.1 left ÷ 0.1286 a day < 7 days

    low_only = finance.get(reverse("upstream-ledger") + "?low=true").content.decode()
    assert "deepseek-main" in low_only and "deepseek-post" not in low_only

    exported = finance.get(reverse("upstream-ledger") + "?o=-days&format=csv")
    rows = list(csv.reader(io.StringIO(b"".join(exported.streaming_content).decode())))
    assert rows[0][:3] == ["channel", "vendor", "contract"]
    assert [r[0] for r in rows[1:]] == ["deepseek-main", "deepseek-post"]  # no days of cover: last
    ascending = finance.get(reverse("upstream-ledger") + "?o=days&format=csv")
    rows = list(csv.reader(io.StringIO(b"".join(ascending.streaming_content).decode())))
    assert [r[0] for r in rows[1:]] == ["deepseek-main", "deepseek-post"]
    assert rows[1][7] == "0.7"  # 0.1 left ÷ (0.9 ÷ 7) a day, floored to a tenth


def test_channel_page_shows_packs_in_burn_order_and_the_chart(finance, channel):
    buy(channel, "LATE-EXPIRY", "5", credit="5", expires=date(2030, 6, 1))
    buy(channel, "EARLY-EXPIRY", "5", credit="5", expires=date(2030, 1, 1))
    html = finance.get(reverse("upstream-ledger-channel", args=[channel.pk])).content.decode()
    assert html.index("EARLY-EXPIRY") < html.index("LATE-EXPIRY")
    assert 'id="ledger-chart-data"' in html


def test_record_a_purchase_then_an_invoice_and_pay_it(finance, postpaid_channel, channel):
    page = reverse("upstream-ledger-channel", args=[channel.pk])
    response = finance.post(
        reverse("upstream-ledger-buy", args=[channel.pk]),
        {
            "kind": "amount",
            "reference": "ORD-1",
            "price": "80",
            "credit": "100",
            "purchased_on": "2026-01-05",
            "validity_days": "30",
            "payment": "payable",
        },
    )
    assert response.status_code == 302 and response.url == page
    pack = UpstreamPack.objects.get(reference="ORD-1")
    assert (pack.price, pack.credit, timezone.localdate(pack.expires_at)) == (
        Decimal("80"),
        Decimal("100"),
        date(2026, 2, 4),
    )
    bill = VendorBill.objects.get(number="ORD-1")

    response = finance.post(
        reverse("upstream-ledger-pay", args=[channel.pk]),
        {"bill": bill.pk, "amount": "80", "paid_on": "2026-01-06", "reference": "BANK-7"},
    )
    assert response.status_code == 302
    bill.refresh_from_db()
    assert bill.state == VendorBill.State.PAID
    assert VendorPayment.objects.get().reference == "BANK-7"

    response = finance.post(
        reverse("upstream-ledger-bill", args=[postpaid_channel.pk]),
        {"number": "INV-9", "kind": "usage", "month": "2026-01", "amount": "12.5", "issued_on": "2026-02-02"},
    )
    assert response.status_code == 302
    assert VendorBill.objects.get(number="INV-9").due_on == date(2026, 3, 4)


def test_bad_input_comes_back_on_its_field_with_400(finance, channel):
    response = finance.post(
        reverse("upstream-ledger-buy", args=[channel.pk]),
        {
            "kind": "amount",
            "reference": "ORD-2",
            "price": "10",
            "purchased_on": "2026-01-05",
            "expires_on": "2025-12-01",
            "credit": "10",
            "payment": "bank",
        },
    )
    assert response.status_code == 400
    assert response.context["purchase_form"].errors["expires_on"]
    response = finance.post(
        reverse("upstream-ledger-bill", args=[channel.pk]),
        {"number": "X", "kind": "usage", "month": "2026-13", "amount": "1", "issued_on": "2026-02-02"},
    )
    assert response.status_code == 400
    assert response.context["bill_form"].errors["month"]
    response = finance.post(
        reverse("upstream-ledger-burn", args=[channel.pk]), {"day": timezone.localdate().isoformat()}
    )
    assert response.status_code == 400
    assert response.context["burn_form"].errors["day"]


def test_invoice_list_filters_by_status_and_exports_csv(finance, postpaid_channel):
    finance.post(
        reverse("upstream-ledger-bill", args=[postpaid_channel.pk]),
        {
            "number": "OLD-1",
            "kind": "usage",
            "month": "2026-01",
            "amount": "5",
            "issued_on": "2026-02-01",
            "due_on": "2026-02-10",
        },
    )
    overdue = finance.get(reverse("upstream-bills") + "?status=overdue").content.decode()
    assert "OLD-1" in overdue
    assert "OLD-1" not in finance.get(reverse("upstream-bills") + "?status=paid").content.decode()
    exported = finance.get(reverse("upstream-bills") + "?status=overdue&format=csv")
    rows = list(csv.reader(io.StringIO(b"".join(exported.streaming_content).decode())))
    assert rows[1][0] == "OLD-1" and rows[1][-2] == "overdue"
    assert exported["Content-Type"].startswith("text/csv")
