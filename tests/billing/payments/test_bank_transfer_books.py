"""Bank references are unique within one book, not across books: a reseller's bank numbers its lines
independently of the operator's, so the same reference in two books is two real transfers, and a refusal
must not tell a reseller what another book holds. Within one book a duplicate is still refused."""

import importlib
from decimal import Decimal

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from accounts.models import Customer
from billing.payments.bank_transfers import bank_transfer_record
from billing.payments.models import BankTransfer
from billing.terms.services import customer_onboard
from tests.billing.customers.conftest import member, onboard, reseller_onboard

pytestmark = pytest.mark.django_db

REFERENCE = "20261201-0001"


@pytest.fixture
def seller():
    return reseller_onboard()


@pytest.fixture
def seller_owner(seller):
    return member(seller, "owner@s.example.com")


def _record(recorder, customer, reference=REFERENCE):
    return bank_transfer_record(
        recorder=recorder,
        customer=customer,
        currency="CNY",
        amount=Decimal("100.00"),
        reference=reference,
        value_date=timezone.localdate(),
    )


def _portal_form(customer, reference=REFERENCE) -> dict:
    return {
        "customer": customer.pk,
        "currency": "CNY",
        "amount": "250.00",
        "reference": reference,
        "value_date": timezone.localdate().isoformat(),
        "note": "",
    }


def onboard_operator_customer(code):
    return customer_onboard(
        name=code.title(),
        code=code,
        kind=Customer.Kind.END_CUSTOMER,
        parent=None,
        language="en",
        contact_email="",
        mode="prepaid",
        currency="CNY",
    )


def test_the_same_reference_in_another_book_is_accepted(client, customer, finance, seller, seller_owner):
    operators = _record(finance, customer)
    prepaid = onboard(seller, seller_owner, "prepaid-c")

    client.force_login(seller_owner)
    response = client.post(reverse("portal-seller-transfer-new"), _portal_form(prepaid))

    assert response.status_code == 302, response.context["form"].errors
    resellers = BankTransfer.objects.get(customer=prepaid)
    assert (resellers.reference, resellers.book_id) == (REFERENCE, seller.pk)
    assert operators.book_id is None


def test_a_duplicate_within_the_resellers_book_is_refused_clearly(client, seller, seller_owner):
    first = onboard(seller, seller_owner, "prepaid-c")
    second = onboard(seller, seller_owner, "prepaid-d")
    client.force_login(seller_owner)
    client.post(reverse("portal-seller-transfer-new"), _portal_form(first))

    response = client.post(reverse("portal-seller-transfer-new"), _portal_form(second))

    assert response.status_code == 200
    assert response.context["form"].errors["reference"] == [
        "A transfer with this bank reference is already recorded."
    ]
    assert BankTransfer.objects.filter(book=seller).count() == 1


def test_a_duplicate_within_the_operators_book_is_still_refused(customer, finance):
    other = onboard_operator_customer("other-op")
    _record(finance, customer)

    with pytest.raises(ValidationError) as refused:
        _record(finance, other)

    assert "already recorded" in str(refused.value)
    assert BankTransfer.objects.filter(book__isnull=True).count() == 1


def test_the_migration_files_existing_transfers_in_their_customers_sellers_book(
    customer, finance, seller, seller_owner
):
    prepaid = onboard(seller, seller_owner, "prepaid-c")
    operators = _record(finance, customer)
    resellers = _record(seller_owner, prepaid, "S-1")
    BankTransfer.objects.update(book=None)  # as before the book existed

    importlib.import_module("billing.migrations.0039_bank_transfer_book").fill_books(apps, None)

    operators.refresh_from_db()
    resellers.refresh_from_db()
    assert (operators.book_id, resellers.book_id) == (None, seller.pk)
