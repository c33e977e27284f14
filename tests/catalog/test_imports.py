"""Price imports: LiteLLM and CSV, diff and apply, all-or-nothing refusals with row and field."""

import json
from datetime import UTC, datetime
from decimal import Decimal
from io import StringIO
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command

from catalog.models import AIModel, BookKind, PriceBook, PriceEntry, PriceImport, Vendor
from catalog.rating import Usage, rate
from catalog.selectors.pricing import PricingSnapshot
from catalog.services.books import model_alias_add
from catalog.services.imports.apply import (
    ImportOptions,
    price_import_apply,
    price_import_preview,
    price_import_record,
    price_import_record_apply,
)
from catalog.services.imports.mappings import provider_mappings_default_seed
from tests.catalog.factories import AIModelFactory, PriceBookFactory, VendorFactory, add_prices, tier

pytestmark = pytest.mark.django_db

SAMPLE = Path(__file__).parent / "data" / "litellm_sample.json"
RAW = json.loads(SAMPLE.read_text(), parse_float=Decimal)
JAN, MAR = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 3, 1, tzinfo=UTC)


def options(**overrides) -> ImportOptions:
    values = {
        "format": "csv",
        "book_name": "Test list",
        "kind": "list",
        "currency": "USD",
        "effective_from": JAN,
    }
    return ImportOptions(**{**values, **overrides})


def run_import(content: str, **overrides):
    preview = price_import_preview(content, options(**overrides))
    price_import_apply(preview)
    return preview


@pytest.fixture
def litellm_models(db):
    """Our catalog's names for the sample file's models; qwen and deepseek match through aliases."""
    models = {
        "claude-sonnet-4-5": AIModelFactory(name="claude-sonnet-4.5", vendor=VendorFactory(slug="anthropic")),
        "gpt-4o": AIModelFactory(name="gpt-4o", vendor=VendorFactory(slug="openai")),
        "dashscope/qwen3-max": AIModelFactory(name="qwen3-max", vendor=VendorFactory(slug="alibaba")),
        "gemini-2.5-flash-preview-04-17": AIModelFactory(
            name="gemini-2.5-flash-preview-04-17", vendor=VendorFactory(slug="google")
        ),
        "deepseek/deepseek-reasoner": AIModelFactory(
            name="deepseek-reasoner", vendor=VendorFactory(slug="deepseek")
        ),
    }
    for key, model in models.items():
        if key != model.name:
            model_alias_add(model=model, alias=key)
    return models


def litellm_cost(entry: dict, usage: Usage) -> Decimal:
    """What the LiteLLM file says a request costs, computed straight from its per-token numbers."""
    above = usage.prompt_tokens > 200_000 and "input_cost_per_token_above_200k_tokens" in entry

    def price(*keys: str) -> Decimal:
        """The first key present, preferring its above-200k form for a long prompt."""
        for key in keys:
            for candidate in ([f"{key}_above_200k_tokens"] if above else []) + [key]:
                if candidate in entry:
                    return entry[candidate]
        raise KeyError(keys)

    if "tiered_pricing" in entry:
        band = next(
            t for t in entry["tiered_pricing"] if t["range"][0] < usage.prompt_tokens <= t["range"][1]
        )
        entry = {**entry, **band}
    batch = "_batches" if usage.batch else ""
    uncached = (
        usage.prompt_tokens - usage.cache_read_tokens - usage.cache_write_tokens - usage.cache_write_1h_tokens
    )
    input_price = entry.get(f"input_cost_per_token{batch}") if batch else price("input_cost_per_token")
    output_price = entry.get(f"output_cost_per_token{batch}") if batch else price("output_cost_per_token")
    cache_read = entry.get("cache_read_input_token_cost", entry.get("input_cost_per_token_cache_hit"))
    if above and "cache_read_input_token_cost_above_200k_tokens" in entry:
        cache_read = entry["cache_read_input_token_cost_above_200k_tokens"]
    return (
        uncached * input_price
        + usage.cache_read_tokens * (cache_read if cache_read is not None else input_price)
        + usage.cache_write_tokens * price("cache_creation_input_token_cost", "input_cost_per_token")
        + usage.cache_write_1h_tokens
        * price(
            "cache_creation_input_token_cost_above_1hr",
            "cache_creation_input_token_cost",
            "input_cost_per_token",
        )
        + (usage.completion_tokens - usage.reasoning_tokens) * output_price
        + usage.reasoning_tokens * entry.get("output_cost_per_reasoning_token", output_price)
    )


