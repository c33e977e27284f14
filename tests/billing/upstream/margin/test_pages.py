"""The gross-margin page and its CSV: who may read it, what it shows, bad input, and Chinese."""

import csv
import io
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import translation

from accounts.models import StaffRole
from tests.billing.factories import staff
from tests.factories import MembershipFactory

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.corrupts_billing("rollups written by hand, without their postings"),
]

URL = "/upstream/margin/"
MAY = {"period": "2026-05"}
PO_FILE = Path(__file__).resolve().parents[4] / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"


def _csv(response) -> list[dict]:
    body = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(body)))


def test_the_route_is_named():
    assert reverse("staff-upstream-margin") == URL


@pytest.mark.parametrize("role", [StaffRole.ADMIN, StaffRole.FINANCE, StaffRole.AUDITOR])
def test_admin_finance_and_auditors_read_it(client, month, role):
    client.force_login(staff(role))

    response = client.get(URL, MAY)

    assert response.status_code == 200
    body = response.content.decode()
    assert 'data-testid="margin-row-zhipu"' in body and 'data-testid="margin-row-openai"' in body
    assert 'data-testid="margin-total-margin">21.20<' in body


@pytest.mark.parametrize("role", [StaffRole.SALES, StaffRole.SUPPORT])
def test_sales_and_support_are_denied_the_page_and_the_csv(client, month, role):
    client.force_login(staff(role))

    assert client.get(URL, MAY).status_code == 403
    assert client.get(URL, {**MAY, "format": "csv"}).status_code == 403


def test_customers_are_denied_and_visitors_sent_to_log_in(client, month):
    assert client.get(URL).status_code == 302
    client.force_login(MembershipFactory(customer=month["s"]).user)
    assert client.get(URL).status_code == 403


def test_the_page_by_channel_shows_both_currencies_the_base_and_the_month_before(client, month):
    client.force_login(staff(StaffRole.FINANCE))

    body = client.get(URL, {**MAY, "dimension": "channel"}).content.decode()

    row = body.split('data-testid="margin-row-channel:openrouter-a"')[1].split("</tr>")[0]
    assert "50.00 CNY" in row  # revenue as recorded
    assert "5.00 USD" in row  # cost as recorded, in the contract currency
    assert "35.80" in row and "14.20" in row  # cost and margin in CNY at 7.10 / 7.20
    assert "currencies differ" in row
    assert "Margin %%" not in body and "Margin %" in body  # a sort header's percent sign is not doubled
    assert 'data-testid="margin-row-unmapped:mystery-acct"' in body
    assert "2026-04-01 to 2026-04-30" in body  # compared with April


def test_the_sub_distributor_page_says_what_a_row_is_and_links_the_hop_split(client, month):
    client.force_login(staff(StaffRole.FINANCE))

    body = client.get(URL, {**MAY, "dimension": "sub_distributor"}).content.decode()

    assert 'data-testid="margin-sub-note"' in body
    hop = reverse("staff-chain-hop", args=[month["s"].pk])
    assert f'href="{hop}?period=2026-05"' in body
    assert "Direct customers (no sub-distributor)" in body


def test_bad_input_is_answered_on_its_field_and_the_report_still_shows(client, month):
    client.force_login(staff(StaffRole.FINANCE))

    response = client.get(
        URL, {"period": "2026-13", "customer": "c-end", "start": "2026-05-10", "dimension": "nope"}
    )

    assert response.status_code == 200
    errors = response.context["form"].errors
    assert "the month must be 01 to 12" in errors["period"][0]
    assert "sold by Shop S, not by us" in errors["customer"][0]
    assert "needs both its first and its last day" in errors["end"][0]
    assert "dimension" in errors
    body = response.content.decode()
    assert 'data-testid="margin-form-errors"' in body and 'data-testid="margin-error-customer"' in body

    reversed_range = client.get(URL, {"start": "2026-05-20", "end": "2026-05-10"})
    assert "is before the first day" in reversed_range.context["form"].errors["end"][0]
    too_long = client.get(URL, {"start": "2025-01-01", "end": "2026-05-01"})
    assert "at most 366 days" in too_long.context["form"].errors["end"][0]
    assert too_long.context["report"].scope.start.day == 1  # the report fell back to this month
    unknown = client.get(URL, {"customer": "nobody"})
    assert "No customer has the code nobody." in unknown.context["form"].errors["customer"][0]


# Exact sums: SQLite, the demo's database, keeps decimals as REAL.
@pytest.mark.postgres
def test_a_custom_range_and_a_filter_narrow_the_page(client, month):
    client.force_login(staff(StaffRole.FINANCE))

    response = client.get(
        URL, {"start": "2026-05-10", "end": "2026-05-20", "dimension": "customer", "cost_currency": "usd"}
    )

    report = response.context["report"]
    assert (report.scope.start.isoformat(), report.scope.end.isoformat()) == ("2026-05-10", "2026-05-20")
    assert {r.key.ident for r in report.rows} == {"x-direct", "shop-s"}
    assert report.total.margin_base == Decimal("14.20")
    assert "do not apply here" in response.content.decode()  # the ledger block says it ignores filters


def test_sorting_and_pagination(client, month):
    client.force_login(staff(StaffRole.FINANCE))

    response = client.get(URL, {**MAY, "dimension": "customer", "o": "margin"})

    assert [r.key.ident for r in response.context["page_obj"]] == ["e-via", "shop-s", "x-direct"]
    assert response.context["page_obj"].paginator.per_page == 50


