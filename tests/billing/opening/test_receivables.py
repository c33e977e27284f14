"""Open receivables brought from old books are invoices like any other: issued under their old number,
posted Dr receivable / Cr opening balance equity in the customer's seller's book on their issue date, then
aged, paid, dunned and shown on statements by the code that does so for every invoice."""

from datetime import date, timedelta
from decimal import Decimal

import pytest

from accounts.models import StaffRole
from billing.dunning.models import DunningNotice
from billing.dunning.services import dunning_candidates, dunning_policy_standard, dunning_run
from billing.invoicing.models import Invoice, InvoiceLine
from billing.ledger.accounts import account_get
from billing.ledger.models import AccountKind, JournalEntry, JournalTransaction
from billing.ledger.verify import ledger_problems
from billing.opening.services import opening_import
from billing.receivables.aging import open_items_as_of
from billing.receivables.services import payment_record
from billing.receivables.writeoffs import writeoff_approve, writeoff_propose
from billing.statements.build import statement_build
from tests.billing.factories import staff
from tests.billing.invoicing.factories import credit_terms, issued_invoice
from tests.billing.opening.conftest import opening_csv
from tests.billing.receivables.helpers import books_agree

pytestmark = pytest.mark.django_db
K = AccountKind


def apply(*rows: str, kind="receivables"):
    return opening_import(content=opening_csv(kind, *rows), filename="open.csv", kind=kind, apply=True)


def entries(txn) -> dict:
    return {
        (e.account.kind, e.account.customer_id, e.account.book_id): e.amount
        for e in JournalEntry.objects.filter(transaction=txn).select_related("account")
    }


def test_each_row_becomes_an_issued_opening_invoice_posted_against_equity(acme, beta):
    record = apply(
        "acme,OLD-0412,2026-09-15,2026-10-15,12800.00,CNY,September services",
        "beta,OLD-0413,2026-10-01,,350.5,CNY,",
    )
    assert record.state == "applied" and (record.created, record.unchanged, record.rejected) == (2, 0, 0)
    assert record.totals == {"CNY": {"rows": 2, "amount": "13150.50", "new": "13150.50"}}
    invoice = Invoice.objects.get(number="OLD-0412")
    assert (invoice.customer, invoice.kind, invoice.status, invoice.series) == (
        acme,
        "opening",
        "issued",
        "OPENING",
    )
    assert (invoice.issue_date, invoice.due_date, invoice.currency) == (
        date(2026, 9, 15),
        date(2026, 10, 15),
        "CNY",
    )
    assert (invoice.total, invoice.tax_amount, invoice.amount_due) == (
        Decimal("12800.00"),
        0,
        Decimal("12800.00"),
    )
    (line,) = invoice.lines.all()
    assert (line.kind, line.description, line.amount, line.tax_amount) == (
        InvoiceLine.Kind.OPENING,
        "September services",
        Decimal("12800.00"),
        0,
    )
    txn = invoice.journal_transaction
    assert txn.effective_date == date(2026, 9, 15) and txn.kind == "invoice.issue"
    assert entries(txn) == {
        (K.RECEIVABLE, acme.pk, None): Decimal("12800"),
        (K.OPENING_BALANCE_EQUITY, None, None): Decimal("-12800"),
    }
    # A blank due date is the customer's terms from the issue date (Beta: due on receipt).
    other = Invoice.objects.get(number="OLD-0413")
    assert (
        other.due_date == date(2026, 10, 1)
        and other.lines.get().description == "Opening balance: document OLD-0413"
    )
    equity = account_get(kind=K.OPENING_BALANCE_EQUITY, currency="CNY")
    assert equity.balance == Decimal("-13150.50")
    assert books_agree(acme) == (Decimal("12800.00"), Decimal("12800.00"))
    assert ledger_problems() == []