CASES = [
    # cached: reads, 5-minute and 1-hour writes
    ("claude-sonnet-4-5", Usage(100_000, 30_000, 10_000, 5_000, 2_000)),
    # tiered by *_above_200k_tokens, every class moving with the prompt
    ("claude-sonnet-4-5", Usage(250_000, 50_000, 20_000, 10_000, 4_000)),
    ("claude-sonnet-4-5", Usage(200_000, 0, 0, 0, 1_000)),
    # tiered by tiered_pricing, on both sides of a boundary
    ("dashscope/qwen3-max", Usage(32_000, completion_tokens=1_000)),
    ("dashscope/qwen3-max", Usage(32_001, completion_tokens=1_000)),
    ("dashscope/qwen3-max", Usage(252_000, completion_tokens=1_000)),
    # batch prices from *_batches
    ("gpt-4o", Usage(10_000, completion_tokens=3_000, batch=True)),
    ("gpt-4o", Usage(10_000, 4_000, completion_tokens=3_000)),
    # reasoning at its own price, and DeepSeek's cache-hit key
    ("gemini-2.5-flash-preview-04-17", Usage(5_000, 1_000, completion_tokens=9_000, reasoning_tokens=7_000)),
    ("deepseek/deepseek-reasoner", Usage(64_000, 60_000, completion_tokens=8_000, reasoning_tokens=6_000)),
]


@pytest.mark.parametrize(("key", "usage"), CASES)
def test_an_imported_litellm_file_rates_as_the_file_says(litellm_models, key, usage):
    run_import(SAMPLE.read_text(), format="litellm", book_name="LiteLLM", currency="")
    model = litellm_models[key]
    schedule = PricingSnapshot(JAN, model_ids=[model.pk]).book_schedule(
        PriceBook.objects.get(name="LiteLLM"), model
    )
    assert schedule.currency == "USD"
    assert rate(schedule, usage).total == litellm_cost(RAW[key], usage)


def test_litellm_preview_skips_unknown_and_unpriced_entries_and_says_why(litellm_models):
    preview = price_import_preview(SAMPLE.read_text(), options(format="litellm", currency=""))
    assert sorted(c.name for c in preview.changes) == sorted(m.name for m in litellm_models.values())
    skipped = dict(preview.skipped)
    assert "per pixel" in skipped["dall-e-3"]
    assert "unknown model" in skipped["openrouter/anthropic/claude-sonnet-4.5"]
    assert "sample_spec" not in skipped


def test_litellm_import_can_create_models_with_their_vendor(db):
    VendorFactory(slug="anthropic")
    provider_mappings_default_seed()  # the provider → vendor mapping is data (#20)
    run_import(SAMPLE.read_text(), format="litellm", currency="", create_models=True, vendor_slug="anthropic")
    created = AIModel.objects.get(name="claude-sonnet-4-5")
    assert created.vendor.slug == "anthropic"
    assert created.context_window == 200_000
    assert created.modality == "multimodal"
    # the vendor filter keeps other vendors' entries out even when models are created
    assert not AIModel.objects.filter(name="gpt-4o").exists()


def test_malformed_litellm_entries_are_skipped_with_their_reason_and_the_rest_imports(litellm_models):
    data = json.loads(SAMPLE.read_text())
    data["gpt-4o"]["output_cost_per_token"] = "ten dollars"
    data["claude-sonnet-4-5"]["input_cost_per_token"] = -3e-06
    preview = price_import_preview(json.dumps(data), options(format="litellm", currency=""))
    skipped = dict(preview.skipped)
    assert skipped["gpt-4o"] == "output_cost_per_token: 'ten dollars' is not a number"
    assert skipped["claude-sonnet-4-5"].startswith("input_cost_per_token: -0.000003")
    assert "gpt-4o" not in {c.name for c in preview.changes}
    assert "gemini-2.5-flash-preview-04-17" in {c.name for c in preview.changes}


