"""Every gateway event is rated once per hop of the distribution chain, in the per-batch, bulk and
re-rating paths (issue #17's audit story).

Prices: 1M prompt + 1M completion tokens cost 1 + 4 = 5.00 CNY (contract). The operator's wholesale plan
is cost × 1.2 = 6.00; a reseller's retail plan cost × 1.5 = 7.50 (three levels: 6.00 → 7.00 → 8.00).
"""

from decimal import Decimal

import pytest
from django.db.models import Sum

from accounts.models import Customer
from billing.invoicing.coverage import usage_coverage_problems
from billing.ledger.accounts import account_get
from billing.ledger.models import AccountKind, JournalEntry, LedgerAccount
from billing.terms.models import BillingTerms
from billing.usage.bulk.ingest import bulk_ingest
from billing.usage.models import GatewayKey, RatingState, UsageEvent, UsageHourly
from billing.usage.rerate import usage_rerate
from billing.usage.services import usage_batch_ingest
from billing.wallets.models import Wallet
from billing.wallets.selectors import wallet_balance
from tests.billing.usage.conftest import top_up
from tests.billing.usage.factories import customer_make, event, owned_plan, plan_assign
from tests.factories import SubDistributorFactory

pytestmark = pytest.mark.django_db

MILLION = 1_000_000


def use(request_id: str, key: str) -> dict:
    return event(request_id, key=key, prompt=MILLION, completion=MILLION)


def money(value: str) -> Decimal:
    return Decimal(value)


def sub_make(parent=None, *, mode=Customer.ChainMode.RESALE, terms=BillingTerms.Mode.PREPAID, key=None):
    sub = SubDistributorFactory(parent=parent, chain_mode=mode)
    BillingTerms.objects.create(customer=sub, mode=terms, currency="CNY")
    if key:
        GatewayKey.objects.create(key=key, customer=sub)
    return sub


def wallet(customer) -> Decimal:
    return wallet_balance(wallet=Wallet.objects.get(customer=customer, currency="CNY")).available


def book_top_up(customer, amount: str) -> None:
    """A bank top-up recorded in the customer's seller's book."""
    from billing.wallets.credits import wallet_credit

    wallet_credit(
        customer=customer,
        currency="CNY",
        amount=Decimal(amount),
        bucket="paid",
        idempotency_key=f"test-topup:{customer.pk}",
        source_account=account_get(kind=AccountKind.CASH_BANK, currency="CNY", book=customer.seller),
        kind="wallet.topup.bank",
        memo="test top-up",
    )


def balance(kind: str, *, book=None, customer=None) -> Decimal:
    """An account's balance (debit positive), 0 when it was never used."""
    owner = {"customer": customer} if customer is not None else {"book": book}
    return account_get(kind=kind, currency="CNY", **owner).balance


@pytest.fixture
def audit(model):
    """The audit's tree: S on the operator's wholesale plan, a prepaid and a credit end customer on S's
    retail plan, S sending traffic of its own too."""
    wholesale = owned_plan(None, "Wholesale", "0.2")
    s = sub_make(key="key-s")
    plan_assign(s, wholesale)
    top_up(s, Decimal("100"), key="s-topup")
    retail = owned_plan(s, "S retail", "0.5")
    prepaid = customer_make(key="key-p", parent=s)
    credit = customer_make(key="key-c", parent=s, mode=BillingTerms.Mode.MONTHLY)
    for c in (prepaid, credit):
        plan_assign(c, retail)
    book_top_up(prepaid, "100")
    return s, prepaid, credit


AUDIT_RECORDS = [use("p1", "key-p"), use("p2", "key-p"), use("c1", "key-c"), use("s1", "key-s")]


def ingest(path: str, source, records) -> object:
    if path == "bulk":
        return bulk_ingest(source=source, records=records, key_prefix=f"file-{len(records)}", chunk=3)
    return usage_batch_ingest(source=source, records=records)


