""" "No credit limit" is said the same way wherever a customer without one shows: the seller's customer
page, the customer risk report and the dashboard's exposures (never "0.00 CNY", "none" or a dash)."""

import re

import pytest
from django.urls import reverse

from accounts.models import StaffRole
from tests.billing.customers.conftest import onboard
from tests.billing.factories import staff
from tests.billing.invoicing.factories import issued_invoice

pytestmark = pytest.mark.django_db


def shown_limit(body: str) -> str:
    match = re.search(r'data-testid="credit-limit">(.*?)</dd>', body, re.S)
    return re.sub(r"<[^>]+>", "", match[1]).strip()


def test_the_sellers_customer_page(as_owner, seller, seller_owner, credit):
    unlimited = onboard(seller, seller_owner, "credit-open", "monthly")
    body = as_owner.get(reverse("portal-seller-customer", args=[unlimited.pk])).content.decode()
    assert shown_limit(body) == "No credit limit"  # and no "(Warn only)": there is nothing to cross
    body = as_owner.get(reverse("portal-seller-customer", args=[credit.pk])).content.decode()
    assert shown_limit(body).startswith("500.00 CNY")


def test_the_risk_report_and_the_dashboard(client, stranger):
    issued_invoice(stranger, "80.00")  # monthly credit terms, no limit, some exposure
    client.force_login(staff(StaffRole.FINANCE))
    risk = client.get(reverse("exposure-risk")).content.decode()
    row = re.search(r'data-customer="stranger".*?</tr>', risk, re.S)[0]
    assert "No credit limit" in row and ">none<" not in row
    dashboard = client.get(reverse("dashboard")).content.decode()
    row = re.search(r'data-testid="exposure-row">.*?Stranger.*?</tr>', dashboard, re.S)[0]
    assert "No credit limit" in row
