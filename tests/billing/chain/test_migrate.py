"""chain_migrate: a direct sub-distributor moves to resale with its customers' plans as its retail plans and
their prepaid credit in its own book (every book still balancing), or is refused with what to settle first;
back to direct only with an empty book."""

import datetime as dt
from collections import defaultdict
from decimal import Decimal

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.utils import timezone

from accounts.models import Customer
from billing.chain.migrate import MigrationRefused, migration_apply, migration_plan
from billing.ledger.accounts import account_get
from billing.ledger.models import AccountKind, LedgerAccount
from billing.ledger.services import credit, debit, transaction_post
from billing.ledger.verify import ledger_problems
from billing.terms.models import BillingTerms
from billing.usage.models import GatewayKey, UsageBatch, UsageEvent
from billing.usage.services import usage_batch_ingest
from billing.wallets.verify import wallet_problems
from catalog.models import BookKind, PlanRule, SellPlan
from catalog.rating import TOKEN_CLASSES
from catalog.selectors.pricelist import price_list
from catalog.selectors.pricing import plan_for_customer
from catalog.services.plans import plan_assign, plan_create
from tests.billing.documents.helpers import invoice
from tests.billing.factories import grant, topup
from tests.billing.usage.factories import source_make
from tests.catalog.factories import EPOCH, AIModelFactory, PriceBookFactory, add_prices, add_rule, tier
from tests.factories import CustomerFactory, SubDistributorFactory

pytestmark = pytest.mark.django_db
DIRECT = Customer.ChainMode.DIRECT


def balance(kind, customer=None, *, book=None, currency="CNY") -> Decimal:
    """An account's balance as its holder reads it (credit-normal deposits positive)."""
    account = LedgerAccount.objects.filter(kind=kind, customer=customer, book=book, currency=currency).first()
    if account is None:
        return Decimal(0)
    return -account.balance if kind == AccountKind.WALLET_PAID else account.balance


def books_balance() -> dict:
    totals: dict = defaultdict(Decimal)
    for book, currency, amount in LedgerAccount.objects.values_list("book_id", "currency", "balance"):
        totals[(book, currency)] += amount
    return {key: total for key, total in totals.items() if total != 0}


@pytest.fixture
def tree():
    """Direct S on "Wholesale CNY" (5% off list); C1 inherits it and holds 100.00, C2 is on the explicit
    "Gold" plan and holds 40.00, C3 is on the default plan with no money."""
    model = AIModelFactory(name="glm-5")
    listing = PriceBookFactory(name="Zhipu list", kind=BookKind.LIST, currency="CNY")
    gold_book = PriceBookFactory(name="Gold prices", kind=BookKind.SELL, currency="CNY")
    add_prices(listing, model, tier(input="16", output="40"))
    add_prices(gold_book, model, tier(input="14", output="35"))
    standard = plan_create(name="Standard CNY", currency="CNY", is_default=True)
    add_rule(standard, PlanRule.Method.LIST_DISCOUNT, discount=Decimal("0"))
    wholesale = plan_create(name="Wholesale CNY", currency="CNY")
    add_rule(wholesale, PlanRule.Method.LIST_DISCOUNT, discount=Decimal("0.05"))
    gold = plan_create(name="Gold", currency="CNY")
    add_rule(gold, PlanRule.Method.EXPLICIT, source_book=gold_book)
    sub = SubDistributorFactory(name="Shop S", code="shop-s", chain_mode=DIRECT)
    plan_assign(customer=sub, plan=wholesale, effective_from=EPOCH)
    c1 = CustomerFactory(name="C One", code="c1", parent=sub)
    c2 = CustomerFactory(name="C Two", code="c2", parent=sub)
    c3 = CustomerFactory(name="C Three", code="c3", parent=sub)
    plan_assign(customer=c2, plan=gold, effective_from=EPOCH)
    # C3 has its own operator plan that its subtree default would otherwise give it.
    plan_assign(customer=c3, plan=standard, effective_from=EPOCH)
    topup(c1, "100.00", "c1-top")
    topup(c2, "40.00", "c2-top")
    return {"model": model, "sub": sub, "c1": c1, "c2": c2, "c3": c3, "wholesale": wholesale, "gold": gold}


