"""Time-of-day windows, service tiers, image and audio units and gateway adjustments through the bulk path
(``manage.py ingest``, big uploads): the same rows, rollups and window rollups as the per-batch path, at
exact prices.

DeepSeek's off-peak hours as LiteLLM's map gives them, read in Asia/Shanghai (UTC+8, no daylight saving):
on Monday to Friday 08:00–09:00, 12:00–14:00 and 18:00–08:00, and the whole weekend. The operator's day is
Shanghai's too (``settings.TIME_ZONE``), so daily rollups turn at 16:00 UTC.

Prices per million tokens (CNY), for a request of 1,000 prompt tokens (200 of them cache reads) and 500
completion tokens:

========  ===================  ===================  ===================
book      standard             off-peak window      flex tier
========  ===================  ===================  ===================
sell      4 / 0.4 / 16 → 0.01128   2 / 0.2 / 8 → 0.00564   3 / 0.3 / 12 → 0.00846
cost      2 / 0.2 / 8 → 0.00564    1.2 / 0.1 / 3 → 0.00248 1 / 0.1 / 4 → 0.00282
========  ===================  ===================  ===================
"""

import io
import json
from collections import Counter
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from django.core.management import call_command
from hypothesis import given, settings
from hypothesis import strategies as st

from billing.terms.models import BillingTerms
from billing.usage.bulk.ingest import bulk_ingest
from billing.usage.bulk.validate import fast_event
from billing.usage.events import FUTURE_TOLERANCE, CanonicalEvent, event_validate
from billing.usage.models import (
    UNIT_COLUMNS,
    RatingState,
    UsageDaily,
    UsageEvent,
    UsageHourly,
    UsageWindowDaily,
)
from billing.usage.services import usage_batch_ingest
from catalog.models import AIModel, BookKind, PlanRule, PriceBook, PriceEntry, PriceTier, PriceWindow, Vendor
from tests.billing.usage.factories import (
    T0,
    customer_make,
    default_plan,
    owned_plan,
    plan_assign,
    source_make,
)
from tests.billing.usage.test_allowances import pack_buy, subscribe
from tests.billing.usage.test_chain_hops import sub_make

D = Decimal
SHANGHAI = timezone(timedelta(hours=8))
OFF_PEAK = "Off-peak"
WEEKDAYS = [1, 2, 3, 4, 5]
RULES = [
    {"weekdays": WEEKDAYS, "start": "08:00", "end": "09:00"},
    {"weekdays": WEEKDAYS, "start": "12:00", "end": "14:00"},
    {"weekdays": WEEKDAYS, "start": "18:00", "end": "08:00"},
    {"weekdays": [6, 7], "start": "00:00", "end": "00:00"},
]
# (standard input, cache read, output), the window's, the flex tier's; per million tokens.
PRICES = {
    BookKind.SELL: (("4", "0.4", "16"), ("2", "0.2", "8"), ("3", "0.3", "12")),
    BookKind.COST: (("2", "0.2", "8"), ("1.2", "0.1", "3"), ("1", "0.1", "4")),
}
STANDARD, WINDOW, FLEX = (
    (D("0.01128"), D("0.00564")),
    (D("0.00564"), D("0.00248")),
    (D("0.00846"), D("0.00282")),
)
# Images and audio: per image and per second (sell, cost), on a model without windows.
IMAGE_PRICES = {BookKind.SELL: ("1", "0.3", "0.01"), BookKind.COST: ("0.5", "0.2", "0.005")}

EVENT_COLUMNS = (
    "request_id", "occurred_at", "gateway_key", "customer_id", "model_name", "model_id", "upstream_account",
    "prompt_tokens", "cache_read_tokens", "cache_write_tokens", "cache_write_1h_tokens", "completion_tokens",
    "reasoning_tokens", *UNIT_COLUMNS, "service_tier", "price_window", "is_batch", "succeeded",
    "gateway_cost", "gateway_cost_currency", "metadata", "rating_state", "unrated_reason", "sell_plan",
    "sell_amount", "sell_currency", "cost_amount", "cost_currency", "hop", "end_customer_id",
)  # fmt: skip
ROLLUP_COLUMNS = (
    "customer_id", "model_id", "upstream_account", "sell_currency", "cost_currency", "requests",
    "prompt_tokens", "cache_read_tokens", "cache_write_tokens", "cache_write_1h_tokens", "completion_tokens",
    "reasoning_tokens", *UNIT_COLUMNS, "sell_amount", "cost_amount",
)  # fmt: skip

