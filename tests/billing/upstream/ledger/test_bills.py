"""Vendor invoices: recorded once, refused when a figure changes, and posted by what they bill."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from billing.ledger.models import AccountKind
from billing.ledger.verify import ledger_problems
from billing.upstream.bills import vendor_bill_record, vendor_bill_void
from billing.upstream.ledger_accounts import channel_account, vendor_expense
from billing.upstream.models import VendorBill
from tests.billing.upstream.ledger.conftest import COST_PER_REQUEST

pytestmark = pytest.mark.django_db
K = AccountKind


def record(channel, **overrides):
    fields = {
        "channel": channel,
        "number": "INV-2026-01",
        "kind": VendorBill.Kind.USAGE,
        "month": date(2026, 1, 1),
        "amount": Decimal("12.50"),
        "currency": "CNY",
        "issued_on": date(2026, 2, 3),
        "source": "test",
    }
    return vendor_bill_record(**(fields | overrides))


def test_same_invoice_twice_is_unchanged_and_a_changed_figure_is_refused_by_field(channel):
    bill, outcome = record(channel)
    assert outcome == "created"
    assert bill.due_on == date(2026, 3, 5)  # issued + the contract's 30 days
    again, outcome = record(channel, month=date(2026, 1, 17))
    assert (again.pk, outcome) == (bill.pk, "unchanged")

    for field, value in (
        ("amount", Decimal("12.60")),
        ("issued_on", date(2026, 2, 4)),
        ("month", date(2026, 2, 1)),
    ):
        with pytest.raises(ValidationError) as caught:
            record(channel, **{field: value})
        assert list(caught.value.message_dict) == [field]
        assert "INV-2026-01" in caught.value.message_dict[field][0]
    with pytest.raises(ValidationError) as caught:
        record(channel, due_on=date(2026, 4, 1))
    assert list(caught.value.message_dict) == ["due_on"]
    assert VendorBill.objects.count() == 1


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"number": "  "}, "number"),
        ({"kind": "refund"}, "kind"),
        ({"currency": "USD"}, "currency"),
        ({"amount": Decimal("0")}, "amount"),
        ({"amount": Decimal("1.005")}, "amount"),
        ({"amount": 12.5}, "amount"),
        ({"due_on": date(2026, 2, 1)}, "due_on"),
        ({"kind": VendorBill.Kind.PREPAYMENT}, "kind"),
    ],
)
def test_bad_input_names_the_field(channel, overrides, field):
    with pytest.raises(ValidationError) as caught:
        record(channel, **overrides)
    assert list(caught.value.message_dict) == [field]
    assert not VendorBill.objects.exists()


def test_prepaid_channel_usage_invoice_is_a_statement_without_posting(channel):
    bill, _ = record(channel)
    assert bill.transaction is None
    assert channel_account(channel, K.PAYABLE).balance == 0


def test_postpaid_invoice_moves_the_months_accrual_and_posts_the_variance(postpaid_channel, usage):
    # given: 1,000 requests used in January on the postpaid channel (the rollups keep their day)
    usage(date(2026, 1, 20), 1000, account="deepseek-post")
    accrued_cost = 1000 * COST_PER_REQUEST  # 3.000
    cost = vendor_expense(postpaid_channel)
    cost_before = cost.balance

    # when: the vendor invoices 3.20 for January
    bill, _ = record(postpaid_channel, amount=Decimal("3.20"))

    # then: 3.00 of accrual moves to payables and 0.20 is a cost variance
    entries = {e.account_id: e.amount for e in bill.transaction.entries.all()}
    assert entries[channel_account(postpaid_channel, K.PAYABLE).pk] == Decimal("-3.20")
    assert entries[channel_account(postpaid_channel, K.UPSTREAM_ACCRUED).pk] == accrued_cost
    assert entries[cost.pk] == Decimal("0.20")
    cost.refresh_from_db()
    assert cost.balance - cost_before == Decimal("0.20")

    # a second invoice for the same month finds nothing left to move: all of it is variance
    second, _ = record(postpaid_channel, number="INV-2026-01-B", amount=Decimal("1.00"))
    entries = {e.account_id: e.amount for e in second.transaction.entries.all()}
    assert channel_account(postpaid_channel, K.UPSTREAM_ACCRUED).pk not in entries
    assert entries[cost.pk] == Decimal("1.00")
    assert ledger_problems() == []


def test_invoice_below_the_accrual_credits_cost(postpaid_channel, usage):
    usage(date(2026, 1, 20), 1000, account="deepseek-post")
    bill, _ = record(postpaid_channel, amount=Decimal("2.50"))
    entries = {e.account_id: e.amount for e in bill.transaction.entries.all()}
    assert entries[vendor_expense(postpaid_channel).pk] == Decimal("-0.5")


def test_void_reverses_and_frees_the_accrual_for_the_corrected_invoice(postpaid_channel, usage):
    usage(date(2026, 1, 20), 1000, account="deepseek-post")
    wrong, _ = record(postpaid_channel, amount=Decimal("30.00"))
    vendor_bill_void(bill=wrong)
    assert channel_account(postpaid_channel, K.PAYABLE).balance == 0
    with pytest.raises(ValidationError) as caught:
        record(postpaid_channel, amount=Decimal("30.00"))
    assert list(caught.value.message_dict) == ["number"]

    corrected, _ = record(postpaid_channel, number="INV-2026-01-R", amount=Decimal("3.00"))
    entries = {e.account_id: e.amount for e in corrected.transaction.entries.all()}
    assert entries[channel_account(postpaid_channel, K.UPSTREAM_ACCRUED).pk] == Decimal("3.000")
    assert vendor_expense(postpaid_channel).pk not in entries
    assert ledger_problems() == []