def _prices(plan, at):
    """Input and output per million tokens, per model, under ``plan`` (normalised: 15.2, not 15.20…)."""
    columns = (TOKEN_CLASSES.index("input"), TOKEN_CLASSES.index("output"))
    return [
        (row.model.name, tuple(row.prices[i].normalize() for i in columns))
        for row in price_list(plan, at)
        if not row.unavailable
    ]


def test_dry_run_says_what_would_happen_and_changes_nothing(tree, capsys):
    call_command("chain_migrate", "--sub-distributor", "shop-s", "--mode", "resale")

    out = capsys.readouterr().out
    assert "Buys at the operator's plan Wholesale CNY." in out
    assert "Retail plan Wholesale CNY (a copy owned by shop-s) for: c1." in out
    assert "Retail plan Gold (a copy owned by shop-s) for: c2." in out
    assert "Move c1's paid credit 100.000000000000 CNY into shop-s's book." in out
    assert "Dry run: nothing was changed." in out
    tree["sub"].refresh_from_db()
    assert tree["sub"].chain_mode == DIRECT and not SellPlan.objects.filter(owner=tree["sub"]).exists()
    assert balance(AccountKind.WALLET_PAID, tree["c1"]) == Decimal("100")


def test_resale_moves_prices_and_money_into_the_sub_distributors_book(tree, capsys):
    sub, c1, c2, c3 = tree["sub"], tree["c1"], tree["c2"], tree["c3"]
    before = {c.code: _prices(plan_for_customer(c, timezone.now())[0], timezone.now()) for c in (c1, c2, c3)}

    call_command("chain_migrate", "--sub-distributor", "shop-s", "--mode", "resale", "--apply")

    assert "Done: shop-s is now resale." in capsys.readouterr().out
    now = timezone.now() + dt.timedelta(seconds=1)
    for customer in (sub, c1, c2, c3):
        customer.refresh_from_db()
    assert sub.chain_mode == "resale" and sub.seller_id is None
    assert {(c.seller_id, c.price_owner_id) for c in (c1, c2, c3)} == {(sub.pk, sub.pk)}
    # Each customer pays what it paid, now at a plan of S's: 16/40 at list, 14/35 on Gold, 15.2/38 wholesale.
    for customer in (c1, c2, c3):
        plan, source = plan_for_customer(customer, now)
        assert (plan.owner_id, source) == (sub.pk, "assigned")
        assert _prices(plan, now) == before[customer.code]
    assert before == {
        "c1": [("glm-5", (Decimal("15.2"), Decimal("38")))],
        "c2": [("glm-5", (Decimal("14"), Decimal("35")))],
        "c3": [("glm-5", (Decimal("16"), Decimal("40")))],
    }
    assert sorted(SellPlan.objects.filter(owner=sub).values_list("name", flat=True)) == [
        "Gold",
        "Standard CNY",
        "Wholesale CNY",
    ]
    # S still buys at the operator's wholesale plan.
    assert plan_for_customer(sub, now)[0] == tree["wholesale"]
    # Money: the operator's book holds 140.00 of S's, S's book 100.00 of C1's and 40.00 of C2's,
    # prepaid to its seller (DUE_TO_SELLER, a debit balance).
    assert balance(AccountKind.WALLET_PAID, c1) == 0 and balance(AccountKind.WALLET_PAID, c2) == 0
    assert balance(AccountKind.WALLET_PAID, sub) == Decimal("140")
    assert balance(AccountKind.WALLET_PAID, c1, book=sub) == Decimal("100")
    assert balance(AccountKind.WALLET_PAID, c2, book=sub) == Decimal("40")
    assert balance(AccountKind.DUE_TO_SELLER, book=sub) == Decimal("140")
    assert balance(AccountKind.CASH_BANK) == Decimal("140")
    assert books_balance() == {}
    assert ledger_problems() == [] and wallet_problems() == []


