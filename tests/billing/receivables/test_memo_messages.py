"""Receivable postings read in the reader's language: an invoice issued, a payment, a credit note and a
write-off show their memo and kind in Chinese on the transaction page; the English memo stays stored."""

from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import translation

from accounts.models import StaffRole
from billing.ledger.models import JournalTransaction
from billing.receivables.credit_notes import credit_note_issue
from billing.receivables.services import payment_record
from billing.receivables.writeoffs import writeoff_approve, writeoff_propose
from tests.billing.factories import staff
from tests.billing.invoicing.factories import issued_invoice
from tests.billing.receivables.conftest import FEB, JAN
from tests.billing.receivables.test_writeoffs import fund_allowance

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _language_restored():
    """A page activates the language its request asks for, and it stays active in this thread: the next
    test starts in the default language again."""
    yield
    translation.deactivate()


def _transaction_page(client, user, txn: JournalTransaction, language: str = "zh-hans") -> str:
    client.force_login(user)
    client.cookies["django_language"] = language
    return client.get(reverse("staff-journal-transaction", args=[txn.pk])).content.decode()


def _memo(page: str) -> str:
    return page.split('data-testid="transaction-memo">', 1)[1].split("</dd>", 1)[0]


def test_an_invoice_and_its_payment_read_in_chinese(client, acme, finance):
    invoice = issued_invoice(acme, "100.00", issue_date=JAN)
    issued = JournalTransaction.objects.get(kind="invoice.issue")
    page = _transaction_page(client, finance, issued)
    assert _memo(page) == f"发票 {invoice.number}"
    assert "开具发票" in page

    payment_record(
        customer=acme,
        amount=Decimal("100.00"),
        currency="CNY",
        received_on=FEB,
        reference="ICBC-7",
        actor=finance,
        idempotency_key="pay-7",
    )
    paid = JournalTransaction.objects.get(kind="receivable.payment.bank")
    assert paid.memo == "Payment from Acme Agents, ref ICBC-7"
    page = _transaction_page(client, finance, paid)
    assert _memo(page) == "Acme Agents 的付款，参考号 ICBC-7"
    assert "银行转账付款" in page
    assert _memo(_transaction_page(client, finance, paid, "en")) == paid.memo


def test_a_credit_note_reads_in_chinese(client, acme, finance):
    invoice = issued_invoice(acme, "100.00", issue_date=JAN)
    note = credit_note_issue(
        invoice=invoice, reason="Outage credit", amount=Decimal("10"), actor=finance, idempotency_key="cn-1"
    )
    posted = JournalTransaction.objects.get(kind="credit_note.issue")
    assert posted.memo == f"Credit note {note.number} for invoice {invoice.number}: Outage credit"
    page = _transaction_page(client, finance, posted)
    assert _memo(page) == f"发票 {invoice.number} 的贷项通知单 {note.number}：Outage credit"
    assert "开具贷项通知单" in page


def test_a_write_off_reads_in_chinese(client, acme, finance):
    fund_allowance("100")
    invoice = issued_invoice(acme, "60.00", issue_date=JAN)
    proposed = writeoff_propose(
        customer=acme,
        invoices_amounts=None,
        reason="Customer insolvent",
        actor=finance,
        idempotency_key="wo-1",
        whole=True,
    )
    write_off = writeoff_approve(write_off=proposed, approver=staff(StaffRole.ADMIN))
    posted = write_off.journal_transaction
    assert posted.memo == f"Write-off #{write_off.pk} Acme Agents: {invoice.number}"
    page = _transaction_page(client, finance, posted)
    assert _memo(page) == f"核销 #{write_off.pk} Acme Agents：{invoice.number}"
    assert "坏账核销" in page
