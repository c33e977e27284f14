"""Row errors name the row and field; good rows are kept; whole-file problems refuse the file clearly."""

from datetime import date

import pytest

from billing.upstream.imports.services import upstream_import
from billing.upstream.models import UpstreamImport, VendorUsage
from catalog.models import Channel
from tests.billing.upstream.imports.helpers import generic, openai_page, openai_result, utc

pytestmark = pytest.mark.django_db


def errors_by_row(record):
    return {e["row"]: (e["field"], e["message"]) for e in record.errors}


def test_an_unknown_channel_is_a_row_error_naming_row_and_value_and_good_rows_are_kept(world):
    content = generic(
        "2026-11-03,,kimi-main,kimi-k2,10,1000,0,0,100,0,1.5,CNY",
        "2026-11-03,,moonshot-old,kimi-k2,10,1000,0,0,100,0,1.5,CNY",
        "2026-11-03,,ds-prod,deepseek-chat,5,500,100,0,50,0,0.5,CNY",
    )
    record = upstream_import(content=content, filename="g.csv", fmt="generic")
    assert (record.state, record.rows, record.created, record.rejected) == ("applied", 3, 2, 1)
    assert errors_by_row(record) == {3: ("channel", "'moonshot-old' is no channel's name or alias.")}
    assert VendorUsage.objects.count() == 2


@pytest.mark.parametrize(
    ("cells", "field", "words"),
    [
        ("2026-11-03,,kimi-main,kimi-k2,10,-5,0,0,100,0,,", "input_tokens", "cannot be negative"),
        ("2026-11-03,,kimi-main,kimi-k2,10,12.5,0,0,100,0,,", "input_tokens", "whole number"),
        ("2026-13-03,,kimi-main,kimi-k2,10,1,0,0,100,0,,", "date", "YYYY-MM-DD"),
        ("2026-11-03,Mars/Olympus,kimi-main,kimi-k2,10,1,0,0,100,0,,", "timezone", "IANA"),
        ("2026-11-03,,kimi-main,kimi-k2,10,1,0,0,100,0,1.5,XXX", "currency", "ISO 4217"),
        ("2026-11-03,,kimi-main,kimi-k2,10,1,0,0,100,0,1.5,", "currency", "needs its currency"),
        ("2026-11-03,,kimi-main,kimi-k2,10,1,0,0,100,200,,", "reasoning_tokens", "includes reasoning"),
        ("2026-11-03,,,kimi-k2,10,1,0,0,100,0,,", "channel", "does not say its channel"),
    ],
)
def test_bad_values_are_row_errors(world, cells, field, words):
    record = upstream_import(content=generic(cells), filename="g.csv", fmt="generic")
    assert record.state == "applied" and record.rejected == 1
    (error,) = record.errors
    assert (error["row"], error["field"]) == (2, field) and words in error["message"]


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"date,model,tokens\n2026-11-03,x,1\n", "missing column(s) input_tokens, output_tokens"),
        (generic().replace(b"output_tokens", b"output_token"), "unknown column(s) output_token"),
        (b"", "empty"),
        ("日期,模型\n".encode("utf-16"), "UTF-16"),
    ],
)
def test_a_wrong_header_or_encoding_refuses_the_generic_file(world, content, words):
    record = upstream_import(content=content, filename="g.csv", fmt="generic")
    assert record.state == UpstreamImport.State.FAILED
    assert words in record.errors[0]["message"]
    assert not VendorUsage.objects.exists()


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b'{"data": [', "not valid JSON"),
        (b'{"object": "list", "items": []}', "This is not OpenAI usage"),
        (b'{"data": [{"start_time": "yesterday", "end_time": 1, "results": []}]}', "Unix seconds"),
    ],
)
def test_a_bad_json_shape_refuses_the_file(world, content, words):
    record = upstream_import(content=content, filename="o.json", fmt="openai-usage")
    assert record.state == UpstreamImport.State.FAILED and words in record.errors[0]["message"]


def test_a_file_over_the_limit_is_refused_before_reading(world, settings):
    settings.UPSTREAM_IMPORT_MAX_BYTES = 100
    record = upstream_import(
        content=generic("2026-11-03,,kimi-main,kimi-k2,10,1,0,0,100,0,,") * 3, filename="g.csv", fmt="generic"
    )
    assert record.state == "failed" and "at most 100" in record.errors[0]["message"]