def test_a_second_run_finds_it_done(tree):
    migration_apply(migration_plan(sub=tree["sub"], mode="resale"))
    sub = Customer.objects.get(pk=tree["sub"].pk)

    plan = migration_plan(sub=sub, mode="resale")

    assert plan.refusals == ["shop-s is already resale: nothing to do."]
    with pytest.raises(MigrationRefused):
        migration_apply(plan)
    assert balance(AccountKind.WALLET_PAID, sub) == Decimal("140")


def test_open_invoices_granted_credit_and_cost_plus_plans_are_refused(tree, capsys):
    c4 = CustomerFactory(name="C Four", code="c4", parent=tree["sub"])
    invoice(c4, "30.00", dt.date(2026, 10, 5))
    grant(tree["c1"], "5.00", "c1-grant")
    cost_plus = plan_create(name="Cost plus", currency="CNY")
    add_rule(cost_plus, PlanRule.Method.COST_MARKUP, markup=Decimal("0.1"))
    plan_assign(customer=tree["c3"], plan=cost_plus, effective_from=EPOCH + dt.timedelta(days=1))

    with pytest.raises(CommandError, match="nothing was changed"):
        call_command("chain_migrate", "--sub-distributor", "shop-s", "--mode", "resale", "--apply")

    out = capsys.readouterr().out
    assert "c4 has open or draft invoices" in out
    assert "c4 has a receivable balance of 30.00" in out
    assert "c1 has granted credit of 5.00" in out
    assert "Plan Cost plus prices from our contract cost" in out
    tree["sub"].refresh_from_db()
    assert tree["sub"].chain_mode == DIRECT
    assert balance(AccountKind.WALLET_PAID, tree["c1"]) == Decimal("100")


def test_the_switch_is_never_before_usage_already_charged_nor_in_the_future(tree):
    batch = UsageBatch.objects.create(idempotency_key="late", request_hash="")
    charged = timezone.now() - dt.timedelta(minutes=5)
    UsageEvent.objects.create(
        batch=batch, request_id="r1", occurred_at=charged, customer=tree["c1"], model_name="glm-5"
    )

    early = migration_plan(sub=tree["sub"], mode="resale", at=charged - dt.timedelta(hours=1))
    future = migration_plan(sub=tree["sub"], mode="resale", at=timezone.now() + dt.timedelta(hours=1))

    assert early.refusals == [f"Usage up to {charged} is already charged the old way: switch after it."]
    assert future.refusals == [
        "The switch cannot be in the future: it applies to every event rated after it."
    ]
    assert migration_plan(sub=tree["sub"], mode="resale").refusals == []


def test_back_to_direct_only_with_an_empty_book(tree):
    sub = tree["sub"]
    migration_apply(migration_plan(sub=sub, mode="resale"))
    sub.refresh_from_db()

    plan = migration_plan(sub=sub, mode="direct")
    assert len(plan.refusals) == 1 and "shop-s's book is not empty" in plan.refusals[0]

    empty = SubDistributorFactory(name="Shop E", code="shop-e", chain_mode=DIRECT)
    lone = CustomerFactory(name="E One", code="e1", parent=empty)
    migration_apply(migration_plan(sub=empty, mode="resale"))
    empty.refresh_from_db()
    migration_apply(migration_plan(sub=empty, mode="direct"))
    lone.refresh_from_db()
    assert (Customer.objects.get(pk=empty.pk).chain_mode, lone.seller_id, lone.price_owner_id) == (
        "direct",
        None,
        None,
    )


def test_after_the_move_usage_is_sold_in_the_sub_distributors_book(tree):
    sub, c1 = tree["sub"], tree["c1"]
    add_prices(
        PriceBookFactory(name="Zhipu contract", kind=BookKind.COST, currency="CNY"),
        tree["model"],
        tier(input="10", output="20"),
    )
    for customer in (sub, c1):
        BillingTerms.objects.create(customer=customer, mode=BillingTerms.Mode.PREPAID, currency="CNY")
    GatewayKey.objects.create(key="key-c1", customer=c1)
    migration_apply(migration_plan(sub=sub, mode="resale"))
    record = {
        "request_id": "after-1",
        "occurred_at": timezone.now().isoformat(),
        "key": "key-c1",
        "model": "glm-5",
        "prompt_tokens": 1_000_000,
        "completion_tokens": 0,
    }

    result = usage_batch_ingest(source=source_make()[0], records=[record], idempotency_key="after")

    assert result.accepted == 1 and result.unrated == 0
    sub.refresh_from_db()
    # C1 pays S's retail (its old plan's 15.20) from the credit now held in S's book; S pays the operator
    # its wholesale (15.20 too: the copy sells at what S buys) from the deposit it took over.
    assert balance(AccountKind.WALLET_PAID, c1, book=sub) == Decimal("84.80")
    assert balance(AccountKind.WALLET_PAID, sub) == Decimal("124.80")
    assert balance(AccountKind.DUE_TO_SELLER, book=sub) == Decimal("124.80")
    assert books_balance() == {}
    assert ledger_problems() == [] and wallet_problems() == []


