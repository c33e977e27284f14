"""The operator writing off a resale sub-distributor's invoice: S still owes it in its own book (a
creditor's write-off is its estimate, not a release), the books verify, and a recovery and its reversal
move both books as cash moves."""

from datetime import date
from decimal import Decimal

import pytest

from accounts.models import Customer, StaffRole
from billing.ledger.accounts import account_get
from billing.ledger.models import AccountKind, JournalEntry
from billing.ledger.services import credit, debit, transaction_post
from billing.ledger.verify import ledger_problems
from billing.receivables.allocations import payment_allocations_release
from billing.receivables.services import payment_record
from billing.receivables.writeoffs import writeoff_approve, writeoff_propose
from tests.billing.factories import staff
from tests.billing.invoicing.factories import credit_terms, issued_invoice
from tests.factories import SubDistributorFactory

pytestmark = pytest.mark.django_db
D = Decimal


def due_to_seller(shop) -> Decimal:
    entries = JournalEntry.objects.filter(account__book_id=shop.pk, account__kind=AccountKind.DUE_TO_SELLER)
    return -sum((e.amount for e in entries), D("0"))


def test_writing_off_and_recovering_a_resellers_invoice_keeps_every_book_verifiable():
    finance, admin = staff(StaffRole.FINANCE), staff(StaffRole.ADMIN)
    shop = SubDistributorFactory(name="Shop R", code="shop-r", chain_mode=Customer.ChainMode.RESALE)
    credit_terms(shop, currency="CNY")
    invoice = issued_invoice(shop, "300.00", issue_date=date(2026, 3, 1))
    assert ledger_problems() == []
    assert due_to_seller(shop) == D("300.00")

    write_off = writeoff_propose(
        customer=shop, invoices_amounts=[(invoice, None)], reason="Gone", actor=finance, idempotency_key="w"
    )
    writeoff_approve(write_off=write_off, approver=admin, effective_date=date(2026, 6, 30))

    assert ledger_problems() == []
    receivable = account_get(kind=AccountKind.RECEIVABLE, currency="CNY", customer=shop)
    assert receivable.balance == 0  # the operator expects nothing more
    assert due_to_seller(shop) == D("300.00")  # the shop still owes it

    payment = payment_record(
        customer=shop,
        amount=D("100.00"),
        currency="CNY",
        received_on=date(2026, 8, 10),
        reference="r",
        actor=finance,
        idempotency_key="p",
        allocate=[(invoice, D("100.00"))],
    )
    assert ledger_problems() == []
    assert due_to_seller(shop) == D("200.00")

    payment_allocations_release(payment=payment, at=date(2026, 8, 20), reason="Bounced", actor=finance)
    assert ledger_problems() == []
    invoice.refresh_from_db()
    assert (invoice.status, invoice.amount_written_off) == ("written_off", D("300.00"))


def test_the_check_still_names_a_reseller_whose_books_disagree_after_a_write_off():
    finance, admin = staff(StaffRole.FINANCE), staff(StaffRole.ADMIN)
    shop = SubDistributorFactory(name="Shop R", code="shop-r", chain_mode=Customer.ChainMode.RESALE)
    credit_terms(shop, currency="CNY")
    invoice = issued_invoice(shop, "300.00", issue_date=date(2026, 3, 1))
    write_off = writeoff_propose(
        customer=shop, invoices_amounts=[(invoice, None)], reason="Gone", actor=finance, idempotency_key="w"
    )
    writeoff_approve(write_off=write_off, approver=admin, effective_date=date(2026, 6, 30))
    # a charge to the shop in the operator's book only (its own book never heard of it)
    transaction_post(
        idempotency_key="t.stray",
        kind="test.stray",
        lines=[
            debit(account_get(kind=AccountKind.RECEIVABLE, currency="CNY", customer=shop), D("5.00"), "CNY"),
            credit(account_get(kind=AccountKind.REVENUE_SERVICES, currency="CNY"), D("5.00"), "CNY"),
        ],
    )
    problems = ledger_problems()
    assert len(problems) == 1 and "shop-r" in problems[0] and "305" in problems[0]
