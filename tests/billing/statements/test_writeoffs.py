"""Statements and aging with write-offs and recoveries: the lines, and any past date read the same later.

The scenario: invoice A of 500 issued 2026-03-01 (net 30: due 2026-03-31) and invoice B of 200 issued
2026-04-01 (due 2026-05-01). A is written off on 2026-06-30 (approved later, dated then). The customer pays
120 on 2026-08-10, allocated to A: a recovery.
"""

import datetime as dt
from decimal import Decimal

import pytest

from accounts.models import StaffRole
from billing.invoicing.models import Invoice
from billing.receivables.aging import aging_by_customer
from billing.receivables.selectors import invoice_status_then, invoices_as_of
from billing.receivables.services import payment_record
from billing.receivables.writeoffs import writeoff_approve, writeoff_propose
from billing.statements.build import aging_at, statement_build
from billing.statements.exports import invoices_csv_rows
from tests.billing.factories import staff
from tests.billing.invoicing.factories import credit_terms, issued_invoice
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db
D = Decimal
MAR_1, APR_1, JUN_29, JUN_30 = (
    dt.date(2026, 3, 1),
    dt.date(2026, 4, 1),
    dt.date(2026, 6, 29),
    dt.date(2026, 6, 30),
)
AUG_9, AUG_10 = dt.date(2026, 8, 9), dt.date(2026, 8, 10)


@pytest.fixture
def scenario():
    finance, admin = staff(StaffRole.FINANCE), staff(StaffRole.ADMIN)
    customer = CustomerFactory(name="Gone Co")
    credit_terms(customer, payment_term="net", payment_days=30)
    a = issued_invoice(customer, "500.00", issue_date=MAR_1)
    b = issued_invoice(customer, "200.00", issue_date=APR_1)
    return finance, admin, customer, a, b


def write_off_a(finance, admin, customer, a):
    write_off = writeoff_propose(
        customer=customer,
        invoices_amounts=[(a, None)],
        reason="Insolvent",
        actor=finance,
        idempotency_key="w",
    )
    return writeoff_approve(write_off=write_off, approver=admin, effective_date=JUN_30)


def recover(finance, customer, a):
    return payment_record(
        customer=customer,
        amount=D("120.00"),
        currency="CNY",
        received_on=AUG_10,
        reference="LIQUIDATOR-1",
        actor=finance,
        idempotency_key="recovery",
        allocate=a,
    )


def printed(customer, date_from, date_to):
    statement = statement_build(customer, date_from, date_to, strict=True)
    [section] = statement.receivable_sections
    return section, [(r.date, r.category, r.increase, r.decrease, r.balance) for r in section.rows]


def test_the_statement_shows_the_write_off_and_the_recovery(scenario):
    finance, admin, customer, a, _b = scenario
    write_off = write_off_a(finance, admin, customer, a)
    recover(finance, customer, a)

    section, rows = printed(customer, MAR_1, dt.date(2026, 8, 31))

    assert rows == [
        (MAR_1, "invoice", D("500"), 0, D("500")),
        (APR_1, "invoice", D("200"), 0, D("700")),
        (JUN_30, "write_off", 0, D("500"), D("200")),
        (AUG_10, "payment", 0, D("120"), D("80")),
        (AUG_10, "recovery", D("120"), 0, D("200")),
    ]
    write_off_row = section.rows[2]
    assert write_off_row.reference == f"#{write_off.pk}" and a.number in write_off_row.description
    assert write_off_row.category_label == "Written off"
    assert (section.written_off, section.recovered, section.closing) == (D("500"), D("120"), D("200"))
    assert section.difference == 0
    # the recovered 120 settled A again: only B is open
    assert [bucket.amount for bucket in section.aging if bucket.amount] == [D("200.00")]


def test_aging_and_status_of_past_dates_read_the_same_after_the_write_off_and_the_recovery(scenario):
    finance, admin, customer, a, _b = scenario
    days = (JUN_29, JUN_30, AUG_9, AUG_10)
    before = {day: aging_at(customer, "CNY", day) for day in days}
    # A is 90 days past due (61–90), B 59 (31–60)
    assert [x.amount for x in before[JUN_29]] == [0, 0, D("200.00"), D("500.00"), 0]

    write_off_a(finance, admin, customer, a)
    recover(finance, customer, a)

    # before the write-off's effective date nothing changed; from it on, A is gone
    assert aging_at(customer, "CNY", JUN_29) == before[JUN_29]
    assert [x.amount for x in aging_at(customer, "CNY", JUN_30)] == [0, 0, D("200.00"), 0, 0]
    assert [x.amount for x in aging_at(customer, "CNY", AUG_9)] == [0, 0, 0, 0, D("200.00")]
    # on the recovery day 120 of A reopens and is paid the same day: still only B open
    assert [x.amount for x in aging_at(customer, "CNY", AUG_10)] == [0, 0, 0, 0, D("200.00")]
    # the shared aging rule agrees
    assert aging_by_customer(JUN_29, Invoice.objects.filter(customer=customer))[(customer.pk, "CNY")] == {
        "current": 0,
        "d1_30": 0,
        "d31_60": D("200.00"),
        "d61_90": D("500.00"),
        "d90_plus": 0,
    }

    annotated = {inv.pk: inv for inv in invoices_as_of(Invoice.objects.filter(customer=customer), JUN_29)}
    assert invoice_status_then(annotated[a.pk], JUN_29) == "issued"
    annotated = {inv.pk: inv for inv in invoices_as_of(Invoice.objects.filter(customer=customer), JUN_30)}
    assert invoice_status_then(annotated[a.pk], JUN_30) == "written_off"
    annotated = {inv.pk: inv for inv in invoices_as_of(Invoice.objects.filter(customer=customer), AUG_10)}
    assert (annotated[a.pk].written_off_then, annotated[a.pk].paid_then) == (D("380"), D("120"))
    assert invoice_status_then(annotated[a.pk], AUG_10) == "written_off"
    # the invoices export of the period shows A owing nothing at the end of June
    rows = [line.split(",") for line in "".join(invoices_csv_rows(MAR_1, JUN_30)).splitlines()[1:]]
    by_number = {row[0]: row for row in rows}
    assert by_number[a.number][6] == "written_off" and by_number[a.number][-1] == "0.00"


def test_a_statement_printed_before_the_write_off_reads_the_same_after_it(scenario):
    finance, admin, customer, a, _b = scenario
    before = printed(customer, MAR_1, JUN_29)[1]
    write_off_a(finance, admin, customer, a)
    assert printed(customer, MAR_1, JUN_29)[1] == before
