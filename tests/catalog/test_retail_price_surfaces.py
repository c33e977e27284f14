"""An end customer of a sub-distributor sees its own retail price, never the wholesale plan or price: the
portal price list, its CSV, the calculator and the quote API. The sub-distributor sees its buy price."""

import json

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import MemberRole
from tests.catalog.conftest import post_quote
from tests.catalog.retail import chain_build
from tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db

# What would betray the seller's buy price or the operator's pricing: the wholesale plan's name and
# input price (12.5), our cost book.
WHOLESALE_MARKS = ("Wholesale", "wholesale", "12.5", "Zhipu contract")


def member_client(customer) -> Client:
    client = Client()
    client.force_login(MembershipFactory(customer=customer, role=MemberRole.OWNER).user)
    return client


def assert_no_wholesale(text: str) -> None:
    for mark in WHOLESALE_MARKS:
        assert mark not in text, mark


@pytest.fixture
def chain():
    return chain_build()


def test_price_page_shows_the_sellers_retail_plan(chain):
    page = member_client(chain.customer).get(reverse("portal-prices")).content.decode()
    assert "Plan S Retail." in page
    assert '<td class="money">15</td>' in page and '<td class="money">30</td>' in page
    assert_no_wholesale(page)


def test_price_csv_has_the_retail_prices_only(chain):
    csv = member_client(chain.customer).get(reverse("portal-prices"), {"format": "csv"}).content.decode()
    _header, row = csv.splitlines()[:2]
    assert row.split(",")[:5] == [chain.model.vendor.name, "glm-5", "0", "", "15"]
    assert ",30," in row
    assert_no_wholesale(csv)


def test_quote_api_prices_at_retail_and_names_only_the_retail_plan(chain):
    response = post_quote(member_client(chain.customer), model="glm-5", prompt_tokens=1_000_000)
    body = response.json()
    assert response.status_code == 200
    assert (body["plan"], body["total"], body["book"], body["basis"]) == ("S Retail", "15", "S Retail", "")
    assert body["cost"] is None and body["margin"] is None and body["warnings"] == []
    # The quote's instant is no price: a time like 08:30:12.54 would read as the wholesale 12.5.
    body.pop("at")
    assert_no_wholesale(json.dumps(body))


def test_calculator_quotes_at_retail(chain):
    client = member_client(chain.customer)
    page = client.get(
        reverse("portal-calculator"),
        {"customer": chain.customer.pk, "model": "glm-5", "prompt_tokens": 1_000_000, "completion_tokens": 0},
    ).content.decode()
    assert 'data-testid="quote-total">15 CNY' in page
    assert "glm-5 under S Retail" in page
    assert_no_wholesale(page)


def test_the_seller_sees_its_buy_price_in_its_own_list_and_its_customers_retail(chain):
    client = member_client(chain.seller)
    own = client.get(reverse("portal-prices")).content.decode()
    assert "Plan Wholesale." in own and '<td class="money">12.5</td>' in own
    theirs = client.get(reverse("portal-prices"), {"customer": chain.customer.pk}).content.decode()
    assert "Plan S Retail." in theirs and '<td class="money">15</td>' in theirs
    body = post_quote(client, customer=chain.customer.pk, model="glm-5", prompt_tokens=1_000_000).json()
    assert (body["plan"], body["total"]) == ("S Retail", "15")


def test_staff_quote_for_the_end_customer_shows_the_sellers_margin(chain, staff_client):
    body = post_quote(staff_client, customer=chain.customer.pk, model="glm-5", prompt_tokens=1_000_000).json()
    # for staff: cost is what the seller pays (12.5), the margin is the seller's
    assert (body["total"], body["cost"], body["margin"], body["basis"]) == (
        "15",
        "12.5",
        "2.5",
        "wholesale × (1 + 0.2)",
    )


def test_staff_quote_by_name_finds_only_the_operators_plans(chain, staff_client):
    # A seller's plan may share a name with ours or another seller's: by name, only ours are found.
    response = post_quote(staff_client, plan="S Retail", model="glm-5", prompt_tokens=1_000_000)
    assert response.status_code == 404 and response.json()["detail"] == "Unknown plan 'S Retail'."
    body = post_quote(staff_client, plan="Wholesale", model="glm-5", prompt_tokens=1_000_000).json()
    assert (body["plan"], body["total"]) == ("Wholesale", "12.5")