def test_a_named_wholesale_plan_becomes_its_buy_price_from_the_switch(tree, capsys):
    sub = tree["sub"]
    cheaper = plan_create(name="Wholesale 10% CNY", currency="CNY")
    add_rule(cheaper, PlanRule.Method.LIST_DISCOUNT, discount=Decimal("0.1"))

    with pytest.raises(CommandError, match="no customer has the code"):
        call_command("chain_migrate", "--sub-distributor", "nobody", "--mode", "resale")
    with pytest.raises(CommandError, match="nothing was changed"):
        call_command(
            "chain_migrate", "--sub-distributor", "shop-s", "--mode", "resale", "--wholesale-plan", "Nope"
        )
    assert f"{settings.OPERATOR_NAME} has no plan named Nope." in capsys.readouterr().out
    call_command(
        "chain_migrate",
        "--sub-distributor",
        "shop-s",
        "--mode",
        "resale",
        "--wholesale-plan",
        cheaper.name,
        "--apply",
    )

    now = timezone.now() + dt.timedelta(seconds=1)
    sub.refresh_from_db()
    assert plan_for_customer(sub, now) == (cheaper, "assigned")
    assert _prices(cheaper, now) == [("glm-5", (Decimal("14.4"), Decimal("36")))]  # S's margin: 0.80 / 2.00
    c1 = Customer.objects.get(pk=tree["c1"].pk)
    assert _prices(plan_for_customer(c1, now)[0], now) == [("glm-5", (Decimal("15.2"), Decimal("38")))]


def _wallet_pairs(customer) -> dict:
    """Where ``customer``'s paid credit is: book id → what it holds there."""
    return {
        book: -amount
        for book, amount in LedgerAccount.objects.filter(
            customer=customer, kind=AccountKind.WALLET_PAID
        ).values_list("book_id", "balance")
    }


def test_under_a_reseller_the_credit_moves_from_the_resellers_book(tree):
    """S, direct under the reseller R, holds C whose 100 is in R's book: the move takes it out of R's book
    (where S now holds that deposit with R) into S's, each book balancing."""
    r = SubDistributorFactory(name="Reseller R", code="r", chain_mode=Customer.ChainMode.RESALE)
    plan_assign(customer=r, plan=tree["wholesale"], effective_from=EPOCH)
    r_plan = plan_create(name="R retail", currency="CNY", owner=r)
    add_rule(r_plan, PlanRule.Method.LIST_DISCOUNT, discount=Decimal("0"))
    r_cheap = plan_create(name="R to shops", currency="CNY", owner=r)
    add_rule(r_cheap, PlanRule.Method.LIST_DISCOUNT, discount=Decimal("0.02"))
    s = SubDistributorFactory(name="Shop T", code="shop-t", parent=r, chain_mode=DIRECT)
    plan_assign(customer=s, plan=r_plan, effective_from=EPOCH)
    c = CustomerFactory(name="C Deep", code="cdeep", parent=s)
    c.refresh_from_db()
    assert c.seller_id == r.pk
    topup(c, "100.00", "cdeep-top")

    plan = migration_plan(sub=s, mode="resale", wholesale_plan="R to shops")

    assert plan.refusals == [] and [(t.customer.code, t.amount) for t in plan.transfers] == [
        ("cdeep", Decimal("100"))
    ]
    assert plan.wholesale == r_cheap  # S buys from its own seller R, by R's plan's name
    assert "Buys at its seller Reseller R's plan R to shops (assigned from the switch)." in plan.describe()
    assert "Move cdeep's paid credit 100.000000000000 CNY into shop-t's book." in plan.describe()
    migration_apply(plan)
    c.refresh_from_db()
    s.refresh_from_db()
    assert (s.seller_id, c.seller_id) == (r.pk, s.pk)
    assert _wallet_pairs(c) == {r.pk: Decimal("0"), s.pk: Decimal("100")}
    assert _wallet_pairs(s) == {r.pk: Decimal("100")}  # S's deposit with R
    assert balance(AccountKind.DUE_TO_SELLER, book=s) == Decimal("100")
    clearing = LedgerAccount.objects.get(kind=AccountKind.MANUAL_ADJUSTMENT, book=r)
    assert clearing.balance == 0 and clearing.entries.count() == 2
    assert books_balance() == {}
    assert ledger_problems() == [] and wallet_problems() == []