@pytest.mark.parametrize("path", ["services", pytest.param("bulk", marks=pytest.mark.postgres)])
def test_the_audit_story_each_party_is_charged_at_its_hop_in_its_book(source, audit, path):
    s, prepaid, credit = audit

    result = ingest(path, source, AUDIT_RECORDS)

    assert (result.accepted, result.duplicates, result.unrated) == (4, 0, 0)
    # the end customers, at S's retail, in S's book, each row costing S's wholesale price
    rows = {r.request_id: r for r in UsageEvent.objects.filter(hop=0)}
    assert {rid: (r.sell_amount, r.cost_amount, r.sell_plan) for rid, r in rows.items()} == {
        "p1": (money("7.5"), money("6"), "S retail"),
        "p2": (money("7.5"), money("6"), "S retail"),
        "c1": (money("7.5"), money("6"), "S retail"),
        "s1": (money("6"), money("5"), "Wholesale"),
    }
    assert wallet(prepaid) == money("85.00")
    assert balance(AccountKind.UNBILLED_RECEIVABLE, customer=credit) == money("7.50")
    assert balance(AccountKind.REVENUE_USAGE, book=s) == money("-22.50")
    # S's cost: 18.00 for its customers' usage, 6.00 for its own traffic (s1), both owed to its seller (its
    # top-up in this fixture is posted in the operator's book alone, without a recorded transfer's mirror)
    assert balance(AccountKind.COST_OF_TOKENS, book=s) == money("24.00")
    assert balance(AccountKind.DUE_TO_SELLER, book=s) == money("-24.00")
    # S, at wholesale for its whole subtree, in the operator's book; the operator's cost is the contract's
    derived = UsageEvent.objects.filter(hop=1)
    assert sorted((r.request_id, r.customer_id, r.end_customer_id) for r in derived) == [
        ("c1", s.pk, credit.pk),
        ("p1", s.pk, prepaid.pk),
        ("p2", s.pk, prepaid.pk),
    ]
    assert {(r.sell_amount, r.cost_amount, r.sell_plan, r.rating_state) for r in derived} == {
        (money("6"), money("5"), "Wholesale", RatingState.RATED)
    }
    assert wallet(s) == money("100") - 4 * money("6.00")
    assert balance(AccountKind.REVENUE_USAGE) == money("-24.00")
    vendor = rows["s1"].model.vendor
    assert account_get(kind=AccountKind.COST_OF_TOKENS, currency="CNY", vendor=vendor).balance == money("20")
    # rollups: S's requests are its own and its customers', at wholesale
    rolled = dict(
        UsageHourly.objects.values_list("customer_id")
        .annotate(s=Sum("sell_amount"))
        .values_list("customer_id", "s")
    )
    assert rolled == {s.pk: money("24"), prepaid.pk: money("15"), credit.pk: money("7.5")}
    # every transaction balances within its book, and the books account for every rated row
    for book in (None, s.pk):
        entries = JournalEntry.objects.filter(account__book_id=book).aggregate(d=Sum("amount"))
        assert entries["d"] == 0
    assert usage_coverage_problems() == []


@pytest.mark.postgres
def test_the_bulk_path_gives_the_per_batch_paths_numbers(source, audit):
    from tests.billing.usage.factories import source_make

    before = _balances()
    ingest("services", source, AUDIT_RECORDS)
    services = _stored()
    by_services = _moved(before, _balances())
    UsageEvent.objects.all().delete()
    other = source_make("gw-2")[0]

    middle = _balances()
    ingest("bulk", other, AUDIT_RECORDS)

    assert _stored() == services
    # and the ledger moved the same way, account by account in every book (commissions, own use, mirrors)
    assert _moved(middle, _balances()) == by_services
    assert by_services  # not vacuous: the batch did post


def _balances() -> dict[str, Decimal]:
    return dict(LedgerAccount.objects.values_list("code", "balance"))


def _moved(before: dict, after: dict) -> dict[str, Decimal]:
    return {
        code: amount - before.get(code, Decimal(0))
        for code, amount in after.items()
        if amount != before.get(code, Decimal(0))
    }


