"""A seller's batch of redemption codes in a currency that does not exist is refused on its field (the
services' check: tests/catalog/test_currency_input.py)."""

import pytest
from django.urls import reverse

from billing.payments.models import RedemptionBatch
from tests.billing.customers.test_seller_codes import batch_form

pytestmark = pytest.mark.django_db


def test_a_batch_of_codes_in_a_currency_that_does_not_exist_is_refused_on_its_field(as_owner, seller):
    response = as_owner.post(reverse("portal-seller-codes"), batch_form(currency="ZZZ"))

    assert response.status_code == 200
    assert "ZZZ is not a currency this service uses; choose one." in response.content.decode()
    assert not RedemptionBatch.objects.exists()
