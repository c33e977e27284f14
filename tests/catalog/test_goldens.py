"""Published price tables (tests/catalog/goldens/) reproduce exactly, through the pure function and
through import → plan → quote API."""

import csv
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils.text import slugify

from catalog.models import BookKind, PlanRule, PriceBook, Vendor
from catalog.rating import PriceSchedule, RatingError, TierPrices, Usage, rate
from catalog.services.imports.apply import ImportOptions, price_import_apply, price_import_preview
from tests.catalog.conftest import post_quote
from tests.catalog.factories import (
    EPOCH,
    AIModelFactory,
    PriceBookFactory,
    SellPlanFactory,
    add_prices,
    add_rule,
    tier,
)

pytestmark = pytest.mark.django_db

GOLDENS = Path(__file__).parent / "goldens"
MILLION = Decimal(1_000_000)


def read(name: str) -> list[dict]:
    with open(GOLDENS / name, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@dataclass
class CnRow:
    vendor: str
    model: str
    lo: int
    hi: int | None
    input: Decimal
    output: Decimal
    cache_hit: Decimal | None
    batch_share: Decimal | None


CN_ROWS = [
    CnRow(
        vendor=r["vendor"],
        model=r["model"],
        lo=int(r["prompt_tokens_from"]),
        hi=int(r["prompt_tokens_to"]) if r["prompt_tokens_to"] else None,
        input=Decimal(r["input_cny_per_m"]),
        output=Decimal(r["output_cny_per_m"]),
        cache_hit=Decimal(r["cache_hit_input_cny_per_m"]) if r["cache_hit_input_cny_per_m"] else None,
        batch_share=Decimal(r["batch_price_share"]) if r["batch_price_share"] else None,
    )
    for r in read("cn_price_books_2026.csv")
]
CN_MODELS = sorted({r.model for r in CN_ROWS})


def cn_schedule(model: str) -> PriceSchedule:
    rows = [r for r in CN_ROWS if r.model == model]
    return PriceSchedule(
        book="CN list 2026",
        kind="list",
        currency="CNY",
        model=model,
        tiers=tuple(TierPrices(r.lo, r.hi, r.input, r.output, cache_read=r.cache_hit) for r in rows),
        batch_multiplier=rows[0].batch_share,
    )


def next_row(row: CnRow) -> CnRow | None:
    return next((r for r in CN_ROWS if r.model == row.model and r.lo == row.hi), None)


def sample_prompts(row: CnRow) -> list[int]:
    """The tier's first and last prompt lengths: lo + 1 and hi (or a long prompt when unbounded)."""
    return [row.lo + 1, row.hi if row.hi is not None else row.lo + 1_000_000]


@pytest.mark.parametrize("row", CN_ROWS, ids=lambda r: f"{r.model}-{r.lo}")
def test_every_cn_row_prices_its_tier_exactly(row):
    schedule = cn_schedule(row.model)
    for prompt in sample_prompts(row):
        r = rate(schedule, Usage(prompt_tokens=prompt, completion_tokens=1_000_000))
        assert (r.tier.lo, r.tier.hi) == (row.lo, row.hi)
        assert r.amount("input") == row.input * prompt / MILLION
        assert r.amount("output") == row.output
        assert r.total == row.input * prompt / MILLION + row.output


@pytest.mark.parametrize("row", [r for r in CN_ROWS if r.hi is not None], ids=lambda r: f"{r.model}-{r.hi}")
def test_one_token_past_a_tier_moves_the_whole_request(row):
    schedule = cn_schedule(row.model)
    following = next_row(row)
    if following is None:
        # The vendor publishes no price above the last tier: refused, naming the field, never guessed.
        with pytest.raises(RatingError) as exc:
            rate(schedule, Usage(prompt_tokens=row.hi + 1))
        assert exc.value.field == "prompt_tokens"
        return
    r = rate(schedule, Usage(prompt_tokens=row.hi + 1, completion_tokens=1_000_000))
    assert r.tier.lo == following.lo
    assert r.amount("input") == following.input * (row.hi + 1) / MILLION
    assert r.amount("output") == following.output


def test_qwen3_max_boundary_at_32000_vs_32001_prompt_tokens():
    schedule = cn_schedule("qwen3-max")
    at_32000 = rate(schedule, Usage(prompt_tokens=32_000, completion_tokens=1_000))
    at_32001 = rate(schedule, Usage(prompt_tokens=32_001, completion_tokens=1_000))
    assert at_32000.total == Decimal("0.08") + Decimal("0.01")  # 32,000 × 2.5/M + 1,000 × 10/M
    assert at_32001.total == Decimal("0.128004") + Decimal("0.016")  # 32,001 × 4/M + 1,000 × 16/M


def test_kimi_cache_hit_input_is_0_70_against_4_00_for_a_miss():
    schedule = cn_schedule("kimi-k2.5")
    r = rate(schedule, Usage(prompt_tokens=1_000_000, cache_read_tokens=400_000, completion_tokens=1_000_000))
    assert r.amount("input") == Decimal("2.4")  # 600,000 misses × 4.00/M
    assert r.amount("cache_read") == Decimal("0.28")  # 400,000 hits × 0.70/M
    assert r.total == Decimal("23.68")


@pytest.mark.parametrize(("model", "share"), [("qwen3-max", Decimal("0.5")), ("kimi-k2.5", Decimal("0.6"))])
def test_batch_at_the_published_share(model, share):
    schedule = cn_schedule(model)
    usage = {"prompt_tokens": 20_000, "cache_read_tokens": 0, "completion_tokens": 5_000}
    standard = rate(schedule, Usage(**usage))
    batch = rate(schedule, Usage(**usage, batch=True))
    assert batch.total == standard.total * share
    assert {line.token_class: line.amount for line in batch.lines} == {
        line.token_class: line.amount * share for line in standard.lines
    }


def golden_import_csv() -> str:
    lines = ["model,vendor,tier_lo,tier_hi,input,output,cache_read,batch_multiplier"]
    for r in CN_ROWS:
        lines.append(
            f"{r.model},{slugify(r.vendor)},{r.lo},{r.hi or ''},{r.input},{r.output},"
            f"{r.cache_hit or ''},{r.batch_share or ''}"
        )
    return "\n".join(lines) + "\n"


@pytest.fixture
def cn_plan(db):
    """The CN table imported as a list book, sold at list through a 0%-discount plan."""
    for vendor in sorted({r.vendor for r in CN_ROWS}):
        Vendor.objects.get_or_create(slug=slugify(vendor), defaults={"name": vendor})
    options = ImportOptions(
        format="csv",
        book_name="CN list 2026",
        kind="list",
        currency="CNY",
        effective_from=EPOCH,
        create_models=True,
    )
    price_import_apply(price_import_preview(golden_import_csv(), options))
    plan = SellPlanFactory(name="CN at list", currency="CNY")
    add_rule(plan, PlanRule.Method.LIST_DISCOUNT, discount=Decimal("0"))
    return plan


@pytest.mark.parametrize("row", CN_ROWS, ids=lambda r: f"{r.model}-{r.lo}")
def test_every_cn_row_through_import_and_the_quote_api(staff_client, cn_plan, row):
    for prompt in sample_prompts(row):
        response = post_quote(
            staff_client,
            plan="CN at list",
            model=row.model,
            prompt_tokens=prompt,
            completion_tokens=1_000_000,
            batch=row.batch_share is not None,
        )
        assert response.status_code == 200, response.json()
        body = response.json()
        share = row.batch_share or Decimal(1)
        assert body["currency"] == "CNY"
        assert (body["tier"]["lo"], body["tier"]["hi"]) == (row.lo, row.hi)
        assert Decimal(body["total"]) == (row.input * prompt / MILLION + row.output) * share
        lines = {line["token_class"]: line for line in body["lines"]}
        assert Decimal(lines["input"]["unit_price"]) == row.input * share
        assert Decimal(lines["output"]["amount"]) == row.output * share


def test_kimi_cache_hit_through_the_quote_api(staff_client, cn_plan):
    body = post_quote(
        staff_client,
        plan="CN at list",
        model="kimi-k2.5",
        prompt_tokens=1_000_000,
        cache_read_tokens=1_000_000,
    ).json()
    assert body["total"] == "0.7"


INTL_ROWS = read("intl_prices_2026.csv")


@pytest.mark.parametrize("row", INTL_ROWS, ids=lambda r: r["model"])
def test_intl_list_prices_per_million(row):
    book = PriceBookFactory(name="Intl list 2026", kind=BookKind.LIST, currency="USD")
    model = AIModelFactory(name=row["model"])
    # claude-opus-4.7's output price is not in the table; 0 keeps the check to what it states.
    add_prices(book, model, tier(input=row["input_usd_per_m"], output=row["output_usd_per_m"] or "0"))
    schedule_usage = Usage(prompt_tokens=1_000_000, completion_tokens=1_000_000)
    from catalog.selectors.pricing import PricingSnapshot

    schedule = PricingSnapshot(EPOCH, model_ids=[model.pk]).book_schedule(book, model)
    r = rate(schedule, schedule_usage)
    assert r.amount("input") == Decimal(row["input_usd_per_m"])
    if row["output_usd_per_m"]:
        assert r.amount("output") == Decimal(row["output_usd_per_m"])


def test_worldrouter_resells_opus_input_30_percent_below_list(staff_client):
    row = next(r for r in INTL_ROWS if r["model"] == "claude-opus-4.7")
    book = PriceBookFactory(name="Anthropic list", kind=BookKind.LIST, currency="USD")
    add_prices(book, AIModelFactory(name=row["model"]), tier(input=row["input_usd_per_m"], output="0"))
    plan = SellPlanFactory(name="WorldRouter", currency="USD")
    add_rule(plan, PlanRule.Method.LIST_DISCOUNT, discount=Decimal("0.30"))
    body = post_quote(
        staff_client, plan="WorldRouter", model="claude-opus-4.7", prompt_tokens=1_000_000
    ).json()
    assert body["total"] == "3.5"
    assert body["basis"].startswith("list × (1 − 0.3)")


def test_unit_economics_of_a_reseller(staff_client):
    row = read("unit_economics.csv")[0]
    tokens = int(row["tokens_per_user_month"])
    model = AIModelFactory(name="reseller-model")
    cost_book = PriceBookFactory(name="Upstream contract", kind=BookKind.COST, currency="USD")
    add_prices(cost_book, model, tier(input=row["token_unit_cost_usd_per_m"], output="0"))
    # Revenue of 20.00 for 10M tokens is a sell price of 2.00 per million.
    sell_price = Decimal(row["revenue_per_user_month_usd"]) * MILLION / tokens
    sell_book = PriceBookFactory(name="App plan", kind=BookKind.SELL, currency="USD")
    add_prices(sell_book, model, tier(input=sell_price, output="0"))
    body = post_quote(staff_client, plan="App plan", model="reseller-model", prompt_tokens=tokens).json()
    assert Decimal(body["total"]) == Decimal(row["revenue_per_user_month_usd"])
    assert Decimal(body["cost"]) == Decimal("17.5")
    assert Decimal(body["margin"]) == Decimal(row["gross_profit_per_user_month_usd"]) == Decimal("2.50")
    assert Decimal(body["margin_rate"]) == Decimal(row["gross_margin"]) == Decimal("0.125")
    assert PriceBook.objects.get(name="App plan").kind == BookKind.SELL


def test_the_copied_tables_match_the_shared_goldens_when_they_are_beside_the_repo():
    from pathlib import Path

    here = Path(__file__).resolve().parent / "goldens"
    shared = Path(__file__).resolve().parents[3] / "shared" / "goldens"
    if not shared.is_dir():
        pytest.skip(f"no shared goldens at {shared} to compare the copies with")
    for name in ("cn_price_books_2026.csv", "intl_prices_2026.csv", "unit_economics.csv"):
        assert (here / name).read_bytes() == (shared / name).read_bytes(), f"{name} differs from {shared}"