def _stored() -> list[tuple]:
    return sorted(
        UsageEvent.objects.values_list(
            "request_id", "hop", "customer_id", "end_customer_id", "rating_state", "sell_plan", "sell_amount",
            "sell_currency", "cost_amount", "cost_currency", "prompt_tokens", "completion_tokens",
        )
    )  # fmt: skip


def test_a_three_level_tree_rates_every_hop_at_the_next_hops_price(source, model):
    s1 = sub_make()
    plan_assign(s1, owned_plan(None, "Wholesale", "0.2"))
    top_up(s1, Decimal("50"), key="s1-topup")
    s2 = sub_make(s1, terms=BillingTerms.Mode.MONTHLY)
    plan_assign(s2, owned_plan(s1, "S1 to resellers", "0.4"))
    end = customer_make(key="key-e", parent=s2)
    plan_assign(end, owned_plan(s2, "S2 retail", "0.6"))
    book_top_up(end, "20")

    result = usage_batch_ingest(source=source, records=[use("r1", "key-e")])

    assert result.accepted == 1
    rows = UsageEvent.objects.order_by("hop").values_list(
        "hop", "customer_id", "end_customer_id", "sell_amount", "cost_amount", "sell_plan"
    )
    assert list(rows) == [
        (0, end.pk, None, money("8"), money("7"), "S2 retail"),
        (1, s2.pk, end.pk, money("7"), money("6"), "S1 to resellers"),
        (2, s1.pk, end.pk, money("6"), money("5"), "Wholesale"),
    ]
    # each hop in its seller's book: end in S2's, S2 in S1's, S1 in the operator's
    assert wallet(end) == money("12.00")
    assert balance(AccountKind.REVENUE_USAGE, book=s2) == money("-8.00")
    assert balance(AccountKind.DUE_TO_SELLER, book=s2) == money("-7.00")
    assert balance(AccountKind.UNBILLED_RECEIVABLE, customer=s2) == money("7.00")
    assert balance(AccountKind.REVENUE_USAGE, book=s1) == money("-7.00")
    assert balance(AccountKind.DUE_TO_SELLER, book=s1) == money("-6.00")
    assert wallet(s1) == money("44.00")
    assert balance(AccountKind.REVENUE_USAGE) == money("-6.00")


@pytest.fixture
def agency(model):
    agent = sub_make(mode=Customer.ChainMode.AGENCY)
    plan_assign(agent, owned_plan(None, "Agent price", "0.2"))
    end = customer_make(key="key-e", parent=agent)
    plan_assign(end, owned_plan(agent, "Agent retail", "0.5"))
    top_up(end, Decimal("20"), key="end-topup")
    return agent, end


@pytest.mark.parametrize("path", ["services", pytest.param("bulk", marks=pytest.mark.postgres)])
def test_an_agency_customer_is_billed_by_the_operator_at_retail_and_the_agent_earns_the_margin(
    source, agency, path
):
    agent, end = agency

    result = ingest(path, source, [use("r1", "key-e"), use("r2", "key-e")])

    assert (result.accepted, result.unrated) == (2, 0)
    sale = UsageEvent.objects.filter(hop=0)
    assert {(r.customer_id, r.sell_amount, r.cost_amount) for r in sale} == {
        (end.pk, money("7.5"), money("5"))
    }
    commission = UsageEvent.objects.filter(hop=1)
    assert {
        (r.customer_id, r.end_customer_id, r.rating_state, r.sell_amount, r.cost_amount) for r in commission
    } == {(agent.pk, end.pk, RatingState.COMMISSION, money("2.5") - 1, None)}
    assert commission.count() == 2
    # the operator sells at retail in its own book and owes the agent its commission; the agent buys nothing
    assert wallet(end) == money("5.00")
    assert balance(AccountKind.REVENUE_USAGE) == money("-15.00")
    assert balance(AccountKind.COMMISSION_EXPENSE) == money("3.00")
    assert balance(AccountKind.COMMISSION_PAYABLE, customer=agent) == money("-3.00")
    assert not UsageHourly.objects.filter(customer=agent).exists()
    assert not Wallet.objects.filter(customer=agent).exists()


