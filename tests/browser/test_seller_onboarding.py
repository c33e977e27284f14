"""A resale sub-distributor runs its business in the portal: its owner onboards a credit customer with a
limit, records a prepaid customer's bank transfer and sees the balance in its book."""

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from accounts.models import Customer, MemberRole
from accounts.services import customer_user_create
from billing.customers.seller_services import seller_customer_onboard
from billing.ledger.models import AccountKind, LedgerAccount
from billing.terms.services import customer_onboard
from tests.browser.conftest import PASSWORD, screenshot, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def reseller():
    seller = customer_onboard(
        name="Shanghai Reseller",
        code="sh-reseller",
        kind=Customer.Kind.SUB_DISTRIBUTOR,
        parent=None,
        language="en",
        contact_email="ops@sh.example.com",
        mode="monthly",
        currency="CNY",
    )
    owner = customer_user_create(
        email="owner@sh.example.com", password=PASSWORD, customer=seller, role=MemberRole.OWNER
    )
    seller_customer_onboard(
        seller=seller,
        actor=owner,
        name="Prepaid Studio",
        code="prepaid-studio",
        kind=Customer.Kind.END_CUSTOMER,
        language="en",
        contact_email="studio@example.com",
        mode="prepaid",
        currency="CNY",
    )
    return seller


def test_the_reseller_onboards_a_credit_customer_and_records_a_transfer(page, reseller, settings):
    settings.BANK_TRANSFER_REQUIRES_APPROVAL = False  # one person records and credits, in this journey

    # given the reseller's owner signed in to the portal
    sign_in(page, "owner@sh.example.com")
    page.goto("/portal/seller/")
    expect(page.get_by_test_id("seller-customer-prepaid-studio")).to_be_visible()

    # when it onboards a customer on monthly credit with a limit
    page.get_by_test_id("onboard-customer").click()
    form = page.get_by_test_id("onboard-form")
    form.locator("input[name=name]").fill("Credit Labs")
    form.locator("input[name=code]").fill("credit-labs")
    form.locator("select[name=kind]").select_option("end_customer")
    form.locator("select[name=language]").select_option("zh-hans")
    form.locator("input[name=contact_email]").fill("ap@credit-labs.example.com")
    form.locator("select[name=mode]").select_option("monthly")
    form.locator("input[name=currency]").fill("CNY")
    form.locator("input[name=credit_limit]").fill("1000")
    form.locator("input[name=payment_days]").fill("15")
    screenshot(page, "seller-onboard-form")
    form.locator("button[type=submit]").click()

    # then its page shows the terms and limit, and the customer is in the reseller's book
    expect(page.get_by_test_id("billing-mode")).to_have_text("Monthly credit")
    expect(page.get_by_test_id("credit-limit")).to_contain_text("1,000.00 CNY")
    labs = Customer.objects.get(code="credit-labs")
    assert (labs.parent_id, labs.seller_id) == (reseller.pk, reseller.pk)
    assert labs.billing_terms.credit_limit == Decimal("1000")
    screenshot(page, "seller-customer-onboarded")

    # when it records the prepaid customer's bank transfer
    page.goto("/portal/seller/transfers/")
    page.get_by_test_id("record-transfer").click()
    form = page.get_by_test_id("transfer-form")
    form.locator("select[name=customer]").select_option(label="Prepaid Studio")
    form.locator("input[name=currency]").fill("CNY")
    form.locator("input[name=amount]").fill("300")
    form.locator("input[name=reference]").fill("CMB-20261201-77")
    form.locator("button[type=submit]").click()
    expect(page.get_by_test_id("seller-transfer-table")).to_contain_text("CMB-20261201-77")

    # then the customer list and the customer's page show the balance
    page.goto("/portal/seller/")
    expect(page.get_by_test_id("seller-customer-prepaid-studio").get_by_test_id("wallet")).to_have_text(
        "300.00 CNY"
    )
    expect(page.get_by_test_id("book-totals")).to_contain_text("300.00")
    page.get_by_test_id("seller-customer-prepaid-studio").get_by_role("link", name="Prepaid Studio").click()
    expect(page.get_by_test_id("balance-wallet")).to_have_text("300.00")
    screenshot(page, "seller-customer-balance")
    cash = LedgerAccount.objects.get(kind=AccountKind.CASH_BANK, currency="CNY", book=reseller)
    assert cash.balance == Decimal("300.00")
