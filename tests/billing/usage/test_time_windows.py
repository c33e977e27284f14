"""Time-of-day (off-peak) windows on the per-batch path, with LiteLLM's real DeepSeek windows.

``deepseek-v4-flash``'s ``off_peak_pricing`` (LiteLLM's bundled map): weekdays 1–5 ``hours_utc`` 00:00-01:00,
04:00-06:00 and 10:00-00:00, weekends the whole day, weekdays read in UTC — stored as a window in UTC. The
``tencent/deepseek-v4.1-flash`` variant reads the weekday in Asia/Shanghai (``weekday_timezone``): stored in
Asia/Shanghai with the hours moved by +8 (18:00-08:00 wraps midnight), as the importer stores it.

Prices are per million tokens (USD). List: input 0.30, cache read 0.006, output 1.20; off-peak 0.15,
0.003, 0.60. Cost: input 0.20, cache read 0.004, output 0.80; off-peak 0.10, 0.002, 0.40. Customer A's
plan is list × 0.75 and inherits the windows scaled; customer B's is the same discount with
``keep_windows=False``: the standard price at all hours. Each event: 1,234 prompt tokens of which 200 cache
reads, 567 completion tokens. By hand:

* A, standard: 1034 × 0.225 + 200 × 0.0045 + 567 × 0.9 = 743.85 per million → 0.00074385
* A, off-peak: 1034 × 0.1125 + 200 × 0.00225 + 567 × 0.45 = 371.925 → 0.000371925
* cost, standard: 1034 × 0.2 + 200 × 0.004 + 567 × 0.8 = 661.2 → 0.0006612
* cost, off-peak: 1034 × 0.1 + 200 × 0.002 + 567 × 0.4 = 330.6 → 0.0003306
"""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from accounts.models import Customer, StaffRole
from billing.allowances.models import Subscription
from billing.terms.models import BillingTerms
from billing.usage.channel_map import mapped_channel_create
from billing.usage.corrections import usage_correct
from billing.usage.models import GatewayKey, RatingState, UsageDaily, UsageEvent, UsageWindowDaily
from billing.usage.pricing import BatchPricer
from billing.usage.rerate import usage_rerate
from billing.usage.services import usage_batch_ingest
from catalog.models import (
    AIModel,
    BookKind,
    PlanRule,
    PriceBook,
    PriceWindow,
    SellPlan,
    Settlement,
    SubscriptionPlan,
    Vendor,
)
from catalog.rating import Usage, rate
from catalog.services.books import WindowSpec
from catalog.services.contracts import contract_create
from catalog.services.plans import plan_assign, plan_rule_create
from tests.billing.factories import staff
from tests.billing.usage.factories import T0, customer_make, markup_plan, owned_plan, source_make
from tests.catalog.factories import add_prices, tier
from tests.factories import SubDistributorFactory

pytestmark = pytest.mark.django_db

