"""PDF documents: the statement's text carries the ledger's figures; Chinese really renders."""

import datetime as dt
import subprocess
from decimal import Decimal
from io import BytesIO

import pytest
from PIL import Image

from billing.documents.pdf import (
    credit_note_pdf,
    invoice_pdf,
    receipt_pdf,
    statement_pdf,
    usage_statement_pdf,
)
from billing.invoicing.models import UsageStatement
from billing.receivables.models import Receipt
from billing.statements.build import statement_build
from tests.billing.documents.helpers import credit_note, invoice, payment
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db
OCT_1, OCT_31 = dt.date(2026, 10, 1), dt.date(2026, 10, 31)
ZH_NAME = "上海智算科技有限公司"


def pdf_text(data: bytes) -> str:
    return subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=data, capture_output=True, check=True
    ).stdout.decode()


def test_statement_pdf_carries_the_ledger_opening_and_closing():
    customer = CustomerFactory(name="Acme Robotics")
    a = invoice(customer, "1234.56", dt.date(2026, 9, 10))
    invoice(customer, "500.00", dt.date(2026, 10, 5))
    payment(customer, "2000.00", dt.date(2026, 10, 25), [(a, "1234.56")])
    statement = statement_build(customer, OCT_1, OCT_31, strict=True)
    [section] = statement.sections
    assert (section.opening, section.ledger_closing) == (Decimal("1234.56"), Decimal("-265.44"))
    data = statement_pdf(statement)
    assert data.startswith(b"%PDF")
    text = pdf_text(data)
    assert "Statement of account" in text and "Acme Robotics" in text
    assert "1,234.56" in text and "-265.44" in text
    assert "2026-10-01 – 2026-10-31" in text


def _ink_cells(png: Image.Image, box, cells: int) -> list[bytes]:
    """Split ``box`` (pixels) into ``cells`` equal columns; return each column's black/white bitmap."""
    x0, y0, x1, y1 = box
    width = (x1 - x0) / cells
    out = []
    for i in range(cells):
        cell = png.crop((int(x0 + i * width), y0, int(x0 + (i + 1) * width), y1)).convert("L")
        out.append(bytes(0 if p < 128 else 1 for p in cell.tobytes()))
    return out


def test_chinese_statement_renders_real_glyphs_with_the_shipped_font(tmp_path):
    customer = CustomerFactory(name=ZH_NAME, language="zh-hans")
    invoice(customer, "88.00", dt.date(2026, 10, 9))
    data = statement_pdf(statement_build(customer, OCT_1, OCT_31))
    fonts = subprocess.run(["pdffonts", "-"], input=data, capture_output=True, check=True).stdout.decode()
    # The shipped Source Han Sans SC subset is embedded (not a system fallback, not missing).
    assert "Doc-Sans-SC" in fonts, fonts
    assert ZH_NAME in pdf_text(data)
    # Where is the name on the page? pdftotext's bounding boxes, in points.
    (tmp_path / "s.pdf").write_bytes(data)
    bbox = subprocess.run(
        ["pdftotext", "-bbox", str(tmp_path / "s.pdf"), "-"], capture_output=True, check=True
    ).stdout.decode()
    line = next(part for part in bbox.splitlines() if ZH_NAME in part)
    attrs = dict(item.split("=") for item in line.split(">")[0].split()[1:])
    x0, y0, x1, y1 = (float(attrs[k].strip('"')) for k in ("xMin", "yMin", "xMax", "yMax"))
    dpi = 150
    png = subprocess.run(
        ["pdftoppm", "-png", "-r", str(dpi), "-f", "1", "-l", "1", str(tmp_path / "s.pdf")],
        capture_output=True,
        check=True,
    ).stdout
    image = Image.open(BytesIO(png))
    scale = dpi / 72
    box = (round(x0 * scale), round(y0 * scale), round(x1 * scale), round(y1 * scale))
    cells = _ink_cells(image, box, len(ZH_NAME))
    for cell in cells:
        ink = cell.count(0) / len(cell)
        assert 0.03 < ink < 0.6, f"a glyph cell is {ink:.0%} ink: blank or a filled box"
    # .notdef boxes would all look alike; ten different hanzi give (nearly) ten different bitmaps.
    assert len(set(cells)) >= len(ZH_NAME) - 1


def test_documents_render_in_their_language():
    customer = CustomerFactory(name="Beta", language="zh-hans")
    inv = invoice(customer, "300.00", dt.date(2026, 10, 2))
    inv.language = "zh-hans"
    note = credit_note(inv, "50.00", dt.date(2026, 10, 3), reason="价格调整")
    pay = payment(customer, "250.00", dt.date(2026, 10, 4), [(inv, "250.00")])
    receipt = Receipt.objects.create(
        customer=customer,
        series="RC-2026",
        number="RC-2026-T1",
        amount=pay.amount,
        currency="CNY",
        language="en",
        issue_date=dt.date(2026, 10, 4),
        payment=pay,
    )
    usage = UsageStatement.objects.create(
        customer=customer,
        period="2026-10",
        period_start=OCT_1,
        period_end=OCT_31,
        currency="CNY",
        lines=[
            {
                "model": "deepseek-chat",
                "requests": 3,
                "tokens": {"input": 1000000, "output": 200000},
                "amount": "12.50",
            }
        ],
        total=Decimal("12.50"),
    )
    texts = {
        "invoice": pdf_text(invoice_pdf(inv)),
        "note": pdf_text(credit_note_pdf(note)),
        "receipt": pdf_text(receipt_pdf(receipt)),
        "usage": pdf_text(usage_statement_pdf(usage)),
    }
    assert inv.number in texts["invoice"] and "300.00" in texts["invoice"]
    assert note.number in texts["note"] and "价格调整" in texts["note"] and "50.00" in texts["note"]
    assert "RC-2026-T1" in texts["receipt"] and "250.00" in texts["receipt"] and "Receipt" in texts["receipt"]
    assert "deepseek-chat" in texts["usage"] and "12.50" in texts["usage"] and "1,200,000" in texts["usage"]
    for text in texts.values():
        assert "Distributor Demo Ltd." in text
