"""Onboarding asks from when the terms apply: blank (from the first usage) or a day not in the future."""

from datetime import timedelta

import pytest
from allauth.mfa.totp.internal.auth import TOTP
from django.urls import reverse
from django.utils import timezone

from accounts.models import Customer, StaffRole
from billing.terms.models import TermsSpan
from common.days import local_midnight
from tests.factories import StaffFactory

pytestmark = pytest.mark.django_db


def payload(**extra) -> dict:
    return {
        "name": "New Co",
        "code": "new-co",
        "kind": Customer.Kind.END_CUSTOMER,
        "language": "en",
        "mode": "monthly",
        "currency": "CNY",
        **extra,
    }


@pytest.fixture
def sales(client):
    client.force_login(StaffFactory(staff_role=StaffRole.SALES))
    return client


def test_the_form_offers_the_field_blank_by_default(sales):
    response = sales.get(reverse("staff-customer-create"))
    assert response.status_code == 200
    field = response.context["form"]["terms_from"]
    assert field.value() is None
    assert 'name="terms_from"' in response.content.decode()


def test_terms_apply_from_the_day_given(sales):
    day = timezone.localdate() - timedelta(days=40)
    response = sales.post(reverse("staff-customer-create"), payload(terms_from=day.isoformat()))

    customer = Customer.objects.get(code="new-co")
    assert response["Location"] == reverse("staff-customer-detail", args=[customer.pk])
    span = TermsSpan.objects.get(customer=customer)
    assert (span.mode, span.starts_at, span.ends_at) == ("monthly", local_midnight(day), None)


def test_blank_means_from_the_first_usage(sales):
    sales.post(reverse("staff-customer-create"), payload())

    span = TermsSpan.objects.get(customer__code="new-co")
    assert span.starts_at is None


def test_a_day_in_the_future_is_refused_by_name_and_creates_nothing(sales):
    tomorrow = timezone.localdate() + timedelta(days=1)
    response = sales.post(reverse("staff-customer-create"), payload(terms_from=tomorrow.isoformat()))

    assert response.status_code == 200
    assert list(response.context["form"].errors) == ["terms_from"]
    assert "has not come yet" in response.context["form"].errors["terms_from"][0]
    assert not Customer.objects.filter(code="new-co").exists()


def test_a_date_that_is_not_one_is_refused_by_name(sales):
    response = sales.post(reverse("staff-customer-create"), payload(terms_from="31/02/2026"))

    assert response.status_code == 200
    assert list(response.context["form"].errors) == ["terms_from"]
    assert not Customer.objects.filter(code="new-co").exists()


def test_support_cannot_onboard(client):
    support = StaffFactory(staff_role=StaffRole.SUPPORT)
    TOTP.activate(support, "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP")  # signed in fully: the role is what refuses
    client.force_login(support)
    response = client.post(reverse("staff-customer-create"), payload(terms_from="2026-11-01"))
    assert response.status_code == 403
    assert not Customer.objects.filter(code="new-co").exists()
