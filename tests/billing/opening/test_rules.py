"""What makes a row wrong, said with its row and field; all or nothing when any row is."""

from datetime import timedelta

import pytest
from django.utils import timezone

from billing.invoicing.models import Invoice
from billing.ledger.models import JournalTransaction
from billing.opening.services import opening_import
from tests.billing.invoicing.factories import issued_invoice
from tests.billing.opening.conftest import opening_csv

pytestmark = pytest.mark.django_db


def run(*rows: str, kind="receivables", apply=False):
    return opening_import(content=opening_csv(kind, *rows), filename="open.csv", kind=kind, apply=apply)


def errors_of(record) -> list[tuple[int, str, str]]:
    return [(e["row"], e["field"], e["message"]) for e in record.errors]


def test_every_bad_value_is_named_by_row_and_field(acme, prepaid):
    record = run(
        "nobody,D-1,2026-09-01,2026-09-30,10.00,CNY,",
        "acme,D-2,2026-13-01,2026-09-30,10.00,CNY,",
        "acme,D-3,2026-09-10,2026-09-01,10.00,CNY,",
        "acme,D-4,2026-09-01,2026-09-30,0,CNY,",
        "acme,D-5,2026-09-01,2026-09-30,-5,CNY,",
        "acme,D-6,2026-09-01,2026-09-30,10.005,CNY,",
        "acme,D-7,2026-09-01,2026-09-30,10.00,XXX,",
        "acme,D-8,2026-09-01,2026-09-30,10.00,USD,",
        "pre,D-9,2026-09-01,2026-09-30,10.00,CNY,",
        "acme,,2026-09-01,2026-09-30,ten,CNY,",
    )
    assert record.state == "preview" and record.rejected == 10 and record.created == 0
    assert errors_of(record) == [
        (2, "customer", "No customer has the code 'nobody'."),
        (3, "issue_date", "issue_date must be a date as YYYY-MM-DD, not '2026-13-01'."),
        (4, "due_date", "due_date 2026-09-01 is before issue_date 2026-09-10."),
        (5, "amount", "amount must be greater than zero, not 0: an opening balance is what is owed or held."),
        (
            6,
            "amount",
            "amount must be greater than zero, not -5: an opening balance is what is owed or held.",
        ),
        (7, "amount", "CNY amounts have at most 2 decimal places, not 10.005."),
        (8, "currency", "'XXX' is not an ISO 4217 currency code such as CNY or USD."),
        (
            9,
            "currency",
            "Acme Agents is billed in CNY, not USD: its credit limit and dunning are kept in that currency.",
        ),
        (
            10,
            "customer",
            "Pre Paid is on prepaid terms: only credit customers are invoiced and collected here. Move it to "
            "monthly or quarterly credit first, or import what it owes net of its deposit.",
        ),
        (11, "document", "document is missing."),
        (11, "amount", "amount must be a decimal number such as 1234.50, not 'ten'."),
    ]


def test_a_future_date_and_a_customer_without_terms_are_refused(acme):
    from tests.factories import CustomerFactory

    CustomerFactory(name="No Terms", code="none")
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
    record = run(f"acme,D-1,{tomorrow},,10.00,CNY,", "none,D-2,2026-09-01,,10.00,CNY,")
    assert errors_of(record) == [
        (
            2,
            "issue_date",
            f"issue_date {tomorrow} is in the future: an opening balance is what the old books held.",
        ),
        (3, "customer", "No Terms has no billing terms: give it credit terms before importing what it owes."),
    ]


def test_a_document_twice_in_the_file_and_a_number_another_invoice_has(acme, beta):
    taken = issued_invoice(beta, "10.00")
    record = run(
        "acme,D-1,2026-09-01,,10.00,CNY,",
        "acme,D-1,2026-09-01,,10.00,CNY,",
        "beta,D-1,2026-09-01,,10.00,CNY,",
        f"acme,{taken.number},2026-09-01,,10.00,CNY,",
    )
    assert errors_of(record) == [
        (3, "document", "Document D-1 of Acme Agents is also on row 2: each document once per file."),
        (
            4,
            "document",
            "Document D-1 is also on row 2, for Acme Agents: an opening invoice keeps its old number, and "
            "invoice numbers are unique.",
        ),
        (
            5,
            "document",
            f"Number {taken.number} is already used by invoice {taken.number} of Beta Labs (beta), issued "
            f"{taken.issue_date.isoformat()}: an opening invoice keeps the old number, which must be unique.",
        ),
    ]


def test_one_bad_row_among_good_ones_applies_nothing_and_the_good_ones_are_listed_valid(acme, beta):
    rows = (
        "acme,D-1,2026-09-01,,10.00,CNY,",
        "beta,D-2,2026-09-01,,20.00,CNY,",
        "acme,D-3,2026-09-01,,abc,CNY,",
        "beta,D-4,2026-09-01,,30.00,CNY,",
    )
    preview = run(*rows)
    assert [(p.row, p.outcome) for p in preview.plan.rows] == [
        (2, "created"),
        (3, "created"),
        (4, "error"),
        (5, "created"),
    ]
    assert preview.totals == {"CNY": {"rows": 3, "amount": "60.00", "new": "60.00"}}
    applied = run(*rows, apply=True)
    assert applied.state == "refused" and applied.created == 0 and applied.rejected == 1
    assert errors_of(applied) == [
        (4, "amount", "amount must be a decimal number such as 1234.50, not 'abc'.")
    ]
    assert not Invoice.objects.exists() and not JournalTransaction.objects.exists()


def test_a_code_in_capitals_and_amounts_with_thousands_separators_are_read(acme):
    record = run('ACME,D-1,2026/09/01,,"1,234.50",cny,', apply=True)
    assert record.state == "applied"
    invoice = Invoice.objects.get(number="D-1")
    assert (invoice.customer, str(invoice.total), invoice.currency) == (acme, "1234.50", "CNY")


def test_a_file_refused_as_a_whole_says_why(acme):
    cases = {
        b"": "The file is empty.",
        b"customer,document,issue_date,due_date,amount,currency\n": "The file has its header but no rows.",
        b"customer,document,issue_date,amount,currency\nacme,D,2026-09-01,1,CNY\n": (
            "Wrong header for a receivables file: missing column(s) due_date. Expected the columns "
            "customer,document,issue_date,due_date,amount,currency,description."
        ),
        b"PK\x03\x04\x14\x00\x06\x00": (
            "This is an Excel workbook, not a CSV file: in Excel choose Save As, “CSV UTF-8”, and "
            "import that."
        ),
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR": (
            "The file is binary or UTF-16, not CSV text: save it as “CSV UTF-8”."
        ),
    }
    for content, message in cases.items():
        record = opening_import(content=content, filename="bad.csv", kind="receivables", apply=True)
        assert record.state == "refused" and record.plan is None
        assert record.errors == [{"row": 0, "field": "file", "message": message}], content


def test_utf8_with_bom_and_gbk_from_excel_are_read(acme):
    text = opening_csv("receivables", "acme,旧-1,2026-09-01,,10.00,CNY,九月服务").decode()
    for encoding in ("utf-8-sig", "gbk"):
        record = opening_import(
            content=text.encode(encoding), filename="x.csv", kind="receivables", apply=False
        )
        (planned,) = record.plan.rows
        assert (planned.outcome, planned.source.document, planned.source.description) == (
            "created",
            "旧-1",
            "九月服务",
        ), encoding