pytestmark = pytest.mark.django_db


def books() -> dict:
    return {
        kind: PriceBook.objects.get_or_create(name=f"{kind}-CNY", defaults={"kind": kind, "currency": "CNY"})[
            0
        ]
        for kind in (BookKind.COST, BookKind.SELL)
    }


@pytest.fixture
def catalog():
    """deepseek-v4 (windows and a flex tier, no image price) and imagen (per image and per second), in the
    cost and sell books; the default plan sells at the sell book's prices."""
    vendor, _ = Vendor.objects.get_or_create(name="DeepSeek", slug="deepseek")
    deepseek = AIModel.objects.create(vendor=vendor, name="deepseek-v4")
    imagen = AIModel.objects.create(vendor=vendor, name="imagen")
    for kind, book in books().items():
        (inp, read, out), (w_inp, w_read, w_out), (f_inp, f_read, f_out) = PRICES[kind]
        entry = PriceEntry.objects.create(book=book, model=deepseek, effective_from=T0)
        PriceTier.objects.create(entry=entry, lo=0, input=D(inp), cache_read=D(read), output=D(out))
        PriceTier.objects.create(
            entry=entry, lo=0, service_tier="flex", input=D(f_inp), cache_read=D(f_read), output=D(f_out)
        )
        PriceWindow.objects.create(
            entry=entry,
            label=OFF_PEAK,
            time_zone="Asia/Shanghai",
            rules=RULES,
            input=D(w_inp),
            cache_read=D(w_read),
            output=D(w_out),
        )
        tokens, image, second = IMAGE_PRICES[kind]
        entry = PriceEntry.objects.create(book=book, model=imagen, effective_from=T0)
        PriceTier.objects.create(
            entry=entry, lo=0, input=D(tokens), output=D(tokens), image=D(image), audio_second=D(second)
        )
    default_plan()
    return deepseek, imagen


def world(prefix: str) -> dict:
    """One path's customers by role: ``a`` prepaid-free credit customer on the default plan, ``n`` on a plan
    at cost × 1.5 that drops the windows, ``s`` a resale sub-distributor at cost × 1.2 (windows kept) and
    ``e`` its end customer at cost × 1.5."""
    monthly = BillingTerms.Mode.MONTHLY
    customers = {"a": customer_make(key=f"{prefix}-a", mode=monthly)}
    customers["n"] = customer_make(key=f"{prefix}-n", mode=monthly)
    plain = owned_plan(None, f"{prefix} no windows", "0.5")
    PlanRule.objects.filter(plan=plain).update(keep_windows=False)
    plan_assign(customers["n"], plain)
    s = customers["s"] = sub_make(terms=monthly, key=f"{prefix}-s")
    plan_assign(s, owned_plan(None, f"{prefix} wholesale", "0.2"))
    customers["e"] = customer_make(key=f"{prefix}-e", parent=s, mode=monthly)
    plan_assign(customers["e"], owned_plan(s, f"{prefix} retail", "0.5"))
    return customers


def at(day: int, hour: int, minute: int = 0, second: int = 0, micro: int = 0) -> datetime:
    """An instant in Shanghai time, May 2026 (the 4th is a Monday)."""
    return datetime(2026, 5, day, hour, minute, second, micro, tzinfo=SHANGHAI)


def use(request_id: str, key: str, when: datetime, *, utc: bool = False, **extra) -> dict:
    """A DeepSeek request of the module docstring's counts, its time written in Shanghai or UTC."""
    return {
        "request_id": request_id,
        "occurred_at": (when.astimezone(UTC) if utc else when).isoformat(),
        "key": key,
        "model": "deepseek-v4",
        "prompt_tokens": 1000,
        "cache_read_tokens": 200,
        "completion_tokens": 500,
        **extra,
    }