def test_a_customer_of_a_reseller_is_posted_in_the_reseller_s_book_and_the_reseller_s_own_debt_mirrored(
    reseller,
):
    shop, child = reseller
    apply("child-c,C-1,2026-10-01,2026-10-31,100.00,CNY,", "shop-r,S-1,2026-10-01,2026-10-31,900.00,CNY,")
    child_txn = Invoice.objects.get(number="C-1").journal_transaction
    assert child_txn.book_id == shop.pk
    assert entries(child_txn) == {
        (K.RECEIVABLE, child.pk, shop.pk): Decimal("100"),
        (K.OPENING_BALANCE_EQUITY, None, shop.pk): Decimal("-100"),
    }
    # What the reseller owed its seller is an opening balance of its own book too: its DUE_TO_SELLER.
    mirror = JournalTransaction.objects.get(kind="chain.seller_mirror")
    assert entries(mirror) == {
        (K.OPENING_BALANCE_EQUITY, None, shop.pk): Decimal("900"),
        (K.DUE_TO_SELLER, None, shop.pk): Decimal("-900"),
    }
    assert ledger_problems() == []


def test_aged_by_its_due_date_like_any_invoice(acme):
    apply("acme,OLD-1,2026-09-15,2026-10-15,500.00,CNY,", "acme,OLD-2,2026-11-20,2026-12-20,70.00,CNY,")
    on = date(2026, 11, 30)
    items = {i.number: i for i in open_items_as_of(on, Invoice.objects.filter(customer=acme))}
    # 46 days past due on the 30th of November; the other not due yet.
    assert (items["OLD-1"].bucket, items["OLD-1"].open_then) == ("d31_60", Decimal("500.00"))
    assert items["OLD-2"].bucket == "current"
    # Before its issue date it did not exist yet.
    assert not open_items_as_of(date(2026, 9, 14), Invoice.objects.filter(customer=acme)).exists()


def test_a_payment_is_allocated_to_it_and_it_is_paid(acme):
    apply("acme,OLD-1,2026-09-15,2026-10-15,500.00,CNY,", "acme,OLD-2,2026-10-15,2026-11-14,200.00,CNY,")
    later = issued_invoice(acme, "80.00", issue_date=date(2026, 11, 30))
    payment_record(
        customer=acme,
        amount=Decimal("600.00"),
        currency="CNY",
        received_on=date(2026, 12, 1),
        reference="BANK-77",
        actor=staff(StaffRole.FINANCE),
        idempotency_key="pay-77",
    )
    first, second = Invoice.objects.get(number="OLD-1"), Invoice.objects.get(number="OLD-2")
    later.refresh_from_db()
    # Oldest due first: the opening items, then what this system invoiced.
    assert (first.status, first.amount_due) == ("paid", 0)
    assert (second.status, second.amount_paid, second.amount_due) == (
        "partially_paid",
        Decimal("100.00"),
        Decimal("100.00"),
    )
    assert later.amount_paid == 0
    assert books_agree(acme) == (Decimal("180.00"), Decimal("180.00"))
    aged = {
        i.number: i.open_then
        for i in open_items_as_of(date(2026, 11, 30), Invoice.objects.filter(customer=acme))
    }
    assert aged["OLD-1"] == Decimal("500.00")  # as of the day before the payment, still open


def test_dunning_picks_it_up(acme, mailoutbox):
    credit_terms(
        acme, currency="CNY", dunning_policy=dunning_policy_standard(), billing_emails="ap@acme.example"
    )
    apply("acme,OLD-9,2026-10-01,2026-11-30,1200.00,CNY,")
    invoice = Invoice.objects.get(number="OLD-9")
    candidates, _levels = dunning_candidates(today=date(2026, 12, 7))
    assert list(candidates) == [invoice]
    assert dunning_run(today=date(2026, 12, 7)).sent == 1
    notice = DunningNotice.objects.get(invoice=invoice, skipped=False)
    assert notice.level.days_from_due == 7
    (mail,) = mailoutbox
    assert mail.to == ["ap@acme.example"] and "OLD-9" in mail.subject
    (name, pdf, _mimetype) = mail.attachments[0]
    assert name == "OLD-9.pdf" and pdf.startswith(b"%PDF")