def test_the_charts_data(client, month):
    client.force_login(staff(StaffRole.FINANCE))

    response = client.get(URL, {**MAY, "dimension": "model"})

    assert response.context["bar_chart"] == {
        "labels": ["glm-5", "gpt-5"],
        "cost": ["32.60", "14.20"],
        "margin": ["15.40", "5.80"],
    }
    line = response.context["line_chart"]
    assert line["labels"] == ["2026-05-04", "2026-05-10", "2026-05-20", "2026-05-21"]
    assert line["sell"] == ["40.00", "29.00", "28.00", "37.50"]
    body = response.content.decode()
    assert 'id="chain-chart-data"' in body and 'id="usage-chart-data"' in body
    assert "vendor/chartjs/chart.umd.min.js" in body


def test_the_csv_is_the_report_as_shown(client, month):
    client.force_login(staff(StaffRole.FINANCE))

    response = client.get(URL, {**MAY, "dimension": "channel", "o": "-margin", "format": "csv"})

    assert response["Content-Type"] == "text/csv"
    assert 'filename="margin-channel-2026-05.csv"' in response["Content-Disposition"]
    rows = _csv(response)
    assert [r["key"] for r in rows] == [
        "channel:openrouter-a",
        "channel:zhipu-direct",
        "unmapped:mystery-acct",
        "total",
    ]
    openrouter = rows[0]
    assert (openrouter["name"], openrouter["detail"]) == ("openrouter-a", "OpenRouter · OpenRouter USD (USD)")
    assert (
        openrouter["requests"],
        openrouter["recorded_margin"],
        openrouter["recorded_margin_currency"],
    ) == (
        "7",
        "",
        "",
    )
    assert (openrouter["revenue_CNY"], openrouter["cost_USD"], openrouter["cost_CNY"]) == (
        "50.00",
        "5.00",
        "0.00",
    )
    assert (openrouter["base_margin_CNY"], openrouter["margin_pct"]) == ("14.20", "28.40")
    assert (
        openrouter["previous_base_margin_CNY"],
        openrouter["change_base_margin_CNY"],
        openrouter["fx_missing"],
    ) == (
        "0.00",
        "14.20",
        "",
    )
    total = rows[-1]
    assert (total["requests"], total["revenue_CNY"], total["cost_USD"], total["base_margin_CNY"]) == (
        "10",
        "68.00",
        "5.00",
        "21.20",
    )
    assert total["previous_base_margin_CNY"] == "2.00"


def test_the_csv_leaves_a_base_amount_empty_when_its_rate_is_missing(client, month):
    from tests.billing.upstream.margin.conftest import rollup

    rollup(
        month["x"],
        month["glm"],
        "2026-05-05",
        "zhipu-direct",
        requests=1,
        sell="1.00",
        cost="1.00",
        cost_currency="EUR",
    )
    month["x"].name = '=HYPERLINK("http://evil.example","x")'
    month["x"].save()
    client.force_login(staff(StaffRole.FINANCE))

    rows = {r["key"]: r for r in _csv(client.get(URL, {**MAY, "dimension": "customer", "format": "csv"}))}

    x = rows["x-direct"]
    assert (x["cost_EUR"], x["cost_CNY"], x["fx_missing"]) == ("1.00", "6.00", "EUR")
    assert (x["revenue_CNY"], x["base_margin_CNY"], x["margin_pct"]) == ("31.00", "", "")
    assert x["name"].startswith("'=HYPERLINK")  # a formula is written as text
    assert rows["total"]["base_margin_CNY"] == ""


@pytest.fixture
def chinese(tmp_path, settings):
    """The Chinese catalogue compiled from the .po as it is now (the committed .mo is compiled later)."""
    target = tmp_path / "zh_Hans" / "LC_MESSAGES"
    target.mkdir(parents=True)
    subprocess.run(["msgfmt", "-o", str(target / "django.mo"), str(PO_FILE)], check=True)
    settings.LOCALE_PATHS = [tmp_path]
    yield
    translation.activate("en")


def test_the_page_in_chinese(client, month, chinese):
    client.force_login(staff(StaffRole.FINANCE))

    body = client.get(
        URL, {**MAY, "dimension": "sub_distributor"}, HTTP_ACCEPT_LANGUAGE="zh-hans"
    ).content.decode()

    assert "毛利" in body and "毛利率 %%" not in body
    assert "Gross margin" not in body
    assert "Direct customers (no sub-distributor)" not in body
    assert "Against the books" not in body
    assert 'data-testid="margin-total-margin">21.20<' in body


def test_a_quarter_by_week_compares_with_the_quarter_before(client, month):
    client.force_login(staff(StaffRole.FINANCE))

    response = client.get(URL, {"period": "2026-q2", "dimension": "period", "grain": "week"})

    report = response.context["report"]
    assert (report.scope.start.isoformat(), report.scope.end.isoformat()) == ("2026-04-01", "2026-06-30")
    previous = (report.previous_start.isoformat(), report.previous_end.isoformat())
    assert previous == ("2026-01-01", "2026-03-31")
    assert [r.key.ident for r in report.rows] == ["2026-W16", "2026-W19", "2026-W21"]
    body = response.content.decode()
    assert "2026-05-04 – 2026-05-10" in body  # a week row says which days it holds
    assert "Previous margin" not in body  # period rows are not compared row by row