def test_openai_result_errors_say_the_bucket_and_result(world):
    content = openai_page(
        [
            (
                utc(2026, 11, 3),
                utc(2026, 11, 4),
                [
                    openai_result(),
                    openai_result(model=None, key="key_Eu999"),
                    openai_result(key="key_unknown"),
                    openai_result(input_tokens=10, cached=20, batch=True),
                ],
            )
        ]
    )
    record = upstream_import(content=content, filename="o.json", fmt="openai-usage")
    assert record.created == 1 and record.rejected == 3
    errors = errors_by_row(record)
    assert errors[2][0] == "model" and "group_by=model" in errors[2][1]
    assert errors[3] == (
        "api_key_id",
        "No channel has the vendor key id 'key_unknown': set it on its channel, or import the file for one "
        "channel.",
    )
    assert errors[4][0] == "input_cached_tokens"
    assert record.errors[0]["where"] == "bucket 2026-11-03T00:00:00Z, result 2"


def test_a_row_of_a_channel_other_than_the_imports_is_an_error(world):
    content = generic("2026-11-03,,ds-prod,deepseek-chat,5,500,100,0,50,0,,")
    record = upstream_import(
        content=content, filename="g.csv", fmt="generic", channel=world["channels"]["kimi-main"]
    )
    assert (
        record.errors[0]["message"]
        == "The row names channel 'ds-prod', but this import is for channel kimi-main."
    )


def test_a_bad_row_withholds_the_rows_it_sums_with(world):
    content = generic(
        "2026-11-03,,kimi-main,kimi-k2,10,1000,0,0,100,0,1.5,CNY",
        "2026-11-03,,kimi-main,kimi-k2,10,1000,0,0,100,0,1.5,USD",
        "2026-11-04,,kimi-main,kimi-k2,10,1000,0,0,100,0,1.5,CNY",
    )
    record = upstream_import(content=content, filename="g.csv", fmt="generic")
    # Storing row 2 alone would understate Nov 3: neither row is imported, and row 2 says why.
    assert VendorUsage.objects.get().day == date(2026, 11, 4)
    errors = errors_by_row(record)
    assert errors[3][0] == "currency" and errors[2][1].startswith("Not imported: it sums with row(s) 3")


def test_several_api_keys_of_one_channel_are_summed_into_one_row(world):
    # A channel of several keys has no one vendor key id: it is imported by choosing it.
    Channel.objects.filter(name="openai-main").update(vendor_key_id="")
    content = openai_page(
        [
            (
                utc(2026, 11, 3),
                utc(2026, 11, 4),
                [
                    openai_result(key="key_AbC123", input_tokens=100),
                    openai_result(key="key_other", input_tokens=50),
                ],
            )
        ]
    )
    record = upstream_import(
        content=content,
        filename="o.json",
        fmt="openai-usage",
        channel=Channel.objects.get(name="openai-main"),
    )
    assert (record.rows, record.created) == (2, 1)
    assert VendorUsage.objects.get().input_tokens == 150


def test_a_row_with_a_bad_count_withholds_the_rows_of_its_day_and_model(world):
    content = generic(
        "2026-11-03,,kimi-main,kimi-k2,10,1000,0,0,100,0,,",
        "2026-11-03,,kimi-main,kimi-k2,10,-1000,0,0,100,0,,",
        "2026-11-03,,kimi-main,kimi-other,10,1000,0,0,100,0,,",
    )
    record = upstream_import(content=content, filename="g.csv", fmt="generic")
    # Row 2 alone would understate kimi-k2's day: neither is stored; the other model's row is.
    assert VendorUsage.objects.get().model_name == "kimi-other"
    errors = errors_by_row(record)
    assert errors[3][0] == "input_tokens" and errors[2][1].startswith("Not imported: it sums with row(s) 3")
    assert record.rejected == 2


def test_a_bad_openai_result_withholds_its_key_but_not_other_models(world):
    content = openai_page(
        [
            (
                utc(2026, 11, 3),
                utc(2026, 11, 4),
                [
                    openai_result(input_tokens=100),
                    {**openai_result(input_tokens=100), "project_id": "proj_b", "output_tokens": -1},
                    openai_result(model="gpt-4.1-2025-04-14", input_tokens=100),
                ],
            )
        ]
    )
    record = upstream_import(content=content, filename="o.json", fmt="openai-usage")
    assert list(VendorUsage.objects.values_list("model_name", flat=True)) == ["gpt-4.1-2025-04-14"]
    assert record.rejected == 2