def test_invalid_json_names_line_and_column(db):
    with pytest.raises(ValidationError) as exc:
        run_import('{"gpt-4o": {"input_cost_per_token": 1e-06,}}', format="litellm")
    assert exc.value.messages[0].startswith("Line 1, field column")


CSV = """model,tier_lo,tier_hi,input,output,cache_read,batch_multiplier
qwen3-max,0,32000,2.5,10,0.5,0.5
qwen3-max,32000,128000,4,16,,0.5
glm-5.1,0,,6,24,,
"""


@pytest.fixture
def csv_models(db):
    return {
        "qwen3-max": AIModelFactory(name="qwen3-max"),
        "glm-5.1": AIModelFactory(name="glm-5.1"),
    }


def test_csv_import_creates_tiered_entries(csv_models):
    run_import(CSV, currency="CNY")
    book = PriceBook.objects.get(name="Test list")
    assert (book.kind, book.currency) == (BookKind.LIST, "CNY")
    entry = PriceEntry.objects.get(book=book, model=csv_models["qwen3-max"])
    assert [(t.lo, t.hi, t.input) for t in entry.tiers.order_by("lo")] == [
        (0, 32000, Decimal("2.5")),
        (32000, 128000, Decimal("4")),
    ]
    assert entry.batch_multiplier == Decimal("0.5")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (CSV.replace("4,16,,0.5", "4,sixteen,,0.5"), "Row 3, field output: 'sixteen' is not a number"),
        (CSV.replace("6,24", "6,-24"), "Row 4, field output: -24 is negative."),
        (CSV.replace("glm-5.1,0,,6", "glm-9,0,,6"), "Row 4, field model: unknown model 'glm-9'."),
        (CSV.replace("2.5,10", "2.5,"), "Row 2, field output: required."),
        (
            CSV.replace("0.5,0.5\n", "0.5,0.5\n", 1).replace("32000,128000,4", "16000,128000,4"),
            "overlaps tier",
        ),
        (CSV.replace("32000,128000,4", "40000,128000,4"), "leave a gap"),
        (CSV.replace("2.5,10", "2.5000000000001,10"), "more than 12 decimal places"),
        (CSV.replace(",,0.5\n", ",,0.6\n"), "Row 3, field batch_multiplier: '0.6' differs from row 2"),
        ("model,inptu,output\nqwen3-max,1,2\n", "Row 1 (header), field inptu: unknown column"),
        (CSV.replace("0,32000,2.5", "0,0,2.5"), "Row 2, field tier_hi: 0 must be greater than tier_lo"),
    ],
)
def test_malformed_csv_is_refused_with_row_and_field_and_nothing_applied(csv_models, content, message):
    with pytest.raises(ValidationError) as exc:
        run_import(content, currency="CNY")
    assert any(message in m for m in exc.value.messages), exc.value.messages
    assert not PriceEntry.objects.exists()


def test_a_refused_row_late_in_a_file_leaves_earlier_rows_unapplied(csv_models):
    book = PriceBookFactory(name="Test list", currency="CNY")
    add_prices(book, csv_models["glm-5.1"], tier(input="6", output="24"), effective_from=JAN)
    # qwen3-max would apply cleanly, but glm-5.1 already has prices after the import's date
    with pytest.raises(ValidationError) as exc:
        run_import(CSV, currency="CNY", effective_from=datetime(2025, 6, 1, tzinfo=UTC))
    assert (
        "Row 4, field effective_from: Test list already prices glm-5.1 from 2026-01-01 00:00–open"
        in (exc.value.messages[0])
    )
    assert PriceEntry.objects.count() == 1