def test_a_statement_lists_it_with_its_old_number(acme):
    apply("acme,OLD-5,2026-10-20,2026-11-19,300.00,CNY,")
    statement = statement_build(customer=acme, date_from=date(2026, 10, 1), date_to=date(2026, 10, 31))
    (section,) = statement.receivable_sections
    assert [(r.reference, r.increase) for r in section.rows] == [("OLD-5", Decimal("300.00"))]
    assert (section.opening, section.charges, section.closing) == (0, Decimal("300.00"), Decimal("300.00"))
    assert [(b.key, b.amount) for b in section.aging if b.amount] == [("current", Decimal("300.00"))]
    assert statement.reconciles


def test_importing_again_changes_nothing(acme):
    rows = ("acme,OLD-1,2026-09-15,2026-10-15,500.00,CNY,", "acme,OLD-2,2026-10-15,,200.00,CNY,")
    apply(*rows)
    again = apply(*rows, "acme,OLD-3,2026-11-01,2026-11-30,10.00,CNY,")
    assert again.state == "applied" and (again.created, again.unchanged) == (1, 2)
    assert Invoice.objects.filter(customer=acme).count() == 3
    assert JournalTransaction.objects.filter(kind="invoice.issue").count() == 3
    assert account_get(kind=K.RECEIVABLE, currency="CNY", customer=acme).balance == Decimal("710")


def test_the_same_document_with_other_figures_is_an_error_naming_what_is_stored(acme):
    apply("acme,OLD-1,2026-09-15,2026-10-15,500.00,CNY,")
    changed = apply(
        "acme,OLD-1,2026-09-15,2026-10-20,550.00,CNY,", "acme,OLD-2,2026-09-15,2026-10-15,1.00,CNY,"
    )
    assert changed.state == "refused" and changed.created == 0
    assert changed.errors == [
        {
            "row": 2,
            "field": "due_date",
            "message": "Document OLD-1 was imported already with due_date 2026-10-15, not 2026-10-20.",
        },
        {
            "row": 2,
            "field": "amount",
            "message": "Document OLD-1 was imported already with amount 500.00, not 550.00.",
        },
    ]
    assert not Invoice.objects.filter(number="OLD-2").exists()


def test_a_blank_due_date_is_the_customer_s_payment_terms_from_the_issue_date(acme):
    # Payment terms are read at import: the due date of a blank cell is the terms' then.
    apply("acme,OLD-1,2026-09-15,,500.00,CNY,")
    assert Invoice.objects.get(number="OLD-1").due_date == date(2026, 9, 15) + timedelta(days=30)


def test_it_is_written_off_like_any_invoice(acme):
    apply("acme,OLD-8,2026-06-01,2026-07-01,400.00,CNY,")
    invoice = Invoice.objects.get(number="OLD-8")
    proposal = writeoff_propose(
        customer=acme,
        reason="Customer went bankrupt before the move",
        actor=staff(StaffRole.FINANCE),
        idempotency_key="wo-old-8",
        invoices_amounts=[(invoice, None)],
    )
    writeoff_approve(write_off=proposal, approver=staff(StaffRole.ADMIN), effective_date=date(2026, 12, 1))
    invoice.refresh_from_db()
    assert (invoice.status, invoice.amount_written_off, invoice.amount_due) == (
        "written_off",
        Decimal("400.00"),
        0,
    )
    assert account_get(kind=K.RECEIVABLE, currency="CNY", customer=acme).balance == 0
    assert not open_items_as_of(date(2026, 12, 1), Invoice.objects.filter(customer=acme)).exists()
    assert ledger_problems() == []
