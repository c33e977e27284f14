"""LiteLLM imports (#20): providers mapped as data (vendor, channel cost book, skip), off-peak blocks of
every shape, a change only in windows, and the CSV's refusal of over-precise prices kept."""

import json
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from catalog.models import BookKind, PriceEntry, ProviderMapping
from catalog.rating import TimeWindow
from catalog.services.books import model_alias_add
from catalog.services.imports.apply import (
    CHANGED,
    ImportOptions,
    price_import_apply,
    price_import_preview,
    price_import_record,
    price_import_record_apply,
)
from catalog.time_windows import window_rules
from tests.catalog.factories import AIModelFactory, PriceBookFactory, VendorFactory

pytestmark = pytest.mark.django_db

JAN, MAR = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 3, 1, tzinfo=UTC)


def spec(provider: str, input_="3e-06", output="1.5e-05", **more) -> dict:
    return {
        "litellm_provider": provider,
        "mode": "chat",
        "input_cost_per_token": Number(input_),
        "output_cost_per_token": Number(output),
        **more,
    }


class Number:
    """A JSON number written with exactly these digits (LiteLLM's float noise included)."""

    def __init__(self, text: str):
        self.text = text


def dumps(entries: dict) -> str:
    return re.sub(r'"@@(.*?)@@"', r"\1", json.dumps(entries, default=lambda number: f"@@{number.text}@@"))


def litellm(**overrides) -> ImportOptions:
    values = {"format": "litellm", "book_name": "List", "kind": "list", "effective_from": JAN}
    return ImportOptions(**{**values, **overrides})


@pytest.fixture
def bedrock(db):
    anthropic = VendorFactory(slug="anthropic")
    claude = AIModelFactory(name="claude-2.1", vendor=anthropic)
    model_alias_add(model=claude, alias="anthropic.claude-v2:1")
    book = PriceBookFactory(name="Bedrock cost", kind=BookKind.COST, currency="USD")
    ProviderMapping.objects.create(provider="bedrock", action="channel", channel_book=book)
    ProviderMapping.objects.create(provider="anthropic", action="vendor", vendor=anthropic)
    return claude, book


FILE = {
    "bedrock/us-east-1/anthropic.claude-v2:1": spec("bedrock", "8e-06", "2.4e-05"),
    "anthropic.claude-v2:1": spec("bedrock", "7e-06", "2e-05"),
    "bedrock/eu-west-1/meta.llama3-70b": spec("bedrock"),
    "claude-2.1": spec("anthropic"),
}


def test_a_channel_providers_entries_go_into_its_cost_book_matched_without_the_prefix(bedrock):
    claude, book = bedrock

    record, preview = price_import_record(content=dumps(FILE), options=litellm(provider="bedrock"))

    assert (preview.options.book_name, preview.options.kind) == ("Bedrock cost", BookKind.COST)
    assert [(c.model, c.item.name) for c in preview.changes] == [(claude, "anthropic.claude-v2:1")]
    skipped = dict(preview.skipped)
    assert skipped["bedrock/eu-west-1/meta.llama3-70b"] == "no model named 'meta.llama3-70b' (add an alias)"
    assert skipped["bedrock/us-east-1/anthropic.claude-v2:1"].startswith("another key for claude-2.1")
    assert skipped["claude-2.1"] == "another provider's entry"
    price_import_record_apply(record)
    entry = PriceEntry.objects.get(book=book)
    assert (entry.model, entry.tiers.get().input) == (claude, Decimal("7"))


