"""The forecast page: who may see it, what it shows, and how it answers bad input."""

import csv
import io
import subprocess
from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import StaffRole
from tests.billing.factories import staff
from tests.billing.invoicing.factories import issued_invoice
from tests.billing.upstream.ledger.conftest import buy, channel, model, usage  # noqa: F401
from tests.factories import CustomerFactory, MembershipFactory

pytestmark = pytest.mark.django_db
URL = "/reports/forecast/"


def client_for(role):
    client = Client()
    client.force_login(staff(role))
    return client


def test_the_route_is_named():
    assert reverse("exposure-forecast") == URL


@pytest.mark.parametrize("role", [StaffRole.ADMIN, StaffRole.FINANCE, StaffRole.AUDITOR])
def test_admin_finance_and_auditors_see_it(role):
    response = client_for(role).get(URL)
    assert response.status_code == 200
    assert 'data-testid="forecast-cycle"' in response.content.decode()


@pytest.mark.parametrize("role", [StaffRole.SALES, StaffRole.SUPPORT])
def test_sales_and_support_are_refused(role):
    assert client_for(role).get(URL).status_code == 403


def test_portal_users_are_refused_and_anonymous_sent_to_sign_in():
    portal = Client()
    portal.force_login(MembershipFactory().user)
    assert portal.get(URL).status_code == 403
    anonymous = Client().get(URL)
    assert anonymous.status_code == 302 and "login" in anonymous["Location"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("window=5", "window"),
        ("window=91", "window"),
        ("window=abc", "window"),
        ("horizon=6", "horizon"),
        ("horizon=181", "horizon"),
        ("horizon=1e9", "horizon"),
        ("window=abc&format=csv", "window"),
    ],
)
def test_bad_input_is_answered_on_its_field(query, field):
    response = client_for(StaffRole.FINANCE).get(f"{URL}?{query}")
    assert response.status_code == 400
    page = response.content.decode()
    assert f'data-testid="error-{field}"' in page
    assert 'data-testid="forecast-cycle"' not in page


def test_the_page_shows_the_need_collections_curve_and_chart(channel, usage):  # noqa: F811 (fixtures)
    today = timezone.localdate()
    issued_invoice(CustomerFactory(name="Acme Agents"), "300.00", issue_date=today)
    buy(channel, "TOPUP", "1", kind="prepayment", bought=today - timedelta(days=40))
    for offset in range(1, 29):
        usage(today - timedelta(days=offset), 10)  # 0.03 a day: 0.84 drawn, 0.16 left

    response = client_for(StaffRole.FINANCE).get(f"{URL}?window=28&horizon=30")

    assert response.status_code == 200
    page = response.content.decode()
    result = response.context["result"]
    assert (result.window, result.horizon) == (28, 30)
    need = result.vendors[0].channels[0]
    # 0.03 a day for 30 days = 0.90 against 0.16 unused: a top-up of 0.74
    assert need.top_up.quantize(Decimal("0.0001")) == Decimal("0.7400")
    assert 'data-testid="forecast-vendors"' in page and "deepseek-main" in page
    assert 'data-testid="bucket-current"' in page
    assert 'id="forecast-chart-data"' in page and "js/forecast-charts.js" in page
    assert response.context["chart"]["labels"][0] == today.isoformat()
    assert len(response.context["chart"]["float"]) == 31
    assert "<script>" not in page  # no inline script (CSP): the data is JSON, the code a static file

    export = client_for(StaffRole.AUDITOR).get(f"{URL}?window=28&horizon=30&format=csv")
    rows = list(csv.DictReader(io.StringIO(export.content.decode())))
    assert export["Content-Type"].startswith("text/csv")
    assert [(r["vendor"], r["channel"], r["currency"]) for r in rows] == [
        (channel.contract.vendor.name, "deepseek-main", "CNY")
    ]
    assert Decimal(rows[0]["top_up"]).quantize(Decimal("0.0001")) == Decimal("0.7400")
    assert rows[0]["window_days"] == "28" and rows[0]["horizon_days"] == "30"


def test_a_missing_rate_is_named_and_the_curve_not_drawn():
    issued_invoice(CustomerFactory(name="Dollar Co"), "100.00", currency="USD")

    page = client_for(StaffRole.FINANCE).get(URL).content.decode()

    assert 'data-testid="missing-rates"' in page and "USD→CNY" in page
    assert 'data-testid="no-curve"' in page and 'id="forecast-chart"' not in page


def test_the_page_is_in_chinese(tmp_path, settings):
    # The catalogue as it stands in the source (the compiled one is rebuilt at release), compiled here.
    target = tmp_path / "zh_Hans" / "LC_MESSAGES"
    target.mkdir(parents=True)
    source = settings.BASE_DIR / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
    subprocess.run(["msgfmt", "-o", str(target / "django.mo"), str(source)], check=True)
    settings.LOCALE_PATHS = [tmp_path]
    client = client_for(StaffRole.FINANCE)

    page = client.get(URL, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    bad = client.get(f"{URL}?window=5", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()

    assert "现金转换周期" in page and "预计回款" in page and "需筹资金" in page
    assert "趋势窗口（天）" in bad