SELL_STANDARD, SELL_OFF_PEAK = Decimal("0.00074385"), Decimal("0.000371925")
COST_STANDARD, COST_OFF_PEAK = Decimal("0.0006612"), Decimal("0.0003306")
OFF_PEAK = "Off-peak"
WEEKDAYS, WEEKEND = [1, 2, 3, 4, 5], [6, 7]
# deepseek-v4-flash: hours and weekdays in UTC.
UTC_RULES = [
    {"weekdays": WEEKDAYS, "start": "00:00", "end": "01:00"},
    {"weekdays": WEEKDAYS, "start": "04:00", "end": "06:00"},
    {"weekdays": WEEKDAYS, "start": "10:00", "end": "00:00"},
    {"weekdays": WEEKEND, "start": "00:00", "end": "00:00"},
]
# tencent/deepseek-v4.1-flash: the same UTC hours, the weekday read in Asia/Shanghai (UTC+8, no DST).
SHANGHAI_RULES = [
    {"weekdays": WEEKDAYS, "start": "08:00", "end": "09:00"},
    {"weekdays": WEEKDAYS, "start": "12:00", "end": "14:00"},
    {"weekdays": WEEKDAYS, "start": "18:00", "end": "08:00"},
    {"weekdays": WEEKEND, "start": "00:00", "end": "00:00"},
]


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# (instant, off-peak?) — 2026-05-04 is a Monday, 2026-05-08 a Friday, 2026-05-09 a Saturday.
UTC_CASES = [
    ("2026-05-04T00:00:00", True),  # a start is inclusive
    ("2026-05-04T00:59:59.999", True),
    ("2026-05-04T01:00:00", False),  # an end is exclusive
    ("2026-05-04T03:59:59.999", False),
    ("2026-05-04T04:00:00", True),
    ("2026-05-04T05:59:59.999", True),
    ("2026-05-04T06:00:00", False),
    ("2026-05-04T09:59:59.999", False),
    ("2026-05-04T10:00:00", True),
    ("2026-05-04T23:59:59.999", True),  # 10:00-00:00 runs to midnight
    ("2026-05-08T02:00:00", False),  # Friday, standard hours
    ("2026-05-09T02:00:00", True),  # Saturday: the whole day
    ("2026-05-10T08:00:00", True),  # Sunday
]
SHANGHAI_CASES = [
    ("2026-05-04T00:59:59.999", True),  # Monday 08:59:59.999 in Shanghai
    ("2026-05-04T01:00:00", False),  # Monday 09:00 in Shanghai: the end, exclusive
    ("2026-05-04T09:59:59.999", False),  # 17:59:59.999
    ("2026-05-04T10:00:00", True),  # 18:00, the start of the window that wraps midnight
    ("2026-05-03T23:59:59.999", True),  # Sunday in UTC, Monday 07:59:59.999 in Shanghai
    ("2026-05-08T02:00:00", False),  # Friday 10:00 in Shanghai
    ("2026-05-08T20:00:00", True),  # Friday 20:00 UTC is Saturday 04:00 in Shanghai
    ("2026-05-09T02:00:00", True),  # Saturday 10:00 in Shanghai: the whole day
    ("2026-05-11T02:00:00", False),  # Monday 10:00 in Shanghai
]


def _window(zone: str, rules: list, **prices) -> WindowSpec:
    return WindowSpec(
        label=OFF_PEAK, time_zone=zone, rules=rules, **{k: Decimal(v) for k, v in prices.items()}
    )


def _books():
    list_book = PriceBook.objects.create(name="DeepSeek list", kind=BookKind.LIST, currency="USD")
    cost_book = PriceBook.objects.create(name="DeepSeek cost", kind=BookKind.COST, currency="USD")
    return list_book, cost_book


def _windowed_model(name: str, zone: str, rules: list, books) -> AIModel:
    vendor, _ = Vendor.objects.get_or_create(name="DeepSeek", slug="deepseek")
    model = AIModel.objects.create(vendor=vendor, name=name)
    list_book, cost_book = books
    add_prices(
        list_book,
        model,
        tier(input="0.30", output="1.20", cache_read="0.006"),
        effective_from=T0,
        windows=[_window(zone, rules, input="0.15", cache_read="0.003", output="0.60")],
    )
    add_prices(
        cost_book,
        model,
        tier(input="0.20", output="0.80", cache_read="0.004"),
        effective_from=T0,
        windows=[_window(zone, rules, input="0.10", cache_read="0.002", output="0.40")],
    )
    return model


def _plan(name: str, list_book, *, keep_windows: bool):
    plan = SellPlan.objects.create(name=name, currency="USD")
    rule = plan_rule_create(
        plan=plan,
        method=PlanRule.Method.LIST_DISCOUNT,
        discount=Decimal("0.25"),
        source_book=list_book,
        effective_from=T0,
    )
    if not keep_windows:
        # The staff form's "drop the windows" choice, stored on the rule.
        PlanRule.objects.filter(pk=rule.pk).update(keep_windows=False)
    return plan


@pytest.fixture
def world():
    books = _books()
    flash = _windowed_model("deepseek-v4-flash", "UTC", UTC_RULES, books)
    tencent = _windowed_model("tencent/deepseek-v4.1-flash", "Asia/Shanghai", SHANGHAI_RULES, books)
    source, _ = source_make()
    keeps = customer_make(key="key-keeps", currency="USD")
    drops = customer_make(key="key-drops", currency="USD")
    windowed = _plan("List -25%", books[0], keep_windows=True)
    plan_assign(customer=keeps, plan=windowed, effective_from=T0)
    plan_assign(customer=drops, plan=_plan("List -25% flat", books[0], keep_windows=False), effective_from=T0)
    return {
        "source": source,
        "flash": flash,
        "tencent": tencent,
        "keeps": keeps,
        "drops": drops,
        "windowed": windowed,
    }


