"""Dates, instants and sums a vendor file cannot mean: a year outside 2000–2099 in any date field or bucket
bound, and rows whose sum would not fit the stored columns, are row or file errors naming where — never a
crash (review item 13 and its neighbours)."""

import json
from datetime import UTC, datetime

import pytest

from accounts.models import StaffRole
from billing.upstream.imports.services import upstream_import
from billing.upstream.models import UpstreamImport, VendorBill, VendorUsage
from tests.billing.upstream.imports.helpers import generic
from tests.billing.upstream.imports.test_bills import bills
from tests.billing.upstream.imports.test_pages import login, upload

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01", "1999-12-31", "2100-01-01"])
def test_a_generic_date_outside_the_years_is_a_row_error(world, day):
    record = upstream_import(
        content=generic(
            f"{day},,kimi-main,kimi-k2,1,1,0,0,1,0,,", "2026-11-03,,kimi-main,kimi-k2,1,1,0,0,1,0,,"
        ),
        filename="g.csv",
        fmt="generic",
        preview=True,
    )
    assert record.state == "preview" and record.created == 1
    assert record.errors == [
        {
            "row": 2,
            "field": "date",
            "message": f"date '{day}' is outside the years 2000–2099: check the year.",
            "where": "",
        }
    ]


def test_the_first_and_last_days_of_the_years_are_imported(world):
    record = upstream_import(
        content=generic(
            "2000-01-01,Pacific/Kiritimati,kimi-main,kimi-k2,1,1,0,0,1,0,,",
            "2099-12-31,America/Adak,kimi-main,kimi-k2,1,1,0,0,1,0,,",
        ),
        filename="g.csv",
        fmt="generic",
    )
    assert (record.created, record.rejected) == (2, 0)


def test_an_openrouter_date_outside_the_years_is_a_row_error(world):
    content = json.dumps(
        {
            "data": [
                {
                    "date": "9999-12-31",
                    "model": "openai/gpt-4.1",
                    "usage": "0.5",
                    "requests": 1,
                    "prompt_tokens": 1,
                    "completion_tokens": 1,
                    "reasoning_tokens": 0,
                }
            ]
        }
    ).encode()
    record = upstream_import(
        content=content, filename="a.json", fmt="openrouter-activity", channel=world["channels"]["openrouter"]
    )
    assert [(e["row"], e["field"]) for e in record.errors] == [(1, "date")]


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        (
            int(datetime(9999, 12, 31, tzinfo=UTC).timestamp()),
            int(datetime(9999, 12, 31, 1, tzinfo=UTC).timestamp()),
            "start_time 253402214400 is outside the years 2000–2099: check the year.",
        ),
        (10**12, 10**12 + 3600, "start_time is out of range (1000000000000)."),
        (0, 3600, "start_time 0 is outside the years 2000–2099: check the year."),
    ],
)
def test_an_openai_bucket_outside_the_years_refuses_the_file(world, start, end, message):
    page = {"object": "page", "data": [{"start_time": start, "end_time": end, "results": []}]}
    record = upstream_import(content=json.dumps(page).encode(), filename="o.json", fmt="openai-usage")
    assert record.state == "failed" and record.errors[0]["message"] == f"Bucket 1: {message}"


@pytest.mark.parametrize(
    ("start", "end"),
    [("9999-12-31T00:00:00Z", "9999-12-31T01:00:00Z"), ("0001-01-01T00:00:00+01:00", "2026-01-01T00:00:00Z")],
)
def test_an_anthropic_bucket_outside_the_years_refuses_the_file(world, start, end):
    page = {"data": [{"starting_at": start, "ending_at": end, "results": []}], "has_more": False}
    record = upstream_import(content=json.dumps(page).encode(), filename="a.json", fmt="anthropic-usage")
    assert record.state == "failed"
    assert record.errors[0]["message"] == (
        f"Bucket 1: starting_at '{start}' is outside the years 2000–2099: check the year."
    )


def test_invoice_dates_outside_the_years_are_row_errors(world):
    record = upstream_import(
        content=bills(
            "kimi-main,F-1,usage,2026-11,1.00,CNY,9999-12-31,",
            "kimi-main,F-2,usage,9999-12,1.00,CNY,2026-12-02,",
            "kimi-main,F-3,usage,2026-11,1.00,CNY,2026-12-02,9999-12-31",
            "kimi-main,F-4,usage,2026-11,1.00,CNY,2026-12-02,",
        ),
        filename="b.csv",
        fmt="vendor-bills",
    )
    assert [(e["row"], e["field"]) for e in record.errors] == [(2, "issued_on"), (3, "month"), (4, "due_on")]
    assert list(VendorBill.objects.values_list("number", flat=True)) == ["F-4"]


@pytest.mark.parametrize(
    ("fmt", "content"),
    [
        ("generic", generic("9999-12-31,,deepseek,deepseek-chat,1,1,0,0,1,0,,")),
        ("vendor-bills", bills("deepseek,INV-1,usage,2026-01,10,CNY,9999-12-31,")),
    ],
)
def test_the_upload_page_previews_a_far_date_as_a_row_error(client, world, fmt, content):
    login(client, StaffRole.FINANCE)
    response = upload(client, content, fmt)
    record = UpstreamImport.objects.get()
    assert response.status_code == 302 and record.state == "preview" and record.rejected == 1
    assert (
        "is outside the years 2000–2099: check the year." in client.get(response["Location"]).content.decode()
    )


def test_costs_that_sum_past_the_column_are_row_errors(world):
    record = upstream_import(
        content=generic(
            "2026-11-03,,kimi-main,kimi-k2,1,1,0,0,1,0,9000000000000000,CNY",
            "2026-11-03,,kimi-main,kimi-k2,1,1,0,0,1,0,9000000000000000,CNY",
            "2026-11-04,,kimi-main,kimi-k2,1,1,0,0,1,0,1,CNY",
        ),
        filename="g.csv",
        fmt="generic",
    )
    assert [(e["row"], e["field"]) for e in record.errors] == [(2, "row"), (3, "cost")]
    assert (
        record.errors[1]["message"]
        == "The costs of this channel, day and model sum to more than can be stored."
    )
    assert VendorUsage.objects.get().day.isoformat() == "2026-11-04"


def test_counts_that_sum_past_the_column_are_row_errors(world):
    # 10**15 is the most one row may say; 9,300 of them for one day pass what a bigint holds.
    rows = ["2026-11-03,,kimi-main,kimi-k2,1,1000000000000000,0,0,1,0,,"] * 9300
    record = upstream_import(content=generic(*rows), filename="g.csv", fmt="generic")
    assert record.state == "applied" and record.created == 0 and record.rejected == 9300
    # Only the first 500 errors are kept on the record; the plan has them all.
    overflow = [e for e in record.plan.errors if e.field == "row" and "sum to more than" in e.message]
    assert overflow and overflow[0].row > 9000
    assert not VendorUsage.objects.exists()
