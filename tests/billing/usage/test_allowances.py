"""Token allowances (packs, subscriptions, free grants) are drawn down before money, per batch × customer.

Default event: 1000 prompt + 500 completion = 1500 tokens, sold at 0.006 and costing 0.003 (CNY).
"""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from billing.allowances.models import AllowanceDraw, PackPurchase, Subscription, TokenAllowance
from billing.ledger.accounts import account_get
from billing.ledger.models import AccountKind, JournalTransaction
from billing.terms.models import BillingTerms
from billing.usage.models import UsageDaily, UsageEvent
from billing.usage.rerate import usage_rerate
from billing.usage.services import usage_batch_ingest
from billing.wallets.models import Wallet
from billing.wallets.selectors import wallet_balance
from catalog.models import FreeGrant, ModelGroup, Pack, SubscriptionPlan
from tests.billing.usage.conftest import top_up
from tests.billing.usage.factories import AT, alias_add, customer_make, event, markup_plan, priced_model

pytestmark = pytest.mark.django_db

SELL = Decimal("0.006")
COST = Decimal("0.003")
LATER = AT + timedelta(days=60)


def pack_buy(
    customer, tokens, *, expires_at=LATER, group=None, name=None, purchased_at=AT - timedelta(days=1)
):
    pack = Pack.objects.create(
        name=name or f"pack-{tokens}-{expires_at:%m%d}-{Pack.objects.count()}",
        allowance=Decimal(tokens),
        price=Decimal("1"),
        validity_days=30,
        group=group,
        currency="CNY",
    )
    return PackPurchase.objects.create(
        customer=customer,
        pack=pack,
        purchased_at=purchased_at,
        expires_at=expires_at,
        price=pack.price,
        currency="CNY",
        idempotency_key=f"buy-{pack.pk}",
    )


def subscribe(customer, tokens, *, overage_plan=None, starts_on=date(2026, 5, 1), group=None):
    plan = SubscriptionPlan.objects.create(
        name=f"coding-{tokens}-{SubscriptionPlan.objects.count()}",
        monthly_fee=Decimal("40"),
        allowance=Decimal(tokens),
        overage_plan=overage_plan,
        group=group,
        currency="CNY",
    )
    return Subscription.objects.create(customer=customer, plan=plan, starts_on=starts_on)


def ingest(source, records, key):
    return usage_batch_ingest(source=source, records=records, idempotency_key=key)


def sells():
    return list(
        UsageEvent.objects.order_by("occurred_at", "request_id").values_list("sell_amount", flat=True)
    )


def available(customer):
    return wallet_balance(wallet=Wallet.objects.get(customer=customer, currency="CNY")).available


def test_pack_is_drawn_before_money_and_cost_is_still_booked(source, prepaid):
    top_up(prepaid, Decimal("10"))
    purchase = pack_buy(prepaid, 3000)

    ingest(source, [event("r1"), event("r2"), event("r3", at=AT + timedelta(minutes=1))], "b1")

    assert sells() == [0, 0, SELL]
    assert available(prepaid) == Decimal("10") - SELL
    assert all(e.cost_amount == COST for e in UsageEvent.objects.all())
    allowance = TokenAllowance.objects.get(pack_purchase=purchase)
    assert (allowance.tokens, allowance.remaining) == (3000, 0)
    draw = AllowanceDraw.objects.get()
    assert (draw.allowance_id, draw.tokens, draw.events) == (allowance.pk, 3000, 2)
    # Still one journal transaction for the batch × customer: the wallet debit with the cost on it.
    (txn,) = JournalTransaction.objects.filter(kind__startswith="usage")
    cost = txn.entries.get(account__kind=AccountKind.COST_OF_TOKENS)
    assert cost.amount == 3 * COST
    assert UsageDaily.objects.get().sell_amount == SELL


