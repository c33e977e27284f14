"""A customer's notice holds no bank reference until finance approves it, and references compare normalised.

A customer's word must neither keep finance from recording the real bank line (someone else's) nor tell
the customer that another customer's reference exists; approving is where a bank line is claimed, so that
is where a clash is refused. "ICBC-777" and "icbc 777" are one bank line: never credited twice.
"""

import importlib
from decimal import Decimal

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import override

from accounts.models import MemberRole
from billing.payments.bank_transfers import bank_transfer_approve, bank_transfer_record, bank_transfer_reject
from billing.payments.models import BankTransfer, reference_normalise
from tests.billing.customers.conftest import member, onboard, reseller_onboard
from tests.billing.payments.helpers import balance

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
URL = "/portal/wallet/bank-transfers/"


def _notice(client, user, reference, amount="1.00"):
    client.force_login(user)
    return client.post(
        URL,
        {
            "currency": "CNY",
            "amount": amount,
            "reference": reference,
            "value_date": timezone.localdate().isoformat(),
            "attachment": SimpleUploadedFile("slip.pdf", PDF, content_type="application/pdf"),
        },
    )


def _record(finance, customer, reference, amount="50000.00"):
    return bank_transfer_record(
        recorder=finance,
        customer=customer,
        currency="CNY",
        amount=Decimal(amount),
        reference=reference,
        value_date=timezone.localdate(),
    )


def _other(other_customer_owner):
    return other_customer_owner.membership.customer


def test_a_customers_notice_does_not_keep_finance_from_recording_the_real_line(
    client, owner, other_customer_owner, finance
):
    assert _notice(client, owner, "ICBC-REAL-777").status_code == 302
    payer = _other(other_customer_owner)

    transfer = _record(finance, payer, "ICBC-REAL-777")

    assert transfer.customer == payer and transfer.status == "pending"
    # The notice is kept, still waiting for finance: nothing lost.
    assert (
        BankTransfer.objects.filter(notified=True, status="pending", reference="ICBC-REAL-777").count() == 1
    )


def test_a_customer_does_not_learn_that_another_customers_reference_exists(
    client, owner, other_customer_owner, finance
):
    _record(finance, _other(other_customer_owner), "ICBC-PAYER-1")

    response = _notice(client, owner, "ICBC-PAYER-1")

    # Taken like any notice: the same answer whether or not the reference is someone else's.
    assert response.status_code == 302
    assert "already" not in client.get(URL).content.decode()
    assert BankTransfer.objects.filter(reference="ICBC-PAYER-1").count() == 2


def test_approving_a_notice_whose_line_is_recorded_already_is_refused_clearly(
    client, customer, owner, other_customer_owner, finance, finance2
):
    payer = _other(other_customer_owner)
    real = _record(finance, payer, "ICBC-REAL-777")
    bank_transfer_approve(transfer=real, approver=finance2)
    _notice(client, owner, "icbc real 777")
    notice = BankTransfer.objects.get(customer=customer)

    with pytest.raises(ValidationError) as refused:
        bank_transfer_approve(transfer=notice, approver=finance)

    assert "ICBC-REAL-777" in refused.value.messages[0] and "already" in refused.value.messages[0]
    notice.refresh_from_db()
    assert notice.status == "pending" and notice.credit_transaction_id is None
    assert balance(customer)[0] == Decimal("0")
    # Finance may still reject it, and the real line stands.
    bank_transfer_reject(transfer=notice, approver=finance, reason="Another customer's bank line")
    assert BankTransfer.objects.get(pk=real.pk).status == "approved"


def test_a_clash_with_a_line_still_awaiting_approval_is_refused_too(
    client, customer, owner, other_customer_owner, finance, finance2
):
    _record(finance, _other(other_customer_owner), "BOC 1234")
    _notice(client, owner, "boc-1234")
    notice = BankTransfer.objects.get(customer=customer)

    with pytest.raises(ValidationError):
        bank_transfer_approve(transfer=notice, approver=finance2)
    assert BankTransfer.objects.get(pk=notice.pk).status == "pending"


def test_finance_sees_the_clash_on_the_notice_and_the_approve_button_says_why(
    client, customer, owner, other_customer_owner, finance, finance2
):
    _record(finance, _other(other_customer_owner), "ICBC-REAL-777")
    _notice(client, owner, "ICBC REAL 777")
    notice = BankTransfer.objects.get(customer=customer)
    client.force_login(finance2)

    listing = client.get(reverse("staff-bank-transfer-list")).content.decode()
    detail = client.get(reverse("staff-bank-transfer-detail", args=[notice.pk])).content.decode()
    assert listing.count('data-testid="reference-clash"') == 1
    assert 'data-testid="reference-clash"' in detail
    response = client.post(
        reverse("staff-bank-transfer-decide", args=[notice.pk]), {"decision": "approve"}, follow=True
    )
    assert response.status_code == 200
    assert "already recorded" in response.content.decode()
    assert BankTransfer.objects.get(pk=notice.pk).status == "pending"


def test_the_clash_is_said_in_chinese(client, customer, owner, other_customer_owner, finance, finance2):
    _record(finance, _other(other_customer_owner), "ICBC-REAL-777")
    _notice(client, owner, "ICBC-REAL-777")
    notice = BankTransfer.objects.get(customer=customer)

    with override("zh-hans"), pytest.raises(ValidationError) as refused:
        bank_transfer_approve(transfer=notice, approver=finance2)

    assert "银行流水号" in refused.value.messages[0]


