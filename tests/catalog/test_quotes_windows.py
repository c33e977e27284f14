"""Quotes (API and calculator) at an instant: the window that priced the request is named, peak and window
prices are shown side by side, a plan that drops windows quotes standard at night, a flex request its tier."""

from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation

from accounts.models import StaffRole
from catalog.services.plans import plan_assign
from tests.catalog.conftest import post_quote
from tests.catalog.windowed import OFF_PEAK, PEAK, windowed_catalog
from tests.factories import CustomerFactory, MembershipFactory, StaffFactory

pytestmark = pytest.mark.django_db
MILLION = 1_000_000


@pytest.fixture
def windowed(db):
    return windowed_catalog()


def _quote(client, at, **body):
    defaults = {"model": "deepseek-chat", "prompt_tokens": MILLION, "completion_tokens": MILLION}
    return post_quote(client, at=at.isoformat(), **{**defaults, **body})


def test_off_peak_quote_is_the_discounted_window_price_and_names_the_window(staff_client, windowed):
    response = _quote(staff_client, OFF_PEAK, plan="Night owl")
    assert response.status_code == 200, response.json()
    body = response.json()
    # list night 1 + 4, less 10%; our cost at night 0.5 + 2.
    assert (body["total"], body["window"], body["cost"]) == ("4.5", "Off-peak", "2.5")
    assert {line["token_class"]: line["unit_price"] for line in body["lines"]}["input"] == "0.9"
    standard, off_peak = body["hours_prices"]
    assert standard["window"] == "" and standard["prices"]["input"] == "1.8"
    assert (off_peak["window"], off_peak["time_zone"]) == ("Off-peak", "Asia/Shanghai")
    assert off_peak["prices"]["input"] == "0.9" and off_peak["prices"]["output"] == "3.6"
    # The window's own cache-read price, discounted like the rest.
    assert off_peak["prices"]["cache_read"] == "0.225"
    assert "00:30–08:30" in off_peak["hours"]


def test_peak_quote_is_the_standard_price(staff_client, windowed):
    body = _quote(staff_client, PEAK, plan="Night owl").json()
    assert (body["total"], body["window"], body["cost"]) == ("9", "", "5")


def test_a_plan_that_drops_windows_quotes_standard_at_night(staff_client, windowed):
    body = _quote(staff_client, OFF_PEAK, plan="Flat").json()
    assert (body["total"], body["window"]) == ("9", "")
    assert [row["window"] for row in body["hours_prices"]] == [""]
    # Its cost keeps the window: the margin at night is what it is.
    assert body["cost"] == "2.5"


def test_a_flex_request_is_quoted_at_its_service_tier_and_at_night_at_the_window(staff_client, windowed):
    body = _quote(staff_client, PEAK, plan="Night owl", service_tier="Flex").json()
    # flex 1.2 + 4.8, less 10%.
    assert (body["total"], body["service_tier"], body["window"]) == ("5.4", "flex", "")
    # At night the window's prices replace the flex tier's, as LiteLLM applies them.
    body = _quote(staff_client, OFF_PEAK, plan="Night owl", service_tier="Flex").json()
    assert (body["total"], body["service_tier"], body["window"]) == ("4.5", "flex", "Off-peak")


def test_an_image_is_quoted_at_its_price_and_listed_with_the_units(staff_client, windowed):
    body = post_quote(
        staff_client, plan="Night owl", model="deepseek-chat", images=3, at=PEAK.isoformat()
    ).json()
    assert body["total"] == "0.108"  # 3 × 0.04 × 0.9
    assert body["unit_prices"]["image"] == "0.036" and body["unit_prices"]["audio_second"] is None


def test_a_customer_quote_names_its_own_plans_window(windowed):
    customer = CustomerFactory()
    plan_assign(customer=customer, plan=windowed["keeps"], effective_from=PEAK.replace(year=2025))
    client = Client()
    client.force_login(MembershipFactory(customer=customer).user)
    body = _quote(client, OFF_PEAK).json()
    assert (body["total"], body["window"], body["cost"]) == ("4.5", "Off-peak", None)
    # A customer may not quote by plan name, so cannot read another plan's windows.
    assert _quote(client, OFF_PEAK, plan="Flat").status_code == 403


def test_the_calculator_shows_peak_and_window_side_by_side(windowed):
    client = Client()
    client.force_login(StaffFactory(staff_role=StaffRole.SUPPORT))
    query = {
        "plan": "Night owl",
        "model": "deepseek-chat",
        "prompt_tokens": MILLION,
        "completion_tokens": MILLION,
        "at": "2026-03-04 02:00",
    }
    with translation.override("zh-hans"):
        page = client.get(reverse("catalog-calculator"), {**query}, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert page.status_code == 200
    assert page.context["result"].window == "Off-peak"
    assert page.context["result"].total == Decimal("4.5")
    text = page.text
    assert 'data-testid="quote-hours"' in text and "优惠时段" in text and "3.6" in text and "7.2" in text


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"service_tier": "x" * 21}, "service_tier"),
        ({"audio_seconds": "1.2345"}, "audio_seconds"),
        ({"images": -1}, "images"),
        ({"audio_seconds": "2"}, "audio_seconds"),  # the plan has no per-second audio price
        ({"audio_prompt_tokens": 5}, "audio_prompt_tokens"),  # more than prompt_tokens (0)
    ],
)
def test_bad_unit_input_is_400_naming_the_field(staff_client, windowed, body, field):
    response = post_quote(staff_client, plan="Night owl", model="deepseek-chat", at=PEAK.isoformat(), **body)
    assert response.status_code == 400 and field in response.json()


def test_a_unit_refusal_names_the_plan_never_the_book_it_derives_from(client, windowed):
    """A customer is told its own plan has no such price, under the field it sent; the list book the plan
    derives from is the operator's business."""
    customer = CustomerFactory(name="Owl Co")
    plan_assign(customer=customer, plan=windowed["keeps"], effective_from=PEAK.replace(year=2025))
    client.force_login(MembershipFactory(customer=customer).user)
    response = post_quote(client, model="deepseek-chat", at=PEAK.isoformat(), audio_seconds="5")
    assert response.status_code == 400
    plan = windowed["keeps"].name
    assert response.json() == {"audio_seconds": [f"{plan} has no per-second audio price for deepseek-chat."]}
    assert windowed["list"].name not in response.text
