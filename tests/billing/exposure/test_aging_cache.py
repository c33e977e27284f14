"""When the aging report is summed again: only when something that makes up an invoice's open amount moved
(an invoice issued, a payment allocated, a credit note, an approved write-off, a recovery), never for the
ledger's other postings (wallet top-ups and debits, cash clearing, allowance charges), which never stop."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import StaffRole
from billing.exposure import aging_report as report_module
from billing.exposure.aging_report import VERSION_COLUMNS, aging_report, receivables_version
from billing.ledger.accounts import account_get
from billing.ledger.models import AccountKind
from billing.ledger.services import credit, debit, transaction_post
from billing.receivables.credit_notes import credit_note_issue
from billing.receivables.models import BadDebtRecovery
from billing.receivables.services import payment_record
from billing.receivables.writeoffs import writeoff_approve, writeoff_propose
from tests.billing.exposure.aging_helpers import (  # noqa: F401 (fixture)
    D,
    credit_customer,
    fresh_aging_memo,
    invoice_aged,
    today,
)
from tests.billing.factories import spend, staff, topup

pytestmark = [pytest.mark.django_db]
SOURCES = [model.__name__ for model, _column in VERSION_COLUMNS]


def _unrelated_postings(customer) -> None:
    """What live traffic posts between two reads of the report: none of it touches an invoice."""
    cash = account_get(kind=AccountKind.CASH_BANK, currency="CNY")
    stripe = account_get(kind=AccountKind.STRIPE_CLEARING, currency="CNY")
    transaction_post(
        idempotency_key="aging-cache:payout",
        kind="stripe.payout",
        lines=[debit(cash, D("80.00"), "CNY"), credit(stripe, D("80.00"), "CNY")],
        memo="Stripe payout",
    )
    expense = account_get(kind=AccountKind.BAD_DEBT_EXPENSE, currency="CNY")
    allowance = account_get(kind=AccountKind.ALLOWANCE_DOUBTFUL, currency="CNY")
    transaction_post(
        idempotency_key="aging-cache:ecl",
        kind="ecl.allowance",
        lines=[debit(expense, D("12.345"), "CNY"), credit(allowance, D("12.345"), "CNY")],
        memo="Expected credit loss",
    )
    topup(customer, "50.00", "aging-cache:topup")
    spend(customer, "20.00", "aging-cache:spend")


def _total(day: dt.date | None = None):
    return aging_report(day or today()).totals["CNY"]["total"]


def test_unrelated_postings_leave_the_cached_report_in_place(django_assert_num_queries):
    # given: a report read once (summed) and once more (warm)
    acme = credit_customer("acme")
    invoice_aged(acme, "1000.00", age=10, on=today())
    past = today() - dt.timedelta(days=3)
    first, first_past = aging_report(today()), aging_report(past)
    with CaptureQueriesContext(connection) as warm:
        aging_report(today())
    assert not [q for q in warm.captured_queries if "SUM(" in q["sql"].upper()]
    memo_keys = list(report_module._MEMO)

    # when: a Stripe payout, an allowance charge, a wallet top-up and a wallet debit are posted
    _unrelated_postings(acme)

    # then: today's and a past day's reports are the cached ones, read with the warm queries and no sum
    with django_assert_num_queries(len(warm.captured_queries)) as after:
        again = aging_report(today())
    assert not [q for q in after.captured_queries if "SUM(" in q["sql"].upper()]
    assert aging_report(past).rows is first_past.rows
    assert again.rows is first.rows and again.totals["CNY"]["total"] == D("1000.00")
    assert list(report_module._MEMO) == memo_keys


def test_what_makes_up_an_open_amount_sums_the_report_again():
    finance, admin = staff(StaffRole.FINANCE), staff(StaffRole.ADMIN)
    acme = credit_customer("acme")
    a = invoice_aged(acme, "1000.00", age=10, on=today())
    b = invoice_aged(acme, "300.00", age=40, on=today())
    assert _total() == D("1300.00")
    seen = [receivables_version()]

    def moved() -> list[str]:
        """The sources whose newest row changed since the last call (and the report is summed again)."""
        now = receivables_version()
        changed = [name for name, old, new in zip(SOURCES, seen[-1], now, strict=True) if old != new]
        seen.append(now)
        return changed

    # A new issued invoice.
    c = invoice_aged(acme, "200.00", age=0, on=today())
    assert (moved(), _total()) == (["Invoice"], D("1500.00"))

    # A payment allocated to A.
    payment_record(
        customer=acme, amount=D("100.00"), currency="CNY", received_on=today(), reference="A-part",
        actor=finance, idempotency_key="aging-cache:pay-a", allocate=[(a, D("100.00"))],
    )  # fmt: skip
    assert (moved(), _total()) == (["PaymentAllocation"], D("1400.00"))

    # A credit note on C.
    credit_note_issue(
        invoice=c, reason="Outage", amount=D("50.00"), actor=finance, idempotency_key="aging-cache:cn-c"
    )
    assert (moved(), _total()) == (["CreditNote"], D("1350.00"))

    # B written off: proposed (nothing changes), then approved.
    proposal = writeoff_propose(
        customer=acme, invoices_amounts=[(b, None)], reason="Insolvent", actor=finance,
        idempotency_key="aging-cache:wo-b",
    )  # fmt: skip
    assert (moved(), _total()) == ([], D("1350.00"))
    writeoff_approve(write_off=proposal, approver=admin)
    assert (moved(), _total()) == (["WriteOff"], D("1050.00"))
    assert aging_report(today()).totals["CNY"]["d31_60"] == 0

    # 30 paid on B after all: a recovery (the write-off reversed for 30, the payment settles it).
    payment_record(
        customer=acme, amount=D("30.00"), currency="CNY", received_on=today(), reference="B-late",
        actor=finance, idempotency_key="aging-cache:pay-b", allocate=b,
    )  # fmt: skip
    assert BadDebtRecovery.objects.filter(invoice=b).exists()
    assert moved() == ["PaymentAllocation", "BadDebtRecovery"]
    summed = len(report_module._MEMO)
    assert _total() == D("1050.00")
    assert len(report_module._MEMO) == summed + 1  # a new report, not the cached one


def test_the_version_is_one_cheap_statement(django_assert_num_queries):
    with django_assert_num_queries(1):
        version = receivables_version()
    assert version == (0,) * len(VERSION_COLUMNS)
