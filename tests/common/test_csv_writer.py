"""The CSV writer itself: formula-neutral cells, exact numbers, times in the screen's zone, and the UTF-8
byte-order mark Excel needs (on request), whole and streamed; every CSV button offers the Excel file too."""

import csv
import datetime as dt
import io
import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.http import HttpResponse
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from accounts.models import StaffRole
from billing.payments.redemption import redemption_batch_create
from common import csv_export
from common.csv_export import csv_cell, csv_text
from tests.billing.factories import staff

pytestmark = pytest.mark.django_db


def _rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


# -- the writer itself -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "=1+1",
        "+1",
        "-12.50",
        "@SUM(A1)",
        "\tx",
        "\r=x",
        "\n=1+1",
        " =1+1",
        "\u00a0=1",
        "\u3000=1",
        "＝1+1",
        "＋1",
        "|calc!A1",
    ],
)
def test_text_starting_a_formula_is_quoted(text):
    assert csv_cell(text) == "'" + text


@pytest.mark.parametrize("text", ["Acme", "deepseek-chat", "a=b", "100", " plain", "深度求索"])
def test_ordinary_text_is_left_alone(text):
    assert csv_cell(text) == text


def test_numbers_stay_numbers_and_exact():
    assert csv_cell(Decimal("-12.50")) == "-12.50"
    assert csv_cell(Decimal("0.000000123457")) == "0.000000123457"  # no exponent
    assert csv_cell(Decimal("1E+2")) == "100"
    assert csv_cell(-3) == "-3" and csv_cell(-1.5) == "-1.5"
    assert (
        csv_cell(None) == ""
        and csv_cell("plain") == "plain"
        and csv_cell(dt.date(2026, 1, 2)) == "2026-01-02"
    )
    assert csv_cell(Decimal("-Infinity")) == "'-Infinity"  # not a finite amount: text
    assert _rows(csv_text([["a", "b"], [Decimal("-1.00"), "-1.00"]])) == [["a", "b"], ["-1.00", "'-1.00"]]


def test_datetimes_are_written_in_the_active_zone_with_their_offset():
    instant = dt.datetime(2026, 10, 15, 20, 30, tzinfo=dt.UTC)
    assert csv_cell(instant) == "2026-10-16T04:30:00+08:00"  # settings.TIME_ZONE, as pages show it
    with timezone.override("Europe/Berlin"):
        assert csv_cell(instant) == "2026-10-15T22:30:00+02:00"
    assert csv_cell(dt.datetime(2026, 10, 15, 20, 30)) == "2026-10-15T20:30:00"  # naive: as given


# -- the byte-order mark Excel needs ------------------------------------------------------------------


def _answer(content, query: str):
    """``csv_response(content)`` as a view would answer a request with ``query``, through the middleware."""
    request = RequestFactory().get(f"/export/?{query}")
    middleware = csv_export.ExcelBomMiddleware(lambda _request: csv_export.csv_response(content, "名单.csv"))
    return middleware(request)


@pytest.mark.parametrize("query", ["bom=1", "bom=true", "bom=YES"])
def test_bom_on_request_whole_and_streamed(query):
    rows = [["customer", "amount"], ["深度求索", Decimal("1.50")]]
    whole = _answer(csv_text(rows), query)
    assert not whole.streaming
    assert whole.content == csv_export.BOM + csv_text(rows).encode()
    streamed = _answer(csv_export.csv_lines(rows), query)
    assert streamed.streaming
    assert b"".join(streamed.streaming_content) == csv_export.BOM + csv_text(rows).encode()
    assert _rows(whole.content.decode("utf-8-sig")) == [["customer", "amount"], ["深度求索", "1.50"]]
    assert whole["Content-Disposition"].startswith("attachment")


@pytest.mark.parametrize("query", ["", "bom=0", "bom=", "bom=no"])
def test_no_bom_unless_asked_so_machine_readers_get_plain_utf8(query):
    rows = [["customer"], ["深度求索"]]
    assert _answer(csv_text(rows), query).content == csv_text(rows).encode()
    streamed = _answer(csv_export.csv_lines(rows), query)
    assert b"".join(streamed.streaming_content) == csv_text(rows).encode()


def test_bom_only_on_csv_answers():
    request = RequestFactory().get("/page/?bom=1")
    page = csv_export.ExcelBomMiddleware(lambda _request: HttpResponse("<p>x</p>"))(request)
    assert page.content == b"<p>x</p>"


def test_redemption_code_expiry_reads_in_the_screens_zone(client):
    finance = staff(StaffRole.FINANCE)
    expires = dt.datetime(2027, 1, 31, 16, 0, tzinfo=dt.UTC)  # 1 February, midnight in Shanghai
    batch = redemption_batch_create(
        user=finance, name="Promo", currency="CNY", value=Decimal("8.00"), count=1, expires_at=expires
    )
    client.force_login(finance)
    response = client.get(reverse("staff-redemption-batch-csv", args=[batch.pk]), {"bom": "1"})
    text = response.content.decode("utf-8-sig")
    header, row = _rows(text)
    assert row[header.index("expires_at")] == "2027-02-01T00:00:00+08:00"
    assert row[header.index("redeemed_at")] == ""


# A CSV button or link in a template: an anchor whose address asks for CSV (format/export/fmt=csv, a CSV
# query built by the view, or a URL named ...-csv).
CSV_ANCHOR = re.compile(
    r'<a\b[^>]*href="([^"]*(?:format=csv|export=csv|fmt=csv|csv_query|-csv\'|-csv"|code-export)[^"]*)"', re.S
)


def test_every_csv_button_has_an_excel_link_beside_it():
    """Wherever a page offers a CSV, it also offers the same file with the byte-order mark (?bom=1)."""
    missing = []
    for path in (Path(settings.BASE_DIR) / "templates").rglob("*.html"):
        source = path.read_text()
        for anchor in CSV_ANCHOR.finditer(source):
            if "bom=1" in anchor.group(1):
                continue
            # The Excel link follows the CSV one in the same element (a few hundred characters on).
            if "bom=1" not in source[anchor.end() : anchor.end() + 700]:
                missing.append(f"{path.relative_to(settings.BASE_DIR)}: {anchor.group(1)[:80]}")
    assert not missing, "CSV without an Excel (UTF-8 BOM) link:\n" + "\n".join(missing)