def test_a_new_price_closes_the_old_one_and_rating_follows_the_event_time(csv_models):
    run_import(CSV, currency="CNY", effective_from=JAN)
    preview = price_import_preview(CSV.replace("6,24", "5,22"), options(currency="CNY", effective_from=MAR))
    glm = next(c for c in preview.changes if c.name == "glm-5.1")
    assert glm.status == "changed"
    assert ("(0, ∞)", "input", "6", "5") in glm.changes
    assert next(c for c in preview.changes if c.name == "qwen3-max").status == "unchanged"
    price_import_apply(preview)
    book = PriceBook.objects.get(name="Test list")
    model = csv_models["glm-5.1"]
    before = PricingSnapshot(datetime(2026, 2, 28, 23, 59, tzinfo=UTC), model_ids=[model.pk]).book_schedule(
        book, model
    )
    after = PricingSnapshot(MAR, model_ids=[model.pk]).book_schedule(book, model)
    assert (before.tiers[0].input, after.tiers[0].input) == (Decimal("6"), Decimal("5"))
    assert before.effective_to == MAR
    # the unchanged model kept its single entry
    assert PriceEntry.objects.filter(model=csv_models["qwen3-max"]).count() == 1


def test_importing_the_same_file_twice_changes_nothing(csv_models):
    run_import(CSV, currency="CNY")
    preview = run_import(CSV, currency="CNY")
    assert preview.counts()["unchanged"] == 2
    assert PriceEntry.objects.count() == 2


def test_a_book_of_another_kind_or_currency_is_refused(csv_models):
    PriceBookFactory(name="Test list", kind=BookKind.COST, currency="CNY")
    with pytest.raises(ValidationError) as exc:
        run_import(CSV, currency="CNY")
    assert "is a cost book, not list" in exc.value.messages[0]


def test_apply_refuses_when_prices_changed_since_the_preview(csv_models):
    record, _preview = price_import_record(content=CSV, options=options(currency="CNY"))
    run_import(CSV.replace("6,24", "7,24"), currency="CNY", effective_from=datetime(2025, 12, 1, tzinfo=UTC))
    with pytest.raises(ValidationError) as exc:
        price_import_record_apply(record)
    assert "changed since this preview" in exc.value.messages[0]


def test_recorded_import_applies_once(csv_models):
    record, _preview = price_import_record(content=CSV, options=options(currency="CNY"))
    price_import_record_apply(record)
    record.refresh_from_db()
    assert record.status == PriceImport.Status.APPLIED
    with pytest.raises(ValidationError):
        price_import_record_apply(record)


def test_management_command_dry_run_then_apply(csv_models, tmp_path):
    path = tmp_path / "prices.csv"
    path.write_text(CSV)
    args = [str(path), "--format", "csv", "--book", "CN list", "--kind", "list", "--currency", "CNY"]
    out = StringIO()
    call_command("import_prices", *args, "--effective", "2026-01-01", "--dry-run", stdout=out)
    assert "2 new, 0 changed" in out.getvalue()
    assert not PriceEntry.objects.exists()
    call_command("import_prices", *args, "--effective", "2026-01-01", stdout=out)
    assert PriceEntry.objects.count() == 2
    entry = PriceEntry.objects.first()
    assert entry.effective_from.isoformat().startswith("2025-12-31T16:00")  # midnight in Asia/Shanghai


def test_management_command_reports_row_and_field(csv_models, tmp_path):
    path = tmp_path / "prices.csv"
    path.write_text(CSV.replace("6,24", "6,x"))
    with pytest.raises(CommandError) as exc:
        call_command(
            "import_prices",
            str(path),
            "--format",
            "csv",
            "--book",
            "B",
            "--kind",
            "cost",
            "--currency",
            "CNY",
        )
    assert "Row 4, field output" in str(exc.value)


def test_litellm_vendor_filter_skips_other_vendors(litellm_models):
    Vendor.objects.get(slug="openai")
    preview = price_import_preview(
        SAMPLE.read_text(), options(format="litellm", currency="", vendor_slug="openai")
    )
    assert [c.name for c in preview.changes] == ["gpt-4o"]
