"""Price lists (page, CSV, PDF; staff and portal) show each model's time-of-day windows with their hours
in the reader's language, its service tiers and audio/image prices — columns only when a model has them."""

import csv
import io
import subprocess

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation

from accounts.models import StaffRole
from catalog.selectors.pricelist import price_list, price_list_csv
from catalog.services.plans import plan_assign
from tests.catalog.factories import (
    AIModelFactory,
    PriceBookFactory,
    SellPlanFactory,
    add_prices,
    add_rule,
    tier,
)
from tests.catalog.windowed import OFF_PEAK, PEAK, windowed_catalog
from tests.factories import CustomerFactory, MembershipFactory, StaffFactory

pytestmark = pytest.mark.django_db
EN_HOURS = "Mon–Fri 00:30–08:30; Sat, Sun 00:30–08:30"
ZH_HOURS = "星期一–星期五 00:30–08:30; 星期六, 星期日 00:30–08:30"


@pytest.fixture
def windowed(db):
    return windowed_catalog()


def pdf_text(data: bytes) -> str:
    return subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=data, capture_output=True, check=True
    ).stdout.decode()


def _staff() -> Client:
    client = Client()
    client.force_login(StaffFactory(staff_role=StaffRole.SUPPORT))
    return client


def _csv(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text)))


def test_the_price_list_rows_carry_the_window_service_tier_and_units(windowed):
    rows = [r for r in price_list(windowed["keeps"], PEAK) if r.model == windowed["model"]]
    kinds = [(r.kind, r.label) for r in rows]
    assert kinds == [("", ""), ("service_tier", "flex"), ("window", "Off-peak")]
    standard, flex, night = rows
    assert [str(p.normalize()) for p in standard.prices[:2]] == ["1.8", "0.45"]
    assert str(standard.units[2].normalize()) == "0.036"
    assert str(flex.prices[0].normalize()) == "1.08"
    assert (night.zone, str(night.prices[0].normalize()), str(night.prices[4].normalize())) == (
        "Asia/Shanghai",
        "0.9",
        "3.6",
    )
    assert night.hours == EN_HOURS
    with translation.override("zh-hans"):
        zh = next(r for r in price_list(windowed["keeps"], PEAK) if r.kind == "window")
    assert zh.hours == ZH_HOURS
    # A plan that drops the windows lists none.
    assert all(r.kind != "window" for r in price_list(windowed["drops"], OFF_PEAK))


def test_the_csv_adds_window_tier_and_unit_columns_only_when_some_model_has_them(windowed):
    body = price_list_csv(price_list(windowed["keeps"], PEAK), "CNY")
    rows = _csv(body)
    night = next(r for r in rows if r["window"])
    assert (night["window"], night["window_hours"], night["window_time_zone"]) == (
        "Off-peak",
        EN_HOURS,
        "Asia/Shanghai",
    )
    assert (night["input"], night["output"]) == ("0.9", "3.6")
    assert next(r for r in rows if r["service_tier"] == "flex")["input"] == "1.08"
    assert next(r for r in rows if not r["window"] and not r["service_tier"])["image"] == "0.036"
    # A plan over a book with none of them keeps the old columns.
    plain_model = AIModelFactory(name="glm-5")
    book = PriceBookFactory(name="Plain list", currency="CNY")
    add_prices(book, plain_model, tier(input="1", output="2"))
    plain = SellPlanFactory(name="Plain", currency="CNY")
    add_rule(plain, "list_discount", discount=0, source_book=book)
    header = price_list_csv(price_list(plain, PEAK), "CNY").splitlines()[0]
    assert "window" not in header and "service_tier" not in header and "image" not in header


def test_the_staff_plan_page_and_csv_show_the_window_in_chinese(windowed):
    client = _staff()
    url = reverse("catalog-plan-detail", args=[windowed["keeps"].pk])
    with translation.override("zh-hans"):
        page = client.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans")
        exported = client.get(url + "?format=csv", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert page.status_code == 200
    # The catalog's default label is shown in the reader's language, as on invoices.
    assert "优惠时段" in page.text and ZH_HOURS in page.text and "Asia/Shanghai" in page.text
    assert 'data-service_tier="flex"' in page.text and "0.036" in page.text
    assert ZH_HOURS in exported.content.decode() and "优惠时段" in exported.content.decode()
    # The rule keeps the windows, and says so.
    assert 'data-keep-windows="1"' in page.text
    assert (
        'data-keep-windows="0"'
        in client.get(reverse("catalog-plan-detail", args=[windowed["drops"].pk])).text
    )


@pytest.mark.urls("tests.catalog.pricelist_urls")
@pytest.mark.parametrize(("language", "hours"), [("en", EN_HOURS), ("zh-hans", ZH_HOURS)])
def test_the_staff_pdf_lists_the_window(windowed, language, hours):
    response = _staff().get(
        reverse("catalog-plan-prices-pdf", args=[windowed["keeps"].pk]), {"lang": language}
    )
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    text = pdf_text(response.content)
    # The cell may wrap the hours between rules: each rule is read whole.
    label = "优惠时段" if language == "zh-hans" else "Off-peak"
    assert label in text and hours.split("; ")[0] in text and "Asia/Shanghai" in text
    assert "flex" in text and "0.036" in text and "3.6" in text


@pytest.mark.urls("tests.catalog.pricelist_urls")
def test_the_portal_lists_the_customers_own_plans_windows(windowed):
    customer = CustomerFactory()
    plan_assign(customer=customer, plan=windowed["keeps"], effective_from=PEAK.replace(year=2025))
    client = Client()
    client.force_login(MembershipFactory(customer=customer).user)
    page = client.get(reverse("portal-prices"))
    assert "Off-peak" in page.text and EN_HOURS in page.text
    rows = _csv(client.get(reverse("portal-prices") + "?format=csv").content.decode())
    assert any(r["window"] == "Off-peak" and r["input"] == "0.9" for r in rows) and "basis" not in rows[0]
    with translation.override("zh-hans"):
        pdf = client.get(reverse("portal-prices-pdf"), {"lang": "zh-hans"})
    text = pdf_text(pdf.content)
    assert ZH_HOURS.split("; ")[0] in text and "优惠时段" in text and "Off-peak" not in text
    # How the prices derive (list × (1 − 0.1) of DeepSeek list) never reaches the customer.
    assert "DeepSeek list" not in text
    # Another customer's prices are not the caller's to read.
    other = CustomerFactory()
    assert client.get(reverse("portal-prices-pdf"), {"customer": other.pk}).status_code == 404


@pytest.mark.urls("tests.catalog.pricelist_urls")
def test_a_customer_cannot_read_a_staff_plan_pdf(windowed):
    client = Client()
    client.force_login(MembershipFactory(customer=CustomerFactory()).user)
    assert client.get(reverse("catalog-plan-prices-pdf", args=[windowed["keeps"].pk])).status_code == 403
    assert Client().get(reverse("portal-prices-pdf")).status_code == 302
