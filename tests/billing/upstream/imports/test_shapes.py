"""Other shapes the real exports come in: a bare list of OpenAI buckets, a result of another usage
endpoint, Anthropic's older single cache-write figure, a GB 18030 CSV from Chinese Excel, console headers
with spaces, and a long CSV summed as it is read."""

import json
from datetime import date, timedelta

import pytest

from billing.upstream.imports.services import upstream_import
from billing.upstream.models import VendorUsage
from tests.billing.upstream.imports.helpers import GENERIC_HEADER, openai_result, utc

pytestmark = pytest.mark.django_db


def test_a_bare_list_of_openai_buckets_and_a_result_of_another_endpoint(world):
    embeddings = {
        "object": "organization.usage.embeddings.result",
        "input_tokens": 5,
        "num_model_requests": 1,
    }
    content = json.dumps(
        [
            {
                "object": "bucket",
                "start_time": int(utc(2026, 11, 3).timestamp()),
                "end_time": int(utc(2026, 11, 4).timestamp()),
                "results": [openai_result(input_tokens=70, cached=20), embeddings],
            }
        ]
    ).encode()
    record = upstream_import(content=content, filename="o.json", fmt="openai-usage")
    assert VendorUsage.objects.get().input_tokens == 50
    assert record.errors[0]["field"] == "object"
    assert "only completions usage" in record.errors[0]["message"]


def test_anthropic_reports_with_one_cache_write_figure(world):
    content = (
        b'{"data": [{"starting_at": "2026-11-03T00:00:00Z", "ending_at": "2026-11-04T00:00:00Z", "results": ['
        b'{"uncached_input_tokens": 10, "cache_creation_input_tokens": 7, "cache_read_input_tokens": 3,'
        b' "output_tokens": 4, "api_key_id": "apikey_01Rj2N8SVvo6BePZj99NhmiT",'
        b' "model": "claude-sonnet-4"}]}],'
        b' "has_more": false, "next_page": null}'
    )
    upstream_import(content=content, filename="a.json", fmt="anthropic-usage")
    row = VendorUsage.objects.get()
    assert (row.input_tokens, row.cache_write_tokens, row.cache_write_1h_tokens, row.cache_read_tokens) == (
        10,
        7,
        0,
        3,
    )


def test_a_gb18030_csv_from_chinese_excel_is_read(world):
    content = (GENERIC_HEADER + "\n2026-11-03,,kimi-main,月之暗面-k2,10,1000,0,0,100,0,1.5,CNY\n").encode(
        "gb18030"
    )
    record = upstream_import(content=content, filename="g.csv", fmt="generic")
    assert record.rejected == 0 and VendorUsage.objects.get().model_name == "月之暗面-k2"


def test_openrouter_console_headers_with_capitals_and_spaces(world):
    content = (
        b"Date,Model,Model Permaslug,Endpoint Id,Provider Name,Usage,Byok Usage Inference,Requests,"
        b"Prompt Tokens,Completion Tokens,Reasoning Tokens\n"
        b"2026-11-03,openai/gpt-4.1,openai/gpt-4.1-2025-04-14,e1,OpenAI,1.25,0,3,300,30,0\n"
    )
    record = upstream_import(
        content=content, filename="a.csv", fmt="openrouter-activity", channel=world["channels"]["openrouter"]
    )
    assert record.created == 1 and VendorUsage.objects.get().input_tokens == 300


def test_a_long_csv_is_summed_as_it_is_read(world):
    lines = [GENERIC_HEADER]
    for n in range(20_000):
        day = date(2026, 11, 1) + timedelta(days=n % 30)
        lines.append(f"{day},,kimi-main,kimi-k2,1,10,0,0,2,0,0.01,CNY")
    record = upstream_import(content="\n".join(lines).encode(), filename="big.csv", fmt="generic")
    assert (record.rows, record.created, record.rejected) == (20_000, 30, 0)
    first = VendorUsage.objects.get(day=date(2026, 11, 1))
    assert (first.requests, first.input_tokens, str(first.cost)) == (667, 6670, "6.670000000000")
