"""Bank transfers: recorded by finance, approved by a second person, credited once; who may do what."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from billing.payments.models import BankTransfer
from tests.billing.payments.helpers import balance, topup_postings

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def _form(customer, **changes):
    data = {
        "customer": customer.pk,
        "currency": "CNY",
        "amount": "20000.00",
        "reference": "ICBC20261120-0042",
        "value_date": timezone.localdate().isoformat(),
        "note": "Q4 prepayment",
        "attachment": SimpleUploadedFile("slip.pdf", PDF, content_type="application/pdf"),
    }
    data.update(changes)
    return data


def test_finance_records_and_a_second_person_approves(client, customer, finance, finance2):
    # given finance records a transfer
    client.force_login(finance)
    response = client.post("/dashboard/payments/bank-transfers/new/", _form(customer))
    transfer = BankTransfer.objects.get()
    assert response.status_code == 302
    assert transfer.status == "pending"
    assert transfer.attachment.name.endswith(".pdf")
    assert balance(customer)[0] == Decimal("0")

    # when the recorder tries to approve it, it is refused
    refused = client.post(
        f"/dashboard/payments/bank-transfers/{transfer.pk}/decide/", {"decision": "approve"}
    )
    assert refused.status_code == 403
    assert not topup_postings().exists()

    # when a second finance user approves it
    client.force_login(finance2)
    client.post(f"/dashboard/payments/bank-transfers/{transfer.pk}/decide/", {"decision": "approve"})

    # then it is credited, once
    transfer.refresh_from_db()
    assert (transfer.status, transfer.decided_by) == ("approved", finance2)
    assert balance(customer)[0] == Decimal("20000.00")
    again = client.post(f"/dashboard/payments/bank-transfers/{transfer.pk}/decide/", {"decision": "approve"})
    assert again.status_code == 302
    assert topup_postings().count() == 1
    # and the attachment is served to staff only
    assert client.get(f"/dashboard/payments/bank-transfers/{transfer.pk}/attachment/").status_code == 200


def test_without_approval_the_transfer_is_credited_at_once(client, customer, finance, settings):
    settings.BANK_TRANSFER_REQUIRES_APPROVAL = False
    client.force_login(finance)
    client.post("/dashboard/payments/bank-transfers/new/", _form(customer))
    transfer = BankTransfer.objects.get()
    assert (transfer.status, transfer.decided_by) == ("approved", None)
    assert balance(customer)[0] == Decimal("20000.00")


def test_a_rejected_transfer_credits_nothing_and_needs_a_reason(client, customer, finance, finance2):
    client.force_login(finance)
    client.post("/dashboard/payments/bank-transfers/new/", _form(customer))
    transfer = BankTransfer.objects.get()
    client.force_login(finance2)

    client.post(
        f"/dashboard/payments/bank-transfers/{transfer.pk}/decide/", {"decision": "reject", "reason": ""}
    )
    assert BankTransfer.objects.get().status == "pending"
    client.post(
        f"/dashboard/payments/bank-transfers/{transfer.pk}/decide/",
        {"decision": "reject", "reason": "Not on the statement"},
    )

    transfer.refresh_from_db()
    assert (transfer.status, transfer.rejection_reason) == ("rejected", "Not on the statement")
    assert not topup_postings().exists()


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"currency": "USD"}, "is billed in CNY"),
        ({"amount": "0"}, "greater than or equal to 0.01"),
        ({"amount": "10.001"}, "at most 2 decimal places"),
        ({"value_date": (timezone.localdate() + timedelta(days=2)).isoformat()}, "cannot be in the future"),
        (
            {"attachment": SimpleUploadedFile("slip.pdf", b"MZ\x90\x00 not a pdf")},
            "Attach a PDF, PNG or JPEG",
        ),
        ({"attachment": SimpleUploadedFile("slip.exe", PDF)}, "Attach a PDF, PNG or JPEG"),
    ],
)
def test_bad_input_gets_a_clear_message_and_writes_nothing(client, customer, finance, changes, message):
    client.force_login(finance)
    response = client.post("/dashboard/payments/bank-transfers/new/", _form(customer, **changes))
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not BankTransfer.objects.exists()


def test_an_oversized_attachment_is_refused(client, customer, finance, settings):
    settings.BANK_TRANSFER_ATTACHMENT_MAX_BYTES = 1024
    client.force_login(finance)
    big = SimpleUploadedFile("slip.pdf", PDF + b"0" * 2048)
    response = client.post("/dashboard/payments/bank-transfers/new/", _form(customer, attachment=big))
    assert "larger than" in response.content.decode()
    assert not BankTransfer.objects.exists()


def test_the_same_bank_reference_cannot_be_recorded_twice(client, customer, finance):
    client.force_login(finance)
    client.post("/dashboard/payments/bank-transfers/new/", _form(customer))
    response = client.post("/dashboard/payments/bank-transfers/new/", _form(customer))
    assert "already recorded" in response.content.decode()
    assert BankTransfer.objects.count() == 1


def test_auditors_read_but_cannot_record_or_approve(client, customer, finance, auditor):
    client.force_login(finance)
    client.post("/dashboard/payments/bank-transfers/new/", _form(customer))
    transfer = BankTransfer.objects.get()
    client.force_login(auditor)

    assert client.get("/dashboard/payments/bank-transfers/").status_code == 200
    assert client.get(f"/dashboard/payments/bank-transfers/{transfer.pk}/").status_code == 200
    assert (
        client.post("/dashboard/payments/bank-transfers/new/", _form(customer, reference="X")).status_code
        == 403
    )
    decide = client.post(f"/dashboard/payments/bank-transfers/{transfer.pk}/decide/", {"decision": "approve"})
    assert decide.status_code == 403
    assert BankTransfer.objects.get().status == "pending"


def test_sales_and_customer_users_are_refused(client, customer, owner, sales, finance):
    client.force_login(finance)
    client.post("/dashboard/payments/bank-transfers/new/", _form(customer))
    transfer = BankTransfer.objects.get()
    for user in (sales, owner):
        client.force_login(user)
        assert client.get("/dashboard/payments/bank-transfers/").status_code == 403
        assert client.get(f"/dashboard/payments/bank-transfers/{transfer.pk}/attachment/").status_code == 403
        decide = client.post(
            f"/dashboard/payments/bank-transfers/{transfer.pk}/decide/", {"decision": "approve"}
        )
        assert decide.status_code == 403
    assert BankTransfer.objects.get().status == "pending"


def test_the_list_filters_sorts_and_paginates(client, customer, finance, settings):
    settings.BANK_TRANSFER_REQUIRES_APPROVAL = False
    client.force_login(finance)
    for i in range(30):
        client.post(
            "/dashboard/payments/bank-transfers/new/",
            _form(customer, reference=f"REF-{i:03}", amount=f"{100 + i}", attachment=""),
        )
    assert BankTransfer.objects.count() == 30

    page = client.get("/dashboard/payments/bank-transfers/?o=-amount")
    assert page.context["page_obj"][0].reference == "REF-029"
    assert page.context["page_obj"].paginator.num_pages == 2
    filtered = client.get("/dashboard/payments/bank-transfers/?q=REF-007")
    assert [t.reference for t in filtered.context["page_obj"]] == ["REF-007"]


def test_customers_see_their_own_transfers_only(
    client, customer, owner, other_customer_owner, finance, settings
):
    settings.BANK_TRANSFER_REQUIRES_APPROVAL = False
    client.force_login(finance)
    client.post("/dashboard/payments/bank-transfers/new/", _form(customer))

    client.force_login(owner)
    assert "ICBC20261120-0042" in client.get("/portal/wallet/top-up/").content.decode()
    client.force_login(other_customer_owner)
    assert "ICBC20261120-0042" not in client.get("/portal/wallet/top-up/").content.decode()


def test_every_staff_page_renders_for_finance_and_auditors(client, customer, finance, auditor, owner):
    from tests.billing.payments.test_redemption import _batch

    batch = _batch(finance)
    pages = [
        "/dashboard/payments/cards/?o=-amount&status=paid",
        "/dashboard/payments/stripe-events/?q=checkout",
        "/dashboard/payments/bank-transfers/?status=pending&o=value_date",
        "/dashboard/payments/bank-transfers/new/",
        "/dashboard/payments/codes/?o=name",
        "/dashboard/payments/codes/new/",
        f"/dashboard/payments/codes/{batch.pk}/",
    ]
    forms = {"/dashboard/payments/bank-transfers/new/", "/dashboard/payments/codes/new/"}
    for user in (finance, auditor):
        client.force_login(user)
        for url in pages:
            expected = 403 if user == auditor and url in forms else 200
            assert client.get(url).status_code == expected, (user, url)
    client.force_login(finance)
    assert "Bank transfers" in client.get("/dashboard/").content.decode()
    client.force_login(owner)
    for url in pages:
        assert client.get(url).status_code == 403, url
