"""Rating figures: the pure rating function's throughput and the quote API's latency.

``rating_events_per_s`` rates a mix of events (cache reads and writes, reasoning, batch, three
context tiers) on one core, best of three runs. ``rating_windows_events_per_s`` rates events spread over
a week against a DeepSeek schedule with LiteLLM's off-peak (错峰) windows read in Asia/Shanghai, through
``rate_total`` (what the ingestion paths call), best of three; ``rating_windows_rate_events_per_s`` the
same events through ``rate()`` (the per-class lines, as ``rating_events_per_s``), and
``rating_windows_off_peak_share`` the share of them the window priced. ``quote_api_p*_ms`` time POST
/api/v1/quotes through the whole Django stack (session auth, middleware, visibility, plan resolution, two
ratings) in a throw-away test database created on the configured server (PostgreSQL when DATABASE_URL is
set). Targets (issue 3): at least 100,000 events/s, and p95 at most 50 ms; (issue 20) rating with windows
at least 100,000 events/s.
"""

import random
import statistics
import time
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

from catalog.rating import PriceSchedule, TierPrices, TimeWindow, Usage, rate, rate_total

EVENTS = 200_000
REQUESTS = 400
WARMUP = 30


def _schedule() -> PriceSchedule:
    d = Decimal
    return PriceSchedule(
        book="bench list",
        kind="list",
        currency="CNY",
        model="qwen3-max",
        tiers=(
            TierPrices(0, 32_000, d("2.5"), d("10"), cache_read=d("0.5"), cache_write_5m=d("3.125")),
            TierPrices(32_000, 128_000, d("4"), d("16"), cache_read=d("0.8")),
            TierPrices(128_000, 252_000, d("7"), d("28"), cache_read=d("1.4"), reasoning=d("30")),
        ),
        request_fee=d("0.0001"),
        batch_multiplier=d("0.5"),
    )


