"""Customers on credit and prepaid terms, a reseller with a customer, prepaid and postpaid channels, and a
helper writing opening files: what an opening import needs, made through the services."""

from datetime import date

import pytest
from django.utils import translation

from accounts.models import Customer
from catalog.models import CostBasis, Settlement
from catalog.services.contracts import channel_create, contract_create
from tests.billing.invoicing.factories import credit_terms
from tests.catalog.factories import VendorFactory
from tests.factories import BillingTermsFactory, CustomerFactory, SubDistributorFactory

HEADERS = {
    "receivables": "customer,document,issue_date,due_date,amount,currency,description",
    "deposits": "customer,document,date,amount,currency,description",
    "upstream": "channel,document,date,amount,currency,expires_on,description",
}


def opening_csv(kind: str, *rows: str, header: str | None = None) -> bytes:
    return "\n".join([header or HEADERS[kind], *rows]).encode()


@pytest.fixture(autouse=True)
def _english_and_media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    with translation.override("en"):
        yield


@pytest.fixture
def acme(db):
    """A monthly credit customer in CNY, net 30 days."""
    customer = CustomerFactory(name="Acme Agents", code="acme")
    credit_terms(customer, currency="CNY", payment_term="net", payment_days=30)
    return customer


@pytest.fixture
def beta(db):
    customer = CustomerFactory(name="Beta Labs", code="beta")
    credit_terms(customer, currency="CNY")
    return customer


@pytest.fixture
def prepaid(db):
    return BillingTermsFactory(customer=CustomerFactory(name="Pre Paid", code="pre"), currency="CNY").customer


@pytest.fixture
def reseller(db):
    """A resale sub-distributor on credit terms and its own credit customer, kept in its book."""
    shop = SubDistributorFactory(name="Shop R", code="shop-r", chain_mode=Customer.ChainMode.RESALE)
    credit_terms(shop, currency="CNY")
    child = CustomerFactory(name="Child C", code="child-c", parent=shop)
    credit_terms(child, currency="CNY")
    return shop, child


def _contract(vendor, name, currency, settlement):
    return contract_create(
        vendor=vendor,
        name=name,
        currency=currency,
        valid_from=date(2026, 1, 1),
        cost_basis=CostBasis.LIST_DISCOUNT,
        settlement=settlement,
    )


@pytest.fixture
def channels(db):
    """openai-main on a prepaid USD contract (alias oa), kimi-post on a postpaid CNY one."""
    openai = VendorFactory(name="OpenAI", slug="openai")
    moonshot = VendorFactory(name="Moonshot", slug="moonshot")
    return {
        "openai-main": channel_create(
            contract=_contract(openai, "OpenAI prepaid", "USD", Settlement.PREPAID),
            name="openai-main",
            aliases=["oa"],
        ),
        "kimi-post": channel_create(
            contract=_contract(moonshot, "Moonshot", "CNY", Settlement.POSTPAID), name="kimi-post"
        ),
    }
