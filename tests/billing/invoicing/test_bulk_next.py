"""The invoice list's bulk action goes back to the list it came from, never to another site."""

import pytest

from accounts.models import StaffRole
from tests.billing.factories import staff
from tests.billing.invoicing.factories import issued_invoice
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

BULK, LIST = "/dashboard/finance/invoices/bulk/", "/dashboard/finance/invoices/"
OFF_SITE = [
    "https://evil.example/dashboard/finance/invoices/",
    "//evil.example/path",
    "/\\evil.example",
    "\\\\evil.example",
    "http:/\\evil.example",
    "javascript:alert(1)",
    " //evil.example",
]


@pytest.fixture
def finance_client(client):
    client.force_login(staff(StaffRole.FINANCE))
    return client


@pytest.mark.parametrize("target", OFF_SITE)
def test_off_site_next_falls_back_to_the_invoice_list(finance_client, target):
    invoice = issued_invoice(CustomerFactory())
    sent = finance_client.post(BULK, {"action": "send", "ids": [invoice.pk], "next": target})
    refused = finance_client.post(BULK, {"action": "send", "next": target})  # no invoice chosen: form error
    for response in (sent, refused):
        assert response.status_code == 302 and response.url == LIST, (target, response.url)


def test_same_site_next_is_kept(finance_client):
    invoice = issued_invoice(CustomerFactory())
    back = f"{LIST}?status=issued&page=2"
    response = finance_client.post(BULK, {"action": "send", "ids": [invoice.pk], "next": back})
    assert response.status_code == 302 and response.url == back
    assert finance_client.post(BULK, {"action": "send"}).url == LIST  # no next at all
