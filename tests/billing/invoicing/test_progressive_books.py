"""Progressive billing down the chain: a resale sub-distributor's customer gets its interim invoice in the
sub-distributor's book and series; the sub-distributor its own in the operator's; tax as on any invoice.

Prices: the contract costs 1 + 4 per million tokens; the operator's wholesale plan is cost × 1.2, S's retail
plan cost × 1.5 (``tests.billing.usage.factories``).
"""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from accounts.models import Customer, MemberRole
from billing.invoicing.close.services import close_period, period_close_book
from billing.invoicing.models import Invoice
from billing.invoicing.progressive import progressive_check
from billing.ledger.accounts import account_get
from billing.ledger.models import AccountKind
from billing.ledger.verify import book_ids, book_problems
from billing.terms.models import BillingTerms
from tests.billing.invoicing.conftest import use
from tests.billing.usage.factories import customer_make, owned_plan, plan_assign
from tests.factories import MembershipFactory, SubDistributorFactory

pytestmark = pytest.mark.django_db

K = AccountKind
NOV_5 = datetime(2026, 11, 5, 2, tzinfo=UTC)
CUT = datetime(2026, 11, 5, 3, tzinfo=UTC)
SIZE_COST_600 = {"prompt": 200_000_000, "completion": 100_000_000}  # cost 200 + 400


@pytest.fixture
def tree(model):
    """S (resale, monthly at the operator, wholesale plan) and its monthly customer C (S's retail plan),
    both billed progressively from 500."""
    s = SubDistributorFactory(name="Reseller S", chain_mode=Customer.ChainMode.RESALE)
    BillingTerms.objects.create(
        customer=s, mode=BillingTerms.Mode.MONTHLY, currency="CNY", progressive_threshold=Decimal("500")
    )
    plan_assign(s, owned_plan(None, "Wholesale", "0.2"))
    c = customer_make(
        key="key-c", parent=s, mode=BillingTerms.Mode.MONTHLY, progressive_threshold=Decimal("500")
    )
    plan_assign(c, owned_plan(s, "S retail", "0.5"))
    return s, c


def test_each_hop_gets_its_interim_invoice_in_its_sellers_book_and_series(source, tree):
    s, c = tree
    close_period("2026-10", issue_date=date(2026, 11, 1))
    use(source, "key-c", NOV_5, **SIZE_COST_600)

    made = {inv.customer_id: inv for inv in progressive_check([s.pk, c.pk], at=CUT)}

    c_interim, s_interim = made[c.pk], made[s.pk]
    assert (c_interim.series, c_interim.number) == (f"INV-{s.pk}-2026", f"INV-{s.pk}-2026-000001")
    assert c_interim.total == Decimal("900.00")  # retail: cost × 1.5
    assert c_interim.journal_transaction.book == s
    assert s_interim.number == "INV-2026-000001" and s_interim.total == Decimal("720.00")  # wholesale
    assert s_interim.journal_transaction.book is None
    for customer in (s, c):
        assert account_get(kind=K.UNBILLED_RECEIVABLE, currency="CNY", customer=customer).balance == 0
    for book in book_ids():
        assert book_problems(book) == []


def test_a_customer_in_a_resellers_book_waits_for_that_books_close(source, tree):
    s, c = tree
    close_period("2026-10", issue_date=date(2026, 11, 1), book=None)  # the operator's own customers only
    use(source, "key-c", NOV_5, **SIZE_COST_600)

    made = progressive_check([s.pk, c.pk], at=CUT)

    assert [inv.customer_id for inv in made] == [s.pk]  # S is the operator's: its book was closed
    period_close_book(
        book=s,
        period="2026-10",
        actor=MembershipFactory(customer=s, role=MemberRole.OWNER).user,
        issue_date=date(2026, 11, 1),
    )
    [c_interim] = progressive_check([c.pk], at=CUT)
    assert c_interim.total == Decimal("900.00")


def test_tax_is_added_on_the_interim_invoice_and_the_threshold_is_before_tax(source, model):
    customer = customer_make(
        key="key-t",
        mode=BillingTerms.Mode.MONTHLY,
        progressive_threshold=Decimal("600"),
        tax_rate=Decimal("0.06"),
    )
    close_period("2026-10", issue_date=date(2026, 11, 1))
    use(source, "key-t", NOV_5, prompt=100_000_000, completion=49_999_999)  # 599.999992 before tax
    assert progressive_check([customer.pk], at=CUT) == []
    use(source, "key-t", NOV_5, prompt=0, completion=1)

    [interim] = progressive_check([customer.pk], at=CUT)

    assert (interim.subtotal, interim.tax_amount, interim.total) == (
        Decimal("600.00"),
        Decimal("36.00"),
        Decimal("636.00"),
    )
    assert account_get(kind=K.UNBILLED_RECEIVABLE, currency="CNY", customer=customer).balance == 0
    assert Invoice.objects.get().kind == Invoice.Kind.INTERIM