def test_under_a_reseller_what_cannot_move_is_refused_from_the_resellers_book(tree):
    r = SubDistributorFactory(name="Reseller R", code="r", chain_mode=Customer.ChainMode.RESALE)
    s = SubDistributorFactory(name="Shop T", code="shop-t", parent=r, chain_mode=DIRECT)
    r_plan = plan_create(name="R retail", currency="CNY", owner=r, is_default=True)
    add_rule(r_plan, PlanRule.Method.LIST_DISCOUNT, discount=Decimal("0"))
    c = CustomerFactory(name="C Deep", code="cdeep", parent=s)
    c.refresh_from_db()
    grant(c, "5.00", "cdeep-grant")

    plan = migration_plan(sub=s, mode="resale")

    assert len(plan.refusals) == 1
    assert plan.refusals[0].startswith("cdeep has granted credit of 5.00")
    with pytest.raises(MigrationRefused):
        migration_apply(plan)


def test_an_agencys_customers_below_move_with_their_credit_and_keep_their_agents_plans(tree):
    """An agency A under S: S will bill A's customers (A's seller), so their credit moves into S's book
    too; A's plans still price them; A buys at S's copy of A's current plan."""
    sub = tree["sub"]
    agent = SubDistributorFactory(
        name="Agent A", code="agent-a", parent=sub, chain_mode=Customer.ChainMode.AGENCY
    )
    plan_assign(customer=agent, plan=tree["wholesale"], effective_from=EPOCH)
    a_plan = plan_create(name="A retail", currency="CNY", owner=agent)
    add_rule(a_plan, PlanRule.Method.LIST_DISCOUNT, discount=Decimal("0"))
    c = CustomerFactory(name="C Agency", code="cag", parent=agent)
    plan_assign(customer=c, plan=a_plan, effective_from=EPOCH)
    c.refresh_from_db()
    assert (c.seller_id, c.price_owner_id) == (None, agent.pk)
    topup(c, "100.00", "cag-top")

    plan = migration_plan(sub=sub, mode="resale")

    assert plan.refusals == []
    assert {t.customer.code: t.amount for t in plan.transfers} == {
        "c1": Decimal("100"),
        "c2": Decimal("40"),
        "cag": Decimal("100"),
    }
    assert c.pk not in plan.plans and plan.plans[agent.pk] == tree["wholesale"]
    migration_apply(plan)
    c.refresh_from_db()
    agent.refresh_from_db()
    assert (c.seller_id, c.price_owner_id) == (sub.pk, agent.pk)
    assert _wallet_pairs(c) == {None: Decimal("0"), sub.pk: Decimal("100")}
    assert balance(AccountKind.WALLET_PAID, sub) == Decimal("240")
    now = timezone.now() + dt.timedelta(seconds=1)
    assert plan_for_customer(c, now) == (a_plan, "assigned")
    assert plan_for_customer(agent, now)[0].owner_id == sub.pk
    assert books_balance() == {}
    assert ledger_problems() == [] and wallet_problems() == []


