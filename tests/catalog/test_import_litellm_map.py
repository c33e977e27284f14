"""LiteLLM's whole bundled price map imports as published (#20): through the service and the command.

The file is the one the pinned dev dependency ships (``litellm/model_prices_and_context_window_backup.json``),
found without importing LiteLLM (its import reaches for the network).
"""

import importlib.util
from datetime import UTC, datetime
from decimal import Decimal
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from catalog.models import AIModel, PriceBook, PriceEntry, PriceImport, ProviderMapping, Vendor
from catalog.rating import Usage, rate
from catalog.selectors.pricing import entry_schedule
from catalog.services.imports.apply import (
    ImportOptions,
    price_import_record,
    price_import_record_apply,
    skip_groups,
)
from catalog.services.imports.mappings import provider_mappings_default_seed

pytestmark = pytest.mark.django_db

MAP = Path(importlib.util.find_spec("litellm").submodule_search_locations[0]) / (
    "model_prices_and_context_window_backup.json"
)
JAN = datetime(2026, 1, 1, tzinfo=UTC)
VENDORS = ("openai", "anthropic", "google", "deepseek", "alibaba", "moonshot", "zhipu", "minimax")


@pytest.fixture
def vendors(db):
    for slug in (*VENDORS, "tencent", "novita"):
        Vendor.objects.create(slug=slug, name=slug.title())
    provider_mappings_default_seed()
    # Providers staff mapped on the page: no code names them.
    for provider in ("tencent", "novita"):
        ProviderMapping.objects.create(provider=provider, vendor=Vendor.objects.get(slug=provider))


def entry_of(name: str) -> PriceEntry:
    return PriceEntry.objects.select_related("book", "model").get(book__name="LiteLLM", model__name=name)


def test_the_whole_map_previews_and_applies_with_skipped_entries_listed(vendors):
    content = MAP.read_text()
    options = ImportOptions(
        format="litellm", book_name="LiteLLM", kind="list", effective_from=JAN, create_models=True
    )

    record, preview = price_import_record(content=content, options=options)
    counts = preview.counts()
    skipped = dict(preview.skipped)

    assert counts["new"] > 400
    assert counts["new"] + counts["skipped"] == 4877  # every entry but sample_spec is priced or skipped
    assert skipped["exa_ai/search"] == "mode 'search' is not priced here"
    assert skipped["firecrawl/search"] == "mode 'search' is not priced here"
    assert "bedrock/us-east-1/anthropic.claude-v1" in skipped  # an unmapped reseller's entry
    assert ("bedrock", 337) in preview.unmapped
    reasons = {group.reason: group.names for group in skip_groups(preview.skipped)}
    assert "exa_ai/search" in reasons["mode … is not priced here"]
    # float noise read as the decimal meant, and said
    assert (
        "novita/deepseek/deepseek-v4-pro",
        "input_cost_per_token",
        "1.6000000000000001e-06",
        "0.0000016",
    ) in preview.normalised
    assert record.summary["counts"]["normalised"] == len(preview.normalised) > 20

    price_import_record_apply(record)

    assert PriceEntry.objects.filter(book__name="LiteLLM").count() == counts["new"]
    assert entry_of("novita/deepseek/deepseek-v4-pro").tiers.get(service_tier="").input == Decimal("1.6")
    assert PriceImport.objects.get().status == PriceImport.Status.APPLIED