def test_an_agency_under_a_reseller_sells_in_the_resellers_book_and_the_reseller_buys_at_wholesale(
    source, model
):
    s = sub_make()
    plan_assign(s, owned_plan(None, "Wholesale", "0.2"))
    top_up(s, Decimal("100"), key="s-topup")
    agent = sub_make(s, mode=Customer.ChainMode.AGENCY)
    plan_assign(agent, owned_plan(s, "S to agents", "0.4"))
    end = customer_make(key="key-e", parent=agent)
    plan_assign(end, owned_plan(agent, "Agent retail", "0.6"))
    book_top_up(end, "20")
    assert (end.seller_id, end.price_owner_id) == (s.pk, agent.pk)

    usage_batch_ingest(source=source, records=[use("r1", "key-e")])

    rows = UsageEvent.objects.order_by("hop", "customer_id").values_list(
        "hop", "customer_id", "rating_state", "sell_amount", "cost_amount"
    )
    assert list(rows) == [
        (0, end.pk, RatingState.RATED, money("8"), money("6")),  # at the agent's retail; S's cost
        (1, s.pk, RatingState.RATED, money("6"), money("5")),  # S's purchase from the operator
        (1, agent.pk, RatingState.COMMISSION, money("1"), None),  # retail 8 less the agent's price 7
    ]
    assert wallet(end) == money("12.00")
    assert balance(AccountKind.REVENUE_USAGE, book=s) == money("-8.00")
    assert balance(AccountKind.COMMISSION_EXPENSE, book=s) == money("1.00")
    assert balance(AccountKind.COMMISSION_PAYABLE, customer=agent) == money("-1.00")
    assert wallet(s) == money("94.00")


def test_a_percentage_commission_is_the_agents_rate_of_retail(source, agency):
    agent, _end = agency
    Customer.objects.filter(pk=agent.pk).update(
        commission_basis=Customer.CommissionBasis.PERCENT, commission_rate=Decimal("0.1")
    )

    usage_batch_ingest(source=source, records=[use("r1", "key-e")])

    commission = UsageEvent.objects.get(hop=1)
    assert (commission.rating_state, commission.sell_amount) == (RatingState.COMMISSION, money("0.75"))
    assert balance(AccountKind.COMMISSION_PAYABLE, customer=agent) == money("-0.75")


@pytest.mark.parametrize("path", ["services", pytest.param("bulk", marks=pytest.mark.postgres)])
def test_a_duplicate_request_charges_no_hop(source, audit, path):
    s, prepaid, _credit = audit
    ingest(path, source, [use("p1", "key-p")])

    again = ingest(path, source, [use("p1", "key-p"), use("p1", "key-p")])

    assert (again.accepted, again.duplicates) == (0, 2)
    assert UsageEvent.objects.filter(request_id="p1").count() == 2  # the event and S's hop, once
    assert wallet(prepaid) == money("92.50")
    assert wallet(s) == money("94.00")


def test_a_failed_request_gets_no_derived_rows(source, audit):
    usage_batch_ingest(source=source, records=[{**use("f1", "key-p"), "status": "failed"}])

    assert list(UsageEvent.objects.values_list("hop", "rating_state")) == [(0, RatingState.NOT_CHARGED)]


@pytest.fixture
def unpriced_seller(model):
    """S holds a plan that prices another vendor only: S's purchase of this model cannot be priced."""
    from catalog.models import PlanRule, Vendor

    s = sub_make()
    partial = owned_plan(None, "Other vendor only", "0.2")
    other = Vendor.objects.create(name="Other", slug="other")
    partial.rules.update(vendor=other)
    plan_assign(s, partial)
    top_up(s, Decimal("100"), key="s-topup")
    end = customer_make(key="key-e", parent=s)
    plan_assign(end, owned_plan(s, "S retail", "0.5"))
    book_top_up(end, "100")
    return s, end, partial, PlanRule


