"""Credit notes (full, partial, with tax) and voids: what is posted, what stays due, what is refused."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from billing.invoicing.models import Invoice, InvoiceLine
from billing.invoicing.services import LINE_ACCOUNT_KIND, LineDraft, invoice_create, invoice_issue
from billing.ledger.accounts import account_get
from billing.ledger.models import AccountKind, JournalTransaction
from billing.receivables.credit_notes import (
    REVENUE_BY_KIND,
    credit_note_issue,
    invoice_void,
    lines_remaining,
)
from billing.receivables.models import CreditNote
from billing.receivables.services import customer_credit, payment_record
from tests.billing.invoicing.factories import credit_terms
from tests.billing.receivables.conftest import JAN
from tests.billing.receivables.helpers import books_agree, receivable

pytestmark = pytest.mark.django_db

D = Decimal


def account(kind):
    return account_get(kind=kind, currency="CNY").balance


@pytest.fixture
def taxed(acme):
    """An issued invoice at 6% tax: usage 1000.00 (+60.00) and services 333.33 (+20.00)."""
    credit_terms(acme, currency="CNY", tax_rate=D("0.06"))
    draft = invoice_create(
        customer=acme,
        lines=[
            LineDraft(kind="usage", description="gpt-4o tokens", amount_exact=D("1000.000000004")),
            LineDraft(kind="service", description="Prompt engineering", amount_exact=D("333.33")),
        ],
    )
    return invoice_issue(invoice=draft, issue_date=JAN)


def lines_of(invoice):
    return list(invoice.lines.order_by("position"))


def credit(invoice, actor, key="cn-1", **kwargs):
    return credit_note_issue(
        invoice=invoice, reason="Wrong rate billed", actor=actor, idempotency_key=key, **kwargs
    )


def test_a_full_credit_note_reverses_revenue_by_line_kind_and_tax(taxed, finance):
    assert (taxed.subtotal, taxed.tax_amount, taxed.total) == (D("1333.33"), D("80.00"), D("1413.33"))
    usage_revenue_before = account(AccountKind.REVENUE_USAGE)

    note = credit(taxed, finance)

    taxed.refresh_from_db()
    assert note.number == f"CN-{note.issue_date.year}-000001"
    assert (note.subtotal, note.tax_amount, note.total) == (D("1333.33"), D("80.00"), D("1413.33"))
    assert (taxed.amount_credited, taxed.amount_due, taxed.status) == (D("1413.33"), D("0"), "paid")
    # Dr revenue: usage 1000, Dr revenue: services 333.33, Dr tax 80 / Cr receivable 1413.33
    assert account(AccountKind.REVENUE_USAGE) - usage_revenue_before == D("1000.00")
    assert account(AccountKind.REVENUE_SERVICES) == D("0")
    assert account(AccountKind.TAX_PAYABLE) == D("0")
    assert receivable(taxed.customer) == D("0")
    assert books_agree(taxed.customer) == (D("0"), D("0"))
    assert note.journal_transaction.kind == "credit_note.issue"


def test_partial_credits_reverse_tax_in_proportion_and_add_up_to_the_line(taxed, finance):
    _usage, service = lines_of(taxed)

    first = credit(taxed, finance, key="cn-a", lines=[(service, D("100.00"))])
    second = credit(taxed, finance, key="cn-b", lines=[(service, D("233.33"))])

    # 20.00 × 100/333.33 = 6.00; the last credit of the line takes the tax that is left: 14.00
    assert (first.subtotal, first.tax_amount, first.total) == (D("100.00"), D("6.00"), D("106.00"))
    assert (second.subtotal, second.tax_amount) == (D("233.33"), D("14.00"))
    taxed.refresh_from_db()
    assert taxed.amount_credited == D("353.33")
    assert (taxed.amount_due, taxed.status) == (D("1060.00"), "issued")
    assert account(AccountKind.TAX_PAYABLE) == D("-60.00")  # only the usage line's tax is left owed
    assert books_agree(taxed.customer) == (D("1060.00"), D("1060.00"))
    # nothing is left of that line
    with pytest.raises(ValidationError) as refused:
        credit(taxed, finance, key="cn-c", lines=[(service, D("0.01"))])
    assert "only 0.00 CNY is left" in str(refused.value)


def test_an_amount_is_spread_over_the_lines_and_never_more_than_is_left(taxed, finance):
    with pytest.raises(ValidationError) as refused:
        credit(taxed, finance, amount=D("1333.34"))
    assert "amount" in refused.value.error_dict

    note = credit(taxed, finance, amount=D("133.33"))

    assert note.subtotal == D("133.33")
    assert sorted(note.lines.values_list("amount", flat=True)) == [D("33.33"), D("100.00")]
    assert books_agree(taxed.customer)[0] == books_agree(taxed.customer)[1]


def test_crediting_a_paid_invoice_leaves_the_money_as_customer_credit(acme, taxed, finance):
    payment_record(
        customer=acme,
        amount=D("1413.33"),
        currency="CNY",
        received_on=date(2026, 2, 1),
        reference="ICBC-1",
        actor=finance,
        idempotency_key="p-1",
    )
    taxed.refresh_from_db()
    assert taxed.status == "paid"
    _usage, service = lines_of(taxed)

    credit(taxed, finance, lines=[(service, D("333.33"))])

    taxed.refresh_from_db()
    assert (taxed.amount_paid, taxed.amount_credited, taxed.amount_due) == (D("1060.00"), D("353.33"), D("0"))
    assert taxed.status == "paid"
    assert customer_credit(customer=acme, currency="CNY") == D("353.33")
    assert books_agree(acme) == (D("-353.33"), D("-353.33"))


def test_replaying_a_credit_note_returns_the_first(taxed, finance):
    first = credit(taxed, finance)
    again = credit(taxed, finance)
    assert again.pk == first.pk
    assert CreditNote.objects.count() == 1
    assert JournalTransaction.objects.filter(kind="credit_note.issue").count() == 1


def test_bad_credit_notes_are_refused(acme, taxed, finance, sales):
    draft = invoice_create(
        customer=acme, lines=[LineDraft(kind="service", description="x", amount_exact=D("5"))]
    )
    with pytest.raises(ValidationError) as no_reason:
        credit_note_issue(invoice=taxed, reason=" ", actor=finance, idempotency_key="k")
    assert "reason" in no_reason.value.error_dict
    with pytest.raises(ValidationError, match="only an issued invoice"):
        credit(draft, finance)
    with pytest.raises(PermissionDenied):
        credit(taxed, sales)
    other_line = draft.lines.get()
    with pytest.raises(ValidationError, match="not on this invoice"):
        credit(taxed, finance, lines=[(other_line, D("1.00"))])
    assert not CreditNote.objects.exists()


def test_voiding_a_draft_marks_it_void_without_posting_and_keeps_the_series_gapless(acme, finance):
    draft = invoice_create(
        customer=acme, lines=[LineDraft(kind="service", description="x", amount_exact=D("5"))]
    )
    void = invoice_void(invoice=draft, reason="Duplicate", actor=finance)
    year = void.issue_date.year
    assert (void.status, void.number, void.journal_transaction_id) == ("void", f"INV-{year}-000001", None)
    assert void.amount_due == D("0")
    assert not JournalTransaction.objects.exists()
    assert not CreditNote.objects.exists()
    assert "Duplicate" in void.notes


def test_voiding_an_issued_invoice_credits_what_is_left(taxed, finance):
    _usage, service = lines_of(taxed)
    credit(taxed, finance, key="partial", lines=[(service, D("100.00"))])

    void = invoice_void(invoice=taxed, reason="Customer cancelled", actor=finance)

    assert void.status == Invoice.Status.VOID
    assert void.amount_due == D("0")
    voiding = CreditNote.objects.get(voids_invoice=True)
    assert voiding.total == D("1413.33") - D("106.00")
    assert void.amount_credited == void.total
    assert books_agree(taxed.customer) == (D("0"), D("0"))
    # voiding again changes nothing; a void invoice cannot be credited
    assert invoice_void(invoice=void, reason="again", actor=finance).status == "void"
    assert CreditNote.objects.count() == 2
    with pytest.raises(ValidationError):
        credit(void, finance, key="after")


def test_an_invoice_with_payments_cannot_be_voided(acme, taxed, finance):
    payment_record(
        customer=acme,
        amount=D("10.00"),
        currency="CNY",
        received_on=date(2026, 2, 1),
        reference="r",
        actor=finance,
        idempotency_key="p",
    )
    with pytest.raises(ValidationError, match="Issue a credit note instead"):
        invoice_void(invoice=taxed, reason="x", actor=finance)
    taxed.refresh_from_db()
    assert taxed.status == "partially_paid"
    assert not CreditNote.objects.exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_full_credit_notes_racing_on_one_invoice_credit_it_once(acme, finance):
    import threading

    from django.db import connection

    from tests.billing.invoicing.factories import issued_invoice

    invoice = issued_invoice(acme, "100.00", issue_date=JAN)
    barrier = threading.Barrier(2)
    notes, errors = [], []

    def full_credit(key):
        try:
            barrier.wait()
            notes.append(credit(invoice, finance, key=key))
        except ValidationError as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=full_credit, args=(f"race-{n}",)) for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    invoice.refresh_from_db()
    assert (len(notes), len(errors)) == (1, 1)
    assert "Nothing is left to credit" in str(errors[0])
    assert invoice.amount_credited == D("100.00")
    assert books_agree(acme) == (D("0"), D("0"))


def test_an_amount_over_many_small_lines_never_credits_a_line_beyond_what_is_left(acme, finance):
    # 31 lines of 0.01 at 6%: the proportional share of each is 0.0048…, which rounds to nothing; the last
    # line used to take the whole 0.15 (billed 0.01, then −0.14 left to credit).
    credit_terms(acme, currency="CNY", tax_rate=D("0.06"))
    lines = [LineDraft(kind="service", description=f"l{i}", amount_exact=D("0.01")) for i in range(31)]
    invoice = invoice_issue(invoice=invoice_create(customer=acme, lines=lines), actor=finance)

    note = credit(invoice, finance, amount=D("0.15"))

    rows = list(note.lines.order_by("invoice_line__position"))
    assert note.subtotal == D("0.15")
    assert [r.amount for r in rows] == [D("0.01")] * 15  # largest remainder: one unit each, in order
    assert all(r.tax_amount <= r.invoice_line.tax_amount for r in rows)
    remaining = lines_remaining(invoice)
    assert all(r.net >= 0 and r.tax >= 0 for r in remaining)
    assert sum(r.net for r in remaining) == D("0.16")
    invoice.refresh_from_db()
    assert books_agree(acme) == (invoice.amount_due, invoice.amount_due)


@pytest.mark.parametrize(
    ("amounts", "credits"),
    [
        (["0.01", "0.01", "999.99"], ["0.02", "500.00", "499.99"]),
        (["0.03", "0.03", "0.03"], ["0.01", "0.01", "0.07"]),
        (["1.00", "2.00", "0.01", "0.01", "3.33"], ["0.05", "6.30"]),
    ],
)
def test_successive_amount_credits_stay_within_every_line(acme, finance, amounts, credits):
    credit_terms(acme, currency="CNY", tax_rate=D("0.13"))
    lines = [LineDraft(kind="service", description=f"l{i}", amount_exact=D(a)) for i, a in enumerate(amounts)]
    invoice = invoice_issue(invoice=invoice_create(customer=acme, lines=lines), actor=finance)

    for index, amount in enumerate(credits):
        note = credit(invoice, finance, key=f"cn-{index}", amount=D(amount))
        assert note.subtotal == D(amount)
        assert all(r.net >= 0 and r.tax >= 0 for r in lines_remaining(invoice))

    invoice.refresh_from_db()
    assert invoice.amount_credited == invoice.total  # the credits add up to everything, tax included
    assert (invoice.amount_due, account(AccountKind.TAX_PAYABLE)) == (D("0"), D("0"))


def test_fully_crediting_a_pack_invoice_reverses_the_revenue_its_issue_booked(acme, finance):
    credit_terms(acme, currency="CNY", tax_rate=D("0.06"))
    draft = invoice_create(
        customer=acme,
        lines=[
            LineDraft(kind="pack", description="10M tokens pack", amount_exact=D("50")),
            LineDraft(kind="subscription", description="Team plan", amount_exact=D("20")),
        ],
    )
    invoice = invoice_issue(invoice=draft, actor=finance)
    assert account(AccountKind.REVENUE_SUBSCRIPTIONS) == D("-70.00")  # credit-normal: negative

    credit(invoice, finance)

    assert account(AccountKind.REVENUE_SUBSCRIPTIONS) == D("0")
    assert account(AccountKind.PROMOTIONAL_CREDIT) == D("0")
    assert account(AccountKind.TAX_PAYABLE) == D("0")
    assert receivable(acme) == D("0")


def test_every_line_kind_is_credited_back_to_the_revenue_account_issuing_booked():
    assert set(REVENUE_BY_KIND) == set(InvoiceLine.Kind.values)
    for kind, issued_to in LINE_ACCOUNT_KIND.items():
        # usage was booked to revenue when accrued; issuing relieved the accrual
        expected = AccountKind.REVENUE_USAGE if kind == InvoiceLine.Kind.USAGE else issued_to
        assert REVENUE_BY_KIND[kind] == expected