def test_a_notice_without_a_clash_is_approved_and_then_holds_the_line(
    client, customer, owner, other_customer_owner, finance, finance2
):
    _notice(client, owner, "ICBC-OWN-1", amount="300.00")
    notice = BankTransfer.objects.get(customer=customer)
    bank_transfer_approve(transfer=notice, approver=finance)
    assert balance(customer)[0] == Decimal("300.00")

    # Now the line is taken: finance recording it again (even spelled otherwise) is refused.
    with pytest.raises(ValidationError) as refused:
        _record(finance2, _other(other_customer_owner), "icbc own 1")
    assert "already recorded" in refused.value.messages[0]


def test_finance_cannot_record_one_bank_line_twice_under_two_spellings(customer, finance):
    _record(finance, customer, "ICBC777")

    with pytest.raises(ValidationError) as refused:
        _record(finance, customer, "icbc 777")

    assert refused.value.message_dict["reference"] == [
        "A transfer with this bank reference is already recorded."
    ]
    assert BankTransfer.objects.count() == 1


def test_a_notice_and_finances_record_of_one_line_under_two_spellings_never_credit_twice(
    client, customer, owner, finance, finance2
):
    # The customer tells first; finance, working from the bank statement, records the line itself.
    _notice(client, owner, "icbc-777", amount="300.00")
    notice = BankTransfer.objects.get(notified=True)
    recorded = _record(finance, customer, "ICBC777", amount="300.00")
    bank_transfer_approve(transfer=recorded, approver=finance2)

    with pytest.raises(ValidationError):
        bank_transfer_approve(transfer=notice, approver=finance)

    assert balance(customer)[0] == Decimal("300.00")


def test_the_customers_own_duplicate_notice_is_refused_naming_only_its_own(client, customer, owner):
    _notice(client, owner, "ICBC-20261205-7")

    response = _notice(client, owner, "icbc 20261205 7")

    assert response.status_code == 400
    errors = " ".join(response.context["form"].errors["reference"])
    assert "You already notified" in errors and "ICBC-20261205-7" in errors
    assert BankTransfer.objects.count() == 1


def test_a_line_finance_recorded_for_the_customer_itself_is_named_as_its_own(
    client, customer, owner, finance
):
    _record(finance, customer, "ICBC-9")

    response = _notice(client, owner, "ICBC-9")

    assert response.status_code == 400
    assert "already on your list" in " ".join(response.context["form"].errors["reference"])


def test_another_customer_notifying_the_same_reference_is_no_duplicate_of_its_own(
    client, owner, other_customer_owner
):
    assert _notice(client, owner, "ICBC-SAME").status_code == 302
    assert _notice(client, other_customer_owner, "ICBC-SAME").status_code == 302
    assert BankTransfer.objects.filter(reference="ICBC-SAME").count() == 2


@pytest.mark.parametrize(
    ("written", "key"),
    [
        ("icbc 777", "ICBC777"),
        ("ICBC-777", "ICBC777"),
        ("ＩＣＢＣ－７７７", "ICBC777"),
        (" icbc\t7–7 7 ", "ICBC777"),
    ],
)
def test_references_are_compared_upper_case_without_spaces_or_dashes(written, key):
    assert reference_normalise(written) == key


def test_a_resellers_customers_notice_clash_is_flagged_and_refused_in_its_book(client):
    seller = reseller_onboard()
    seller_owner = member(seller, "owner@s.example.com")
    billing = member(seller, "billing@s.example.com", MemberRole.BILLING)
    payer = onboard(seller, seller_owner, "payer-c")
    notifier = onboard(seller, seller_owner, "notifier-d")
    notifier_owner = member(notifier, "owner@d.example.com")
    _notice(client, notifier_owner, "ABC 42")
    _record(seller_owner, payer, "ABC-42")
    notice = BankTransfer.objects.get(customer=notifier)

    client.force_login(billing)
    page = client.get(reverse("portal-seller-transfers")).content.decode()
    assert page.count('data-testid="reference-clash"') == 1
    response = client.post(
        reverse("portal-seller-transfer-decide", args=[notice.pk]), {"decision": "approve"}, follow=True
    )
    assert "already recorded" in response.content.decode()
    assert BankTransfer.objects.get(pk=notice.pk).status == "pending"
    # The notifying customer's own page says nothing of the other customer's line.
    client.force_login(notifier_owner)
    assert 'data-testid="reference-clash"' not in client.get(URL).content.decode()


def test_the_migration_keys_existing_transfers_and_marks_the_customers_notices(
    client, customer, owner, finance
):
    _notice(client, owner, "icbc 1")
    _record(finance, customer, "ICBC-2")
    for transfer in BankTransfer.objects.all():  # as before the columns existed (keys kept apart)
        BankTransfer.objects.filter(pk=transfer.pk).update(reference_key=f"-{transfer.pk}", notified=False)

    importlib.import_module("billing.migrations.0046_bank_transfer_reference_key").keys_fill(apps, None)

    assert sorted(BankTransfer.objects.values_list("reference_key", "notified")) == [
        ("ICBC1", True),
        ("ICBC2", False),
    ]
