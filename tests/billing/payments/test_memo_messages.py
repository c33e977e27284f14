"""Top-ups read in the reader's language: a card top-up and a bank transfer in the portal wallet's history
under zh-hans show their kind and memo in Chinese, while the English memo stays in the journal."""

from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from billing.ledger.models import JournalTransaction
from billing.payments.bank_transfers import bank_transfer_approve, bank_transfer_record
from tests.billing.payments.stripe_fakes import event_for, post_event

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _language_restored():
    """A page activates the language its request asks for, and it stays active in this thread: the next
    test starts in the default language again."""
    yield
    translation.deactivate()


def _wallet_page(client, owner, language="zh-hans") -> str:
    client.force_login(owner)
    client.cookies["django_language"] = language
    return client.get(reverse("portal-wallet")).content.decode()


def test_a_card_top_up_reads_in_chinese(client, owner, topup):
    assert post_event(client, event_for("event_checkout_session_completed", topup)).status_code == 200
    credit = JournalTransaction.objects.get(kind="wallet.topup.card")
    assert credit.memo == f"Card top-up {topup.public_id}"
    assert credit.memo_message == {
        "key": "payments.memo.card_topup",
        "params": {"topup": str(topup.public_id)},
    }

    page = _wallet_page(client, owner)
    assert f"银行卡充值 {topup.public_id}" in page
    assert credit.memo not in page
    assert credit.memo in _wallet_page(client, owner, "en")


def test_a_bank_transfer_credit_reads_in_chinese(client, customer, owner, finance, finance2):
    transfer = bank_transfer_record(
        recorder=finance,
        customer=customer,
        currency="CNY",
        amount=Decimal("200.00"),
        reference="ICBC-0042",
        value_date=timezone.localdate(),
    )
    bank_transfer_approve(transfer=transfer, approver=finance2)
    credit = JournalTransaction.objects.get(kind="wallet.topup.bank")
    assert credit.memo == "Bank transfer ICBC-0042"

    page = _wallet_page(client, owner)
    assert "银行转账 ICBC-0042" in page and "对公转账充值" in page
    assert "Bank transfer ICBC-0042" not in page
