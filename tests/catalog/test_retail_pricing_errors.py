"""When a retail plan cannot price a model because its seller's buy plan cannot, the reseller's customer
is told only that its plan cannot price the model: never the wholesale plan's name, the operator's cost
book or the seller's lack of a plan (quote API, portal calculator). Operator staff keep the whole cause
(their quotes, the unrated reason usage rating stores)."""

import json

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import StaffRole
from billing.usage.pricing import BatchPricer, Unpriced
from catalog.models import BookKind, PlanAssignment
from tests.catalog.conftest import post_quote
from tests.catalog.factories import AIModelFactory, PriceBookFactory, add_prices, tier
from tests.catalog.retail import chain_build
from tests.catalog.test_retail_price_surfaces import member_client
from tests.factories import StaffFactory

pytestmark = pytest.mark.django_db

# The seller's and the operator's business: the buy plan, the cost book, the seller's name, the cause.
LEAKS = ("Wholesale", "Zhipu contract", "cost book", "Shop S")


@pytest.fixture
def chain():
    """tests.catalog.retail's chain, plus kimi-x: a list price but no contract cost, so the wholesale
    plan (cost × 1.25) cannot price it, nor S's retail plan built on it."""
    chain = chain_build()
    kimi = AIModelFactory(name="kimi-x")
    add_prices(
        PriceBookFactory(name="Moonshot list", kind=BookKind.LIST, currency="CNY"), kimi, tier(input="4")
    )
    return chain


def assert_no_leak(text: str) -> None:
    for mark in LEAKS:
        assert mark not in text, mark


def test_the_quote_api_tells_the_resellers_customer_only_that_its_plan_cannot_price_the_model(chain):
    response = post_quote(member_client(chain.customer), model="kimi-x", prompt_tokens=1_000_000)

    assert response.status_code == 404
    body = response.json()
    assert body["detail"].startswith("Plan 'S Retail' cannot price kimi-x at ")
    assert_no_leak(json.dumps(body))


def test_the_portal_calculator_tells_the_customer_the_same(chain):
    page = member_client(chain.customer).get(
        reverse("portal-calculator"),
        {"customer": chain.customer.pk, "model": "kimi-x", "prompt_tokens": 1000},
    )

    assert page.status_code == 200
    error = page.context["error"]
    assert error.startswith("Plan 'S Retail' cannot price kimi-x at ")
    assert_no_leak(error)
    # the page itself carries the seller's name as its brand, but no buy plan or cost book
    assert "Wholesale" not in page.content.decode() and "Zhipu contract" not in page.content.decode()


def test_a_seller_without_a_buy_plan_is_not_named_to_its_customer(chain):
    PlanAssignment.objects.filter(customer=chain.seller).delete()

    response = post_quote(member_client(chain.customer), model="glm-5", prompt_tokens=1_000_000)

    assert response.status_code == 404
    assert response.json()["detail"].startswith("Plan 'S Retail' cannot price glm-5 at ")
    assert_no_leak(json.dumps(response.json()))


def test_operator_staff_read_the_whole_cause(chain, client):
    client.force_login(StaffFactory(staff_role=StaffRole.SALES))

    response = post_quote(client, customer=chain.customer.pk, model="kimi-x", prompt_tokens=1_000_000)

    assert response.status_code == 404
    assert "Plan 'Wholesale' prices kimi-x from any active cost book" in response.json()["detail"]


def test_the_unrated_reason_keeps_the_whole_cause_for_staff(chain):
    now = timezone.now()
    customer = chain.customer
    kimi = AIModelFactory._meta.model.objects.get(name="kimi-x")
    pricer = BatchPricer(customers={customer.pk: customer}, models={kimi.pk: kimi}, start=now, end=now)

    with pytest.raises(Unpriced) as refused:
        pricer.prices(customer.pk, kimi.pk, now)

    assert refused.value.code == "no_price"
    assert "Plan 'Wholesale' prices kimi-x from any active cost book" in refused.value.reason
