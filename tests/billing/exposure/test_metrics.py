"""DSO, DPO, days of prepaid cover and the cash conversion cycle: the golden, and a small ledger by hand."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from billing.exposure.metrics import ccc, cover_days, cycle_metrics, dpo, dso
from billing.receivables.credit_notes import credit_note_issue
from billing.receivables.services import payment_record
from billing.upstream.bills import vendor_bill_record
from billing.upstream.models import VendorBill
from billing.upstream.packs import upstream_pack_buy
from billing.upstream.vendor_payments import vendor_payment_record
from tests.billing.factories import staff
from tests.billing.invoicing.factories import issued_invoice
from tests.billing.upstream.ledger.conftest import at, buy, channel, model, postpaid_channel, usage  # noqa: F401
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db
D = Decimal


def test_dso_golden_and_undefined_without_sales():
    assert dso(D("50000"), D("200000"), 365) == D("91.25")
    assert dso(D("50000"), D("0"), 365) is None
    assert dso(D("1"), D("-5"), 90) is None


def test_dpo_cover_and_ccc_by_hand():
    assert dpo(D("30"), D("136"), 90) == D("19.85")  # 19.8529…
    assert cover_days(D("90"), D("46"), 90) == D("176.09")  # 176.0869…
    assert ccc(D("70.00"), D("176.09"), D("19.85")) == D("226.24")
    assert ccc(None, D("1"), D("1")) is None
    assert dpo(D("5"), D("0"), 90) is None


def test_cycle_on_a_small_ledger(channel, postpaid_channel, usage):  # noqa: F811 (fixtures)
    """Hand-computed over the 90 days ending today (usage postings are effective on the day ingested).

    Sales: invoices 300 + 200, a credit note of 50, a payment of 100 → receivables 350, credit sales 450,
    DSO = 350 ÷ 450 × 90 = 70.00. Purchases: a 100 prepayment from the bank, a 20 pack on invoice, the
    postpaid channel's 15 accrued and its invoice's 1 variance = 136 (the invoice's move of the accrual to
    payables and the 6 paid are not purchases). Payables 30 = 20 + 16 − 6; DPO = 30 ÷ 136 × 90 = 19.85.
    Cost of tokens 30 + 15 + 1 = 46; prepaid 120 − 30 = 90; cover = 90 ÷ 46 × 90 = 176.09.
    CCC = 70.00 + 176.09 − 19.85 = 226.24.
    """
    today = timezone.localdate()
    finance = staff("finance")
    acme = CustomerFactory(name="Acme Agents")
    first = issued_invoice(acme, "300.00", issue_date=today - timedelta(days=60))
    second = issued_invoice(acme, "200.00", issue_date=today - timedelta(days=30))
    credit_note_issue(
        invoice=second,
        reason="discount",
        amount=D("50.00"),
        actor=finance,
        idempotency_key="cn-1",
        issue_date=today - timedelta(days=20),
    )
    payment_record(
        customer=acme,
        amount=D("100.00"),
        currency="CNY",
        received_on=today - timedelta(days=10),
        reference="ICBC-1",
        actor=finance,
        idempotency_key="pay-1",
        allocate=[(first, D("100.00"))],
    )
    buy(channel, "TOPUP", "100", kind="prepayment", bought=today - timedelta(days=40))
    upstream_pack_buy(
        channel=channel,
        kind="prepayment",
        reference="PACK-2",
        price=D("20"),
        purchased_at=at(today - timedelta(days=5)),
        payment="payable",
    )
    usage(today - timedelta(days=3), 10_000)  # 30 at contract cost, drawn from the prepaid channel
    usage(today - timedelta(days=3), 5_000, account="deepseek-post")  # 15 accrued on the postpaid one
    bill, _ = vendor_bill_record(
        channel=postpaid_channel,
        number="V-1",
        kind=VendorBill.Kind.USAGE,
        month=today,
        amount=D("16.00"),
        currency="CNY",
        issued_on=today,
    )
    vendor_payment_record(bill=bill, amount=D("6.00"), paid_on=today, reference="BANK-1")

    metrics = cycle_metrics(window_days=90)

    assert (metrics.receivables, metrics.credit_sales) == (D("350.00"), D("450.00"))
    assert (metrics.payables, metrics.purchases) == (D("30.00"), D("136.00"))
    assert (metrics.upstream_prepaid, metrics.daily_cost) == (D("90.00"), (D("46") / 90).quantize(D("0.01")))
    assert (metrics.dso, metrics.dpo, metrics.cover_days, metrics.ccc) == (
        D("70.00"),
        D("19.85"),
        D("176.09"),
        D("226.24"),
    )
    # the same day read from history (entries by effective date) gives the same cycle
    assert cycle_metrics(today, window_days=90) == metrics
    # 25 days ago, before the credit note, the payment, the second pack, the usage and the vendor invoice:
    # receivables 500 over sales 500, the 100 prepayment bought and nothing owed or consumed
    before = cycle_metrics(today - timedelta(days=25), window_days=90)
    assert (before.receivables, before.credit_sales, before.dso) == (D("500.00"), D("500.00"), D("90.00"))
    assert (before.purchases, before.payables, before.dpo) == (D("100.00"), D("0.00"), D("0.00"))
    assert (before.upstream_prepaid, before.cover_days, before.ccc) == (D("100.00"), None, None)
    # a window that starts after the invoices sees only the credit note: no sales, no DSO, no CCC
    short = cycle_metrics(today, window_days=25)
    assert short.credit_sales == D("-50.00") and short.dso is None and short.ccc is None


def test_a_missing_rate_names_the_pair_and_counts_nothing():
    today = timezone.localdate()
    issued_invoice(CustomerFactory(name="Dollar Co"), "100.00", currency="USD", issue_date=today)

    metrics = cycle_metrics(today)

    assert metrics.missing_rates == (f"USD→CNY {today:%Y-%m-%d}",)
    assert metrics.dso is None and metrics.receivables is None and metrics.ccc is None
    assert "USD→CNY" in metrics.reason
