"""A portal customer notifies a bank transfer with its slip; finance approves or rejects it as any other."""

from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from accounts.models import MemberRole
from billing.payments.models import BankTransfer
from tests.billing.customers.conftest import member, onboard, reseller_onboard
from tests.billing.payments.helpers import balance
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
URL = "/portal/wallet/bank-transfers/"


def _form(**changes):
    data = {
        "currency": "CNY",
        "amount": "5000.00",
        "reference": "ICBC20261205-0007",
        "value_date": timezone.localdate().isoformat(),
        "note": "December prepayment",
        "attachment": SimpleUploadedFile("slip.pdf", PDF, content_type="application/pdf"),
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def _member(customer, role):
    return MembershipFactory(
        user=UserFactory(email=f"{role}@acme.example.com"), customer=customer, role=role
    ).user


@pytest.mark.parametrize("role", [MemberRole.OWNER, MemberRole.BILLING])
def test_owner_or_billing_notifies_and_it_waits_for_finance(client, customer, role, settings):
    # Even where finance's own records credit at once, a customer's notice waits for finance.
    settings.BANK_TRANSFER_REQUIRES_APPROVAL = False
    user = _member(customer, role)
    client.force_login(user)
    response = client.post(URL, _form())
    assert response.status_code == 302
    transfer = BankTransfer.objects.get()
    assert (transfer.status, transfer.recorded_by, transfer.customer, transfer.book_id) == (
        "pending",
        user,
        customer,
        None,
    )
    assert transfer.amount == Decimal("5000.00") and transfer.note == "December prepayment"
    assert balance(customer)[0] == Decimal("0")
    page = client.get(URL)
    assert b"ICBC20261205-0007" in page.content
    assert "Awaiting approval" in page.content.decode()


def test_finance_sees_it_was_notified_by_the_customer_reads_the_slip_and_approves(
    client, customer, owner, finance
):
    client.force_login(owner)
    client.post(URL, _form())
    transfer = BankTransfer.objects.get()
    client.force_login(finance)
    listing = client.get(reverse("staff-bank-transfer-list"))
    assert b'data-testid="notified-by-customer"' in listing.content
    assert reverse("staff-bank-transfer-attachment", args=[transfer.pk]).encode() in listing.content
    detail = client.get(reverse("staff-bank-transfer-detail", args=[transfer.pk]))
    assert b'data-testid="notified-by-customer"' in detail.content
    assert b'data-testid="approve"' in detail.content
    slip = client.get(reverse("staff-bank-transfer-attachment", args=[transfer.pk]))
    assert b"".join(slip.streaming_content).startswith(b"%PDF-")
    client.post(reverse("staff-bank-transfer-decide", args=[transfer.pk]), {"decision": "approve"})
    transfer.refresh_from_db()
    assert (transfer.status, transfer.decided_by) == ("approved", finance)
    assert balance(customer)[0] == Decimal("5000.00")
    client.force_login(owner)
    assert "Approved and credited" in client.get(URL).content.decode()


def test_a_rejection_and_its_reason_show_in_the_portal(client, customer, owner, finance):
    client.force_login(owner)
    client.post(URL, _form())
    transfer = BankTransfer.objects.get()
    client.force_login(finance)
    client.post(
        reverse("staff-bank-transfer-decide", args=[transfer.pk]),
        {"decision": "reject", "reason": "Not on our statement"},
    )
    client.force_login(owner)
    page = client.get(URL).content.decode()
    assert "Rejected" in page and "Not on our statement" in page
    # A rejected reference may be notified again.
    assert client.post(URL, _form()).status_code == 302


def test_a_finance_record_is_not_marked_as_notified(client, customer, finance):
    from billing.payments.bank_transfers import bank_transfer_record

    bank_transfer_record(
        recorder=finance,
        customer=customer,
        currency="CNY",
        amount=Decimal("10"),
        reference="BOC-1",
        value_date=timezone.localdate(),
    )
    client.force_login(finance)
    assert (
        b'data-testid="notified-by-customer"' not in client.get(reverse("staff-bank-transfer-list")).content
    )


def test_a_viewer_reads_but_may_not_notify(client, customer):
    viewer = _member(customer, MemberRole.VIEWER)
    client.force_login(viewer)
    page = client.get(URL)
    assert page.status_code == 200
    assert b'data-testid="notify-denied"' in page.content
    assert b'data-testid="notify-form"' not in page.content
    assert client.post(URL, _form()).status_code == 403
    assert not BankTransfer.objects.exists()


def test_staff_and_strangers_are_refused(client, finance):
    assert client.get(URL).status_code == 302  # to sign in
    client.force_login(finance)
    assert client.get(URL).status_code == 403


def test_a_customer_never_sees_anothers_transfers_or_slips(client, customer, owner, other_customer_owner):
    client.force_login(owner)
    client.post(URL, _form(), follow=True)  # followed: the success message is read here, not by the next user
    transfer = BankTransfer.objects.get()
    client.force_login(other_customer_owner)
    assert b"ICBC20261205-0007" not in client.get(URL).content
    assert client.get(reverse("portal-bank-transfer-attachment", args=[transfer.pk])).status_code == 404
    client.force_login(owner)
    slip = client.get(reverse("portal-bank-transfer-attachment", args=[transfer.pk]))
    assert slip.status_code == 200


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"attachment": None}, "attachment", "This field is required."),
        (
            {"attachment": SimpleUploadedFile("slip.pdf", b"MZ-not-a-pdf", content_type="application/pdf")},
            "attachment",
            "Attach a PDF, PNG or JPEG file.",
        ),
        (
            {"attachment": SimpleUploadedFile("slip.gif", b"GIF89a", content_type="image/gif")},
            "attachment",
            "Attach a PDF, PNG or JPEG file.",
        ),
        ({"amount": "-5"}, "amount", "positive amount"),
        ({"amount": "1.001"}, "amount", "at most 2 decimal places"),
        ({"amount": "lots"}, "amount", "Enter a number."),
        ({"amount": "1" * 25}, "amount", "no more than 21 digits"),
        ({"currency": "USD"}, "currency", "Select a valid choice."),
        ({"value_date": "2999-01-01"}, "value_date", "cannot be in the future"),
        ({"value_date": "yesterday"}, "value_date", "Enter a valid date."),
        ({"reference": "   "}, "reference", "This field is required."),
    ],
)
def test_bad_input_is_refused_on_its_field(client, customer, owner, changes, field, message):
    client.force_login(owner)
    response = client.post(URL, _form(**changes))
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert message in " ".join(errors.get(field, [])), errors
    assert not BankTransfer.objects.exists()


