"""Contracts and channels for the page and service tests, built through the services."""

from datetime import date
from decimal import Decimal

import pytest
from django.test import Client

from accounts.models import StaffRole
from catalog.models import BookKind
from catalog.services.contracts import channel_create, contract_create
from tests.billing.factories import staff
from tests.catalog.factories import AIModelFactory, PriceBookFactory, VendorFactory, add_prices, tier


@pytest.fixture
def vendor():
    return VendorFactory(name="DeepSeek", slug="deepseek")


@pytest.fixture
def cost_book(vendor):
    return PriceBookFactory(name="DeepSeek contract", kind=BookKind.COST, currency="CNY", vendor=vendor)


@pytest.fixture
def list_book(vendor):
    return PriceBookFactory(name="DeepSeek list", kind=BookKind.LIST, currency="CNY", vendor=vendor)


@pytest.fixture
def model(vendor, cost_book, list_book):
    model = AIModelFactory(vendor=vendor, name="deepseek-v3.2")
    add_prices(cost_book, model, tier(input="1.7", output="2.55", cache_read="0.17"))
    add_prices(list_book, model, tier(input="2", output="3", cache_read="0.2"))
    return model


@pytest.fixture
def contract(vendor, cost_book):
    return contract_create(
        vendor=vendor,
        name="DeepSeek prepaid",
        currency="CNY",
        valid_from=date(2026, 1, 1),
        cost_book=cost_book,
    )


@pytest.fixture
def discount_contract(vendor, list_book):
    return contract_create(
        vendor=vendor,
        name="DeepSeek volume",
        currency="CNY",
        valid_from=date(2026, 1, 1),
        cost_basis="list_discount",
        list_book=list_book,
        discount=Decimal("0.1"),
        tiers=[(Decimal(10000), Decimal("0.15"))],
    )


@pytest.fixture
def channel(contract):
    return channel_create(contract=contract, name="deepseek-main", aliases=["channel:3"])


def client_for(role: str) -> Client:
    client = Client()
    client.force_login(staff(role))
    return client


@pytest.fixture
def finance_client(db) -> Client:
    return client_for(StaffRole.FINANCE)


@pytest.fixture
def auditor_client(db) -> Client:
    return client_for(StaffRole.AUDITOR)