# (request id, Shanghai time, written in UTC, what prices it: STANDARD, WINDOW or FLEX)
TIMED = [
    ("mon-0800", at(4, 8), False, WINDOW),  # the window's start is in it
    ("mon-0830", at(4, 8, 30), True, WINDOW),
    ("mon-0859", at(4, 8, 59, 59, 999_999), False, WINDOW),
    ("mon-0900", at(4, 9), True, STANDARD),  # its end is not
    ("mon-1000", at(4, 10), False, STANDARD),
    ("mon-1200", at(4, 12), True, WINDOW),
    ("mon-1400", at(4, 14), False, STANDARD),
    ("mon-1759", at(4, 17, 59, 59), True, STANDARD),
    ("mon-1800", at(4, 18), False, WINDOW),
    ("fri-2359", at(8, 23, 59, 59), True, WINDOW),  # Friday night, past midnight in Shanghai's Saturday next
    ("sat-0000", at(9, 0), True, WINDOW),  # Friday 16:00 UTC: Saturday in Shanghai, the weekend
    ("sat-1000", at(9, 10), False, WINDOW),  # a weekend's peak hour
    ("mon-0759", at(11, 7, 59), True, WINDOW),  # Sunday 23:59 UTC: Monday morning in Shanghai
    ("mon-1100", at(11, 11), True, STANDARD),
]


def records(prefix: str) -> list[dict]:
    a, n, e = f"{prefix}-a", f"{prefix}-n", f"{prefix}-e"
    rows = [use(rid, a, when, utc=utc) for rid, when, utc, _prices in TIMED]
    rows += [
        # A tier the book prices: its prices at peak, the window's over them in the window (LiteLLM's order).
        use("flex-0830", a, at(4, 8, 30), service_tier="flex"),
        use("flex-1030", a, at(4, 10, 30), service_tier="flex"),
        use("flex-upper", a, at(4, 10), service_tier=" FLEX "),
        use("priority-0830", a, at(4, 8, 30), service_tier="priority"),  # not priced: standard, windowed
        use("batch-0830", a, at(4, 8, 30), batch=True),  # batch requests ignore windows
        use("audio-0830", a, at(4, 8, 30), audio_prompt_tokens=300),  # audio input at the window's input
        use("n-0830", n, at(4, 8, 30)),
        use("n-1000", n, at(4, 10)),
        use("e-0830", e, at(4, 8, 30)),
        use("e-1000", e, at(4, 10)),
        {
            "request_id": "image",
            "occurred_at": at(4, 10).isoformat(),
            "key": a,
            "model": "imagen",
            "prompt_tokens": 100,
            "images": 4,
            "audio_seconds": Decimal("1.25"),
        },
        use("image-no-price", a, at(4, 10), images=1),
        {
            "request_id": "refund",
            "occurred_at": at(4, 10).isoformat(),
            "key": a,
            "model": "deepseek-v4",
            "status": "adjustment",
            "gateway_cost": "-0.5",
            "gateway_cost_currency": "CNY",
            "metadata": {"type": 2, "content": "退还额度"},
        },
        use("bad-seconds", a, at(4, 10), audio_seconds="1.2345"),
        use("bad-tier", a, at(4, 10), service_tier="x" * 21),
        use("bad-adjustment", a, at(4, 10), status="adjustment"),  # tokens on an adjustment
    ]
    return rows


def roles_of(customers: dict) -> dict:
    return {c.pk: role for role, c in customers.items()}


def stored(source, roles: dict, prefix: str) -> dict:
    """The source's rows by (request id, hop), customers as roles, keys without the world's prefix."""
    out = {}
    for row in UsageEvent.objects.filter(source=source).values(*EVENT_COLUMNS):
        for column in ("customer_id", "end_customer_id"):
            row[column] = roles.get(row[column], row[column])
        row["gateway_key"] = row["gateway_key"].removeprefix(f"{prefix}-")
        row["unrated_reason"] = row["unrated_reason"].replace(f"'{prefix}-", "'")
        row["sell_plan"] = row["sell_plan"].removeprefix(f"{prefix} ")
        out[row["request_id"], row["hop"]] = row
    return out


def rollups(model, roles: dict) -> Counter:
    bucket = "hour" if model is UsageHourly else "day"
    columns = (bucket, *ROLLUP_COLUMNS) + (("price_window",) if model is UsageWindowDaily else ())
    rows = model.objects.filter(customer_id__in=roles).values_list(*columns)
    return Counter((r[0], roles[r[1]], *r[2:]) for r in rows)