def test_a_png_slip_is_accepted(client, customer, owner):
    client.force_login(owner)
    response = client.post(
        URL, _form(attachment=SimpleUploadedFile("slip.PNG", PNG, content_type="image/png"))
    )
    assert response.status_code == 302
    assert BankTransfer.objects.get().attachment.name.endswith(".PNG")


def test_a_too_large_slip_is_refused(client, customer, owner, settings):
    settings.BANK_TRANSFER_ATTACHMENT_MAX_BYTES = 1024 * 1024
    client.force_login(owner)
    big = SimpleUploadedFile("slip.pdf", PDF + b"0" * (1024 * 1024), content_type="application/pdf")
    response = client.post(URL, _form(attachment=big))
    assert response.status_code == 400
    assert "larger than 1 MB" in " ".join(response.context["form"].errors["attachment"])


def test_a_duplicate_reference_is_refused_clearly(client, customer, owner):
    client.force_login(owner)
    client.post(URL, _form())
    response = client.post(URL, _form())
    assert response.status_code == 400
    # Its own earlier notice, which it sees below the form, is all it is told about.
    assert "You already notified this transfer" in " ".join(response.context["form"].errors["reference"])
    assert BankTransfer.objects.count() == 1


def test_the_page_shows_where_to_pay(client, customer, owner, settings):
    settings.OPERATOR_BANK_NAME = "ICBC Shanghai Pudong"
    settings.OPERATOR_BANK_ACCOUNT_NUMBER = "6222 0000 1111"
    settings.OPERATOR_PAYMENT_INSTRUCTIONS = "Pay within 7 days."
    client.force_login(owner)
    page = client.get(URL).content.decode()
    assert "ICBC Shanghai Pudong" in page and "6222 0000 1111" in page and "Pay within 7 days." in page
    assert customer.code in page
    chinese = client.get(URL, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "账号" in chinese or "账户" in chinese


def test_without_bank_details_the_page_says_whom_to_ask(client, customer, owner, settings):
    for name in ("OPERATOR_BANK_NAME", "OPERATOR_BANK_ACCOUNT_NAME", "OPERATOR_BANK_ACCOUNT_NUMBER"):
        setattr(settings, name, "")
    settings.OPERATOR_BANK_CODE = ""
    settings.OPERATOR_BANK_DETAILS = ""
    client.force_login(owner)
    page = client.get(URL).content.decode()
    assert 'data-testid="no-bank-details"' in page
    assert f"{settings.OPERATOR_NAME} has not published bank details yet" in page


def test_a_resellers_customer_sees_the_resellers_bank_not_the_operators(client, settings):
    from accounts.models import SellerProfile

    settings.OPERATOR_BANK_ACCOUNT_NUMBER = "OPERATOR-0001"
    seller = reseller_onboard()
    seller_owner = member(seller, "owner@s.example.com")
    SellerProfile.objects.create(
        customer=seller, legal_name="Reseller S Ltd", bank_name="CMB Hangzhou", bank_account_number="RS-7777"
    )
    buyer = onboard(seller, seller_owner, "buyer-c")
    client.force_login(member(buyer, "owner@buyer.example.com"))
    page = client.get(URL).content.decode()
    assert "Reseller S Ltd" in page and "RS-7777" in page
    assert "OPERATOR-0001" not in page


def test_the_list_is_paginated(client, customer, owner):
    from billing.payments.portal_notify import bank_transfer_notify

    for number in range(23):
        bank_transfer_notify(
            user=owner,
            currency="CNY",
            amount=Decimal("1"),
            reference=f"REF-{number:02d}",
            value_date=timezone.localdate(),
            attachment=SimpleUploadedFile("slip.pdf", PDF),
        )
    client.force_login(owner)
    first = client.get(URL)
    assert len(first.context["page_obj"]) == 20
    second = client.get(URL, {"page": 2})
    assert len(second.context["page_obj"]) == 3


def test_a_resellers_customer_pays_the_reseller_and_the_reseller_approves(client):
    seller = reseller_onboard()
    seller_owner = member(seller, "owner@s.example.com")
    buyer = onboard(seller, seller_owner, "buyer-c")
    buyer_owner = member(buyer, "owner@buyer.example.com", MemberRole.BILLING)
    client.force_login(buyer_owner)
    page = client.get(URL).content.decode()
    assert "Reseller S" in page
    client.post(URL, _form())
    transfer = BankTransfer.objects.get()
    assert (transfer.book_id, transfer.status) == (seller.pk, "pending")
    # The reseller's own transfers page lists it for its owner to decide (four eyes: a different user).
    client.force_login(seller_owner)
    client.post(reverse("portal-seller-transfer-decide", args=[transfer.pk]), {"decision": "approve"})
    transfer.refresh_from_db()
    assert (transfer.status, transfer.decided_by) == ("approved", seller_owner)


def test_a_customer_may_not_approve_its_own_notice(client, customer, owner):
    from django.core.exceptions import PermissionDenied

    from billing.payments.bank_transfers import bank_transfer_approve

    colleague = _member(customer, MemberRole.BILLING)
    client.force_login(owner)
    client.post(URL, _form())
    with pytest.raises(PermissionDenied):
        bank_transfer_approve(transfer=BankTransfer.objects.get(), approver=colleague)


def test_the_bank_transfer_page_reads_in_chinese(client, customer, owner):
    client.force_login(owner)
    client.post(URL, _form(), follow=True)
    page = client.get(URL, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    for chinese in ("银行转账付款", "收款账户", "提交转账通知", "您的银行转账", "银行回单"):
        assert chinese in page, chinese
    for english in ("Where to pay", "Notify the transfer", "Your bank transfers", "Bank slip"):
        assert english not in page, english


def test_finance_is_told_of_a_notice_with_a_link_to_decide_it(client, customer, owner, finance, mailoutbox):
    client.force_login(owner)
    client.post(URL, _form(amount="12345.60"))
    transfer = BankTransfer.objects.get()
    (message,) = mailoutbox
    assert finance.email in message.to and owner.email not in message.to
    assert "Acme Agents" in message.subject and "12,345.60 CNY" in message.subject
    assert "ICBC20261205-0007" in message.body
    assert f"http://testserver/dashboard/payments/bank-transfers/{transfer.pk}/" in message.body


def test_a_resellers_owner_is_told_of_its_customers_notice_and_the_operator_is_not(
    client, finance, mailoutbox
):
    seller = reseller_onboard()
    seller_owner = member(seller, "owner@s.example.com")
    buyer = onboard(seller, seller_owner, "buyer-c")
    client.force_login(member(buyer, "owner@buyer.example.com"))
    client.post(URL, _form())
    (message,) = mailoutbox
    assert message.to == ["owner@s.example.com"]
    assert "http://testserver/portal/seller/transfers/" in message.body


def test_a_mail_failure_does_not_lose_the_notice(client, customer, owner, finance, monkeypatch):
    def refuse(*args, **kwargs):
        raise ConnectionRefusedError

    monkeypatch.setattr("billing.payments.portal_notify.send_mail", refuse)
    client.force_login(owner)
    assert client.post(URL, _form()).status_code == 302
    assert BankTransfer.objects.get().status == "pending"
