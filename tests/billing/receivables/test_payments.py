"""Payments: posted in full, allocated oldest first or as chosen, partial, overpayment kept as credit."""

import threading
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection

from billing.invoicing.models import Invoice
from billing.ledger.models import JournalTransaction
from billing.receivables.models import CustomerPayment, PaymentAllocation, Receipt
from billing.receivables.services import customer_credit, payment_allocate, payment_record
from tests.billing.invoicing.factories import issued_invoice
from tests.billing.receivables.conftest import FEB, JAN, MAR
from tests.billing.receivables.helpers import books_agree, receivable, refreshed

pytestmark = pytest.mark.django_db

D = Decimal


def pay(customer, amount, actor, key="pay-1", **kwargs):
    fields = {
        "customer": customer,
        "amount": D(amount),
        "currency": "CNY",
        "received_on": date(2026, 3, 10),
        "reference": "ICBC-0001",
        "actor": actor,
        "idempotency_key": key,
    }
    return payment_record(**{**fields, **kwargs})


def test_a_payment_settles_the_oldest_invoices_first_and_leaves_the_newest_partly_paid(acme, finance):
    # given three invoices due in March, January and February (created in that order)
    march = issued_invoice(acme, "300.00", issue_date=MAR)
    january = issued_invoice(acme, "100.00", issue_date=JAN)
    february = issued_invoice(acme, "200.00", issue_date=FEB)
    assert receivable(acme) == D("600.00")

    # when 350 arrives
    payment = pay(acme, "350.00", finance)

    # then January and February are paid and March has 50 paid
    refreshed(march, january, february)
    assert [(i.status, i.amount_due) for i in (january, february, march)] == [
        ("paid", D("0")),
        ("paid", D("0")),
        ("partially_paid", D("250.00")),
    ]
    assert list(payment.allocations.values_list("invoice__number", "amount")) == [
        (january.number, D("100.00")),
        (february.number, D("200.00")),
        (march.number, D("50.00")),
    ]
    # the ledger: Dr cash / Cr receivable for the whole amount, once
    txn = JournalTransaction.objects.get(kind="receivable.payment.bank")
    assert sorted(txn.entries.values_list("amount", flat=True)) == [D("-350"), D("350")]
    assert receivable(acme) == D("250.00")
    assert books_agree(acme) == (D("250.00"), D("250.00"))
    # and a numbered receipt
    assert Receipt.objects.get(payment=payment).number == "RC-2026-000001"


def test_chosen_allocation_pays_exactly_the_invoices_and_amounts_named(acme, finance):
    first = issued_invoice(acme, "100.00", issue_date=JAN)
    second = issued_invoice(acme, "200.00", issue_date=FEB)

    payment = pay(acme, "150.00", finance, allocate=[(second, D("120.00"))])

    refreshed(first, second)
    assert (first.status, first.amount_paid) == ("issued", D("0"))
    assert (second.status, second.amount_due) == ("partially_paid", D("80.00"))
    assert customer_credit(customer=acme, currency="CNY") == D("30.00")
    assert books_agree(acme) == (D("150.00"), D("150.00"))
    assert payment.allocations.count() == 1


def test_an_overpayment_stays_as_credit_and_is_allocated_to_a_later_invoice(acme, finance):
    january = issued_invoice(acme, "100.00", issue_date=JAN)
    payment = pay(acme, "250.00", finance)
    january.refresh_from_db()
    assert january.status == "paid"
    assert customer_credit(customer=acme, currency="CNY") == D("150.00")
    # a credit balance on the receivable account
    assert books_agree(acme) == (D("-150.00"), D("-150.00"))

    # when the next invoice is issued, nothing moves on its own
    february = issued_invoice(acme, "120.00", issue_date=FEB)
    assert february.status == "issued"

    # until finance allocates the credit
    made = payment_allocate(payment=payment, actor=finance)

    february.refresh_from_db()
    assert [a.amount for a in made] == [D("120.00")]
    assert february.status == "paid"
    assert customer_credit(customer=acme, currency="CNY") == D("30.00")
    assert books_agree(acme) == (D("-30.00"), D("-30.00"))


