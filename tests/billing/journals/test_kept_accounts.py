"""A manual entry never posts to an account whose balance documents or services keep (a customer's
receivable, unbilled usage, wallets, FX revaluation); each refusal says what to use instead, on the form,
in the service and at approval. The accounts finance corrects by hand stay open."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from billing.dunning.selectors import invoices_really_due
from billing.journals.lines import LineInput
from billing.journals.models import ManualJournal, ManualJournalLine
from billing.journals.services import manual_journal_approve, manual_journal_propose
from billing.ledger.accounts import account_get
from billing.ledger.models import AccountKind, JournalTransaction
from billing.statements.build import statement_build
from catalog.models import Vendor
from tests.billing.invoicing.factories import issued_invoice
from tests.billing.payments.correction_helpers import credit_customer
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

K = AccountKind
D = Decimal
NEW = "/dashboard/journals/manual/new/"
RECEIVABLE_HINT = "is a customer's receivable, kept by its invoices, payments and credit notes. Reduce or"
UNBILLED_HINT = "holds usage not invoiced yet, kept by rated usage and the month close. Correct a price by"
WALLET_HINT = "wallet accounts are adjusted from the wallet's page, not by journal."
FX_HINT = "is kept by the month-end FX revaluation and the realised FX run. Book an FX correction on FX"


def _propose(finance, account, side="credit", *, key="kept", amount="100.00"):
    """Post ``amount`` to ``account`` on line 2 against bad-debt expense or cash on line 1."""
    if side == "credit":
        other = account_get(kind=K.BAD_DEBT_EXPENSE, currency="CNY")
        lines = [
            LineInput(1, other, "debit", D(amount), "CNY"),
            LineInput(2, account, "credit", D(amount), "CNY"),
        ]
    else:
        other = account_get(kind=K.CASH_BANK, currency="CNY")
        lines = [
            LineInput(1, other, "credit", D(amount), "CNY"),
            LineInput(2, account, "debit", D(amount), "CNY"),
        ]
    return manual_journal_propose(
        proposer=finance,
        reason="Write it down",
        effective_date=timezone.localdate(),
        lines=lines,
        idempotency_key=key,
    )


def test_writing_down_a_receivable_by_journal_is_refused_and_the_invoice_stays_whole(finance):
    # given an issued invoice of 100 to a credit customer
    customer = credit_customer()
    invoice = issued_invoice(customer, "100.00", issue_date=date(2026, 10, 1))
    receivable = account_get(kind=K.RECEIVABLE, currency="CNY", customer=customer)

    # when finance proposes Dr bad-debt 100 / Cr that customer's receivable 100
    with pytest.raises(ValidationError) as refused:
        _propose(finance, receivable)

    # then line 2 is refused, saying to use a credit note or a payment, and nothing is proposed
    (message,) = refused.value.message_dict["lines"]
    assert message.startswith(f"Line 2: {receivable.code} {RECEIVABLE_HINT}")
    assert "credit note" in message and "payment" in message
    assert not ManualJournal.objects.exists()
    # and the invoice, dunning, the statement and the ledger still agree: 100 due
    invoice.refresh_from_db()
    receivable.refresh_from_db()
    assert invoice.amount_due == D("100.00")
    assert receivable.balance == D("100.00")
    assert invoices_really_due(customer_id=customer.pk, currency="CNY") == {invoice.pk: D("100.00")}
    section = statement_build(customer, date(2026, 10, 1), timezone.localdate()).receivable_sections[0]
    assert (section.closing, section.aging_total, section.unapplied) == (D("100.00"), D("100.00"), D("0"))


@pytest.mark.parametrize(
    ("kind", "side", "hint"),
    [
        (K.RECEIVABLE, "debit", RECEIVABLE_HINT),
        (K.UNBILLED_RECEIVABLE, "credit", UNBILLED_HINT),
        (K.UNBILLED_RECEIVABLE, "debit", UNBILLED_HINT),
        (K.WALLET_PAID, "credit", WALLET_HINT),
        (K.WALLET_GRANTED, "credit", WALLET_HINT),
        (K.WALLET_PACK, "debit", WALLET_HINT),
    ],
)
def test_each_customer_kept_kind_is_refused_by_the_service(finance, kind, side, hint):
    account = account_get(kind=kind, currency="CNY", customer=CustomerFactory())
    with pytest.raises(ValidationError) as refused:
        _propose(finance, account, side)
    (message,) = refused.value.message_dict["lines"]
    assert message.startswith("Line 2: ")
    assert hint in message
    assert not ManualJournal.objects.exists()


@pytest.mark.parametrize(
    "kind",
    [K.FX_REVALUATION_RECEIVABLE, K.FX_REVALUATION_DEPOSITS, K.FX_REVALUATION_PAYABLE, K.FX_UNREALISED],
)
def test_fx_revaluation_accounts_are_refused_by_the_service(finance, kind):
    account = account_get(kind=kind, currency="CNY")
    with pytest.raises(ValidationError) as refused:
        _propose(finance, account)
    assert refused.value.message_dict["lines"] == [f"Line 2: {account.code} {FX_HINT} gain/loss instead."]


def test_the_form_does_not_offer_kept_accounts_and_refuses_one_posted_on_its_line(client, finance):
    customer = CustomerFactory()
    receivable = account_get(kind=K.RECEIVABLE, currency="CNY", customer=customer)
    unbilled = account_get(kind=K.UNBILLED_RECEIVABLE, currency="CNY", customer=customer)
    reval = account_get(kind=K.FX_REVALUATION_RECEIVABLE, currency="CNY")
    bad_debt = account_get(kind=K.BAD_DEBT_EXPENSE, currency="CNY")
    allowance = account_get(kind=K.ALLOWANCE_DOUBTFUL, currency="CNY")
    client.force_login(finance)

    # the dropdown lists what finance may post to, and none of the kept accounts
    page = client.get(NEW).content.decode()
    assert f'value="{bad_debt.pk}"' in page and f'value="{allowance.pk}"' in page
    for kept in (receivable, unbilled, reval):
        assert f'value="{kept.pk}"' not in page

    # a kept account posted anyway (a stale page, a hand-made request) is refused on its own line
    data = {
        "reason": "Write off",
        "effective_date": timezone.localdate().isoformat(),
        "idempotency_key": "manual-journal-form:kept",
        "lines-TOTAL_FORMS": "3",
        "lines-INITIAL_FORMS": "0",
        "lines-MIN_NUM_FORMS": "0",
        "lines-MAX_NUM_FORMS": "40",
    }
    for index, (account, side, amount) in enumerate(
        [(bad_debt, "debit", "150.00"), (receivable, "credit", "100.00"), (unbilled, "credit", "50.00")]
    ):
        data.update(
            {
                f"lines-{index}-account": account.pk,
                f"lines-{index}-side": side,
                f"lines-{index}-amount": amount,
                f"lines-{index}-currency": "CNY",
            }
        )
    response = client.post(NEW, data)
    body = response.content.decode().replace("&#x27;", "'")
    assert response.status_code == 400
    assert f"Line 2: {receivable.code} {RECEIVABLE_HINT}" in body
    assert f"Line 3: {unbilled.code} {UNBILLED_HINT}" in body
    assert "Line 1:" not in body
    assert not ManualJournal.objects.exists()


def test_the_refusal_speaks_chinese(client, finance):
    receivable = account_get(kind=K.RECEIVABLE, currency="CNY", customer=CustomerFactory())
    cash = account_get(kind=K.CASH_BANK, currency="CNY")
    client.force_login(finance)
    data = {
        "reason": "x",
        "effective_date": timezone.localdate().isoformat(),
        "idempotency_key": "manual-journal-form:zh-kept",
        "lines-TOTAL_FORMS": "2",
        "lines-INITIAL_FORMS": "0",
        "lines-MIN_NUM_FORMS": "0",
        "lines-MAX_NUM_FORMS": "40",
        "lines-0-account": cash.pk,
        "lines-0-side": "debit",
        "lines-0-amount": "1.00",
        "lines-0-currency": "CNY",
        "lines-1-account": receivable.pk,
        "lines-1-side": "credit",
        "lines-1-amount": "1.00",
        "lines-1-currency": "CNY",
    }
    body = client.post(NEW, data, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert f"第 2 行：{receivable.code} 是客户的应收账款" in body


def test_a_proposal_on_a_kept_account_made_before_the_rule_is_refused_at_approval(finance, admin):
    # given a proposal that reached the table before receivables were refused
    customer = credit_customer()
    issued_invoice(customer, "100.00")
    receivable = account_get(kind=K.RECEIVABLE, currency="CNY", customer=customer)
    journal = ManualJournal.objects.create(
        reason="Old proposal", effective_date=timezone.localdate(), proposed_by=finance, idempotency_key="old"
    )
    bad_debt = account_get(kind=K.BAD_DEBT_EXPENSE, currency="CNY")
    for position, account, side in ((1, bad_debt, "debit"), (2, receivable, "credit")):
        ManualJournalLine.objects.create(
            journal=journal, position=position, account=account, side=side, amount=D("100"), currency="CNY"
        )
    # when an admin approves it, it is refused and nothing posts
    with pytest.raises(ValidationError, match=f"Line 2: {receivable.code} is a customer's receivable"):
        manual_journal_approve(journal=journal, approver=admin)
    journal.refresh_from_db()
    receivable.refresh_from_db()
    assert journal.status == ManualJournal.Status.PROPOSED
    assert receivable.balance == D("100.00")
    assert not JournalTransaction.objects.filter(kind="manual.journal").exists()


@pytest.mark.parametrize(
    ("kind", "side", "keyed"),
    [
        (K.ALLOWANCE_DOUBTFUL, "credit", None),
        (K.TAX_PAYABLE, "debit", None),
        (K.STRIPE_CLEARING, "credit", None),
        (K.FX_GAIN_LOSS, "credit", None),
        (K.ROUNDING, "debit", None),
        (K.REVENUE_SERVICES, "credit", None),
        (K.PAYABLE, "debit", "vendor"),
        (K.UPSTREAM_PREPAID, "debit", "vendor"),
    ],
)
def test_accounts_finance_corrects_by_hand_still_post(finance, admin, kind, side, keyed):
    vendor = Vendor.objects.create(name="OpenAI", slug="openai") if keyed else None
    account = account_get(kind=kind, currency="CNY", vendor=vendor)
    journal = _propose(finance, account, side, amount="12.34")
    manual_journal_approve(journal=journal, approver=admin)
    account.refresh_from_db()
    assert account.balance == (D("12.34") if side == "debit" else D("-12.34"))