def test_deepseek_off_peak_windows_import_in_utc_and_in_the_vendors_zone(vendors):
    content = MAP.read_text()
    options = ImportOptions(
        format="litellm", book_name="LiteLLM", kind="list", effective_from=JAN, create_models=True
    )
    record, _preview = price_import_record(content=content, options=options)
    price_import_record_apply(record)

    window = entry_of("deepseek-v4-flash").windows.get()
    assert (window.label, window.position, window.time_zone) == ("Off-peak", 1, "UTC")
    weekdays = [1, 2, 3, 4, 5]
    assert window.rules == [
        {"weekdays": weekdays, "start": "00:00", "end": "01:00"},
        {"weekdays": weekdays, "start": "04:00", "end": "06:00"},
        {"weekdays": weekdays, "start": "10:00", "end": "00:00"},
        {"weekdays": [6, 7], "start": "00:00", "end": "00:00"},
    ]
    assert (window.input, window.cache_read, window.output) == (
        Decimal("0.15"),
        Decimal("0.003"),
        Decimal("0.6"),
    )
    assert window.cache_write_5m is None

    shanghai = entry_of("tencent/deepseek-v4.1-flash").windows.get()
    assert shanghai.time_zone == "Asia/Shanghai"
    # LiteLLM's hours are UTC; Shanghai is UTC+8 all year, so they move by 8 hours exactly.
    assert shanghai.rules == [
        {"weekdays": weekdays, "start": "08:00", "end": "09:00"},
        {"weekdays": weekdays, "start": "12:00", "end": "14:00"},
        {"weekdays": weekdays, "start": "18:00", "end": "08:00"},
        {"weekdays": [6, 7], "start": "00:00", "end": "00:00"},
    ]

    # rated as LiteLLM would: Monday 00:30 UTC is off-peak, 02:00 UTC is not
    schedule = entry_schedule(entry_of("deepseek-v4-flash"))
    tokens = {"prompt_tokens": 1_000_000, "completion_tokens": 1_000_000}
    off_peak = rate(schedule, Usage(**tokens, at=datetime(2026, 3, 2, 0, 30, tzinfo=UTC)))
    peak = rate(schedule, Usage(**tokens, at=datetime(2026, 3, 2, 2, 0, tzinfo=UTC)))
    assert (off_peak.total, off_peak.window) == (Decimal("0.75"), "Off-peak")
    assert (peak.total, peak.window) == (Decimal("1.5"), "")


def test_service_tiers_and_unit_prices_import(vendors):
    content = MAP.read_text()
    options = ImportOptions(
        format="litellm", book_name="LiteLLM", kind="list", effective_from=JAN, create_models=True
    )
    record, _preview = price_import_record(content=content, options=options)
    price_import_record_apply(record)

    gpt5 = entry_of("gpt-5").tiers
    flex, priority = gpt5.get(service_tier="flex"), gpt5.get(service_tier="priority")
    assert (flex.input, flex.output, flex.cache_read) == (Decimal("0.625"), Decimal("5"), Decimal("0.0625"))
    assert (priority.input, priority.output) == (Decimal("2.5"), Decimal("20"))
    # a threshold key of a service tier: same bounds as the standard tiers, gaps filled from them
    gpt54 = {(t.service_tier, t.lo): t for t in entry_of("gpt-5.4").tiers.all()}
    assert set(gpt54) == {(s, lo) for s in ("", "flex", "priority") for lo in (0, 272_000)}
    assert gpt54[("flex", 272_000)].input == Decimal("2.5")

    imagen = entry_of("gemini/imagen-3.0-generate-001").tiers.get()
    assert (imagen.image, imagen.input, imagen.output) == (Decimal("0.04"), 0, 0)  # per image, not scaled
    whisper = entry_of("whisper-1").tiers.get()
    assert (whisper.audio_second, whisper.input, whisper.output) == (Decimal("0.0001"), 0, 0)
    transcribe = entry_of("gpt-4o-transcribe").tiers.get()
    # Priced by its tokens, as LiteLLM prices it: the seconds it reports are free, not charged twice.
    assert (transcribe.audio_input, transcribe.audio_second) == (Decimal("2.5"), Decimal(0))


def test_the_command_imports_the_whole_map_and_lists_what_it_skipped(vendors):
    out = StringIO()

    call_command(
        "import_prices",
        str(MAP),
        "--format=litellm",
        "--book=LiteLLM",
        "--kind=list",
        "--effective=2026-01-01",
        "--create-models",
        verbosity=2,
        stdout=out,
    )

    text = out.getvalue()
    assert "Applied import #" in text
    assert "× mode 'search' is not priced here" not in text  # grouped: the provider's name is left out
    assert "× mode … is not priced here" in text
    assert "exa_ai/search" in text and "firecrawl/search" in text
    assert "novita/deepseek/deepseek-v4-pro input_cost_per_token: 1.6000000000000001e-06 → 0.0000016" in text
    assert "unmapped provider bedrock: 337 entries" in text
    book = PriceBook.objects.get(name="LiteLLM")
    assert book.entries.count() == AIModel.objects.count() > 400
    record = PriceImport.objects.get()
    # Each skipped entry keeps its English reason and, beside it, the reason as stored text (read in Chinese).
    skipped = {name: (reason, message) for name, reason, message in record.summary["skipped"]}
    assert skipped["exa_ai/search"][0] == "mode 'search' is not priced here"
    assert skipped["exa_ai/search"][1]["key"].startswith("catalog.import.skip.")
