"""POST /api/v1/quotes: answers, bad input (400/404 naming fields), who may quote what."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.test import Client

from accounts.models import Customer
from catalog.models import BookKind, PlanRule
from catalog.services.books import model_alias_add
from catalog.services.plans import plan_assign
from tests.catalog.conftest import post_quote
from tests.catalog.factories import (
    AIModelFactory,
    PriceBookFactory,
    SellPlanFactory,
    add_prices,
    add_rule,
    tier,
)
from tests.factories import CustomerFactory, MembershipFactory, SubDistributorFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalog(db):
    model = AIModelFactory(name="deepseek-v3.2")
    model_alias_add(model=model, alias="deepseek-chat")
    cost = PriceBookFactory(name="DeepSeek contract", kind=BookKind.COST, currency="CNY")
    add_prices(cost, model, tier(input="1.6", output="2.4", cache_read="0.16"))
    plan = SellPlanFactory(name="Standard", currency="CNY", is_default=True)
    add_rule(plan, PlanRule.Method.COST_MARKUP, markup=Decimal("0.25"))
    return {"model": model, "plan": plan}


def test_staff_quote_shows_lines_cost_and_margin(staff_client, catalog):
    response = post_quote(
        staff_client,
        plan="Standard",
        model="deepseek-chat",
        prompt_tokens=1_000_000,
        cache_read_tokens=500_000,
        completion_tokens=100_000,
    )
    assert response.status_code == 200
    body = response.json()
    assert body["model"] == "deepseek-v3.2"
    assert body["currency"] == "CNY"
    # sell = cost × 1.25: input 500k × 2.0 + cache 500k × 0.2 + output 100k × 3.0
    assert body["total"] == "1.4"
    assert body["cost"] == "1.12"
    assert body["margin"] == "0.28"
    assert body["margin_rate"] == "0.2"
    assert body["tier"] == {"lo": 0, "hi": None, "label": "(0, ∞)"}
    assert {line["token_class"]: line["amount"] for line in body["lines"]} == {
        "input": "1",
        "cache_read": "0.1",
        "cache_write_5m": "0",
        "cache_write_1h": "0",
        "output": "0.3",
        "reasoning": "0",
    }
    assert sum(Decimal(line["amount"]) for line in body["lines"]) == Decimal(body["total"])


def test_customer_quote_uses_the_customers_plan(staff_client, catalog):
    customer = CustomerFactory()
    vip = SellPlanFactory(name="VIP", currency="CNY")
    add_rule(vip, PlanRule.Method.COST_MARKUP, markup=Decimal("0.1"))
    plan_assign(customer=customer, plan=vip, effective_from=datetime(2025, 6, 1, tzinfo=UTC))
    body = post_quote(
        staff_client, customer=customer.pk, model="deepseek-v3.2", prompt_tokens=1_000_000
    ).json()
    assert (body["plan"], body["plan_source"], body["total"]) == ("VIP", "assigned", "1.76")
    # before the assignment the default plan applied
    body = post_quote(
        staff_client,
        customer=customer.pk,
        model="deepseek-v3.2",
        prompt_tokens=1_000_000,
        at="2025-03-01T00:00:00Z",
    ).json()
    assert (body["plan"], body["plan_source"], body["total"]) == ("Standard", "default", "2")


def test_unknown_model_is_404_with_the_closest_names(staff_client, catalog):
    response = post_quote(staff_client, plan="Standard", model="deepseek-chta", prompt_tokens=1)
    assert response.status_code == 404
    body = response.json()
    assert "deepseek-chat" in body["suggestions"]
    assert "Unknown model 'deepseek-chta'" in body["model"][0]


def test_unknown_plan_is_404_with_the_closest_names(staff_client, catalog):
    response = post_quote(staff_client, plan="Standrd", model="deepseek-chat")
    assert response.status_code == 404
    assert response.json()["suggestions"] == ["Standard"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"prompt_tokens": -1}, "prompt_tokens"),
        ({"completion_tokens": -3}, "completion_tokens"),
        ({"prompt_tokens": 10, "cache_read_tokens": 11}, "cache_read_tokens"),
        ({"prompt_tokens": 10, "cache_write_tokens": 11}, "cache_write_tokens"),
        ({"prompt_tokens": 10, "cache_read_tokens": 5, "cache_write_1h_tokens": 6}, "cache_write_1h_tokens"),
        ({"completion_tokens": 1, "reasoning_tokens": 2}, "reasoning_tokens"),
        ({"prompt_tokens": 1.5}, "prompt_tokens"),
        ({"prompt_tokens": "many"}, "prompt_tokens"),
        ({"at": "yesterday"}, "at"),
        ({"model": ""}, "model"),
        ({"customer": 1}, "plan"),
    ],
)
def test_bad_counts_are_400_naming_the_field(staff_client, catalog, body, field):
    response = post_quote(staff_client, **{"plan": "Standard", "model": "deepseek-chat", **body})
    assert response.status_code == 400
    assert field in response.json()


def test_malformed_json_is_400(staff_client, catalog):
    response = staff_client.post("/api/v1/quotes", "{not json", content_type="application/json")
    assert response.status_code == 400


def test_prompt_above_the_last_tier_is_400_on_prompt_tokens(staff_client, catalog):
    book = PriceBookFactory(name="Tiered", kind=BookKind.SELL, currency="CNY")
    add_prices(book, catalog["model"], tier(0, 1000))
    response = post_quote(staff_client, plan="Tiered", model="deepseek-chat", prompt_tokens=1001)
    assert response.status_code == 400
    assert "1000" in response.json()["prompt_tokens"][0]


def test_missing_fx_rate_is_409(staff_client, catalog):
    usd = SellPlanFactory(name="USD plan", currency="USD")
    add_rule(usd, PlanRule.Method.COST_MARKUP, markup=Decimal("0.1"))
    response = post_quote(staff_client, plan="USD plan", model="deepseek-chat", prompt_tokens=1)
    assert response.status_code == 409
    assert "CNY→USD" in response.json()["detail"]


def test_model_without_price_in_the_plan_is_404(staff_client, catalog):
    AIModelFactory(name="orphan-model")
    response = post_quote(staff_client, plan="Standard", model="orphan-model", prompt_tokens=1)
    assert response.status_code == 404
    assert "orphan-model" in response.json()["model"][0]


# -- who may quote ---------------------------------------------------------------------------


def customer_client(customer) -> Client:
    client = Client()
    client.force_login(MembershipFactory(customer=customer).user)
    return client


def test_anonymous_is_refused(catalog):
    response = post_quote(Client(), plan="Standard", model="deepseek-chat")
    assert response.status_code == 403


def test_customer_user_quotes_for_itself_without_cost_or_margin(catalog):
    customer = CustomerFactory()
    body = post_quote(customer_client(customer), model="deepseek-chat", prompt_tokens=1_000_000).json()
    assert body["total"] == "2"
    assert body["cost"] is None and body["margin"] is None and body["cost_book"] is None


def test_customer_user_cannot_quote_for_another_customer(catalog):
    mine, other = CustomerFactory(), CustomerFactory()
    response = post_quote(customer_client(mine), customer=other.pk, model="deepseek-chat")
    assert response.status_code == 404
    assert "customer" in response.json()


def test_sub_distributor_user_may_quote_for_its_subtree(catalog):
    # A direct sub-distributor's customers are priced by the operator's default plan.
    reseller = SubDistributorFactory(chain_mode=Customer.ChainMode.DIRECT)
    child = CustomerFactory(parent=reseller)
    response = post_quote(
        customer_client(reseller), customer=child.pk, model="deepseek-chat", prompt_tokens=10
    )
    assert response.status_code == 200


def test_customer_user_cannot_quote_by_plan_name(catalog):
    response = post_quote(customer_client(CustomerFactory()), plan="Standard", model="deepseek-chat")
    assert response.status_code == 403
    assert "plan" in response.json()


def test_openapi_schema_publishes_the_quote_endpoint(staff_client):
    response = staff_client.get("/api/v1/schema/?format=json")
    assert response.status_code == 200
    schema = response.json()
    assert "post" in schema["paths"]["/api/v1/quotes"]
    assert {"QuoteRequest", "QuoteResponse", "QuoteLine"} <= set(schema["components"]["schemas"])
    assert "customer" in schema["components"]["schemas"]["QuoteRequest"]["properties"]


def test_auditors_may_ask_for_a_quote_though_it_is_a_post(client):
    from accounts.models import StaffRole
    from tests.factories import StaffFactory

    client.force_login(StaffFactory(staff_role=StaffRole.AUDITOR))
    response = client.post("/api/v1/quotes", {"model": "no-such-model"}, content_type="application/json")
    # the request reached the view (which answers about the model), not the read-only refusal
    assert response.status_code in (400, 404)
    assert b"read-only" not in response.content
