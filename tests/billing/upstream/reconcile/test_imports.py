"""The synthetic month sent through each import format (billing.upstream.imports.services.upstream_import),
then reconciled: every injected discrepancy the format can carry is found and classified as with the rows
stored directly, and nothing else is flagged.

What a format cannot carry changes its class, as documented in billing/upstream/reconcile/classify.py:
OpenAI's and Anthropic's usage reports have no cost, so the 20% overcharge of June 6 cannot be seen (it
matches); Anthropic's has no request count, so the three-fold June 2 reads as token drift (same value);
OpenRouter reports no cache split, so June 5's cache reads counted as input show only as the higher charge
that came with them (a price mismatch of the same value). OpenRouter charges in USD: its cost is converted
to the contract's CNY at the day's rate.
"""

import csv
import io
import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from billing.upstream.imports.services import upstream_import
from billing.upstream.models import ReconClass, UpstreamImport
from billing.upstream.reconcile.run import reconcile
from catalog.models import FxRate
from tests.billing.upstream.reconcile.conftest import AFTER_JUNE, INJECTED, JUNE, VendorRow, vendor_month

pytestmark = pytest.mark.django_db

USD_CNY = Decimal(8)  # a round rate, so every converted cost is exact


def _unix(day: date) -> int:
    return int(datetime.combine(day, datetime.min.time(), tzinfo=UTC).timestamp())


def _by_day(rows: list[VendorRow]) -> dict[date, list[VendorRow]]:
    days: dict[date, list[VendorRow]] = {}
    for row in rows:
        days.setdefault(row.day, []).append(row)
    return days


def openai_file(rows: list[VendorRow]) -> bytes:
    buckets = [
        {
            "object": "bucket",
            "start_time": _unix(day),
            "end_time": _unix(day + timedelta(days=1)),
            "results": [
                {
                    "object": "organization.usage.completions.result",
                    "input_tokens": r.input + r.cache_read,
                    "input_cached_tokens": r.cache_read,
                    "output_tokens": r.output,
                    "num_model_requests": r.requests,
                    "api_key_id": "key_main",
                    "model": r.model,
                    "batch": False,
                }
                for r in day_rows
            ],
        }
        for day, day_rows in _by_day(rows).items()
    ]
    return json.dumps({"object": "page", "data": buckets, "has_more": False, "next_page": None}).encode()


def anthropic_file(rows: list[VendorRow]) -> bytes:
    buckets = [
        {
            "starting_at": f"{day.isoformat()}T00:00:00Z",
            "ending_at": f"{(day + timedelta(days=1)).isoformat()}T00:00:00Z",
            "results": [
                {
                    "uncached_input_tokens": r.input,
                    "cache_creation": {"ephemeral_1h_input_tokens": 0, "ephemeral_5m_input_tokens": 0},
                    "cache_read_input_tokens": r.cache_read,
                    "output_tokens": r.output,
                    "api_key_id": "apikey_main",
                    "model": r.model,
                    "service_tier": "standard",
                }
                for r in day_rows
            ],
        }
        for day, day_rows in _by_day(rows).items()
    ]
    return json.dumps({"data": buckets, "has_more": False, "next_page": None}).encode()


def _csv(header: list[str], lines: list[list]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(lines)
    return out.getvalue().encode()


def openrouter_file(rows: list[VendorRow]) -> bytes:
    header = "date,model,model_permaslug,endpoint_id,provider_name,usage,byok_usage_inference,requests,"
    header += "prompt_tokens,completion_tokens,reasoning_tokens"
    lines = []
    for r in rows:
        slug = f"openai/{r.model}"
        usage = r.cost / USD_CNY
        lines.append(
            [r.day, slug, slug, "ep-1", "OpenAI", usage, 0, r.requests, r.input + r.cache_read, r.output, 0]
        )
    return _csv(header.split(","), lines)


def generic_file(rows: list[VendorRow]) -> bytes:
    header = "date,timezone,channel,model,requests,input_tokens,cache_read_tokens,cache_write_tokens,"
    header += "output_tokens,reasoning_tokens,cost,currency"
    lines = [
        [
            r.day,
            "UTC",
            "openai-main",
            r.model,
            r.requests,
            r.input,
            r.cache_read,
            0,
            r.output,
            0,
            r.cost,
            "CNY",
        ]
        for r in rows
    ]
    return _csv(header.split(","), lines)


def expected(fmt: str) -> dict[tuple[int, str], tuple[str, Decimal]]:
    flags = {(d, m): (k, v) for d, (k, lines) in INJECTED.items() for m, v in lines.items()}
    if fmt in ("openai-usage", "anthropic-usage"):
        del flags[6, "gpt-x"]  # no cost in the report: the overcharge cannot be seen
    if fmt == "anthropic-usage":
        flags[2, "gpt-x"] = (ReconClass.TOKEN_DRIFT, flags[2, "gpt-x"][1])  # no request count
    if fmt == "openrouter-activity":
        flags[5, "gpt-x"] = (ReconClass.PRICE_MISMATCH, flags[5, "gpt-x"][1])  # no cache split
    return flags


FILES = {
    "openai-usage": ("usage.json", openai_file),
    "anthropic-usage": ("usage_report.json", anthropic_file),
    "openrouter-activity": ("activity.csv", openrouter_file),
    "generic": ("daily.csv", generic_file),
}


@pytest.mark.parametrize("fmt", list(FILES))
def test_the_month_through_each_import_format_finds_each_discrepancy_and_nothing_else(month, fmt):
    FxRate.objects.create(base="USD", quote="CNY", date=date(2026, 5, 1), rate=USD_CNY)
    filename, build = FILES[fmt]

    record = upstream_import(content=build(vendor_month()), filename=filename, fmt=fmt, channel=month.channel)

    assert record.state == UpstreamImport.State.APPLIED and record.rejected == 0, record.errors
    run = reconcile(date_from=JUNE[0], date_to=JUNE[-1], now=AFTER_JUNE).run
    flagged = {
        (line.day.day, line.model_name): (line.klass, line.value)
        for line in run.lines.exclude(klass=ReconClass.MATCHED)
    }
    assert flagged == expected(fmt)
    assert run.lines.filter(klass=ReconClass.MATCHED).count() == 61 - len(expected(fmt))
