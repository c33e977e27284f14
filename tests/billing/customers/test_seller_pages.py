"""The seller console's pages with their data: an invoice in the seller's series with an overdue reminder
that suspends, a pending transfer, a batch of codes and a hold, as its owner sees them."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from billing.dunning.models import DunningLevel, DunningNotice, DunningPolicy
from billing.gateway.services import gateway_hold_place
from billing.payments.bank_transfers import bank_transfer_record
from billing.payments.redemption import redemption_batch_create
from tests.billing.customers.conftest import member, reseller_onboard
from tests.billing.invoicing.factories import issued_invoice

pytestmark = pytest.mark.django_db


def onboard_other():
    return reseller_onboard(code="other-s", name="Other", mode="prepaid", contact_email="")


@pytest.fixture
def overdue(credit):
    invoice = issued_invoice(credit, "120.00", issue_date=timezone.localdate() - timedelta(days=60))
    level = DunningLevel.objects.create(
        policy=DunningPolicy.objects.create(name="Standard"),
        days_from_due=14,
        name="Final notice",
        suspend_service=True,
    )
    DunningNotice.objects.create(invoice=invoice, level=level, amount_due=Decimal("120.00"), suspended=True)
    cache.clear()
    return invoice


def test_the_home_page_shows_the_reminder_and_the_suspension(as_owner, credit, overdue):
    page = as_owner.get(reverse("portal-seller-home"))
    row = next(c for c in page.context["customers"] if c.pk == credit.pk)
    assert row.dunning.level.name == "Final notice"
    assert row.balances.receivable == Decimal("120.00")
    assert row.balances.open_invoices == 1
    assert "overdue" in row.balances.reasons
    html = page.content.decode()
    assert "Final notice" in html and "Suspended" in html


def test_the_reminders_page_lists_its_customers_notices(as_owner, credit, overdue):
    page = as_owner.get(reverse("portal-seller-dunning"))
    assert [n.invoice for n in page.context["page_obj"]] == [overdue]
    assert overdue.number in page.content.decode()


def test_the_detail_page_shows_invoices_holds_and_transfers(
    as_owner, seller_owner, credit, overdue, settings
):
    settings.BANK_TRANSFER_REQUIRES_APPROVAL = True
    bank_transfer_record(
        recorder=seller_owner,
        customer=credit,
        currency="CNY",
        amount=Decimal("50"),
        reference="ABC-1",
        value_date=timezone.localdate(),
    )
    gateway_hold_place(customer=credit, reason="checking", actor=seller_owner)
    cache.clear()

    html = as_owner.get(reverse("portal-seller-customer", args=[credit.pk])).content.decode()

    assert overdue.number in html
    assert "ABC-1" in html
    assert "checking" in html and 'data-testid="lift-hold"' in html
    assert 'data-testid="balance-receivable">120.00' in html
    # Its links lead to pages the seller may read: the invoice and the wallet history.
    assert as_owner.get(reverse("portal-invoice-detail", args=[overdue.pk])).status_code == 200
    assert as_owner.get(reverse("portal-customer-wallet", args=[credit.pk])).status_code == 200


def test_a_transfers_slip_is_served_to_its_seller_only(
    client, as_owner, seller_owner, prepaid, settings, tmp_path
):

    settings.MEDIA_ROOT = tmp_path
    slip = SimpleUploadedFile("slip.pdf", b"%PDF-1.7 slip", content_type="application/pdf")
    transfer = bank_transfer_record(
        recorder=seller_owner,
        customer=prepaid,
        currency="CNY",
        amount=Decimal("50"),
        reference="SLIP-9",
        value_date=timezone.localdate(),
        attachment=slip,
    )
    url = reverse("portal-seller-transfer-attachment", args=[transfer.pk])
    response = as_owner.get(url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content).startswith(b"%PDF")

    other = onboard_other()
    client.force_login(member(other, "o@example.com"))
    assert client.get(url).status_code == 404


def test_the_transfers_and_codes_pages_list_what_was_recorded(
    client, as_owner, seller, seller_owner, prepaid, settings
):
    settings.BANK_TRANSFER_REQUIRES_APPROVAL = True
    bank_transfer_record(
        recorder=seller_owner,
        customer=prepaid,
        currency="CNY",
        amount=Decimal("50"),
        reference="PEND-1",
        value_date=timezone.localdate(),
    )
    redemption_batch_create(
        user=seller_owner,
        book=seller,
        name="Launch",
        currency="CNY",
        value=Decimal("5"),
        count=2,
        expires_at=timezone.now() + timedelta(days=3),
    )

    transfers = as_owner.get(reverse("portal-seller-transfers")).content.decode()
    codes = as_owner.get(reverse("portal-seller-codes"))

    assert "PEND-1" in transfers
    # Its own recorder is not offered the approval.
    assert 'value="approve"' not in transfers
    assert [(b.name, b.redeemed) for b in codes.context["page_obj"]] == [("Launch", 0)]