def test_an_allocation_never_exceeds_what_is_due_or_what_is_left(acme, finance):
    invoice = issued_invoice(acme, "100.00", issue_date=JAN)
    payment = pay(acme, "80.00", finance, allocate=None)

    with pytest.raises(ValidationError) as too_much_for_invoice:
        payment_allocate(payment=payment, allocations=[(invoice, D("100.01"))], actor=finance)
    assert "only 100.00 CNY due" in str(too_much_for_invoice.value)
    with pytest.raises(ValidationError) as too_much_for_payment:
        payment_allocate(payment=payment, allocations=[(invoice, D("90.00"))], actor=finance)
    assert "only 80.00 CNY left" in str(too_much_for_payment.value)
    assert not PaymentAllocation.objects.exists()

    payment_allocate(payment=payment, invoice=invoice, actor=finance)
    invoice.refresh_from_db()
    assert (invoice.amount_paid, invoice.status) == (D("80.00"), "partially_paid")
    # nothing left: a second allocation is a no-op
    assert payment_allocate(payment=payment, actor=finance) == []


def test_replaying_a_payment_returns_the_first_and_changes_nothing(acme, finance):
    issued_invoice(acme, "100.00", issue_date=JAN)
    first = pay(acme, "60.00", finance)
    again = pay(acme, "60.00", finance)

    assert again.pk == first.pk
    assert CustomerPayment.objects.count() == 1
    assert JournalTransaction.objects.filter(kind="receivable.payment.bank").count() == 1
    assert PaymentAllocation.objects.count() == 1
    assert Receipt.objects.count() == 1
    with pytest.raises(ValidationError) as conflict:
        pay(acme, "61.00", finance)
    assert "idempotency_key" in conflict.value.error_dict


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"currency": "USD"}, "currency"),
        ({"amount": D("0")}, "amount"),
        ({"amount": D("-5")}, "amount"),
        ({"amount": D("10.001")}, "amount"),
        ({"received_on": date.today() + timedelta(days=2)}, "received_on"),
        ({"method": "cash"}, "method"),
        ({"idempotency_key": ""}, "idempotency_key"),
    ],
)
def test_bad_input_is_refused_naming_the_field(acme, finance, change, field):
    with pytest.raises(ValidationError) as refused:
        pay(acme, change.pop("amount", D("10.00")), finance, **change)
    assert field in refused.value.error_dict
    assert not CustomerPayment.objects.exists()
    assert not JournalTransaction.objects.exists()


def test_another_customers_invoice_cannot_be_chosen(acme, other, finance):
    theirs = issued_invoice(other, "100.00", issue_date=JAN)
    with pytest.raises(ValidationError) as refused:
        pay(acme, "50.00", finance, allocate=[(theirs, D("50.00"))])
    assert "belongs to another customer" in str(refused.value)
    # the whole payment is rolled back with the refused allocation
    assert not CustomerPayment.objects.exists()
    assert receivable(acme) == D("0")


def test_sales_cannot_record_or_allocate_payments(acme, sales, finance):
    with pytest.raises(PermissionDenied):
        pay(acme, "10.00", sales)
    payment = pay(acme, "10.00", finance, allocate=None)
    issued_invoice(acme, "10.00", issue_date=JAN)
    with pytest.raises(PermissionDenied):
        payment_allocate(payment=payment, actor=sales)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_payments_allocated_to_one_invoice_at_once_never_overpay_it(acme, finance):
    # given one invoice of 100 and two unallocated payments of 100 each
    invoice = issued_invoice(acme, "100.00", issue_date=JAN)
    payments = [pay(acme, "100.00", finance, key=f"race-{n}", allocate=None) for n in range(2)]
    barrier = threading.Barrier(2)
    results, errors = [], []

    def allocate(payment):
        try:
            barrier.wait()
            results.append(payment_allocate(payment=payment, invoice=invoice, actor=finance))
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    # when both are allocated to it concurrently
    threads = [threading.Thread(target=allocate, args=(p,)) for p in payments]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    # then exactly 100 is allocated: one wins, the other finds nothing due (or is refused as not open)
    invoice.refresh_from_db()
    assert invoice.amount_paid == D("100.00")
    assert invoice.status == Invoice.Status.PAID
    assert sum(a.amount for a in PaymentAllocation.objects.all()) == D("100.00")
    assert len(results) + len(errors) == 2
    assert all(isinstance(e, ValidationError) for e in errors)
    assert books_agree(acme) == (D("-100.00"), D("-100.00"))


def test_a_payment_may_be_in_a_currency_the_customer_was_invoiced_in(acme, finance):
    from billing.invoicing.services import LineDraft, invoice_create, invoice_issue

    usd = invoice_create(
        customer=acme,
        currency="USD",
        lines=[LineDraft(kind="service", description="x", amount_exact=D("40"))],
    )
    invoice_issue(invoice=usd, issue_date=JAN)

    pay(acme, "40.00", finance, currency="USD")

    usd.refresh_from_db()
    assert usd.status == "paid"
    assert books_agree(acme, "USD") == (D("0"), D("0"))
    assert books_agree(acme, "CNY") == (D("0"), D("0"))