def _record(request_id: str, when: str, model: str, key: str) -> dict:
    return {
        "request_id": request_id,
        "occurred_at": f"{when}Z",
        "key": key,
        "model": model,
        "prompt_tokens": 1234,
        "cache_read_tokens": 200,
        "completion_tokens": 567,
    }


def _ingest(world, model: str, cases) -> dict[str, UsageEvent]:
    records = []
    for i, (when, _off) in enumerate(cases):
        records.append(_record(f"keeps-{i}", when, model, "key-keeps"))
        records.append(_record(f"drops-{i}", when, model, "key-drops"))
    result = usage_batch_ingest(source=world["source"], records=records)
    assert (result.accepted, result.rejected, result.unrated) == (len(records), 0, 0)
    return {e.request_id: e for e in UsageEvent.objects.all()}


@pytest.mark.parametrize(
    ("model", "cases"),
    [("deepseek-v4-flash", UTC_CASES), ("tencent/deepseek-v4.1-flash", SHANGHAI_CASES)],
    ids=["utc-weekdays", "shanghai-weekdays"],
)
def test_each_side_is_rated_at_its_window_price_inside_and_standard_outside(world, model, cases):
    events = _ingest(world, model, cases)
    for i, (when, off_peak) in enumerate(cases):
        keeps, drops = events[f"keeps-{i}"], events[f"drops-{i}"]
        assert keeps.rating_state == RatingState.RATED, when
        # The plan derived from the windowed list book inherits the windows, scaled.
        assert keeps.sell_amount == (SELL_OFF_PEAK if off_peak else SELL_STANDARD), when
        assert keeps.price_window == (OFF_PEAK if off_peak else ""), when
        # The plan that drops them sells at the standard price at all hours, and says so.
        assert drops.sell_amount == SELL_STANDARD, when
        assert drops.price_window == "", when
        # The cost book keeps its windows whatever the plan does.
        expected_cost = COST_OFF_PEAK if off_peak else COST_STANDARD
        assert (keeps.cost_amount, drops.cost_amount) == (expected_cost, expected_cost), when
        assert keeps.sell_currency == keeps.cost_currency == "USD"


def test_window_priced_sales_are_rolled_up_per_day_and_window(world):
    cases = [("2026-05-04T01:30:00", False), ("2026-05-04T04:30:00", True), ("2026-05-04T10:30:00", True)]
    _ingest(world, "deepseek-v4-flash", cases)
    keeps = world["keeps"]
    rows = list(UsageWindowDaily.objects.filter(customer=keeps))
    assert len(rows) == 1
    row = rows[0]
    assert (row.price_window, row.requests, row.prompt_tokens, row.completion_tokens) == (
        OFF_PEAK,
        2,
        2468,
        1134,
    )
    assert (row.sell_amount, row.cost_amount) == (2 * SELL_OFF_PEAK, 2 * COST_OFF_PEAK)
    daily = UsageDaily.objects.get(customer=keeps)
    assert daily.requests == 3
    assert daily.sell_amount == 2 * SELL_OFF_PEAK + SELL_STANDARD
    # The plan without windows sold nothing at a window's price.
    assert not UsageWindowDaily.objects.filter(customer=world["drops"]).exists()


def test_a_batch_request_ignores_the_windows(world):
    record = {**_record("batch-1", "2026-05-04T04:30:00", "deepseek-v4-flash", "key-keeps"), "batch": True}
    usage_batch_ingest(source=world["source"], records=[record])
    event = UsageEvent.objects.get(request_id="batch-1")
    assert event.price_window == ""
    assert event.sell_amount == SELL_STANDARD  # no batch price in the book: the standard one
    assert not UsageWindowDaily.objects.exists()


def test_the_per_batch_path_and_rate_agree_on_window_events(world):
    cases = UTC_CASES[:6]
    events = _ingest(world, "deepseek-v4-flash", cases)
    flash, keeps = world["flash"], world["keeps"]
    for i, (when, _off) in enumerate(cases):
        instant = at(when)
        pricer = BatchPricer(
            customers={keeps.pk: keeps}, models={flash.pk: flash}, start=instant, end=instant
        )
        prices = pricer.prices(keeps.pk, flash.pk, instant)
        usage = Usage(prompt_tokens=1234, cache_read_tokens=200, completion_tokens=567, at=instant)
        sold, cost = rate(prices.sell, usage), rate(prices.cost, usage)
        event = events[f"keeps-{i}"]
        assert (event.sell_amount, event.price_window) == (sold.total, sold.window), when
        assert event.cost_amount == cost.total, when


