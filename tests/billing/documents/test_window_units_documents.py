"""Invoice documents split a line's peak and off-peak usage and show image and audio units, in English and
Chinese: the PDF, the CSV and the invoice pages (staff and portal), from a close of usage ingested for real.
"""

import csv
import io
import shutil
import subprocess
from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse

from accounts.models import MemberRole, StaffRole
from billing.documents.pdf import invoice_pdf
from billing.invoicing.close.services import close_period
from tests.billing.documents.test_pdf import pdf_text
from tests.billing.factories import staff
from tests.billing.invoicing.window_usage import (
    NIGHT_AT,
    PEAK_AT,
    credit_customer,
    ingest,
    windowed_catalog,
)
from tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def chinese(settings, tmp_path):
    """The Chinese catalogue as committed (the release compiles django.mo), compiled here for the test."""
    if shutil.which("msgfmt") is None:
        pytest.skip("needs gettext's msgfmt")
    target = tmp_path / "zh_Hans" / "LC_MESSAGES"
    target.mkdir(parents=True)
    po = settings.BASE_DIR / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
    subprocess.run(["msgfmt", "-o", str(target / "django.mo"), str(po)], check=True)
    settings.LOCALE_PATHS = [tmp_path]


def _invoice(*, label="Off-peak", peak=True):
    windowed_catalog(label=label)
    _customer, source = credit_customer()
    if peak:
        ingest(source, at=PEAK_AT, prompt_tokens=1_234_567, completion_tokens=345_678)
    ingest(source, at=NIGHT_AT, prompt_tokens=2_000_000, completion_tokens=1_000_000)
    ingest(source, at=PEAK_AT, model="gpt-image-1", prompt_tokens=100, images=3)
    ingest(
        source,
        at=PEAK_AT,
        model="gpt-4o-transcribe",
        prompt_tokens=1_000,
        audio_prompt_tokens=400,
        completion_tokens=20,
        audio_seconds="12.5",
    )
    [invoice] = close_period("2026-10", issue_date=date(2026, 11, 1)).invoices
    return invoice


@pytest.fixture
def invoice():
    return _invoice()


def _text(invoice, language="en") -> str:
    invoice.language = language
    return " ".join(pdf_text(invoice_pdf(invoice)).split())


def _csv(client, invoice) -> list[dict]:
    client.force_login(staff(StaffRole.AUDITOR))
    response = client.get(reverse("staff-invoice-lines-csv", args=[invoice.pk]))
    return list(csv.DictReader(io.StringIO(response.content.decode())))


def test_the_pdf_splits_the_line_into_peak_and_off_peak_and_shows_units(invoice):
    text = _text(invoice)
    # 1,234,567 + 345,678 tokens at peak: 10.11 charged less the 5.40 off-peak.
    assert "Peak: 1,580,245 tokens, 4.71 CNY" in text
    assert "Off-peak: 3,000,000 tokens, 5.40 CNY" in text
    assert "Input 1,234,567 1.80" in text and "Input 2,000,000 0.90" in text
    assert "Output 345,678 7.20" in text and "Output 1,000,000 3.60" in text
    assert "Image ×3 0.036 per image" in text
    assert "Audio 12.5 s 0.0054 per second" in text and "Audio input 400" in text
    # Tokens × the prices of each part come to the amount charged: no adjustment.
    assert "Price adjustment" not in text


def test_the_chinese_pdf_says_it_in_chinese(invoice, chinese):
    text = _text(invoice, "zh-hans")
    # Chinese number formats group no thousands (as the token rows always printed).
    assert "标准时段：1,580,245 个 Token，4.71 CNY" in text
    assert "优惠时段：3,000,000 个 Token，5.40 CNY" in text
    assert "输入 1,234,567 1.80" in text and "输入 2,000,000 0.90" in text
    assert "图片 ×3 0.036 每张图片" in text and "音频 12.5 秒 0.0054 每秒" in text


def test_a_line_wholly_off_peak_is_marked_beside_the_model_and_priced_at_the_window(client):
    invoice = _invoice(peak=False)
    text = _text(invoice)
    # The mark wraps under the model's name in its cell.
    assert "deepseek-chat 3,000,000 tokens — 0.00 5.40 (Off-peak)" in text and "Peak:" not in text
    assert "Input 2,000,000 0.90" in text
    client.force_login(staff(StaffRole.FINANCE))
    page = client.get(reverse("staff-invoice-detail", args=[invoice.pk])).content.decode()
    assert 'data-testid="line-time-window">Off-peak<' in page and 'data-testid="line-part"' not in page


def test_a_window_label_staff_typed_is_shown_as_typed(chinese):
    text = _text(_invoice(label="Night owl"), "zh-hans")
    assert "Night owl：3,000,000 个 Token，5.40 CNY" in text and "标准时段" in text


def test_the_csv_has_a_row_per_part_adding_up_to_the_line_and_the_units(client, invoice):
    rows = _csv(client, invoice)
    chat = next(r for r in rows if r["row"] == "usage" and r["description"] == "deepseek-chat")
    parts = [r for r in rows if r["row"] == "time_window"]
    assert [(p["time_window"], p["quantity"], p["amount"]) for p in parts] == [
        ("Peak", "1580245", "4.71"),
        ("Off-peak", "3000000", "5.40"),
    ]
    assert sum(Decimal(p["amount"]) for p in parts) == Decimal(chat["amount"]) == Decimal("10.11")
    night_input = next(r for r in rows if r["token_class"] == "input" and r["time_window"] == "Off-peak")
    assert (night_input["quantity"], night_input["unit_price"]) == ("2000000", "0.9")
    image = next(r for r in rows if r["token_class"] == "image")
    assert (image["quantity"], image["unit"], image["unit_price"]) == ("3", "per_image", "0.036")
    audio = next(r for r in rows if r["token_class"] == "audio_second")
    assert (audio["quantity"], audio["unit"], audio["unit_price"]) == ("12.5", "per_second", "0.0054")
    image_line = next(r for r in rows if r["row"] == "usage" and r["description"] == "gpt-image-1")
    assert Decimal(image_line["quantity"]) == 100  # tokens only, not the images


def test_the_chinese_csv_names_the_parts_in_chinese(client, invoice, chinese):
    invoice.language = "zh-hans"
    invoice.save(update_fields=["language"])
    parts = [r["time_window"] for r in _csv(client, invoice) if r["row"] == "time_window"]
    assert parts == ["标准时段", "优惠时段"]


def test_the_pages_show_the_parts_to_staff_and_the_customer_only(client, invoice):
    client.force_login(staff(StaffRole.SUPPORT))
    page = client.get(reverse("staff-invoice-detail", args=[invoice.pk])).content.decode()
    assert page.count('data-testid="line-part"') == 2
    assert "Off-peak: 3,000,000 tokens, 5.40 CNY" in page and "0.036 CNY per image" in page

    client.force_login(MembershipFactory(customer=invoice.customer, role=MemberRole.BILLING).user)
    page = client.get(reverse("portal-invoice-detail", args=[invoice.pk])).content.decode()
    assert "Peak: 1,580,245 tokens, 4.71 CNY" in page
    client.force_login(MembershipFactory(role=MemberRole.BILLING).user)  # another customer's user
    assert client.get(reverse("portal-invoice-detail", args=[invoice.pk])).status_code == 404
    assert client.get(reverse("portal-invoice-lines-csv", args=[invoice.pk])).status_code == 404
