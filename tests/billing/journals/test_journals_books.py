"""Each book balances on its own (issue #17): the database refuses a transaction unbalanced within one
book even when it balances across books, the posting service refuses one whose lines span books, and a
manual journal posts in the one book chosen for it."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from accounts.models import Customer, StaffRole
from billing.journals.lines import CREDIT, DEBIT, LineInput
from billing.journals.services import manual_journal_approve, manual_journal_propose
from billing.ledger.exceptions import LedgerError
from billing.ledger.models import JournalEntry, JournalTransaction
from billing.ledger.services import credit, debit, transaction_post
from tests.billing.factories import cash, revenue, staff
from tests.factories import SubDistributorFactory

K_RAW = "test.raw"


@pytest.fixture
def s():
    return SubDistributorFactory(name="Reseller S", chain_mode=Customer.ChainMode.RESALE)


def _raw(key: str, book, amounts: list[tuple]) -> JournalTransaction:
    """Write rows directly, bypassing the posting service, as a buggy or malicious writer would."""
    txn = JournalTransaction.objects.create(
        idempotency_key=key, request_hash="x", kind=K_RAW, effective_date="2026-01-01", book=book
    )
    JournalEntry.objects.bulk_create(
        JournalEntry(transaction=txn, account=account, amount=Decimal(a), currency="CNY", balance_after=0)
        for account, a in amounts
    )
    return txn


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_database_refuses_a_transaction_unbalanced_in_its_book_though_balanced_across_books(s):
    operator_cash, s_revenue, operator_revenue = cash(), revenue(book=s), revenue()

    # one transaction of the operator's book with a leg on S's account: balanced across books, refused
    with pytest.raises(IntegrityError, match="of book"), transaction.atomic():
        _raw("raw-across", None, [(operator_cash, "10"), (s_revenue, "-10")])
    # the same money as two transactions, one per book: each unbalanced in its own book, refused
    with pytest.raises(IntegrityError, match="does not balance"), transaction.atomic():
        _raw("raw-op-half", None, [(operator_cash, "10"), (operator_revenue, "-5")])
        _raw("raw-s-half", s, [(s_revenue, "-7"), (cash(book=s), "2")])  # −5: the two sum to zero
    assert not JournalEntry.objects.exists()
    # balanced within its book: kept
    with transaction.atomic():
        _raw("raw-ok", s, [(cash(book=s), "10"), (s_revenue, "-10")])
    assert JournalTransaction.objects.get(idempotency_key="raw-ok").book == s


@pytest.mark.django_db
def test_the_posting_service_refuses_lines_of_two_books(s):
    with pytest.raises(LedgerError, match="one book"):
        transaction_post(
            idempotency_key="mixed",
            kind="test.mixed",
            lines=[debit(cash(), Decimal("10"), "CNY"), credit(revenue(book=s), Decimal("10"), "CNY")],
        )
    assert not JournalTransaction.objects.exists()


def _lines(debit_account, credit_account) -> list[LineInput]:
    return [
        LineInput(1, debit_account, DEBIT, Decimal("12.00"), "CNY"),
        LineInput(2, credit_account, CREDIT, Decimal("12.00"), "CNY"),
    ]


@pytest.mark.django_db
def test_a_manual_journal_posts_in_the_book_chosen_and_refuses_accounts_of_another(s):
    finance, admin = staff(StaffRole.FINANCE), staff(StaffRole.ADMIN)

    journal = manual_journal_propose(
        proposer=finance,
        reason="S's bank fee booked late",
        effective_date=date(2026, 3, 1),
        lines=_lines(revenue(book=s), cash(book=s)),
        idempotency_key="mj-s",
        book=s,
    )
    posted = manual_journal_approve(journal=journal, approver=admin).journal_transaction
    assert posted.book == s

    # the operator's book by default: S's accounts are refused, naming the line and both books
    with pytest.raises(ValidationError) as refused:
        manual_journal_propose(
            proposer=finance,
            reason="wrong book",
            effective_date=date(2026, 3, 1),
            lines=_lines(revenue(), cash(book=s)),
            idempotency_key="mj-mixed",
        )
    assert "Line 2" in str(refused.value) and "Reseller S" in str(refused.value)
    assert JournalTransaction.objects.count() == 1
