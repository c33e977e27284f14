"""Onboarding asks the payment term, the credit limit and the plan: each refused on its field, all or
nothing, and the customer page afterwards shows what is left to do."""

from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import Customer, StaffRole
from billing.terms.models import BillingTerms, BillingTermsChange
from catalog.models import PlanAssignment
from catalog.services.plans import plan_create
from common.days import local_midnight
from tests.factories import StaffFactory

pytestmark = pytest.mark.django_db


def payload(**extra) -> dict:
    return {
        "name": "Credit Co",
        "code": "credit-co",
        "kind": Customer.Kind.END_CUSTOMER,
        "language": "en",
        "mode": "monthly",
        "currency": "CNY",
        **extra,
    }


@pytest.fixture
def sales(client):
    user = StaffFactory(staff_role=StaffRole.SALES)
    client.force_login(user)
    client.user = user
    return client


@pytest.fixture
def plan():
    return plan_create(name="Gold", currency="CNY")


def test_a_credit_customer_is_onboarded_with_terms_limit_and_plan(sales, plan):
    response = sales.post(
        reverse("staff-customer-create"),
        payload(payment_term="net", payment_days="30", credit_limit="50000", plan=plan.pk),
    )

    customer = Customer.objects.get(code="credit-co")
    assert response["Location"] == reverse("staff-customer-detail", args=[customer.pk])
    terms = BillingTerms.objects.get(customer=customer)
    assert (terms.payment_term, terms.payment_days, terms.credit_limit) == ("net", 30, Decimal("50000"))
    assignment = PlanAssignment.objects.get(customer=customer)
    assert assignment.plan == plan
    assert assignment.effective_from == local_midnight(timezone.localdate())
    assert assignment.created_by == sales.user
    # The terms change log says who set the limit at onboarding.
    change = BillingTermsChange.objects.get(terms=terms)
    assert change.actor == sales.user and set(change.changes) == {
        "payment_term",
        "payment_days",
        "credit_limit",
    }

    page = sales.get(response["Location"])
    steps = {step.name: step.done for step in page.context["checklist"]}
    assert steps == {"terms": True, "plan": True, "key": False, "user": False}
    body = page.content.decode()
    assert 'data-testid="checklist-key" data-done="false"' in body
    assert "?tab=keys" in body and "?tab=users" in body


def test_blank_terms_keep_the_defaults(sales):
    sales.post(reverse("staff-customer-create"), payload(mode="prepaid"))
    terms = BillingTerms.objects.get(customer__code="credit-co")
    assert (terms.payment_term, terms.payment_days, terms.credit_limit) == ("on_receipt", 0, Decimal("0"))
    assert not BillingTermsChange.objects.exists()
    assert not PlanAssignment.objects.exists()


@pytest.mark.parametrize(
    ("extra", "field", "message"),
    [
        ({"mode": "prepaid", "credit_limit": "100"}, "credit_limit", "needs a credit mode"),
        ({"credit_limit": "-5"}, "credit_limit", "greater than or equal to 0"),
        ({"credit_limit": "10.555"}, "credit_limit", "at most 2 decimal places"),
        ({"credit_limit": "lots"}, "credit_limit", "Enter a number"),
        ({"payment_term": "net"}, "payment_days", "number of days"),
        ({"payment_days": "30"}, "payment_term", "payment term these days count for"),
        ({"payment_term": "on_receipt", "payment_days": "10"}, "payment_days", "Due on receipt has no"),
        ({"payment_term": "net", "payment_days": "400"}, "payment_days", "less than or equal to 365"),
        ({"payment_term": "weekly", "payment_days": "3"}, "payment_term", "Select a valid choice"),
        ({"plan": "999999"}, "plan", "Select a valid choice"),
    ],
)
def test_bad_terms_are_refused_on_their_field_and_nothing_is_created(sales, extra, field, message):
    response = sales.post(reverse("staff-customer-create"), payload(**extra))
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert field in errors, errors
    assert message in " ".join(errors[field])
    assert not Customer.objects.filter(code="credit-co").exists()


def test_a_plan_refused_by_the_service_leaves_no_customer(sales):
    """An inactive plan is refused by ``plan_assign`` after the customer and its terms were written: the
    whole onboarding rolls back and the refusal shows on the plan field."""
    plan = plan_create(name="Old", currency="CNY")
    form_plan = plan.pk
    plan.is_active = False
    plan.save(update_fields=["is_active"])
    response = sales.post(reverse("staff-customer-create"), payload(plan=form_plan, credit_limit="10"))
    assert "plan" in response.context["form"].errors
    assert not Customer.objects.filter(code="credit-co").exists()
    assert not BillingTerms.objects.filter(customer__code="credit-co").exists()


def test_a_customer_of_a_reselling_sub_distributor_is_not_given_an_operator_plan(sales, plan):
    from billing.terms.services import customer_onboard

    reseller = customer_onboard(
        name="Reseller",
        code="reseller",
        kind=Customer.Kind.SUB_DISTRIBUTOR,
        parent=None,
        language="en",
        contact_email="",
        mode="monthly",
        currency="CNY",
    )
    response = sales.post(reverse("staff-customer-create"), payload(parent=reseller.pk, plan=plan.pk))
    errors = response.context["form"].errors
    assert "is not priced by the owner of Gold" in " ".join(errors["plan"])
    assert not Customer.objects.filter(code="credit-co").exists()


def test_the_form_lists_the_new_fields_in_chinese(sales):
    sales.cookies["django_language"] = "zh-hans"
    body = sales.get(reverse("staff-customer-create"), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    for name in ("payment_term", "payment_days", "credit_limit", "plan"):
        assert f'name="{name}"' in body
    assert "信用额度" in body and "付款条件" in body
    assert "Credit limit" not in body and "The default plan" not in body


def test_field_errors_read_in_chinese(sales):
    sales.cookies["django_language"] = "zh-hans"
    response = sales.post(
        reverse("staff-customer-create"), payload(mode="prepaid", credit_limit="100", payment_days="5")
    )
    errors = response.context["form"].errors
    assert "预付" in " ".join(errors["credit_limit"])
    assert "付款条件" in " ".join(errors["payment_term"])
    assert not Customer.objects.filter(code="credit-co").exists()


@pytest.mark.parametrize("role", [StaffRole.SUPPORT, StaffRole.FINANCE, StaffRole.AUDITOR])
def test_only_sales_and_admin_onboard(client, role):
    from tests.billing.factories import staff

    client.force_login(staff(role))
    assert client.post(reverse("staff-customer-create"), payload()).status_code == 403
    assert not Customer.objects.filter(code="credit-co").exists()
