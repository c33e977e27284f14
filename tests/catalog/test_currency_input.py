"""Currencies are chosen, not typed: a code that is no currency (ZZZ) creates neither a retail plan nor a
batch of redemption codes, through the portal forms or the services (the codes page:
tests/billing/customers/test_seller_code_currency.py)."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from accounts.models import StaffRole
from billing.payments.forms import RedemptionBatchForm
from billing.payments.models import RedemptionBatch
from billing.payments.redemption import redemption_batch_create
from catalog.models import SellPlan
from catalog.retail_forms import RetailPlanCreateForm
from catalog.selectors.currencies import known_currencies
from catalog.services.plans import plan_create
from tests.billing.factories import staff
from tests.catalog.retail import chain_build
from tests.catalog.test_seller_plan_pages import create_form, member_client

pytestmark = pytest.mark.django_db


def test_a_retail_plan_in_a_currency_that_does_not_exist_is_refused_on_its_field():
    chain = chain_build()
    client = member_client(chain.seller)

    response = client.post(reverse("portal-plan-create"), create_form(currency="ZZZ"))

    assert response.status_code == 200
    assert response.context["form"].errors["currency"] == [
        "ZZZ is not a currency this service uses; choose one."
    ]
    assert not SellPlan.objects.filter(owner=chain.seller, name="Retail 20").exists()
    # the page offers the known currencies to choose from
    assert '<option value="CNY"' in response.content.decode()
    assert client.post(reverse("portal-plan-create"), create_form(currency="cny")).status_code == 302
    assert SellPlan.objects.get(owner=chain.seller, name="Retail 20").currency == "CNY"


def test_the_services_refuse_a_currency_that_does_not_exist():
    chain = chain_build()
    with pytest.raises(ValidationError) as plan_error:
        plan_create(name="Zed", currency="ZZZ", owner=chain.seller)
    assert "ZZZ is not a currency" in plan_error.value.message_dict["currency"][0]
    with pytest.raises(ValidationError) as batch_error:
        redemption_batch_create(
            user=staff(StaffRole.FINANCE),
            name="Zed promo",
            currency="ZZZ",
            value=Decimal("10.00"),
            count=1,
            expires_at=timezone.now() + timedelta(days=5),
        )
    assert "ZZZ is not a currency" in batch_error.value.message_dict["currency"][0]
    assert not SellPlan.objects.filter(name="Zed").exists() and not RedemptionBatch.objects.exists()


def test_the_known_currencies_are_the_configured_ones_and_those_of_books(settings):
    settings.BASE_CURRENCY = "CNY"
    chain_build()  # its books are in CNY
    known = known_currencies()
    assert known[0] == "CNY" and {"USD", "EUR"} <= set(known) and "ZZZ" not in known
    for form in (RetailPlanCreateForm(), RedemptionBatchForm()):
        assert [c for c, _label in form.fields["currency"].choices] == known
