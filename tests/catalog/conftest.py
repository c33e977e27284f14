import pytest
from django.test import Client

from accounts.models import StaffRole
from tests.factories import StaffFactory


@pytest.fixture
def sales_user(db):
    return StaffFactory(staff_role=StaffRole.SALES)


@pytest.fixture
def staff_client(sales_user) -> Client:
    client = Client()
    client.force_login(sales_user)
    return client


@pytest.fixture
def auditor_client(db) -> Client:
    client = Client()
    client.force_login(StaffFactory(staff_role=StaffRole.AUDITOR))
    return client


def post_quote(client: Client, **body):
    return client.post("/api/v1/quotes", body, content_type="application/json")