@pytest.mark.parametrize("path", ["services", pytest.param("bulk", marks=pytest.mark.postgres)])
def test_an_unpriced_hop_leaves_the_event_unrated_and_posts_nothing(source, unpriced_seller, path):
    s, end, _plan, _rule = unpriced_seller
    posted = JournalEntry.objects.count()

    result = ingest(path, source, [use("r1", "key-e")])

    assert (result.accepted, result.unrated) == (1, 1)
    row = UsageEvent.objects.get()
    assert (row.customer_id, row.rating_state, row.sell_amount) == (end.pk, RatingState.UNRATED, None)
    assert row.unrated_reason.startswith("no_price:") and f"for {s.name}'s purchase" in row.unrated_reason
    assert JournalEntry.objects.count() == posted
    assert (wallet(end), wallet(s)) == (money("100"), money("100"))


def test_rerating_an_unrated_event_of_a_resale_customer_creates_its_hops(source, unpriced_seller):
    s, end, partial, plan_rule = unpriced_seller
    usage_batch_ingest(source=source, records=[use("r1", "key-e")])
    # staff fix the seller's plan
    plan_rule.objects.filter(plan=partial).update(vendor=None)

    result = usage_rerate()

    assert (result.accepted, result.unrated) == (1, 0)
    rows = UsageEvent.objects.order_by("hop").values_list("hop", "customer_id", "sell_amount", "cost_amount")
    assert list(rows) == [(0, end.pk, money("7.5"), money("6")), (1, s.pk, money("6"), money("5"))]
    assert (wallet(end), wallet(s)) == (money("92.50"), money("94.00"))
    assert usage_rerate().accepted == 0  # nothing left: no hop is charged twice


def test_a_price_correction_of_chain_usage_is_refused_with_the_reason(source, audit, model):
    from datetime import timedelta

    from django.core.exceptions import ValidationError

    from accounts.models import StaffRole
    from billing.usage.corrections import rerate_diff, usage_correct
    from tests.billing.factories import staff
    from tests.billing.usage.factories import AT

    s, prepaid, _credit = audit
    usage_batch_ingest(source=source, records=AUDIT_RECORDS[:1])
    span = {"model": model, "since": AT - timedelta(hours=1), "until": AT + timedelta(hours=1)}
    posted = JournalEntry.objects.count()

    # the end customer's sale, and S's purchases of its customers' usage, are each one hop of several
    for customer in (prepaid, s):
        diff = rerate_diff(customer=customer, **span)
        assert not diff.changed and "distribution chain" in diff.skipped[0][1]
        with pytest.raises(ValidationError, match="distribution chain"):
            usage_correct(
                customer=customer,
                **span,
                reason="price",
                actor=staff(StaffRole.FINANCE),
                idempotency_key=f"k{customer.pk}",
            )
    assert JournalEntry.objects.count() == posted


@pytest.mark.parametrize("path", ["services", pytest.param("bulk", marks=pytest.mark.postgres)])
def test_token_allowances_lower_each_buyers_own_purchase(source, audit, path):
    from tests.billing.usage.test_allowances import pack_buy

    s, prepaid, _credit = audit
    for buyer in (prepaid, s):
        pack_buy(buyer, 2 * MILLION)  # one request's tokens

    ingest(
        path, source, [use("p1", "key-p"), {**use("p2", "key-p"), "occurred_at": "2026-05-04T10:31:00+00:00"}]
    )

    sales = UsageEvent.objects.order_by("hop", "occurred_at").values_list("hop", "sell_amount", "cost_amount")
    assert list(sales) == [
        # covered by the end customer's pack; S's purchase by S's pack: it cost S nothing
        (0, money("0"), money("0")),
        (0, money("7.5"), money("6")),
        (1, money("0"), money("5")),  # covered by S's own pack
        (1, money("6"), money("5")),
    ]
    assert (wallet(prepaid), wallet(s)) == (money("92.50"), money("94.00"))
    # S's book owes its seller what the seller charged (p2's 6.00), not the whole price of both purchases
    assert balance(AccountKind.DUE_TO_SELLER, book=s) == money("-6")
