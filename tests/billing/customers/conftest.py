"""A resale sub-distributor S (the seller) with an owner, a viewer, one prepaid and one credit customer
onboarded through the seller service, and a stranger elsewhere in the tree."""

from decimal import Decimal

import pytest

from accounts.models import Customer, MemberRole
from accounts.services import customer_user_create
from billing.customers.seller_services import seller_customer_onboard
from billing.terms.services import customer_onboard

PASSWORD = "pass-word-123"


def onboard(seller, owner, code, mode="prepaid", *, kind=Customer.Kind.END_CUSTOMER, limit=None):
    return seller_customer_onboard(
        seller=seller,
        actor=owner,
        name=code.title(),
        code=code,
        kind=kind,
        language="en",
        contact_email=f"{code}@example.com",
        mode=mode,
        currency="CNY",
        credit_limit=limit,
    )


def member(customer, email, role=MemberRole.OWNER):
    return customer_user_create(email=email, password=PASSWORD, customer=customer, role=role)


def reseller_onboard(code="reseller-s", name="Reseller S", mode="monthly", contact_email="s@example.com"):
    """A resale sub-distributor of the operator, onboarded as staff do."""
    return customer_onboard(
        name=name,
        code=code,
        kind=Customer.Kind.SUB_DISTRIBUTOR,
        parent=None,
        language="en",
        contact_email=contact_email,
        mode=mode,
        currency="CNY",
    )


@pytest.fixture
def seller():
    return reseller_onboard()


@pytest.fixture
def seller_owner(seller):
    return member(seller, "owner@s.example.com")


@pytest.fixture
def seller_viewer(seller):
    return member(seller, "viewer@s.example.com", MemberRole.VIEWER)


@pytest.fixture
def prepaid(seller, seller_owner):
    return onboard(seller, seller_owner, "prepaid-c")


@pytest.fixture
def credit(seller, seller_owner):
    return onboard(seller, seller_owner, "credit-c", "monthly", limit=Decimal("500.00"))


@pytest.fixture
def stranger():
    """A customer of the operator, outside S's subtree."""
    return customer_onboard(
        name="Stranger",
        code="stranger",
        kind=Customer.Kind.END_CUSTOMER,
        parent=None,
        language="en",
        contact_email="",
        mode="prepaid",
        currency="CNY",
    )


@pytest.fixture
def as_owner(client, seller_owner):
    client.force_login(seller_owner)
    return client