def test_re_rating_an_event_whose_key_is_mapped_later_prices_it_in_its_window(world):
    usage_batch_ingest(
        source=world["source"],
        records=[_record("late", "2026-05-04T04:30:00", "deepseek-v4-flash", "key-late")],
    )
    assert UsageEvent.objects.get().rating_state == RatingState.UNRATED
    GatewayKey.objects.create(key="key-late", customer=world["keeps"])
    assert usage_rerate().accepted == 1
    row = UsageEvent.objects.get()
    assert (row.sell_amount, row.cost_amount, row.price_window) == (SELL_OFF_PEAK, COST_OFF_PEAK, OFF_PEAK)
    window = UsageWindowDaily.objects.get()
    assert (window.requests, window.sell_amount, window.cost_amount) == (1, SELL_OFF_PEAK, COST_OFF_PEAK)


def test_a_correction_moves_the_window_rollups_with_the_events(world):
    customer = customer_make(key="key-monthly", mode=BillingTerms.Mode.MONTHLY, currency="USD")
    plan_assign(customer=customer, plan=world["windowed"], effective_from=T0)
    records = [
        _record("off", "2026-05-04T04:30:00", "deepseek-v4-flash", "key-monthly"),
        _record("std", "2026-05-04T01:30:00", "deepseek-v4-flash", "key-monthly"),
    ]
    usage_batch_ingest(source=world["source"], records=records)
    windows = PriceWindow.objects.filter(entry__model=world["flash"], entry__book__kind=BookKind.LIST)
    scope = {
        "customer": customer,
        "model": world["flash"],
        "since": at("2026-05-04T00:00:00"),
        "until": at("2026-05-05T00:00:00"),
        "actor": staff(StaffRole.FINANCE),
    }

    # The off-peak output price was typed as 0.60 instead of 0.50:
    # 1034 × 0.1125 + 200 × 0.00225 + 567 × 0.375 = 329.4 per million.
    windows.update(output=Decimal("0.50"))
    usage_correct(**scope, reason="Off-peak output price", idempotency_key="fix-1")
    fixed = Decimal("0.0003294")
    assert UsageEvent.objects.get(request_id="off").sell_amount == fixed
    row = UsageWindowDaily.objects.get(customer=customer)
    assert (row.requests, row.sell_amount) == (1, fixed)
    assert UsageDaily.objects.get(customer=customer).sell_amount == fixed + SELL_STANDARD

    # The window was never the vendor's: without it the event is sold at the standard price, out of the
    # window rollup (its row goes), and the daily rollup holds the standard prices.
    windows.delete()
    usage_correct(**scope, reason="No off-peak window", idempotency_key="fix-2")
    off = UsageEvent.objects.get(request_id="off")
    assert (off.sell_amount, off.price_window) == (SELL_STANDARD, "")
    assert not UsageWindowDaily.objects.filter(customer=customer).exists()
    daily = UsageDaily.objects.get(customer=customer)
    assert (daily.requests, daily.sell_amount) == (2, 2 * SELL_STANDARD)