def test_fully_covered_batch_charges_nothing_and_posts_cost_alone(source, prepaid):
    top_up(prepaid, Decimal("10"))
    pack_buy(prepaid, 10_000)

    ingest(source, [event("r1"), event("r2")], "b1")

    assert available(prepaid) == Decimal("10")
    (txn,) = JournalTransaction.objects.filter(kind__startswith="usage")
    assert txn.kind == "usage.cost"
    assert TokenAllowance.objects.get().remaining == 10_000 - 3000


def test_partly_covered_event_pays_the_uncovered_share_every_class_counting_one_to_one(source, prepaid):
    top_up(prepaid, Decimal("10"))
    pack_buy(prepaid, 1000)
    # 1000 prompt (400 of them cache reads) + 500 completion (200 of them reasoning) = 1500 tokens: the
    # cache reads and reasoning are part of prompt and completion and count like any other token.
    record = event("r1", cache_read_tokens=400, reasoning_tokens=200)

    ingest(source, [record], "b1")

    row = UsageEvent.objects.get()
    full = SELL  # this model has no cache-read price: cache reads are priced as input
    assert TokenAllowance.objects.get().remaining == 0
    assert row.sell_amount == full * 500 / 1500 == Decimal("0.002")
    assert row.cost_amount == COST
    assert available(prepaid) == Decimal("10") - row.sell_amount.quantize(Decimal(1).scaleb(-12))


def test_earliest_expiry_first_and_grant_before_pack_at_equal_expiry(source, prepaid):
    late = pack_buy(prepaid, 5000, expires_at=LATER)
    soon = pack_buy(prepaid, 1000, expires_at=AT + timedelta(days=5))
    grant = FreeGrant.objects.create(
        customer=prepaid,
        amount=Decimal(1000),
        granted_at=AT - timedelta(days=1),
        expires_at=LATER,
        currency="CNY",
    )

    ingest(source, [event("r1")], "b1")
    ingest(source, [event("r2", at=AT + timedelta(minutes=1))], "b2")

    left = {a.kind + str(a.pack_purchase_id or ""): a.remaining for a in TokenAllowance.objects.all()}
    # r1: the pack expiring soonest (1000), then the grant (500; same expiry as the late pack, granted first).
    # r2: the rest of the grant (500), then the late pack (1000).
    assert left == {f"pack{soon.pk}": 0, "grant": 0, f"pack{late.pk}": 4000}
    assert TokenAllowance.objects.get(kind="grant").grant_id == grant.pk
    assert sells() == [0, 0]


def test_expired_or_not_yet_bought_allowances_do_not_cover(source, prepaid):
    pack_buy(prepaid, 5000, expires_at=AT - timedelta(hours=1), purchased_at=AT - timedelta(days=30))
    pack_buy(prepaid, 5000, purchased_at=AT + timedelta(hours=1))

    ingest(source, [event("r1")], "b1")

    assert sells() == [SELL]
    assert not AllowanceDraw.objects.exists()


def test_group_restriction(source, prepaid, model):
    other = priced_model("kimi-k2", vendor_name="Moonshot")
    deepseek_only = ModelGroup.objects.create(name="DeepSeek models")
    deepseek_only.vendors.add(model.vendor)
    pack_buy(prepaid, 10_000, group=deepseek_only)

    ingest(source, [event("r1"), event("r2", model="kimi-k2")], "b1")

    by_model = dict(UsageEvent.objects.values_list("model__name", "sell_amount"))
    assert by_model["deepseek-chat"] == 0
    assert by_model["kimi-k2"] > 0
    assert TokenAllowance.objects.get().remaining == 10_000 - 1500
    assert other.pk in set(UsageEvent.objects.values_list("model_id", flat=True))


