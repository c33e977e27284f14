"""Accountant CSV exports, the statement command and the zip of a period's statements."""

import csv
import datetime as dt
import io
import zipfile
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from billing.ledger.accounts import account_get
from billing.ledger.models import AccountKind
from billing.ledger.services import credit, debit, transaction_post
from billing.statements import exports
from billing.statements.models import StatementExport
from billing.statements.services import export_request
from tests.billing.documents.helpers import credit_note, invoice, payment
from tests.billing.factories import topup
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db
OCT_1, OCT_31 = dt.date(2026, 10, 1), dt.date(2026, 10, 31)


def rows_of(lines) -> list[list[str]]:
    return list(csv.reader(io.StringIO("".join(lines))))


@pytest.fixture
def books():
    acme = CustomerFactory(name="Acme", code="acme")
    a = invoice(acme, "1000.00", dt.date(2026, 9, 10))
    b = invoice(acme, "500.00", dt.date(2026, 10, 5))
    payment(acme, "1700.00", dt.date(2026, 10, 12), [(a, "1000.00"), (b, "300.00")])
    note = credit_note(b, "100.00", dt.date(2026, 10, 20))
    usd = CustomerFactory(name="Dollar Inc", code="dollar")
    invoice(usd, "99.99", dt.date(2026, 10, 7), currency="USD")
    # A full-precision posting, as rounding differences are: the journal and trial balance keep every digit.
    # (Not an accrual to unbilled: usage no rated event accounts for is what billing_verify refuses.)
    rounding = account_get(kind=AccountKind.ROUNDING, currency="CNY")
    revenue = account_get(kind=AccountKind.REVENUE_USAGE, currency="CNY")
    transaction_post(
        idempotency_key="exp-rounding",
        kind="rounding.adjustment",
        lines=[
            debit(rounding, Decimal("0.000000123457"), "CNY"),
            credit(revenue, Decimal("0.000000123457"), "CNY"),
        ],
        memo="rounding",
        source="test",
        effective_date=dt.date(2026, 10, 15),
    )
    return acme, usd, a, b, note


# Full-precision amounts (1e-12) need PostgreSQL: SQLite, the demo database, stores decimals as REAL.
@pytest.mark.postgres
def test_trial_balance_totals_are_zero_and_closing_is_opening_plus_movements(books):
    rows = rows_of(exports.trial_balance_rows(OCT_1, OCT_31))
    assert rows[0] == [
        "account",
        "account_name",
        "type",
        "currency",
        "opening",
        "debits",
        "credits",
        "closing",
    ]
    body = [r for r in rows[1:] if r[0] != "TOTAL"]
    totals = {r[3]: r for r in rows[1:] if r[0] == "TOTAL"}
    assert set(totals) == {"CNY", "USD"}
    for currency, total in totals.items():
        opening, debits, credits, closing = (Decimal(x) for x in total[4:])
        assert opening == 0 and closing == 0 and debits == credits > 0, currency
    for r in body:
        opening, debits, credits, closing = (Decimal(x) for x in r[4:])
        assert closing == opening + debits - credits
    acme_ar = next(r for r in body if r[0].startswith("receivable:CNY"))
    assert (Decimal(acme_ar[4]), Decimal(acme_ar[5]), Decimal(acme_ar[6])) == (
        Decimal("1000"),
        Decimal("500"),
        Decimal("1800"),
    )
    # Exact decimal strings at full precision, no exponent, no rounding.
    assert any(r[5] == "0.000000123457" for r in body)
    assert not any("E" in cell for r in rows for cell in r[4:])


def test_document_exports_list_the_periods_documents_exactly(books):
    _acme, usd, _a, b, note = books
    invoices = rows_of(exports.invoices_csv_rows(OCT_1, OCT_31))
    assert [r[0] for r in invoices[1:]] == [b.number, usd.invoices.get().number]
    assert invoices[1][10] == "500.00" and invoices[1][13] == "100.00"  # total, still due (500-300-100)
    assert invoices[2][7] == "USD" and invoices[2][10] == "99.99"
    payments = rows_of(exports.payments_csv_rows(OCT_1, OCT_31))
    assert payments[1][7:10] == ["1700.00", "1300.00", "400.00"]
    notes = rows_of(exports.credit_notes_csv_rows(OCT_1, OCT_31))
    assert notes[1][0] == note.number and notes[1][4] == b.number and notes[1][8] == "100.00"
    journal = rows_of(exports.journal_rows(OCT_1, OCT_31))
    dates = {r[1] for r in journal[1:]}
    assert dates and all("2026-10-01" <= d <= "2026-10-31" for d in dates)
    assert sum(Decimal(r[12]) for r in journal[1:] if r[9] == "CNY") == 0


def run_statement(**options):
    args = []
    for name, value in options.items():
        args += [f"--{name}", value]
    call_command("statement", *args)


def test_statement_command_writes_pdf_and_csv(books, tmp_path):
    out = tmp_path / "acme.pdf"
    run_statement(customer="acme", **{"from": "2026-10-01", "to": "2026-10-31"}, format="pdf", out=str(out))
    assert out.read_bytes().startswith(b"%PDF")
    out_csv = tmp_path / "acme.csv"
    run_statement(
        customer=str(books[0].pk),
        **{"from": "2026-10-01", "to": "2026-10-31"},
        format="csv",
        out=str(out_csv),
    )
    rows = rows_of([out_csv.read_text()])
    closing = next(r for r in rows if r[4] == "closing")
    assert Decimal(closing[-1]) == Decimal("-300")  # 1000 + 500 - 1700 - 100


@pytest.mark.parametrize(
    "options, message",
    [
        ({"customer": "nobody"}, "--customer"),
        ({"from": "2026-13-01"}, "--from must be a date"),
        ({"to": "yesterday"}, "--to must be a date"),
        ({"from": "2026-11-01", "to": "2026-10-01"}, "is after --to"),
        ({"format": "docx"}, "--format must be pdf or csv"),
        ({"out": "/nonexistent-dir/x.pdf"}, "--out"),
    ],
)
def test_statement_command_errors_name_the_option(books, tmp_path, options, message):
    base = {
        "customer": "acme",
        "from": "2026-10-01",
        "to": "2026-10-31",
        "format": "pdf",
        "out": str(tmp_path / "x.pdf"),
    }
    with pytest.raises(CommandError, match=message):
        run_statement(**{**base, **options})
    assert not (tmp_path / "x.pdf").exists()


def test_zip_export_has_one_pdf_per_customer_with_activity(
    books, eager_celery, django_capture_on_commit_callbacks, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    acme, usd, *_ = books
    quiet = CustomerFactory(code="quiet")  # no account at all: no statement
    prepaid = CustomerFactory(code="prepaid")
    topup(prepaid, "10.00", "zip-topup")  # today, after the period: no October activity, no statement
    with django_capture_on_commit_callbacks(execute=True):
        export = export_request(date_from=OCT_1, date_to=OCT_31)
    export.refresh_from_db()
    assert export.state == StatementExport.State.DONE, export.error
    assert export.total == export.done == 2
    with export.file.open("rb") as handle, zipfile.ZipFile(handle) as archive:
        names = sorted(archive.namelist())
        assert names == sorted(f"{c.code}.pdf" for c in (acme, usd))
        assert all(archive.read(n).startswith(b"%PDF") for n in names)
    assert quiet.code + ".pdf" not in names and prepaid.code + ".pdf" not in names
    # The parts were cleaned up; only the zip remains.
    assert not list((tmp_path / "statement_exports" / "parts" / str(export.pk)).glob("*.pdf"))
