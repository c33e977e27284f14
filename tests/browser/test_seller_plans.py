"""A sub-distributor's owner sets a retail plan in the portal and gives it to a customer."""

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from accounts.models import MemberRole
from catalog.models import PlanRule, SellPlan
from catalog.selectors.pricing import plan_for_customer
from tests.browser.conftest import PASSWORD, screenshot, sign_in
from tests.catalog.retail import chain_build
from tests.factories import CustomerFactory, MembershipFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_seller_creates_a_cost_plus_plan_assigns_it_and_sees_the_preview(page, live_server):
    # given sub-distributor S buying glm-5 at 12.5 / 25 CNY (wholesale) and a customer with no plan yet
    chain = chain_build()
    newcomer = CustomerFactory(name="Newcomer Ltd", parent=chain.seller)
    MembershipFactory(
        user=UserFactory(email="owner@shop-s.example.com", password=PASSWORD),
        customer=chain.seller,
        role=MemberRole.OWNER,
    )

    # when S's owner creates a plan at wholesale + 20%
    sign_in(page, "owner@shop-s.example.com")
    page.get_by_test_id("nav-seller").click()
    page.get_by_test_id("tab-retail-plans").click()
    expect(page.get_by_test_id("plan-table")).to_contain_text("S Retail")
    page.get_by_test_id("plan-create").click()
    page.get_by_label("Name").fill("Browser Retail")
    page.get_by_label("Pricing").select_option(PlanRule.Method.WHOLESALE_MARKUP)
    page.get_by_label("Markup %").fill("20")
    page.get_by_test_id("plan-save").click()

    # then the plan's page previews 15 / 30 beside the wholesale 12.5 / 25
    row = page.locator("[data-testid=plan-preview] tr[data-model='glm-5']")
    expect(row.get_by_test_id("preview-input")).to_have_text("15")
    expect(row.get_by_test_id("preview-output")).to_have_text("30")
    expect(row).to_contain_text("12.5")
    expect(row).to_contain_text("16.6667%")

    # when it assigns the plan to its customer
    form = page.get_by_test_id("assign-form")
    form.get_by_label("Customer").select_option(label="Newcomer Ltd")
    form.get_by_test_id("assign-save").click()

    # then the customer is listed on the plan and priced by it from now on
    expect(page.get_by_test_id("assignment-table")).to_contain_text("Newcomer Ltd")
    screenshot(page, "portal-seller-plan")
    plan = SellPlan.objects.get(owner=chain.seller, name="Browser Retail")
    assert plan_for_customer(newcomer, timezone.now())[0] == plan