def test_subscription_resets_each_month_in_the_operator_time_zone(source, prepaid, settings):
    settings.TIME_ZONE = "Asia/Shanghai"
    sub = subscribe(prepaid, 2000)
    may_20 = datetime(2026, 5, 20, tzinfo=UTC)
    # 17:00 UTC on 31 May is 01:00 on 1 June in Shanghai: June's allowance, not May's.
    june_1_local = datetime(2026, 5, 31, 17, 0, tzinfo=UTC)

    ingest(source, [event("r1"), event("r2", at=may_20), event("r3", at=june_1_local)], "b1")

    months = dict(TokenAllowance.objects.filter(subscription=sub).values_list("month", "remaining"))
    assert months == {date(2026, 5, 1): 0, date(2026, 6, 1): 500}
    # r2 found 500 tokens left in May: it pays for the other 1000 of its 1500.
    assert sells() == [0, SELL * 1000 / 1500, 0]


def test_overage_is_rated_at_the_subscription_plans_overage_plan(source, prepaid):
    overage = markup_plan("coding-overage", "2")  # cost × 3: 0.009 per default event
    subscribe(prepaid, 1500, overage_plan=overage)

    ingest(source, [event("r1"), event("r2", at=AT + timedelta(minutes=1))], "b1")

    first, second = UsageEvent.objects.order_by("occurred_at")
    assert first.sell_amount == 0
    assert second.sell_amount == Decimal("0.009")
    assert second.sell_plan == "coding-overage"


def test_overage_without_an_overage_plan_uses_the_customers_own_plan(source, prepaid):
    subscribe(prepaid, 1500)

    ingest(source, [event("r1"), event("r2", at=AT + timedelta(minutes=1))], "b1")

    assert sells() == [0, SELL]


def test_duplicates_and_redeliveries_never_draw_twice(source, prepaid):
    pack_buy(prepaid, 10_000)
    records = [event("r1"), event("r2")]

    ingest(source, records, "b1")
    ingest(source, records, "b1")  # redelivered batch
    ingest(source, [event("r2"), event("r3")], "b2")  # r2 is a duplicate

    assert TokenAllowance.objects.get().remaining == 10_000 - 3 * 1500
    assert AllowanceDraw.objects.count() == 2


def test_credit_terms_customer_accrues_only_the_uncovered_part(source, model):
    customer = customer_make(key="key-c", mode=BillingTerms.Mode.MONTHLY)
    pack_buy(customer, 1500)

    ingest(source, [event("r1", key="key-c"), event("r2", key="key-c", at=AT + timedelta(minutes=1))], "b1")

    unbilled = account_get(kind=AccountKind.UNBILLED_RECEIVABLE, currency="CNY", customer=customer)
    assert unbilled.balance == SELL


def test_rerated_events_draw_allowances_too(source, prepaid, model):
    pack_buy(prepaid, 10_000)
    ingest(source, [event("r1", model="ds-alias")], "b1")
    assert not AllowanceDraw.objects.exists()

    alias_add(model, "ds-alias")
    usage_rerate()

    assert sells() == [0]
    assert TokenAllowance.objects.get().remaining == 10_000 - 1500


def test_holders_are_found_without_writing_their_missing_balance_rows(prepaid, model):
    """A pack bought and a subscription whose month has no balance row yet: both customers are holders,
    and asking creates nothing (a bulk writer asks while another chunk's uncommitted rows may exist).
    The draw then creates the rows."""
    from billing.allowances.drawdown import allowance_holders, balances_load

    subscriber = customer_make(key="sub")
    bystander = customer_make(key="none")
    pack_buy(prepaid, 4000)
    subscribe(subscriber, 1000)
    customers = {prepaid.pk, subscriber.pk, bystander.pk}

    holders = allowance_holders(customer_ids=customers, start=AT, end=AT + timedelta(hours=1))

    assert holders == {prepaid.pk, subscriber.pk}
    assert not TokenAllowance.objects.exists()
    balances = balances_load(customer_ids=holders, start=AT, end=AT + timedelta(hours=1))
    assert set(balances) == holders and TokenAllowance.objects.count() == 2
    assert allowance_holders(customer_ids=customers, start=AT, end=AT + timedelta(hours=1)) == holders
