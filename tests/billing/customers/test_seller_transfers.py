"""A reseller records its customers' bank transfers through the staff page's service: the credit lands in
its book; a second member approves when approval is required; it cannot record for anyone else."""

from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.utils import timezone

from accounts.models import MemberRole
from billing.ledger.models import AccountKind, JournalTransaction, LedgerAccount
from billing.payments.bank_transfers import bank_transfer_record
from billing.payments.models import BankTransfer
from tests.billing.customers.conftest import member
from tests.billing.factories import staff

pytestmark = pytest.mark.django_db


def transfer(customer, reference="SLIP-1", amount="250.00") -> dict:
    return {
        "customer": customer.pk,
        "currency": "CNY",
        "amount": amount,
        "reference": reference,
        "value_date": timezone.localdate().isoformat(),
        "note": "",
    }


def test_a_recorded_transfer_credits_the_customer_in_the_sellers_book(settings, as_owner, seller, prepaid):
    settings.BANK_TRANSFER_REQUIRES_APPROVAL = False

    response = as_owner.post(reverse("portal-seller-transfer-new"), transfer(prepaid))

    assert response.status_code == 302, response.context["form"].errors
    recorded = BankTransfer.objects.get()
    assert recorded.status == BankTransfer.Status.APPROVED
    assert recorded.credit_transaction.book_id == seller.pk
    cash = LedgerAccount.objects.get(kind=AccountKind.CASH_BANK, book=seller)
    assert cash.balance == Decimal("250.00")
    page = as_owner.get(reverse("portal-seller-customer", args=[prepaid.pk]))
    assert page.context["balances"].wallet == Decimal("250.00")
    # Nothing reached the operator's book.
    assert not JournalTransaction.objects.filter(book__isnull=True).exists()


def test_a_second_member_approves_when_approval_is_required(settings, client, as_owner, seller, prepaid):
    settings.BANK_TRANSFER_REQUIRES_APPROVAL = True
    as_owner.post(reverse("portal-seller-transfer-new"), transfer(prepaid))
    recorded = BankTransfer.objects.get()
    assert recorded.status == BankTransfer.Status.PENDING

    # The recorder cannot approve its own transfer.
    as_owner.post(reverse("portal-seller-transfer-decide", args=[recorded.pk]), {"decision": "approve"})
    recorded.refresh_from_db()
    assert recorded.status == BankTransfer.Status.PENDING

    client.force_login(member(seller, "billing@s.example.com", MemberRole.BILLING))
    client.post(reverse("portal-seller-transfer-decide", args=[recorded.pk]), {"decision": "approve"})

    recorded.refresh_from_db()
    assert recorded.status == BankTransfer.Status.APPROVED
    assert recorded.credit_transaction.book_id == seller.pk


def test_the_form_offers_only_the_sellers_own_customers(as_owner, seller, prepaid, credit, stranger):
    form = as_owner.get(reverse("portal-seller-transfer-new")).context["form"]
    assert set(form.fields["customer"].queryset) == {prepaid, credit}

    response = as_owner.post(reverse("portal-seller-transfer-new"), transfer(stranger))

    assert "customer" in response.context["form"].errors
    assert not BankTransfer.objects.exists()


def test_the_service_refuses_a_seller_recording_for_another_books_customer(seller_owner, stranger):
    with pytest.raises(PermissionDenied):
        bank_transfer_record(
            recorder=seller_owner,
            customer=stranger,
            currency="CNY",
            amount=Decimal("10"),
            reference="X",
            value_date=timezone.localdate(),
        )


def test_a_viewer_cannot_record_or_decide(client, seller, prepaid, seller_owner, settings):
    settings.BANK_TRANSFER_REQUIRES_APPROVAL = True
    pending = bank_transfer_record(
        recorder=seller_owner,
        customer=prepaid,
        currency="CNY",
        amount=Decimal("10"),
        reference="P-1",
        value_date=timezone.localdate(),
    )
    client.force_login(member(seller, "v@example.com", MemberRole.VIEWER))
    assert client.post(reverse("portal-seller-transfer-new"), transfer(prepaid, "V-1")).status_code == 403
    decide = reverse("portal-seller-transfer-decide", args=[pending.pk])
    assert client.post(decide, {"decision": "approve"}).status_code == 403
    listing = client.get(reverse("portal-seller-transfers"))
    assert listing.status_code == 200 and [t.reference for t in listing.context["page_obj"]] == ["P-1"]
    pending.refresh_from_db()
    assert pending.status == BankTransfer.Status.PENDING


def test_another_sellers_transfer_is_404(as_owner, stranger, settings):
    settings.BANK_TRANSFER_REQUIRES_APPROVAL = True
    theirs = bank_transfer_record(
        recorder=staff("finance"),
        customer=stranger,
        currency="CNY",
        amount=Decimal("10"),
        reference="OP-1",
        value_date=timezone.localdate(),
    )
    response = as_owner.post(
        reverse("portal-seller-transfer-decide", args=[theirs.pk]), {"decision": "approve"}
    )
    assert response.status_code == 404
    assert list(as_owner.get(reverse("portal-seller-transfers")).context["page_obj"]) == []