def test_usage_already_charged_to_an_agencys_customer_below_blocks_an_earlier_switch(tree):
    agent = SubDistributorFactory(
        name="Agent A", code="agent-a", parent=tree["sub"], chain_mode=Customer.ChainMode.AGENCY
    )
    c = CustomerFactory(name="C Agency", code="cag", parent=agent)
    charged = timezone.now() - dt.timedelta(minutes=5)
    UsageEvent.objects.create(
        batch=UsageBatch.objects.create(idempotency_key="late", request_hash=""),
        request_id="r1",
        occurred_at=charged,
        customer=c,
        model_name="glm-5",
    )

    early = migration_plan(sub=tree["sub"], mode="resale", at=charged - dt.timedelta(hours=1))

    assert f"Usage up to {charged} is already charged the old way: switch after it." in early.refusals


def test_commission_owed_to_an_agency_below_is_refused_until_settled(tree):
    agent = SubDistributorFactory(
        name="Agent A", code="agent-a", parent=tree["sub"], chain_mode=Customer.ChainMode.AGENCY
    )
    payable = account_get(kind=AccountKind.COMMISSION_PAYABLE, currency="CNY", customer=agent)
    expense = account_get(kind=AccountKind.COMMISSION_EXPENSE, currency="CNY")
    transaction_post(
        idempotency_key="accrue-a",
        kind="usage.commission",
        lines=[debit(expense, Decimal("7.50"), "CNY"), credit(payable, Decimal("7.50"), "CNY")],
        memo="commission",
        source="test",
    )

    plan = migration_plan(sub=tree["sub"], mode="resale")

    assert len(plan.refusals) == 1
    assert plan.refusals[0].startswith("agent-a has commission of 7.50")
    assert "settle its commission statement first" in plan.refusals[0]


def test_a_resellers_cost_plus_plan_is_refused_it_would_price_on_what_s_buys_at(tree):
    r = SubDistributorFactory(name="Reseller R", code="r", chain_mode=Customer.ChainMode.RESALE)
    s = SubDistributorFactory(name="Shop T", code="shop-t", parent=r, chain_mode=DIRECT)
    plus = plan_create(name="R plus", currency="CNY", owner=r, is_default=True)
    add_rule(plus, PlanRule.Method.WHOLESALE_MARKUP, markup=Decimal("0.2"))
    CustomerFactory(name="C Deep", code="cdeep", parent=s)

    plan = migration_plan(sub=s, mode="resale")

    assert plan.refusals == [
        "Plan R plus marks up what Reseller R buys at, which is not what shop-t will buy at: give its "
        "customers a list-discount or explicit plan first."
    ]


def test_explicit_prices_move_with_their_windows_and_service_tiers(tree):
    """The Gold book's night price and flex tier are part of its prices: the sub-distributor's copy keeps
    both, so its customer pays at night what it paid at night."""
    from catalog.models import PriceBook, PriceEntry
    from catalog.rating import Usage, rate
    from catalog.selectors.pricing import entry_schedule
    from catalog.services.books import WindowSpec, price_entry_create

    gold_book = PriceBook.objects.get(name="Gold prices")
    night = WindowSpec(
        label="Off-peak",
        time_zone="Asia/Shanghai",
        rules=[{"weekdays": [1, 2, 3, 4, 5, 6, 7], "start": "00:30", "end": "08:30"}],
        input=Decimal("7"),
        output=Decimal("17.5"),
    )
    price_entry_create(
        book=gold_book,
        model=tree["model"],
        effective_from=timezone.now() - dt.timedelta(hours=1),
        tiers=[tier(input="14", output="35")],
        service_tiers=[("flex", [tier(input="7", output="20")])],
        windows=[night],
    )
    migration_apply(migration_plan(sub=tree["sub"], mode="resale"))

    copy = PriceEntry.objects.get(book__owner=tree["sub"], effective_to__isnull=True)
    schedule = entry_schedule(copy)
    at_night = dt.datetime(2026, 12, 7, 17, 0, tzinfo=dt.UTC)  # 01:00 in Shanghai
    assert rate(schedule, Usage(1_000_000, at=at_night)).total == Decimal("7")
    assert rate(schedule, Usage(1_000_000, service_tier="flex")).total == Decimal("7")
    assert [w.label for w in schedule.windows] == ["Off-peak"]