@pytest.mark.postgres
@pytest.mark.parametrize("chunk", [1000, 5], ids=["one-chunk", "chunks-of-5"])
def test_windows_tiers_units_and_adjustments_alike_on_both_paths(monkeypatch, catalog, chunk):
    monkeypatch.setattr("billing.usage.bulk.producer.SLICE", 4)
    ref, blk = world("ref"), world("blk")
    ref_source, blk_source = source_make("ref")[0], source_make("blk")[0]

    reference = usage_batch_ingest(source=ref_source, records=records("ref"), idempotency_key="week")
    result = bulk_ingest(source=blk_source, records=records("blk"), key_prefix="week", chunk=chunk)

    counts = (result.accepted, result.duplicates, result.rejected, result.unrated)
    assert counts == (reference.accepted, reference.duplicates, reference.rejected, reference.unrated)
    assert counts == (len(TIMED) + 13, 0, 3, 1)
    key = lambda e: (e["index"], e["field"])  # noqa: E731
    assert sorted(result.errors, key=key) == sorted(reference.errors, key=key)
    assert {e["field"] for e in result.errors} == {"audio_seconds", "service_tier", "prompt_tokens"}

    ref_roles, blk_roles = roles_of(ref), roles_of(blk)
    expected, got = stored(ref_source, ref_roles, "ref"), stored(blk_source, blk_roles, "blk")
    assert set(got) == set(expected)
    for row_key, row in expected.items():
        assert got[row_key] == row, row_key
        assert [str(v) for v in got[row_key].values()] == [str(v) for v in row.values()], row_key

    # Exact prices, each side by its own book's window.
    for rid, _when, _utc, (sell, cost) in TIMED:
        row = got[rid, 0]
        assert (row["sell_amount"], row["cost_amount"]) == (sell, cost), rid
        assert row["price_window"] == (OFF_PEAK if sell == WINDOW[0] else ""), rid
    assert (got["flex-1030", 0]["sell_amount"], got["flex-1030", 0]["cost_amount"]) == FLEX
    assert (got["flex-1030", 0]["service_tier"], got["flex-1030", 0]["price_window"]) == ("flex", "")
    assert (got["flex-0830", 0]["sell_amount"], got["flex-0830", 0]["cost_amount"]) == WINDOW
    assert (got["flex-0830", 0]["service_tier"], got["flex-0830", 0]["price_window"]) == ("flex", OFF_PEAK)
    assert (got["flex-upper", 0]["service_tier"], got["flex-upper", 0]["sell_amount"]) == ("flex", FLEX[0])
    priority = got["priority-0830", 0]
    assert (priority["service_tier"], priority["price_window"], priority["sell_amount"]) == (
        "priority",
        OFF_PEAK,
        WINDOW[0],
    )
    assert (got["batch-0830", 0]["sell_amount"], got["batch-0830", 0]["price_window"]) == (STANDARD[0], "")
    # 300 of the 800 uncached prompt tokens are audio, at the window's input price (no audio price of its own)
    assert got["audio-0830", 0]["audio_prompt_tokens"] == 300
    assert got["audio-0830", 0]["sell_amount"] == WINDOW[0]
    # A plan that drops the windows sells at standard hours' prices all day; its cost keeps them.
    assert (got["n-0830", 0]["sell_amount"], got["n-0830", 0]["cost_amount"]) == (D("0.00846"), WINDOW[1])
    assert (got["n-1000", 0]["sell_amount"], got["n-1000", 0]["cost_amount"]) == (D("0.00846"), STANDARD[1])
    assert got["n-0830", 0]["price_window"] == ""
    # Through the chain: e buys at S's retail (cost × 1.5), S at wholesale (cost × 1.2), each in the window.
    e_row, s_row = got["e-0830", 0], got["e-0830", 1]
    assert (e_row["sell_amount"], e_row["cost_amount"], e_row["price_window"]) == (
        D("0.00372"),
        D("0.002976"),
        OFF_PEAK,
    )
    assert (s_row["customer_id"], s_row["end_customer_id"], s_row["sell_amount"], s_row["cost_amount"]) == (
        "s",
        "e",
        D("0.002976"),
        WINDOW[1],
    )
    assert (s_row["price_window"], s_row["service_tier"]) == (OFF_PEAK, "")
    assert (got["e-1000", 1]["sell_amount"], got["e-1000", 1]["price_window"]) == (D("0.006768"), "")
    # Images and audio seconds, at their unit prices; an image on a model without an image price: unrated.
    image = got["image", 0]
    assert (image["images"], image["audio_ms"], image["sell_amount"], image["cost_amount"]) == (
        4,
        1250,
        D("1.2126"),
        D("0.80630"),
    )
    assert got["image-no-price", 0]["rating_state"] == RatingState.UNRATED
    assert got["image-no-price", 0]["unrated_reason"].startswith("not_rateable: images:")
    # The gateway's quota adjustment: stored as its evidence, charged nothing.
    refund = got["refund", 0]
    assert (refund["rating_state"], refund["gateway_cost"], refund["sell_amount"]) == (
        RatingState.NOT_CHARGED,
        D("-0.5"),
        None,
    )
    assert refund["metadata"] == {"type": 2, "content": "退还额度", "adjustment": True}

    for rollup in (UsageHourly, UsageDaily, UsageWindowDaily):
        assert rollups(rollup, blk_roles) == rollups(rollup, ref_roles), rollup.__name__
    windows = rollups(UsageWindowDaily, blk_roles)
    assert {(day, role) for day, role, *_ in windows} == {
        (datetime(2026, 5, d).date(), role)
        for d, role in ((4, "a"), (8, "a"), (9, "a"), (11, "a"), (4, "e"), (4, "s"))
    }
    by_day = {(row[0], row[1]): row for row in windows}
    monday = by_day[datetime(2026, 5, 4).date(), "a"]
    # 08:00, 08:30, 08:59, 12:00, 18:00, priority, audio and flex at 08:30: eight off-peak sales on Monday.
    assert monday[6] == 8 and monday[-3] == 8 * WINDOW[0]
    assert monday[-1] == OFF_PEAK
    hourly_units = UsageHourly.objects.filter(customer_id=blk["a"].pk).values_list("images", "audio_ms")
    assert (sum(i for i, _ in hourly_units), sum(a for _, a in hourly_units)) == (4, 1250)


