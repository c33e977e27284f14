"""Price imports answer any file with the problems it holds (row or entry, field, reason), never an
exception: deep nesting, numbers too long or too large to compute with, counts beyond their columns,
text the database cannot keep, files that are not UTF-8 — on the service, the command and the page."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse
from hypothesis import given, settings
from hypothesis import strategies as st

from catalog.models import PriceEntry, PriceImport
from catalog.services.imports.apply import ImportOptions, price_import_apply, price_import_preview
from catalog.services.imports.csvfile import parse_csv
from catalog.services.imports.litellm import parse_litellm
from tests.catalog.factories import AIModelFactory, VendorFactory

pytestmark = pytest.mark.django_db

JAN = datetime(2026, 1, 1, tzinfo=UTC)


def preview(content: str, fmt: str):
    options = ImportOptions(format=fmt, book_name="B", kind="list", currency="USD", effective_from=JAN)
    return price_import_preview(content, options)


def entry(**prices) -> str:
    fields = {"input_cost_per_token": "1e-06", "output_cost_per_token": "2e-06", **prices}
    return "{" + ", ".join(f'"{k}": {v}' for k, v in fields.items()) + "}"


LITELLM = [
    ("[" * 5000 + "]" * 5000, "File, field (top level): nested too deeply to read."),
    ('{"m": ' + '{"a": ' * 3000 + "1" + "}" * 3001, "nested too deeply to read."),
    ('{"gpt-4o": ' + entry(input_cost_per_token="9" * 5000) + "}", "holds a number too long or too large"),
    ('{"gpt-4o": ' + entry(input_cost_per_token="1e9999999999999999999999") + "}", "too long or too large"),
    ('{"gpt-4o": ' + entry() + ', "x": "\x00"}', "The file contains NUL characters"),
]
# An entry beyond what can be read is skipped with its reason (#20): the file as published still imports.
LITELLM_SKIPPED = [
    (entry(input_cost_per_token="[" * 900 + "]" * 900), "gpt-4o", "[[[[...]]]] is not a number"),
    (entry(input_cost_per_token="1.5e999999999"), "gpt-4o", "1.5E+999999999 is too large"),
    (entry(input_cost_per_token='"1e999999"'), "gpt-4o", "'1e999999' is too large"),
    (
        entry(**{"input_cost_per_token_above_" + "9" * 5000 + "k_tokens": 1}),
        "gpt-4o",
        "the token threshold is not a number of at most 9 digits",
    ),
    (
        entry(tiered_pricing='[{"range": [0, 1e30]}]'),
        "gpt-4o",
        "tiered_pricing[1].range: [0, 1E+30] is not a pair of token counts",
    ),
]


@pytest.mark.parametrize(("spec", "name", "says"), LITELLM_SKIPPED)
def test_a_litellm_entry_beyond_what_can_be_read_is_skipped_with_the_reason(spec, name, says):
    AIModelFactory(name="gpt-4o", vendor=VendorFactory(slug="openai"))

    result = preview('{"gpt-4o": ' + spec + ', "gpt-4o-mini": ' + entry() + "}", "litellm")

    assert any(says in reason for skipped, reason in result.skipped if skipped == name), result.skipped
    assert not PriceEntry.objects.exists()


@pytest.mark.parametrize(
    ("content", "name"),
    [
        ('{"gpt-4o\\u0000": ' + entry() + "}", "'gpt-4o\\x00'"),
        ('{"gpt-\\ud800": ' + entry() + "}", "'gpt-\\ud800'"),
    ],
)
def test_a_litellm_name_that_is_not_text_is_skipped_escaped(content, name):
    result = preview(content, "litellm")

    assert (name, "the name is not valid text (NUL or a lone surrogate)") in result.skipped


@pytest.mark.parametrize(("content", "says"), LITELLM)
def test_a_litellm_file_beyond_what_can_be_read_is_refused_with_the_reason(content, says):
    AIModelFactory(name="gpt-4o", vendor=VendorFactory(slug="openai"))

    with pytest.raises(ValidationError) as exc:
        preview(content, "litellm")

    assert any(says in message for message in exc.value.messages), exc.value.messages
    assert not PriceEntry.objects.exists()


HEAD = "model,input,output"
CSV = [
    (f"{HEAD}\nm,{'9' * 5000},1\n", "Row 2, field input: '99999999999999999..."),
    (f"{HEAD}\nm,1e999999999,1\n", "Row 2, field input: '1e999999999' is too large."),
    (f"{HEAD},tier_lo\nm,1,1,\u00b2\n", "Row 2, field tier_lo: '²' is not a whole number of tokens."),
    (f"{HEAD},tier_lo,tier_hi\nm,1,1,0,{'9' * 30}\n", "is more than 9223372036854775807 tokens."),
    (f"{HEAD},context_window\nm,1,1,{'9' * 12}\n", "is more than 2147483647 tokens."),
    (f"{HEAD}\nm,1,{'1' * 200_000}\nm2,1,2\n", "Row 2, field (row): not readable CSV (field larger"),
    (f"{HEAD}\nm\x00,1,2\n", "The file contains NUL characters"),
]  # fmt: skip


@pytest.mark.parametrize(("content", "says"), CSV)
def test_a_csv_file_beyond_what_can_be_read_is_refused_with_row_field_and_reason(content, says):
    AIModelFactory(name="m")

    with pytest.raises(ValidationError) as exc:
        preview(content, "csv")

    assert any(says in message for message in exc.value.messages), exc.value.messages
    assert not PriceEntry.objects.exists()


def test_counts_at_their_columns_limits_are_imported():
    model = AIModelFactory(name="m")
    content = "model,tier_lo,tier_hi,input,output\nm,0,9223372036854775807,1,2\nm,9223372036854775807,,3,4\n"

    price_import_apply(preview(content, "csv"))

    tiers = PriceEntry.objects.get(model=model).tiers.order_by("lo")
    assert [(t.lo, t.hi) for t in tiers] == [(0, 2**63 - 1), (2**63 - 1, None)]


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.decimals() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=30), inner, max_size=4),
    max_leaves=20,
)
LITELLM_KEYS = st.sampled_from([
    "input_cost_per_token", "output_cost_per_token", "cache_read_input_token_cost", "tiered_pricing",
    "input_cost_per_token_above_128k_tokens", "max_input_tokens", "max_output_tokens", "mode",
    "litellm_provider", "supports_vision", "input_cost_per_request", "output_cost_per_token_batches",
])  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(
    entries=st.dictionaries(
        st.text(max_size=10), st.dictionaries(LITELLM_KEYS, JSON_VALUES, max_size=6) | JSON_VALUES, max_size=3
    )
)
def test_any_litellm_json_parses_or_is_refused_with_reasons(entries):
    import json

    try:
        parse_litellm(json.dumps(entries, default=str))
    except ValidationError as exc:
        assert exc.messages


@settings(max_examples=300, deadline=None)
@given(rows=st.lists(st.lists(st.text(max_size=12), min_size=1, max_size=8), max_size=5))
def test_any_csv_parses_or_is_refused_with_reasons(rows):
    import csv
    import io

    text = io.StringIO()
    csv.writer(text).writerows([["model", "tier_lo", "tier_hi", "input", "output", "context_window"], *rows])
    try:
        parse_csv(text.getvalue())
    except ValidationError as exc:
        assert exc.messages


def test_the_command_refuses_a_file_that_is_not_utf8_and_one_nested_too_deep(tmp_path):
    latin = tmp_path / "prices.csv"
    latin.write_bytes("model,input,output\ncafé,1,2\n".encode("latin-1"))
    deep = tmp_path / "prices.json"
    deep.write_text("[" * 5000 + "]" * 5000)
    args = ["--book", "B", "--kind", "list", "--currency", "USD"]

    with pytest.raises(CommandError, match="is not UTF-8 text"):
        call_command("import_prices", str(latin), "--format", "csv", *args)
    with pytest.raises(CommandError, match="nested too deeply to read"):
        call_command("import_prices", str(deep), "--format", "litellm", *args)
    assert not PriceImport.objects.exists()


@pytest.mark.parametrize(
    ("name", "body", "says"),
    [
        ("deep.json", b"[" * 5000 + b"]" * 5000, "nested too deeply to read"),
        ("big.json", b'{"gpt-4o": {"input_cost_per_token": ' + b"9" * 5000 + b"}}", "too long or too large"),
        ("nul.csv", b"model,input,output\nm\x00,1,2\n", "NUL characters"),
        ("utf16.csv", "model,input,output\nm,1,2\n".encode("utf-16"), "not UTF-8 text"),
    ],
)
def test_the_upload_page_lists_the_problem_instead_of_a_500(staff_client, name, body, says):
    response = staff_client.post(
        reverse("catalog-import-new"),
        {
            "file": SimpleUploadedFile(name, body),
            "format": "litellm" if name.endswith(".json") else "csv",
            "book": "B",
            "kind": "list",
            "currency": "USD",
            "effective": "2026-06-01",
        },
    )

    assert response.status_code == 200
    assert says in response.content.decode()
    assert not PriceImport.objects.exists()


def test_a_decimal_price_keeps_its_digits(db):
    parsed = parse_litellm('{"m": ' + entry(input_cost_per_token="1.5e-7") + "}")

    assert parsed.items[0].tiers[0].input == Decimal("0.15")
