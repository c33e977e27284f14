"""A resale sub-distributor's book follows its invoices at its seller (issue #17): the invoice's rounding, a
credit note, a service charge change what S owes its seller without cash, and S's DUE_TO_SELLER says the
same as the seller's book (``wallets.mirror.seller_book_mirror``, ``ledger.verify``). Tree and prices as in
``test_close_books``: S monthly on the operator's wholesale plan, C monthly on S's retail plan.
"""

from decimal import Decimal

import pytest

from accounts.models import StaffRole
from billing.invoicing.close.services import close_period
from billing.invoicing.models import InvoiceLine
from billing.invoicing.services import LineDraft, invoice_create, invoice_issue
from billing.ledger.accounts import account_get
from billing.ledger.models import AccountKind, JournalTransaction
from billing.ledger.verify import reseller_position_problems
from billing.receivables.credit_notes import credit_note_issue
from billing.receivables.services import payment_record
from tests.billing.factories import staff
from tests.billing.invoicing import test_close_books
from tests.billing.invoicing.conftest import use
from tests.billing.invoicing.test_close_books import ISSUE, OCTOBER, _by_customer

pytestmark = pytest.mark.django_db
K = AccountKind
tree = test_close_books.tree  # the fixture: S (resale, monthly), its customer C, the operator's D


def balance(kind: str, **owner) -> Decimal:
    return account_get(kind=kind, currency="CNY", **owner).balance


def test_a_reseller_that_pays_its_rounded_invoice_in_full_owes_its_seller_nothing(source, tree):
    """S's wholesale usage has sub-cent places; its invoice is rounded. Once S pays the total, its book's
    DUE_TO_SELLER is zero — not the rounding difference (-0.0007348 before the mirror)."""
    s, _c, _d = tree
    use(source, "key-c", OCTOBER)  # 1,234,567 + 345,678 tokens
    owed_before = -balance(K.DUE_TO_SELLER, book=s)
    s_invoice = _by_customer(close_period("2026-10", issue_date=ISSUE).invoices)[s.pk]
    assert s_invoice.total != owed_before  # the rounding this test is about

    assert reseller_position_problems(s.pk) == []
    assert -balance(K.DUE_TO_SELLER, book=s) == s_invoice.total == balance(K.RECEIVABLE, customer=s)
    # the seller's rounding loss (or gain) is S's gain (or loss), in S's book
    mirror = JournalTransaction.objects.get(book=s, kind="chain.seller_mirror")
    rounding = mirror.entries.get(account__kind=K.ROUNDING).amount
    assert rounding == s_invoice.total - owed_before == -balance(K.ROUNDING)

    payment_record(
        customer=s, amount=s_invoice.total, currency="CNY", received_on=ISSUE, reference="r", actor=None,
        idempotency_key="pay-s",
    )  # fmt: skip

    assert balance(K.DUE_TO_SELLER, book=s) == 0
    assert reseller_position_problems(s.pk) == []


def test_a_credit_note_to_a_reseller_lowers_what_its_book_owes_and_its_cost(source, tree):
    s, _c, _d = tree
    use(source, "key-c", OCTOBER, prompt=1_000_000, completion=0)
    s_invoice = _by_customer(close_period("2026-10", issue_date=ISSUE).invoices)[s.pk]
    cost_before = balance(K.COST_OF_TOKENS, book=s)

    for _ in range(2):  # a replay posts nothing more
        note = credit_note_issue(
            invoice=s_invoice,
            reason="goodwill",
            amount=Decimal("1.00"),
            actor=staff(StaffRole.FINANCE),
            idempotency_key="cn",
        )

    owed = balance(K.RECEIVABLE, customer=s)
    assert owed == s_invoice.total - note.total
    assert -balance(K.DUE_TO_SELLER, book=s) == owed
    assert balance(K.COST_OF_TOKENS, book=s) == cost_before - note.total
    # the credit note's mirror alone (the invoice was exact: nothing to mirror)
    assert JournalTransaction.objects.filter(book=s, kind="chain.seller_mirror").count() == 1
    assert reseller_position_problems(s.pk) == []


def test_a_service_charge_invoiced_to_a_reseller_is_its_cost(tree):
    s, _c, _d = tree
    invoice = invoice_create(
        customer=s,
        lines=[LineDraft(kind=InvoiceLine.Kind.SERVICE, description="Setup", amount_exact=Decimal("50"))],
    )

    invoice_issue(invoice=invoice, issue_date=ISSUE)
    invoice_issue(invoice=invoice, issue_date=ISSUE)  # issued already: nothing more

    assert balance(K.COST_OF_TOKENS, book=s) == invoice.total == balance(K.RECEIVABLE, customer=s)
    assert balance(K.DUE_TO_SELLER, book=s) == -invoice.total
    assert reseller_position_problems(s.pk) == []