def test_each_hop_of_a_resale_chain_is_priced_in_its_own_plans_window(world):
    """S buys at the operator's windowed plan (list × 0.75); its customer E at S's retail, cost × 1.5,
    whose windows come from the cost book: off-peak 1.5 × 330.6 = 495.9 per million, standard 991.8."""
    s = SubDistributorFactory(chain_mode=Customer.ChainMode.RESALE)
    BillingTerms.objects.create(customer=s, mode=BillingTerms.Mode.PREPAID, currency="USD")
    plan_assign(customer=s, plan=world["windowed"], effective_from=T0)
    end = customer_make(key="key-end", parent=s, currency="USD")
    plan_assign(customer=end, plan=owned_plan(s, "S retail", "0.5", currency="USD"), effective_from=T0)
    records = [
        _record("off", "2026-05-04T04:30:00", "deepseek-v4-flash", "key-end"),
        _record("std", "2026-05-04T01:30:00", "deepseek-v4-flash", "key-end"),
    ]
    assert usage_batch_ingest(source=world["source"], records=records).unrated == 0
    rows = {(e.request_id, e.hop): e for e in UsageEvent.objects.all()}
    sale = {k: (e.sell_amount, e.cost_amount, e.price_window, e.prompt_tokens) for k, e in rows.items()}
    assert sale == {
        ("off", 0): (Decimal("0.0004959"), SELL_OFF_PEAK, OFF_PEAK, 1234),
        ("off", 1): (SELL_OFF_PEAK, COST_OFF_PEAK, OFF_PEAK, 1234),
        ("std", 0): (Decimal("0.0009918"), SELL_STANDARD, "", 1234),
        ("std", 1): (SELL_STANDARD, COST_STANDARD, "", 1234),
    }
    by_customer = {r.customer_id: r for r in UsageWindowDaily.objects.all()}
    assert by_customer[end.pk].sell_amount == Decimal("0.0004959")
    assert (by_customer[s.pk].sell_amount, by_customer[s.pk].cost_amount) == (SELL_OFF_PEAK, COST_OFF_PEAK)


def test_mapping_the_upstream_account_to_a_channel_moves_the_window_rollups_cost(world):
    """The event's cost first at the best cost book (off-peak 330.6 per million), then at the new channel's
    contract book, windowed at twice those prices: 661.2 per million."""
    usage_batch_ingest(
        source=world["source"],
        records=[
            {
                **_record("off", "2026-05-04T04:30:00", "deepseek-v4-flash", "key-keeps"),
                "upstream_account": "ds-1",
            }
        ],
    )
    assert UsageWindowDaily.objects.get().cost_amount == COST_OFF_PEAK
    book = PriceBook.objects.create(name="DeepSeek contract", kind=BookKind.COST, currency="USD")
    add_prices(
        book,
        world["flash"],
        tier(input="0.40", output="1.60", cache_read="0.008"),
        effective_from=T0,
        windows=[_window("UTC", UTC_RULES, input="0.20", cache_read="0.004", output="0.80")],
    )
    contract = contract_create(
        vendor=world["flash"].vendor,
        name="DeepSeek direct",
        currency="USD",
        valid_from=date(2026, 1, 1),
        cost_book=book,
        settlement=Settlement.POSTPAID,
    )
    mapped_channel_create(user=staff(StaffRole.FINANCE), contract=contract, name="ds-1")
    event = UsageEvent.objects.get()
    assert (event.cost_amount, event.price_window) == (COST_STANDARD, OFF_PEAK)
    window = UsageWindowDaily.objects.get()
    assert (window.requests, window.sell_amount, window.cost_amount) == (1, SELL_OFF_PEAK, COST_STANDARD)
    assert UsageDaily.objects.get().cost_amount == COST_STANDARD


def test_allowance_overage_is_rated_in_the_overage_plans_window(world):
    """A subscription of 1,801 tokens (one event) whose overage plan is cost × 2: the first event is covered,
    the next ones pay the overage plan's price at their own instant — 2 × 661.2 per million at standard
    hours, 2 × 330.6 off-peak."""
    plan = SubscriptionPlan.objects.create(
        name="coding",
        monthly_fee=Decimal("10"),
        allowance=Decimal(1801),
        overage_plan=markup_plan("overage", "1", currency="USD"),
        currency="USD",
    )
    Subscription.objects.create(customer=world["keeps"], plan=plan, starts_on=date(2026, 5, 1))
    records = [
        _record("covered", "2026-05-04T00:00:00", "deepseek-v4-flash", "key-keeps"),
        _record("standard", "2026-05-04T01:30:00", "deepseek-v4-flash", "key-keeps"),
        _record("off-peak", "2026-05-04T04:30:00", "deepseek-v4-flash", "key-keeps"),
    ]
    usage_batch_ingest(source=world["source"], records=records)
    rows = {e.request_id: (e.sell_amount, e.sell_plan, e.price_window) for e in UsageEvent.objects.all()}
    assert rows == {
        "covered": (Decimal(0), "List -25%", OFF_PEAK),
        "standard": (Decimal("0.0013224"), "overage", ""),
        "off-peak": (Decimal("0.0006612"), "overage", OFF_PEAK),
    }
    window = UsageWindowDaily.objects.get()
    assert (window.requests, window.sell_amount) == (2, Decimal("0.0006612"))