def _events(count: int) -> list[Usage]:
    rng = random.Random(3)
    events = []
    for _ in range(count):
        prompt = rng.randint(0, 252_000)
        cache_read = rng.randint(0, prompt // 2)
        cache_write = rng.randint(0, (prompt - cache_read) // 4)
        completion = rng.randint(0, 8_000)
        events.append(
            Usage(
                prompt_tokens=prompt,
                cache_read_tokens=cache_read,
                cache_write_tokens=cache_write,
                completion_tokens=completion,
                reasoning_tokens=rng.randint(0, completion),
                batch=rng.random() < 0.2,
            )
        )
    return events


# LiteLLM's map (1.110.2) prices DeepSeek V4 Pro off-peak on weekdays at 00:00–01:00, 04:00–06:00 and
# 10:00–00:00 UTC and all weekend, weekdays read in Asia/Shanghai (its ``weekday_timezone``): in Shanghai
# time (UTC+8 all year) 08:00–09:00, 12:00–14:00 and 18:00–08:00 on Monday to Friday, and the whole of
# Saturday and Sunday.
WEEKDAYS, WEEKEND = 0b0011111, 0b1100000
OFF_PEAK_RULES = (
    (WEEKDAYS, 8 * 60, 9 * 60),
    (WEEKDAYS, 12 * 60, 14 * 60),
    (WEEKDAYS, 18 * 60, 8 * 60),
    (WEEKEND, 0, 0),
)


def _deepseek_schedule() -> PriceSchedule:
    """DeepSeek V4 Pro as LiteLLM's map prices it (USD per million tokens), with its off-peak window."""
    d = Decimal
    return PriceSchedule(
        book="bench deepseek",
        kind="list",
        currency="USD",
        model="deepseek-v4-pro",
        tiers=(TierPrices(0, None, d("1.32"), d("3.96"), cache_read=d("0.044"), cache_write_5m=d("0")),),
        windows=(
            TimeWindow(
                "Off-peak",
                "Asia/Shanghai",
                OFF_PEAK_RULES,
                input=d("0.66"),
                cache_read=d("0.022"),
                output=d("1.98"),
            ),
        ),
    )


def _week_events(count: int) -> list[tuple]:
    """``rate_total``'s arguments for events at any second of one week, their times written in UTC or in
    Shanghai time as gateways send them; a few are batch requests (never window-priced)."""
    rng = random.Random(20)
    monday = datetime(2026, 5, 4, tzinfo=UTC)
    zones = (UTC, timezone(timedelta(hours=8)))
    events = []
    for _ in range(count):
        at = monday + timedelta(seconds=rng.randrange(7 * 86_400), microseconds=rng.randrange(1_000_000))
        prompt = rng.randint(0, 200_000)
        cache_read = rng.randint(0, prompt // 2)
        completion = rng.randint(0, 8_000)
        reasoning = rng.randint(0, completion)
        batch = rng.random() < 0.05
        events.append(
            (prompt, cache_read, 0, 0, completion, reasoning, batch, at.astimezone(rng.choice(zones)))
        )
    return events


def windows_throughput() -> tuple[float, float, float]:
    """Events per second through ``rate_total`` and through ``rate()``, and the off-peak share."""
    schedule, events = _deepseek_schedule(), _week_events(EVENTS)
    usages = [
        Usage(
            prompt_tokens=p,
            cache_read_tokens=cr,
            cache_write_tokens=cw,
            cache_write_1h_tokens=cw1,
            completion_tokens=c,
            reasoning_tokens=r,
            batch=b,
            at=at,
        )
        for p, cr, cw, cw1, c, r, b, at in events
    ]
    totals = rates = 0.0
    for _ in range(3):
        started = time.perf_counter()
        for event in events:
            rate_total(schedule, *event)
        totals = max(totals, len(events) / (time.perf_counter() - started))
        started = time.perf_counter()
        for usage in usages:
            rate(schedule, usage)
        rates = max(rates, len(usages) / (time.perf_counter() - started))
    off_peak = sum(1 for event in events if schedule.window_at(event[7], event[6]) >= 0)
    return totals, rates, off_peak / len(events)


def rating_throughput() -> float:
    schedule, events = _schedule(), _events(EVENTS)
    best = 0.0
    for _ in range(3):
        started = time.perf_counter()
        for usage in events:
            rate(schedule, usage)
        best = max(best, len(events) / (time.perf_counter() - started))
    return best


def quote_latencies() -> list[float]:
    from django.db import connection
    from django.test.utils import setup_test_environment, teardown_test_environment

    setup_test_environment()
    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        client, customer_id = _quote_fixture()
        bodies = [
            {
                "plan": "Bench plan",
                "model": "dashscope/qwen3-max",
                "prompt_tokens": 40_000,
                "completion_tokens": 900,
            },
            {
                "customer": customer_id,
                "model": "qwen3-max",
                "prompt_tokens": 20_000,
                "cache_read_tokens": 8_000,
                "completion_tokens": 1_500,
                "reasoning_tokens": 500,
                "batch": True,
            },
        ]
        timings = []
        for index in range(WARMUP + REQUESTS):
            started = time.perf_counter()
            response = client.post("/api/v1/quotes", bodies[index % 2], content_type="application/json")
            elapsed = (time.perf_counter() - started) * 1000
            if response.status_code != 200:
                raise RuntimeError(f"quote failed: {response.status_code} {response.content[:300]!r}")
            if index >= WARMUP:
                timings.append(elapsed)
        return timings
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
        teardown_test_environment()


def _quote_fixture():
    from allauth.account.internal.flows.login import record_authentication
    from allauth.mfa.totp.internal.auth import TOTP
    from django.http import HttpRequest
    from django.test import Client

    from accounts.models import StaffRole
    from accounts.services import customer_create, staff_user_create
    from catalog.models import BookKind, PlanRule, Vendor
    from catalog.services.books import model_create, price_book_create, price_entry_create
    from catalog.services.plans import plan_assign, plan_create, plan_rule_create

    start = datetime(2025, 1, 1, tzinfo=UTC)
    vendor = Vendor.objects.create(name="Bench vendor", slug="bench-vendor")
    model = model_create(vendor=vendor, name="qwen3-max", aliases=["dashscope/qwen3-max"])
    tiers = _schedule().tiers
    for name, kind, factor in (
        ("Bench list", BookKind.LIST, Decimal(1)),
        ("Bench cost", BookKind.COST, Decimal("0.8")),
    ):
        book = price_book_create(name=name, kind=kind, currency="CNY", batch_multiplier=Decimal("0.5"))
        price_entry_create(
            book=book, model=model, effective_from=start, tiers=[t.scaled(factor) for t in tiers]
        )
    plan = plan_create(name="Bench plan", currency="CNY", is_default=True)
    plan_rule_create(
        plan=plan, method=PlanRule.Method.LIST_DISCOUNT, discount=Decimal("0.05"), effective_from=start
    )
    # Direct: the quoted customer inherits its sub-distributor's plan, as before chains (one hop).
    reseller = customer_create(
        name="Bench reseller", code="bench-reseller", kind="sub_distributor", chain_mode="direct"
    )
    customer = customer_create(name="Bench customer", code="bench-customer", parent=reseller)
    plan_assign(customer=reseller, plan=plan, effective_from=start)
    user = staff_user_create(email="bench@example.com", password="bench-pass-123", role=StaffRole.SALES)
    # Staff reach nothing until their session passed two-factor: a finished sign-in, TOTP included (the
    # sign-in itself is not timed).
    TOTP.activate(user, "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP")
    client = Client()
    client.force_login(user)
    request = HttpRequest()
    request.session = client.session
    record_authentication(request, user, "mfa", type="totp")
    request.session.save()
    return client, customer.pk


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def run() -> None:
    from django.conf import settings

    print(f"rating_events_per_s: {rating_throughput():.0f}")
    totals, rates, off_peak = windows_throughput()
    print(f"rating_windows_events_per_s: {totals:.0f}")
    print(f"rating_windows_rate_events_per_s: {rates:.0f}")
    print(f"rating_windows_off_peak_share: {off_peak:.3f}")
    timings = quote_latencies()
    print(f"quote_api_requests: {len(timings)}")
    print(f"quote_api_p50_ms: {statistics.median(timings):.2f}")
    print(f"quote_api_p95_ms: {_percentile(timings, 0.95):.2f}")
    print(f"quote_api_p99_ms: {_percentile(timings, 0.99):.2f}")
    print(f"quote_api_database: {'postgresql' if settings.IS_POSTGRES else 'sqlite'}")
