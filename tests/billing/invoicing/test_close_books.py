"""The period close per book (issue #17): a resale sub-distributor's customers are invoiced in its book,
numbered in its own series; the close can run for one book (a reseller runs its own); every book balances.

Prices: the contract costs 2 + 8 per million tokens; the operator's wholesale plan is cost × 1.2, S's retail
plan cost × 1.5, the operator's default plan cost × 1 (``tests.billing.usage.factories``).
"""

from datetime import UTC, date, datetime
from decimal import Decimal
from io import StringIO

import pytest
from django.core.exceptions import PermissionDenied
from django.core.management import CommandError, call_command

from accounts.models import Customer, MemberRole, StaffRole
from billing.invoicing.close.services import CloseError, close_period, period_close_book
from billing.invoicing.models import Invoice, PeriodClose
from billing.ledger.accounts import account_get
from billing.ledger.models import AccountKind
from billing.ledger.verify import book_ids, book_problems
from billing.receivables.credit_notes import credit_note_issue
from billing.terms.models import BillingTerms
from tests.billing.factories import staff
from tests.billing.invoicing.conftest import use
from tests.billing.usage.factories import customer_make, owned_plan, plan_assign
from tests.factories import MembershipFactory, SubDistributorFactory

pytestmark = pytest.mark.django_db

K = AccountKind
ISSUE = date(2026, 11, 1)
OCTOBER = datetime(2026, 10, 3, 2, tzinfo=UTC)


@pytest.fixture
def tree(model):
    """S (resale, monthly credit at the operator on its wholesale plan) with a monthly customer C on S's
    retail plan; the operator's own monthly customer D."""
    s = SubDistributorFactory(name="Reseller S", chain_mode=Customer.ChainMode.RESALE)
    BillingTerms.objects.create(customer=s, mode=BillingTerms.Mode.MONTHLY, currency="CNY")
    plan_assign(s, owned_plan(None, "Wholesale", "0.2"))
    c = customer_make(key="key-c", parent=s, mode=BillingTerms.Mode.MONTHLY)
    plan_assign(c, owned_plan(s, "S retail", "0.5"))
    d = customer_make(key="key-d", mode=BillingTerms.Mode.MONTHLY)
    return s, c, d


def _by_customer(invoices) -> dict[int, Invoice]:
    found = {}
    for invoice in invoices:
        invoice.refresh_from_db()
        found[invoice.customer_id] = invoice
    return found


def test_a_full_close_issues_c_invoice_in_s_book_with_s_series_and_every_book_balances(source, tree):
    s, c, d = tree
    use(source, "key-c", OCTOBER)
    use(source, "key-d", OCTOBER)

    invoices = _by_customer(close_period("2026-10", issue_date=ISSUE).invoices)

    assert set(invoices) == {s.pk, c.pk, d.pk}
    c_invoice, s_invoice = invoices[c.pk], invoices[s.pk]
    # C's invoice: S's book, S's own series (the operator's sequence is not consumed)
    assert (c_invoice.series, c_invoice.number) == (f"INV-{s.pk}-2026", f"INV-{s.pk}-2026-000001")
    assert c_invoice.journal_transaction.book == s
    assert {e.account.book_id for e in c_invoice.journal_transaction.entries.all()} == {s.pk}
    assert sorted(invoices[x].number for x in (s.pk, d.pk)) == ["INV-2026-000001", "INV-2026-000002"]
    assert s_invoice.journal_transaction.book is None
    # S is billed at wholesale for its customer's usage, C at S's retail
    assert c_invoice.total > s_invoice.total > 0
    assert account_get(kind=K.RECEIVABLE, currency="CNY", customer=c).balance == c_invoice.total
    assert account_get(kind=K.UNBILLED_RECEIVABLE, currency="CNY", customer=c).balance == 0
    assert account_get(kind=K.RECEIVABLE, currency="CNY", customer=s).balance == s_invoice.total
    # every book balances on its own and agrees with its running balances and wallet lots
    assert set(book_ids()) >= {None, s.pk}
    for book in book_ids():
        assert book_problems(book) == []
    out = StringIO()
    call_command("ledger_verify", stdout=out)
    assert f"book {s} ({s.code}): OK" in out.getvalue() and "ledger_verify: OK — 2 book(s)" in out.getvalue()


def test_a_credit_note_on_c_invoice_is_in_s_book_and_series(source, tree):
    s, _c, _d = tree
    use(source, "key-c", OCTOBER)
    [invoice] = period_close_book(
        book=s, period="2026-10", actor=staff(StaffRole.FINANCE), issue_date=ISSUE
    ).invoices

    note = credit_note_issue(
        invoice=invoice,
        reason="goodwill",
        amount=Decimal("1.00"),
        actor=staff(StaffRole.FINANCE),
        idempotency_key="cn",
    )

    assert note.number == f"CN-{s.pk}-2026-000001"
    assert note.journal_transaction.book == s
    for book in book_ids():
        assert book_problems(book) == []


def test_a_reseller_closes_its_own_book_only(source, tree):
    s, c, d = tree
    use(source, "key-c", OCTOBER)
    use(source, "key-d", OCTOBER)
    s_owner = MembershipFactory(customer=s, role=MemberRole.OWNER).user

    result = period_close_book(book=s, period="2026-10", actor=s_owner, issue_date=ISSUE)

    assert [i.customer_id for i in result.invoices] == [c.pk]
    record = PeriodClose.objects.get()
    assert (record.all_books, record.book, record.state) == (False, s, PeriodClose.State.DONE)
    # the operator's close then bills the rest, C once
    rest = close_period("2026-10", issue_date=ISSUE).invoices
    assert sorted(i.customer_id for i in rest) == sorted([s.pk, d.pk])
    assert Invoice.objects.filter(customer=c).count() == 1


def test_the_command_closes_one_book(source, tree):
    s, c, _d = tree
    use(source, "key-c", OCTOBER)
    use(source, "key-d", OCTOBER)
    out = StringIO()

    call_command("close_period", period="2026-10", issue_date="2026-11-01", book=s.code, stdout=out)

    assert list(Invoice.objects.values_list("customer_id", "number")) == [(c.pk, f"INV-{s.pk}-2026-000001")]
    assert f"INV-{s.pk}-2026-000001" in out.getvalue()
    with pytest.raises(CommandError, match="resale"):
        call_command("close_period", period="2026-10", book="no-such-code")


def test_only_the_book_s_managers_and_operator_finance_may_run_its_close(source, tree):
    s, c, _d = tree
    other = SubDistributorFactory(chain_mode=Customer.ChainMode.RESALE)
    refused = [
        MembershipFactory(customer=s, role=MemberRole.VIEWER).user,  # reads only
        MembershipFactory(customer=other, role=MemberRole.OWNER).user,  # another reseller
        MembershipFactory(customer=c, role=MemberRole.OWNER).user,  # S's own customer
        staff(StaffRole.SALES),
    ]
    for actor in refused:
        with pytest.raises(PermissionDenied):
            period_close_book(book=s, period="2026-10", actor=actor, issue_date=ISSUE)
    # the operator's own book: operator staff only
    with pytest.raises(PermissionDenied):
        period_close_book(
            book=None, period="2026-10", actor=MembershipFactory(customer=s).user, issue_date=ISSUE
        )
    # a direct sub-distributor keeps no books
    direct = SubDistributorFactory(chain_mode=Customer.ChainMode.DIRECT)
    with pytest.raises(CloseError):
        period_close_book(book=direct, period="2026-10", actor=staff(StaffRole.FINANCE), issue_date=ISSUE)
    assert not PeriodClose.objects.exists() and not Invoice.objects.exists()