@pytest.mark.postgres
def test_an_ndjson_file_through_manage_py_ingest(tmp_path, catalog):
    customer = customer_make(key="file-a", mode=BillingTerms.Mode.MONTHLY)
    rows = [
        use("off", "file-a", at(4, 8, 30), utc=True),
        use("peak", "file-a", at(4, 10)),
        use("flex", "file-a", at(4, 10, 30), service_tier="flex"),
        {"request_id": "image", "occurred_at": "2026-05-04T02:00:00Z", "key": "file-a", "model": "imagen",
         "prompt_tokens": 100, "images": 4, "audio_seconds": 1.25},
        {"request_id": "refund", "occurred_at": "2026-05-04T02:00:00Z", "key": "file-a", "model": "imagen",
         "status": "adjustment", "gateway_cost": -0.125, "gateway_cost_currency": "CNY"},
    ]  # fmt: skip
    path = tmp_path / "week.ndjson"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))

    call_command("ingest", str(path), "--source", "file-gw", stdout=io.StringIO())

    found = {
        r.request_id: r for r in UsageEvent.objects.filter(source__name="file-gw", customer=customer, hop=0)
    }
    assert set(found) == {"off", "peak", "flex", "image", "refund"}
    assert (found["off"].sell_amount, found["off"].cost_amount, found["off"].price_window) == (
        *WINDOW,
        OFF_PEAK,
    )
    assert (found["peak"].sell_amount, found["peak"].price_window) == (STANDARD[0], "")
    assert (found["flex"].sell_amount, found["flex"].service_tier) == (FLEX[0], "flex")
    assert (found["image"].images, found["image"].audio_ms, found["image"].sell_amount) == (
        4,
        1250,
        D("1.2126"),
    )
    refund = found["refund"]
    assert (refund.rating_state, refund.gateway_cost, refund.metadata["adjustment"]) == (
        RatingState.NOT_CHARGED,
        D("-0.125"),
        True,
    )
    window = UsageWindowDaily.objects.get(customer=customer)
    assert (window.day, window.price_window, window.requests, window.sell_amount, window.cost_amount) == (
        datetime(2026, 5, 4).date(),
        OFF_PEAK,
        1,
        *WINDOW,
    )
    daily = UsageDaily.objects.filter(customer=customer)
    assert sum(d.requests for d in daily) == 4 and sum(d.images for d in daily) == 4


NOW = datetime(2026, 5, 5, tzinfo=UTC)
GOOD = use("r", "k", at(4, 8, 30))
ODD_VALUES = [
    None,
    0,
    1,
    7,
    -1,
    10**10,
    10**10 + 1,
    True,
    "3",
    1.5,
    D("2"),
    "",
    " ",
    "flex",
    " FLEX ",
    "x" * 21,
]
ODD_VALUES += ["é", "a\x00", [], {}]


