"""A posting's memo is stored beside it as a message (``memo_message``) and read in the reader's language;
the English memo column, the idempotency fingerprint and the CSV stay as they were."""

import csv
import io
from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import translation

from accounts.models import MemberRole, StaffRole
from billing.ledger.exceptions import IdempotencyConflictError
from billing.ledger.models import JournalTransaction
from billing.ledger.services import (
    Posting,
    credit,
    debit,
    transaction_post,
    transaction_reverse,
    transactions_post_many,
)
from common.stored_text import stored, stored_render
from tests.billing.factories import cash, revenue, staff
from tests.billing.ledger.books import two_books
from tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _language_restored():
    """A page activates the language its request asks for, and it stays active in this thread: the next
    test starts in the default language again."""
    yield
    translation.deactivate()


MEMO = "Invoice INV-2026-0007"
MESSAGE = stored("invoicing.memo.invoice", number="INV-2026-0007")


def _post(key="k1", memo=MEMO, memo_message=MESSAGE, amount="10.50", kind="invoice.issue"):
    return transaction_post(
        idempotency_key=key,
        kind=kind,
        lines=[debit(cash(), Decimal(amount), "CNY"), credit(revenue(), Decimal(amount), "CNY")],
        memo=memo,
        memo_message=memo_message,
    )


def test_a_posting_stores_its_message_beside_the_english_memo():
    txn = _post()
    txn.refresh_from_db()
    assert txn.memo == MEMO
    assert txn.memo_message == {"key": "invoicing.memo.invoice", "params": {"number": "INV-2026-0007"}}
    assert stored_render(txn.memo_message, txn.memo, language="en") == MEMO
    assert stored_render(txn.memo_message, txn.memo, language="zh-hans") == "发票 INV-2026-0007"


def test_the_message_is_not_part_of_the_idempotency_fingerprint():
    first = _post()
    # The same request with another message (or none) is a replay, not a conflict: the first stands.
    assert _post(memo_message=stored("invoicing.memo.invoice", number="other")).pk == first.pk
    assert _post(memo_message=None).pk == first.pk
    assert JournalTransaction.objects.count() == 1
    first.refresh_from_db()
    assert first.memo_message["params"]["number"] == "INV-2026-0007"
    # The English memo still is: a different memo under the same key conflicts as before.
    with pytest.raises(IdempotencyConflictError):
        _post(memo="Invoice INV-2026-0008")


def test_bulk_postings_and_reversals_store_their_messages_too():
    reason = stored("wallets.memo.adjustment", reason="typo")
    posted = transactions_post_many(
        postings=[
            Posting(
                idempotency_key=f"bulk-{n}",
                kind="invoice.issue",
                lines=[debit(cash(), Decimal("1"), "CNY"), credit(revenue(), Decimal("1"), "CNY")],
                memo=f"Invoice N-{n}",
                memo_message=stored("invoicing.memo.invoice", number=f"N-{n}"),
            )
            for n in (1, 2)
        ]
    )
    assert [
        t.memo_message["params"]["number"]
        for t in JournalTransaction.objects.filter(pk__in=[t.pk for t in posted]).order_by("pk")
    ] == [
        "N-1",
        "N-2",
    ]
    reversal = transaction_reverse(
        original=posted[0], idempotency_key="rev", memo="Manual adjustment: typo", memo_message=reason
    )
    reversal.refresh_from_db()
    assert reversal.memo_message == reason
    with translation.override("zh-hans"):
        assert stored_render(reversal.memo_message, reversal.memo) == "手工调整：typo"


def test_staff_ledger_pages_read_memos_and_kinds_in_chinese(client):
    txn = _post()
    old = _post(key="old", memo="written before messages", memo_message=None, kind="usage.prepaid")
    client.force_login(staff(StaffRole.FINANCE))
    client.cookies["django_language"] = "zh-hans"
    journal = client.get(reverse("staff-journal")).content.decode()
    assert "发票 INV-2026-0007" in journal and MEMO not in journal
    assert "开具发票" in journal and "API 用量" in journal  # kinds as labels, the dotted kind on hover
    assert 'title="invoice.issue"' in journal
    # The kind filter offers the known kinds by their labels; a prefix still filters.
    assert (
        'list="transaction-kinds"' in journal and '<option value="invoice.issue">开具发票</option>' in journal
    )
    filtered = client.get(reverse("staff-journal"), {"kind": "invoice."}).content.decode()
    assert "发票 INV-2026-0007" in filtered and "written before messages" not in filtered
    # A row from before messages existed shows its memo as written.
    assert "written before messages" in journal
    detail = client.get(reverse("staff-journal-transaction", args=[txn.pk])).content.decode()
    assert 'data-testid="transaction-memo">发票 INV-2026-0007<' in detail
    assert "开具发票" in detail
    account = client.get(reverse("staff-ledger-account", args=[cash().pk])).content.decode()
    assert "发票 INV-2026-0007" in account and MEMO not in account
    assert f"#{old.pk}<" in account

    client.cookies["django_language"] = "en"
    english = client.get(reverse("staff-journal-transaction", args=[txn.pk])).content.decode()
    assert f'data-testid="transaction-memo">{MEMO}<' in english and "Invoice issued" in english


def test_the_journal_csv_keeps_the_english_memo(client):
    _post()
    client.force_login(staff(StaffRole.FINANCE))
    client.cookies["django_language"] = "zh-hans"
    response = client.get(reverse("staff-journal"), {"export": "csv"})
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode().lstrip("\ufeff"))))
    assert {row["memo"] for row in rows} == {MEMO}
    assert {row["kind"] for row in rows} == {"invoice.issue"}


def test_a_resellers_own_book_reads_in_chinese(client):
    books = two_books()
    sale = transaction_post(
        idempotency_key="s-invoice",
        kind="invoice.issue",
        lines=[
            debit(cash(book=books.s), Decimal("5"), "CNY"),
            credit(revenue(book=books.s), Decimal("5"), "CNY"),
        ],
        memo="Invoice S-1",
        memo_message=stored("invoicing.memo.invoice", number="S-1"),
        effective_date=date(2026, 3, 25),
    )
    client.force_login(MembershipFactory(customer=books.s, role=MemberRole.OWNER).user)
    client.cookies["django_language"] = "zh-hans"
    page = client.get(reverse("portal-book-journal")).content.decode()
    assert f"#{sale.pk}<" in page
    assert "发票 S-1" in page and "开具发票" in page
    assert "Invoice S-1" not in page