def test_a_book_import_skips_channel_and_skip_providers_and_lists_unmapped_ones(bedrock):
    ProviderMapping.objects.create(provider="fireworks_ai", action="skip")
    entries = {
        **FILE,
        "fireworks_ai/x": spec("fireworks_ai"),
        "newco/y": spec("newco"),
        "newco/z": spec("newco"),
    }

    preview = price_import_preview(dumps(entries), litellm(create_models=True))

    skipped = dict(preview.skipped)
    assert "reseller channel 'bedrock'" in skipped["anthropic.claude-v2:1"]
    assert skipped["fireworks_ai/x"] == "provider 'fireworks_ai' is mapped to skip"
    assert skipped["newco/y"] == "provider 'newco' is not mapped to a vendor (map it)"
    assert preview.unmapped == [("newco", 2)]
    assert [c.name for c in preview.changes] == ["claude-2.1"]


def test_a_channel_import_needs_a_channel_mapping(bedrock):
    with pytest.raises(ValidationError) as exc:
        price_import_preview(dumps(FILE), litellm(provider="anthropic"))

    assert "not mapped to a channel cost book" in exc.value.messages[0]


OFF_PEAK = {
    "hours_utc": "22:00-23:00",
    "windows": [{"hours_utc": ["16:30-00:30"], "weekdays": ["sat", "Sunday"]}],
    "weekday_timezone": "Asia/Shanghai",
    "input_cost_per_token": Number("1e-06"),
    "output_cost_per_reasoning_token": Number("2e-06"),
}


def test_an_off_peak_block_with_flat_hours_and_named_weekdays_moves_into_its_zone(db):
    model = AIModelFactory(name="m", vendor=VendorFactory(slug="deepseek"))
    entries = {"m": spec("deepseek", off_peak_pricing=OFF_PEAK)}

    preview = price_import_preview(dumps(entries), litellm())

    (window,) = preview.changes[0].item.windows
    assert window.time_zone == "Asia/Shanghai"
    assert list(window.rules) == [
        {"weekdays": [1, 2, 3, 4, 5, 6, 7], "start": "06:00", "end": "07:00"},
        {"weekdays": [6, 7], "start": "00:30", "end": "08:30"},
    ]
    assert dict(window.prices) == {"input": Decimal("1"), "reasoning": Decimal("2")}
    assert preview.changes[0].model == model


@pytest.mark.parametrize(
    ("block", "says"),
    [
        ({**OFF_PEAK, "weekday_timezone": "America/New_York"}, "changes its UTC offset"),
        ({**OFF_PEAK, "weekday_timezone": "Mars/Olympus"}, "is not a time zone"),
        ({**OFF_PEAK, "hours_utc": "late"}, "'late' is not a range HH:MM-HH:MM"),
        ({"windows": [{"hours_utc": "00:00-01:00", "weekdays": ["funday"]}]}, "'funday' is not a weekday"),
        ({"hours_utc": "00:00-01:00"}, "no off-peak price"),
    ],
)
def test_an_off_peak_block_that_cannot_be_stored_as_litellm_means_it_skips_its_entry(db, block, says):
    AIModelFactory(name="m", vendor=VendorFactory(slug="deepseek"))
    entries = {"m": spec("deepseek", off_peak_pricing=block), "n": spec("deepseek")}

    preview = price_import_preview(dumps(entries), litellm(create_models=True))

    assert says in dict(preview.skipped)["m"]
    assert "m" not in {c.name for c in preview.changes}


def test_a_change_only_in_windows_is_a_change(db):
    AIModelFactory(name="m", vendor=VendorFactory(slug="deepseek"))
    price_import_apply(price_import_preview(dumps({"m": spec("deepseek")}), litellm()))

    block = {"hours_utc": "16:30-00:30", "input_cost_per_token": Number("1.5e-06")}
    preview = price_import_preview(
        dumps({"m": spec("deepseek", off_peak_pricing=block)}), litellm(effective_from=MAR)
    )

    (change,) = preview.changes
    assert change.status == CHANGED
    assert [c[1] for c in change.changes] == ["windows"]
    assert "Off-peak (UTC: 1-7 16:30–00:30) input 1.5" in change.changes[0][3]


