"""A resale sub-distributor's book owes its seller exactly what the seller's book says it owes (issue #17):
its DUE_TO_SELLER is minus its net balance at the seller (wallets less receivable and unbilled,
``ledger.verify.reseller_position_problems``), whatever the seller changed on its accounts.

Here, usage: S's token allowance or overage plan lowers what S is charged for its customer's request, and
S's book owes that, not the whole wholesale price (``allowance_use.hop_costs``, the bulk path's
``HOP_COST_SQL``); S's own traffic is S's cost too (``postings._own_use_postings``). Prices as in
``test_chain_hops``: wholesale 6.00 a request, S's retail 7.50, contract 5.00.
"""

from decimal import Decimal

import pytest

from billing.ledger.accounts import account_get
from billing.ledger.models import AccountKind
from billing.ledger.verify import reseller_position_problems
from billing.terms.models import BillingTerms
from billing.usage.models import UsageEvent
from billing.usage.rerate import usage_rerate
from billing.wallets.books import seller_payment_mirror
from billing.wallets.credits import wallet_credit
from tests.billing.usage.factories import customer_make, owned_plan, plan_assign
from tests.billing.usage.test_allowances import pack_buy, subscribe
from tests.billing.usage.test_chain_hops import MILLION, balance, book_top_up, ingest, sub_make, use

pytestmark = pytest.mark.django_db

PATHS = ["services", pytest.param("bulk", marks=pytest.mark.postgres)]


def paid_top_up(s, amount: str) -> None:
    """S's bank transfer to its seller, as ``payments.postings.bank_transfer_credit_post`` records it: S's
    paid credit in the seller's book, mirrored in S's own."""
    key = f"transfer:{s.pk}"
    wallet_credit(
        customer=s,
        currency="CNY",
        amount=Decimal(amount),
        bucket="paid",
        idempotency_key=key,
        source_account=account_get(kind=AccountKind.CASH_BANK, currency="CNY", book=s.seller),
        kind="wallet.topup.bank",
        memo="bank transfer",
    )
    seller_payment_mirror(
        payer=s,
        currency="CNY",
        amount=Decimal(amount),
        key=key,
        memo="bank transfer",
        source="",
    )


def tree(*, terms=BillingTerms.Mode.MONTHLY):
    wholesale = owned_plan(None, "Wholesale", "0.2")
    s = sub_make(key="key-s", terms=terms)
    plan_assign(s, wholesale)
    retail = owned_plan(s, "S retail", "0.5")
    c = customer_make(key="key-c", parent=s)
    plan_assign(c, retail)
    book_top_up(c, "100")
    return s, c


TWO = [use("c1", "key-c"), {**use("c2", "key-c"), "occurred_at": "2026-05-04T10:31:00+00:00"}]


@pytest.mark.parametrize("path", PATHS)
def test_a_resellers_allowance_lowers_what_its_book_owes_its_seller(source, model, path):
    """S's pack covers its purchase of c1: the operator charges S 6.00 for c2 alone, and S's book owes
    6.00 (it owed 12.00, a debt nothing would ever clear)."""
    s, _c = tree()
    pack_buy(s, 2 * MILLION)  # one request's tokens

    ingest(path, source, TWO)

    costs = dict(UsageEvent.objects.filter(hop=0).values_list("request_id", "cost_amount"))
    assert costs == {"c1": Decimal("0"), "c2": Decimal("6")}  # what S was charged for each
    assert balance(AccountKind.UNBILLED_RECEIVABLE, customer=s) == Decimal("6.00")
    assert balance(AccountKind.DUE_TO_SELLER, book=s) == Decimal("-6.00")
    assert balance(AccountKind.COST_OF_TOKENS, book=s) == Decimal("6.00")
    assert reseller_position_problems(s.pk) == []


@pytest.mark.parametrize("path", PATHS)
def test_a_resellers_overage_plan_prices_what_its_book_owes(source, model, path):
    """Past S's subscription's allowance, its overage plan (4.00 a request here, not the wholesale 6.00)
    is what S is charged and owes."""
    s, _c = tree()
    overage = owned_plan(None, "S overage", "-0.2")  # contract × 0.8 = 4.00 a request
    subscribe(s, 2 * MILLION, overage_plan=overage)

    ingest(path, source, TWO)

    costs = dict(UsageEvent.objects.filter(hop=0).values_list("request_id", "cost_amount"))
    assert costs == {"c1": Decimal("0"), "c2": Decimal("4")}
    assert balance(AccountKind.UNBILLED_RECEIVABLE, customer=s) == Decimal("4.00")
    assert balance(AccountKind.DUE_TO_SELLER, book=s) == Decimal("-4.00")
    assert reseller_position_problems(s.pk) == []


@pytest.mark.parametrize("path", PATHS)
def test_a_prepaid_resellers_own_traffic_is_its_cost_and_its_book_agrees(source, model, path):
    """S paid 100.00; its customer's request and one of its own cost it 6.00 each at the operator: its book
    holds 88.00 prepaid with its seller (DUE_TO_SELLER a debit of 88.00), 12.00 of cost of tokens."""
    s, _c = tree(terms=BillingTerms.Mode.PREPAID)
    paid_top_up(s, "100")

    ingest(path, source, [use("c1", "key-c"), use("s1", "key-s")])

    assert balance(AccountKind.DUE_TO_SELLER, book=s) == Decimal("88.00")
    assert balance(AccountKind.COST_OF_TOKENS, book=s) == Decimal("12.00")
    assert reseller_position_problems(s.pk) == []


def test_rerating_draws_the_resellers_allowance_and_its_book_owes_what_it_was_charged(source, model):
    """S's plan could not price the request when it came (unrated); once staff fix it, re-rating draws S's
    pack for S's purchase: S is charged nothing for it, and its book owes nothing for it."""
    from catalog.models import PlanRule, Vendor

    s = sub_make(key="key-s", terms=BillingTerms.Mode.MONTHLY)
    partial = owned_plan(None, "Other vendor only", "0.2")
    partial.rules.update(vendor=Vendor.objects.create(name="Other", slug="other"))
    plan_assign(s, partial)
    c = customer_make(key="key-c", parent=s)
    plan_assign(c, owned_plan(s, "S retail", "0.5"))
    book_top_up(c, "100")
    pack_buy(s, 2 * MILLION)
    ingest("services", source, [use("c1", "key-c")])
    PlanRule.objects.filter(plan=partial).update(vendor=None)

    assert usage_rerate().accepted == 1

    rows = UsageEvent.objects.order_by("hop").values_list("hop", "sell_amount", "cost_amount")
    assert list(rows) == [(0, Decimal("7.5"), Decimal("0")), (1, Decimal("0"), Decimal("5"))]
    assert balance(AccountKind.UNBILLED_RECEIVABLE, customer=s) == 0
    assert balance(AccountKind.DUE_TO_SELLER, book=s) == 0
    assert reseller_position_problems(s.pk) == []