@settings(max_examples=600, deadline=None)
@given(
    changes=st.dictionaries(
        st.sampled_from(
            ["audio_prompt_tokens", "audio_completion_tokens", "images", "audio_ms", "audio_seconds",
             "service_tier", "status", "reasoning_tokens"]
        ),
        st.sampled_from([*ODD_VALUES, "adjustment"]),
        max_size=4,
    )
)  # fmt: skip
def test_the_fast_check_takes_the_new_fields_only_as_event_validate_does(changes):
    raw = {**GOOD, **changes}
    fast = fast_event(raw, NOW + FUTURE_TOLERANCE, 1)
    reference = event_validate(raw, 0, now=NOW)
    if fast is None:
        return  # decided by event_validate itself
    assert isinstance(reference, CanonicalEvent), (raw, reference)
    assert fast[10:] == (reference.units, reference.service_tier)
    assert fast[6] == reference.succeeded
    units = "\t".join(str(getattr(reference, c)) for c in UNIT_COLUMNS)
    assert fast[7].endswith(f"\t{units}\t{reference.service_tier}\t")


def test_the_fast_check_takes_plain_units_and_tiers():
    fast = fast_event(
        {**GOOD, "images": 2, "audio_ms": 0, "service_tier": " Flex "}, NOW + FUTURE_TOLERANCE, 1
    )
    assert fast is not None and fast[10:] == ((0, 0, 2, 0), "flex")
    assert fast_event({**GOOD, "audio_prompt_tokens": 0, "images": None}, NOW, 1)[10:] == (None, "")
    # audio_seconds, an adjustment and too much audio are the slow way's to decide
    assert fast_event({**GOOD, "audio_seconds": 1}, NOW, 1) is None
    assert fast_event({**GOOD, "status": "adjustment"}, NOW, 1) is None
    assert fast_event({**GOOD, "audio_prompt_tokens": 801}, NOW, 1) is None


@pytest.mark.postgres
def test_allowance_overage_takes_the_overage_plans_window_on_both_paths(catalog):
    """A subscription covers the first request; the rest are priced by its overage plan (cost × 2, which
    drops the windows): at standard prices and no window, even off-peak, where the customer's own plan
    would have said Off-peak. A token pack covers its holder's requests whole, each keeping its window."""
    monthly = BillingTerms.Mode.MONTHLY
    overage = owned_plan(None, "overage", "1")
    PlanRule.objects.filter(plan=overage).update(keep_windows=False)
    paths = {}
    for prefix in ("ref", "blk"):
        customers = {role: customer_make(key=f"{prefix}-{role}", mode=monthly) for role in ("sub", "pack")}
        subscribe(customers["sub"], 1500, overage_plan=overage)
        pack_buy(customers["pack"], 3000, purchased_at=at(1, 0))
        rows = [
            use(f"{role}-{rid}", f"{prefix}-{role}", when)
            for role in ("sub", "pack")
            for rid, when in (("0830", at(4, 8, 30)), ("1000", at(4, 10)), ("1230", at(4, 12, 30)))
        ]
        source = source_make(prefix)[0]
        if prefix == "ref":
            usage_batch_ingest(source=source, records=rows, idempotency_key="week")
        else:
            bulk_ingest(source=source, records=rows, key_prefix="week", chunk=1000)
        paths[prefix] = (stored(source, roles_of(customers), prefix), roles_of(customers))

    (expected, ref_roles), (got, blk_roles) = paths["ref"], paths["blk"]
    assert got == expected
    sales = {
        rid: (row["sell_amount"], row["sell_plan"], row["price_window"]) for (rid, _hop), row in got.items()
    }
    assert sales == {
        "sub-0830": (D(0), "standard-CNY", OFF_PEAK),
        "sub-1000": (D("0.01128"), "overage", ""),
        "sub-1230": (D("0.01128"), "overage", ""),
        "pack-0830": (D(0), "standard-CNY", OFF_PEAK),
        "pack-1000": (D(0), "standard-CNY", ""),
        "pack-1230": (D("0.00564"), "standard-CNY", OFF_PEAK),  # the pack's 3,000 tokens ran out
    }
    for rollup in (UsageDaily, UsageWindowDaily):
        assert rollups(rollup, blk_roles) == rollups(rollup, ref_roles), rollup.__name__
    windowed = {row[1]: (row[6], row[-3]) for row in rollups(UsageWindowDaily, blk_roles)}
    assert windowed == {"sub": (1, D(0)), "pack": (2, D("0.00564"))}