def test_a_value_over_precise_after_normalising_skips_its_entry_only(db):
    entries = {
        "m": spec("deepseek", input_="1.1428571428571429e-06"),
        "n": spec("deepseek", input_="1.6000000000000001e-06"),
    }
    AIModelFactory(name="m", vendor=VendorFactory(slug="deepseek"))
    AIModelFactory(name="n", vendor=VendorFactory(slug="deepseek2"))

    preview = price_import_preview(dumps(entries), litellm())

    assert "per million tokens has more than 12 decimal places" in dict(preview.skipped)["m"]
    assert preview.changes[0].item.tiers[0].input == Decimal("1.6")
    assert preview.normalised == [("n", "input_cost_per_token", "1.6000000000000001e-06", "0.0000016")]


def test_a_csv_with_an_over_precise_price_is_still_refused(db):
    AIModelFactory(name="m", vendor=VendorFactory(slug="deepseek"))
    options = ImportOptions(format="csv", book_name="B", kind="list", currency="USD", effective_from=JAN)

    with pytest.raises(ValidationError) as exc:
        price_import_preview("model,input,output\nm,1.6000000000000001,2\n", options)

    assert "more than 12 decimal places" in " ".join(exc.value.messages)


def litellm_is_off_peak():
    """LiteLLM's own reading of an off_peak_pricing block (the dev dependency, offline)."""
    from litellm.litellm_core_utils.llm_cost_calc.utils import _is_off_peak

    return _is_off_peak


DEEPSEEK_WINDOWS = [
    {"hours_utc": ["00:00-01:00", "04:00-06:00", "10:00-00:00"], "weekdays": [1, 2, 3, 4, 5]},
    {"hours_utc": "00:00-00:00", "weekdays": [6, 7]},
]


@pytest.mark.parametrize(
    "block",
    [
        {"windows": DEEPSEEK_WINDOWS},
        {"weekday_timezone": "Asia/Shanghai", "windows": DEEPSEEK_WINDOWS},
        {k: v for k, v in OFF_PEAK.items() if not k.endswith("_token")},
    ],
)
def test_an_imported_window_covers_exactly_the_instants_litellm_prices_off_peak(db, block):
    AIModelFactory(name="m", vendor=VendorFactory(slug="deepseek"))
    priced = {**block, "input_cost_per_token": Number("1e-07")}
    (window,) = (
        price_import_preview(dumps({"m": spec("deepseek", off_peak_pricing=priced)}), litellm())
        .changes[0]
        .item.windows
    )
    ours = TimeWindow(label=window.label, zone=window.time_zone, rules=window_rules(list(window.rules)))
    is_off_peak = litellm_is_off_peak()

    start = datetime(2026, 3, 2, tzinfo=UTC)  # a Monday
    for step in range(2 * 7 * 24 * 4):  # every quarter of an hour over two weeks
        at = start + timedelta(minutes=15 * step)
        assert ours.covers(at) == is_off_peak(block, at), at


def test_a_service_tier_above_a_threshold_takes_prices_as_litellm_resolves_them(db):
    AIModelFactory(name="m", vendor=VendorFactory(slug="openai"))
    more = {
        "input_cost_per_token_above_100k_tokens": Number("2e-06"),
        "input_cost_per_token_flex": Number("5e-07"),
        "output_cost_per_token_flex": Number("1e-06"),
        "cache_read_input_token_cost_above_100k_tokens_flex": Number("4e-07"),
    }
    entries = {"m": spec("openai", "1e-06", "3e-06", **more)}

    (change,) = price_import_preview(dumps(entries), litellm()).changes

    ((name, (below, above)),) = change.item.service_tiers
    assert (name, below.input, below.output) == ("flex", Decimal("0.5"), Decimal("1"))
    # input: the standard threshold price; output: flex's base price (the standard threshold does not
    # restate it); cache read: flex's own threshold price
    assert (above.lo, above.input, above.output, above.cache_read) == (
        100_000,
        Decimal("2"),
        Decimal("1"),
        Decimal("0.4"),
    )
