"""The statement PDF's column headers never run into each other, in English (long labels like "Payments
and credits") or Chinese; the first page of each is kept as a PNG in test-artifacts/documents/ to look at.

Where each header word sits is read from the PDF itself (``pdftotext -bbox``): the words of one header
cell must end before the next header cell's words begin.
"""

import datetime as dt
import re
import subprocess
from pathlib import Path

import pytest

from billing.documents.pdf import statement_pdf
from billing.invoicing.models import Invoice
from billing.statements.build import statement_build
from tests.billing.documents.helpers import credit_note, invoice, payment
from tests.billing.documents.test_document_layout import first_page_words, overlapping
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db
OCT_1, OCT_31 = dt.date(2026, 10, 1), dt.date(2026, 10, 31)
ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts" / "documents"
# The receivable table's headers, left to right, in each language.
HEADERS = {
    "en": ["Date", "Type", "Reference", "Description", "Due", "Charges", "Payments and credits", "Balance"],
    "zh-hans": ["日期", "类型", "参考号", "描述", "到期日", "费用", "收款及冲减", "余额"],
}


@pytest.fixture
def statement():
    customer = CustomerFactory(name="Acme Robotics International Holdings", code="acme-robotics")
    a = invoice(customer, "1234567.89", dt.date(2026, 9, 10))
    b = invoice(customer, "500000.00", dt.date(2026, 10, 5))
    payment(
        customer, "600000.00", dt.date(2026, 10, 12), [(a, "600000.00")], reference="BANK-TRANSFER-2026-10-12"
    )
    credit_note(b, "100000.00", dt.date(2026, 10, 20), reason="Service credit for the October outage")
    return statement_build(customer, OCT_1, OCT_31, strict=True)


def _header_cells(words, headers: list[str]) -> list[tuple[float, float]]:
    """The x extent of each header cell of the receivable table: the header row is the first row holding
    the table's last header word; a cell's words are those that spell it, in order, at or below it."""
    last = headers[-1].split()[-1]
    row_y = min(y0 for text, _x0, y0, _x1, _y1 in words if text == last)
    # A wrapped header's lines sit within a few lines above the row's bottom word.
    band = [w for w in words if row_y - 30 <= w[2] <= row_y + 2]
    cells = []
    for header in headers:
        parts = header.split()
        found = [w for w in band if w[0] in parts]
        assert found, f"header {header!r} not found in {[w[0] for w in band]}"
        cells.append((min(w[1] for w in found), max(w[3] for w in found)))
    return cells


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_the_statement_headers_do_not_overlap(statement, language, tmp_path):
    pdf = tmp_path / f"statement-{language}.pdf"
    pdf.write_bytes(statement_pdf(statement, language=language))
    words = first_page_words(pdf)
    assert overlapping(words) == []  # no text anywhere on the page runs into its neighbour
    cells = _header_cells(words, HEADERS[language])
    for (_left_start, left_end), (right_start, _right_end), name in zip(
        cells, cells[1:], HEADERS[language][1:], strict=False
    ):
        assert left_end <= right_start, f"the header before {name!r} runs into it: {cells}"
    # Kept to look at (CI keeps test-artifacts/).
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            "pdftoppm",
            "-png",
            "-r",
            "110",
            "-f",
            "1",
            "-l",
            "1",
            "-singlefile",
            str(pdf),
            str(ARTIFACTS / pdf.stem),
        ],
        check=True,
    )
    assert (ARTIFACTS / f"{pdf.stem}.png").stat().st_size > 10_000


def test_amount_headers_may_wrap_but_figures_never_do():
    css = (Path(__file__).resolve().parents[3] / "templates" / "documents" / "print.css").read_text()
    assert re.search(r"table\.lines th\.num\s*\{[^}]*white-space:\s*normal", css)
    assert re.search(r"\.num\s*\{[^}]*white-space:\s*nowrap", css)


def test_an_invoice_number_stays_on_one_line(tmp_path):
    """A reseller's invoice number (INV-<book>-2026-000001, the book's id in it) reads whole: the reference
    column's smaller type keeps it from breaking at a hyphen."""
    customer = CustomerFactory(name="Acme Robotics", code="acme-r")
    number = invoice(customer, "1234567.89", dt.date(2026, 10, 5)).number
    long_number = "INV-12345-" + number.removeprefix("INV-")
    Invoice.objects.filter(number=number).update(number=long_number)
    pdf = tmp_path / "statement.pdf"
    pdf.write_bytes(statement_pdf(statement_build(customer, OCT_1, OCT_31, strict=True), language="en"))
    assert long_number in [w[0] for w in first_page_words(pdf)]
