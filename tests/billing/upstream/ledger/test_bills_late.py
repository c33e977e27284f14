"""Vendor invoices against what arrives after them: a commitment invoiced in parts on two channels of one
contract, and postpaid usage of a month arriving after the month's usage invoice."""

from datetime import date
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import StaffRole
from billing.ledger.models import AccountKind, JournalTransaction
from billing.ledger.verify import ledger_problems
from billing.upstream.bills import vendor_bill_record, vendor_bill_void
from billing.upstream.commitments import commitment_shortfalls_accrue
from billing.upstream.daily import upstream_daily_run
from billing.upstream.invoiced_months import invoiced_usage_true_up
from billing.upstream.ledger_accounts import channel_account, vendor_expense
from catalog.models import Settlement
from catalog.services.contracts import channel_create
from tests.billing.factories import staff
from tests.billing.upstream.ledger.conftest import contract_make

pytestmark = pytest.mark.django_db
K = AccountKind
JANUARY = date(2026, 1, 1)


def bill(channel, number, amount, kind="usage"):
    return vendor_bill_record(
        channel=channel,
        number=number,
        kind=kind,
        month=JANUARY,
        amount=Decimal(amount),
        currency="CNY",
        issued_on=date(2026, 2, 5),
    )[0]


def test_a_commitment_invoiced_in_parts_on_two_channels_moves_the_accrual_once(model, usage):
    contract = contract_make(model, name="C", settlement=Settlement.POSTPAID, committed_amount=Decimal("10"))
    a = channel_create(contract=contract, name="ch-a")
    b = channel_create(contract=contract, name="ch-b")
    usage(date(2026, 1, 15), 1000, account="ch-a")  # 3 consumed: 7 short
    commitment_shortfalls_accrue(today=date(2026, 2, 2))
    bill(a, "C-1", "3.5", kind="commitment")
    bill(b, "C-2", "3.5", kind="commitment")
    # January's usage accrual (3, not invoiced) stays; the shortfall is 7, invoiced 3.5 + 3.5
    assert channel_account(a, K.UPSTREAM_ACCRUED).balance == Decimal(-3)
    assert channel_account(b, K.UPSTREAM_ACCRUED).balance == 0
    assert vendor_expense(a, K.COMMIT_SHORTFALL).balance == Decimal(7)
    assert channel_account(a, K.PAYABLE).balance + channel_account(b, K.PAYABLE).balance == Decimal(-7)
    assert ledger_problems() == []


def test_usage_arriving_after_the_months_invoice_is_matched_against_the_variance(postpaid_channel, usage):
    usage(date(2026, 1, 20), 1000, account="deepseek-post")  # 3.000 accrued
    bill(postpaid_channel, "INV-1", "6")  # the vendor saw 6: 3 to cost as a variance
    usage(date(2026, 1, 31), 1000, account="deepseek-post")  # the gateway's late batch for January
    accrued, cost = channel_account(postpaid_channel, K.UPSTREAM_ACCRUED), vendor_expense(postpaid_channel)
    assert (cost.balance, accrued.balance) == (Decimal(9), Decimal(-3))  # before the true-up
    upstream_daily_run(day=date(2026, 2, 6), alerts=False)
    upstream_daily_run(day=date(2026, 2, 7), alerts=False)  # re-run-safe
    accrued.refresh_from_db(), cost.refresh_from_db()
    # January cost what the vendor billed; nothing of January is left accrued
    assert (cost.balance, accrued.balance) == (Decimal(6), Decimal(0))
    assert JournalTransaction.objects.filter(kind="upstream.bill.trueup").count() == 1
    # a second invoice of the month moves nothing the true-up already matched
    bill(postpaid_channel, "INV-2", "1")
    accrued.refresh_from_db(), cost.refresh_from_db()
    assert (cost.balance, accrued.balance) == (Decimal(7), Decimal(0))
    assert ledger_problems() == []


def test_a_voided_months_invoice_leaves_late_usage_accrued(postpaid_channel, usage):
    usage(date(2026, 1, 20), 1000, account="deepseek-post")
    voided = bill(postpaid_channel, "INV-1", "6")
    vendor_bill_void(bill=voided)
    usage(date(2026, 1, 31), 1000, account="deepseek-post")
    assert invoiced_usage_true_up(today=date(2026, 2, 8)) == []
    assert channel_account(postpaid_channel, K.UPSTREAM_ACCRUED).balance == Decimal(-6)


def test_the_channel_page_shows_the_true_up(postpaid_channel, usage):
    usage(date(2026, 1, 20), 1000, account="deepseek-post")
    bill(postpaid_channel, "INV-1", "6")
    usage(date(2026, 1, 31), 1000, account="deepseek-post")
    invoiced_usage_true_up(today=date(2026, 2, 8))
    client = Client()
    client.force_login(staff(StaffRole.AUDITOR))
    page = client.get(reverse("upstream-ledger-channel", args=[postpaid_channel.pk]))
    assert page.status_code == 200
    rows = page.context["true_ups"]
    assert [(t.posted_on, t.month, t.amount) for t in rows] == [(date(2026, 2, 8), JANUARY, Decimal(3))]
    assert 'data-testid="channel-true-ups"' in page.content.decode()
