"""A reseller's customer on the staff customer page: its plan tab offers only plans that may price it (its
seller's), says the seller assigns them, and the onboarding checklist's plan step is the seller's and is
done once a seller's plan prices it. An operator's customer is unchanged."""

import re

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import Customer, StaffRole
from billing.customers.onboarding import onboarding_checklist
from billing.terms.services import customer_onboard
from catalog.models import PlanAssignment
from catalog.services.plans import plan_create
from tests.billing.factories import staff
from tests.factories import StaffFactory

pytestmark = pytest.mark.django_db


def onboard(code, parent=None, kind=Customer.Kind.END_CUSTOMER, language="en"):
    return customer_onboard(
        name=code.title(), code=code, kind=kind, parent=parent, language=language,
        contact_email=f"{code}@example.com", mode="prepaid", currency="CNY",
    )  # fmt: skip


@pytest.fixture
def reseller():
    return onboard("huadong", kind=Customer.Kind.SUB_DISTRIBUTOR)


@pytest.fixture
def retail_customer(reseller):
    customer = onboard("hangzhou", parent=reseller)
    assert customer.price_owner_id == reseller.pk  # priced by its seller, not the operator
    return customer


def plan_page(client, customer, role=StaffRole.SALES, language="en"):
    client.force_login(staff(role) if role == StaffRole.ADMIN else StaffFactory(staff_role=role))
    client.cookies["django_language"] = language
    response = client.get(
        reverse("staff-customer-detail", args=[customer.pk]) + "?tab=plan", HTTP_ACCEPT_LANGUAGE=language
    )
    assert response.status_code == 200
    return response


def offered(response) -> set[str]:
    return {str(plan) for plan in response.context["assign_form"].fields["plan"].queryset}


def step(customer, name="plan"):
    return next(s for s in onboarding_checklist(customer) if s.name == name)


def test_a_resellers_customer_is_offered_only_its_sellers_plans_and_each_is_accepted(
    client, reseller, retail_customer
):
    plan_create(name="Standard CNY", currency="CNY", is_default=True)  # the operator's: refused for it
    own = plan_create(name="Huadong Retail", currency="CNY", owner=reseller)
    response = plan_page(client, retail_customer)
    assert offered(response) == {"Huadong Retail"}
    body = response.content.decode()
    assert 'data-testid="plan-by-seller"' in body and "Huadong sets this customer's prices" in body
    assert "Standard CNY" not in re.search(r'<select name="plan".*?</select>', body, re.S).group(0)

    response = client.post(
        reverse("staff-customer-plan-assign", args=[retail_customer.pk]),
        {"plan": own.pk, "effective": timezone.localdate().isoformat()},
    )
    assert response.status_code == 302
    assert PlanAssignment.objects.get(customer=retail_customer).plan == own
    assert step(retail_customer).done


def test_posting_the_operators_plan_for_a_resellers_customer_is_refused_by_the_form(client, retail_customer):
    operator_plan = plan_create(name="Standard CNY", currency="CNY")
    plan_page(client, retail_customer)
    response = client.post(
        reverse("staff-customer-plan-assign", args=[retail_customer.pk]),
        {"plan": operator_plan.pk, "effective": timezone.localdate().isoformat()},
    )
    assert response.status_code == 400
    assert "plan" in response.context["assign_form"].errors
    assert not PlanAssignment.objects.exists()


def test_a_seller_without_plans_is_said_not_offered_as_an_empty_list(client, retail_customer):
    plan_create(name="Standard CNY", currency="CNY", is_default=True)
    body = plan_page(client, retail_customer).content.decode()
    assert (
        'data-testid="plan-no-seller-plans"' in body and "Huadong has no active plan to assign yet." in body
    )
    assert 'data-testid="plan-assign-form"' not in body


def test_the_checklist_step_is_the_sellers_and_done_by_its_default_plan(client, reseller, retail_customer):
    plan_create(name="Standard CNY", currency="CNY", is_default=True)  # the operator's default: not its price
    plan = step(retail_customer)
    assert (str(plan.label), plan.done, plan.tab) == ("Plan set by its seller", False, "plan")
    plan_create(name="Huadong List", currency="CNY", owner=reseller, is_default=True)
    assert step(retail_customer).done
    body = plan_page(client, retail_customer).content.decode()
    assert 'data-testid="checklist-plan" data-done="true"' in body
    assert "Huadong List" in body and "the default plan" in body


def test_the_plan_tab_of_a_resellers_customer_in_chinese(client, reseller, retail_customer):
    plan_create(name="Huadong Retail", currency="CNY", owner=reseller)
    body = plan_page(client, retail_customer, language="zh-hans").content.decode()
    assert "Huadong 为该客户定价" in body and "由其卖方设定方案" in body
    assert "sets this customer" not in body


def test_an_operator_customer_is_unchanged(client, reseller):
    customer = onboard("acme")
    plan_create(name="Standard CNY", currency="CNY", is_default=True)
    plan_create(name="Huadong Retail", currency="CNY", owner=reseller)
    response = plan_page(client, customer)
    assert offered(response) == {"Standard CNY"}
    body = response.content.decode()
    assert 'data-testid="plan-by-seller"' not in body and 'data-testid="plan-assign-form"' in body
    plan = step(customer)
    assert (str(plan.label), plan.done) == ("Plan assigned", False)  # the operator's default is not a choice


def test_support_sees_the_sellers_note_without_a_form(client, reseller, retail_customer):
    plan_create(name="Huadong Retail", currency="CNY", owner=reseller)
    body = plan_page(client, retail_customer, role=StaffRole.SUPPORT).content.decode()
    assert 'data-testid="plan-by-seller"' in body and 'data-testid="plan-read-only"' in body
    assert 'data-testid="plan-assign-form"' not in body
