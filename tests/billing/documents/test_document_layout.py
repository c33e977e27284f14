"""No two words of a document's first page overlap, in English (the long labels) or Chinese: invoice,
aging report and price list, with wide figures. The pages are kept as PNGs in test-artifacts/documents/.

Where each word sits is read from the PDF (``pdftotext -bbox``); two words on one line whose boxes cross
are text running into the next column (as "Payments and credits" ran into "Balance" on statements).
"""

import datetime as dt
import re
import subprocess
from pathlib import Path

import pytest
from django.urls import reverse

from accounts.models import StaffRole
from billing.documents.pdf import invoice_pdf
from tests.billing.documents.helpers import invoice
from tests.billing.documents.test_document_languages import chinese_invoice
from tests.billing.factories import staff
from tests.catalog.windowed import windowed_catalog
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db
ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts" / "documents"
WORD = re.compile(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>')


def first_page_words(pdf: Path) -> list[tuple[str, float, float, float, float]]:
    html = subprocess.run(
        ["pdftotext", "-bbox", "-f", "1", "-l", "1", str(pdf), "-"], capture_output=True, check=True
    ).stdout.decode()
    return [(text, float(x0), float(y0), float(x1), float(y1)) for x0, y0, x1, y1, text in WORD.findall(html)]


def overlapping(words) -> list[tuple[str, str]]:
    """Pairs of words on one line (their heights mostly shared) whose boxes cross by more than a hair."""
    pairs = []
    for i, (a, ax0, ay0, ax1, ay1) in enumerate(words):
        for b, bx0, by0, bx1, by1 in words[i + 1 :]:
            shared_height = min(ay1, by1) - max(ay0, by0)
            if shared_height < 0.5 * min(ay1 - ay0, by1 - by0):
                continue
            if min(ax1, bx1) - max(ax0, bx0) > 0.5:
                pairs.append((a, b))
    return pairs


def keep(data: bytes, name: str, tmp_path: Path) -> Path:
    pdf = tmp_path / f"{name}.pdf"
    pdf.write_bytes(data)
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
            str(ARTIFACTS / name),
        ],
        check=True,
    )
    return pdf


def test_the_overlap_check_sees_overlapping_words():
    assert overlapping([("Payments", 10, 0, 60, 8), ("Balance", 55, 0, 90, 8)]) == [("Payments", "Balance")]
    assert overlapping([("Payments", 10, 0, 60, 8), ("Balance", 61, 0, 90, 8)]) == []
    assert overlapping([("above", 10, 0, 60, 8), ("below", 10, 9, 60, 17)]) == []


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_the_invoice_with_its_payment_block_has_no_overlap(settings, language, tmp_path):
    settings.OPERATOR_BANK_NAME = "Bank of Example, Shanghai Pudong Development Branch"
    settings.OPERATOR_BANK_ACCOUNT_NAME = "Distributor Demo Ltd."
    settings.OPERATOR_BANK_ACCOUNT_NUMBER = "4000-1234-5678-0000"
    settings.OPERATOR_BANK_CODE = "BOEXCNSH"
    inv = chinese_invoice(CustomerFactory(name="Acme Robotics International Holdings", language=language))
    pdf = keep(invoice_pdf(inv), f"invoice-{language}", tmp_path)
    words = first_page_words(pdf)
    assert overlapping(words) == []
    assert any(w[0] == "4000-1234-5678-0000" for w in words)


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_the_aging_report_with_wide_figures_has_no_overlap(client, language, tmp_path):
    customer = CustomerFactory(name="Acme Robotics International Holdings Group", language="en")
    invoice(customer, "1234567.00", dt.date(2026, 8, 1))
    invoice(customer, "500.00", dt.date(2026, 11, 1))
    client.force_login(staff(StaffRole.FINANCE))
    # An as-of date of its own: the aging report is memoised per process by date and the newest row ids,
    # which a rolled-back test on SQLite hands out again.
    response = client.get(reverse("exposure-aging-pdf"), {"as_of": "2026-11-27", "lang": language})
    words = first_page_words(keep(response.content, f"aging-{language}", tmp_path))
    assert overlapping(words) == []
    # Each total stands alone: none ran into the next cell and merged with it.
    assert sum(1 for w in words if w[0] == "1,235,067.00") >= 4
    if language == "en":
        assert "Currency" in {w[0] for w in words}  # the header is not broken mid-word


def test_the_price_list_has_no_overlap_and_breaks_no_header_word(client, tmp_path):
    catalog = windowed_catalog()
    client.force_login(staff(StaffRole.SUPPORT))
    response = client.get(reverse("catalog-plan-prices-pdf", args=[catalog["keeps"].pk]), {"lang": "en"})
    words = first_page_words(keep(response.content, "prices-en", tmp_path))
    assert overlapping(words) == []
    texts = {w[0] for w in words}
    assert {"Reasoning", "Output", "Input"} <= texts
