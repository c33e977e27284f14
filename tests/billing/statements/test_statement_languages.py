"""A statement downloads in either language whatever its customer reads (``?lang=``), its rows in that
language in the PDF and the CSV; the pages offer both PDFs; anything but en or zh-hans is a 400."""

import csv
import datetime as dt
import io
import subprocess

import pytest
from django.urls import reverse

from accounts.models import MemberRole, StaffRole
from tests.billing.documents.helpers import credit_note, invoice, payment
from tests.billing.factories import staff
from tests.factories import CustomerFactory, MembershipFactory

pytestmark = pytest.mark.django_db
OCTOBER = {"period": "month", "month": "2026-10"}


@pytest.fixture
def chinese():
    customer = CustomerFactory(name="上海智算", language="zh-hans")
    a = invoice(customer, "1000.00", dt.date(2026, 9, 10))
    b = invoice(customer, "500.00", dt.date(2026, 10, 5))
    payment(customer, "600.00", dt.date(2026, 10, 12), [(a, "600.00")], reference="ZH-PAY")
    credit_note(b, "100.00", dt.date(2026, 10, 20), reason="价格调整")
    return customer


def text_of(data: bytes) -> str:
    out = subprocess.run(["pdftotext", "-", "-"], input=data, capture_output=True, check=True).stdout
    return " ".join(out.decode().split()).lower()


def csv_rows(response) -> list[dict]:
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))


def test_staff_download_the_statement_in_either_language(client, chinese):
    client.force_login(staff(StaffRole.FINANCE))
    url = reverse("staff-statement")
    query = {"customer": chinese.pk, **OCTOBER, "format": "pdf"}
    default = text_of(client.get(url, query).content)
    english = text_of(client.get(url, {**query, "lang": "en"}).content)
    chinese_text = text_of(client.get(url, {**query, "lang": "zh-hans"}).content)
    assert "对账单" in default and "未到期" in default and "收到付款" in default
    assert "对账单" in chinese_text and "statement of account" not in chinese_text
    assert "statement of account" in english and "current" in english and "received" in english
    assert "对账单" not in english and "收到付款" not in english


def test_the_statement_csv_descriptions_follow_the_language_and_keep_the_codes(client, chinese):
    client.force_login(staff(StaffRole.FINANCE))
    url = reverse("staff-statement")
    query = {"customer": chinese.pk, **OCTOBER, "format": "csv"}
    zh = csv_rows(client.get(url, query))
    en = csv_rows(client.get(url, {**query, "lang": "en"}))
    paid_zh = next(r for r in zh if r["type"] == "payment")
    paid_en = next(r for r in en if r["type"] == "payment")
    assert (
        paid_zh["description"] == "收到付款 · ZH-PAY"
        and paid_en["description"] == "Payment received · ZH-PAY"
    )
    note = next(r for r in zh if r["type"] == "credit_note")
    assert note["description"] == "贷项通知单 · 价格调整"


def test_the_pages_offer_both_pdfs_the_customers_language_first(client, chinese):
    client.force_login(staff(StaffRole.SUPPORT))
    page = client.get(reverse("staff-statement"), {"customer": chinese.pk, **OCTOBER}).content.decode()
    assert "PDF (English)" in page and "PDF (中文)" in page
    assert "format=pdf&amp;lang=en" in page and "format=pdf&amp;lang=zh-hans" in page
    assert 'data-testid="statement-pdf" data-pdf-lang="zh-hans"' in page
    member = MembershipFactory(customer=chinese, role=MemberRole.BILLING).user
    client.force_login(member)
    page = client.get(reverse("portal-statement"), OCTOBER).content.decode()
    assert "format=pdf&amp;lang=en" in page and "format=pdf&amp;lang=zh-hans" in page


def test_the_portal_downloads_its_own_statement_in_english(client, chinese):
    client.force_login(MembershipFactory(customer=chinese, role=MemberRole.VIEWER).user)
    response = client.get(reverse("portal-statement"), {**OCTOBER, "format": "pdf", "lang": "en"})
    assert response.status_code == 200 and "statement of account" in text_of(response.content)
    # Another customer's statement stays out of reach whatever the language.
    other = CustomerFactory(name="Other")
    response = client.get(reverse("portal-statement"), {"customer": other.pk, **OCTOBER, "lang": "en"})
    assert response.status_code == 404


@pytest.mark.parametrize("bad", ["fr", "EN", "zh", "zh_Hans", "en-us"])
def test_anything_but_en_or_zh_hans_is_refused(client, chinese, bad):
    client.force_login(staff(StaffRole.FINANCE))
    response = client.get(
        reverse("staff-statement"), {"customer": chinese.pk, **OCTOBER, "format": "pdf", "lang": bad}
    )
    assert response.status_code == 400
    assert "“en” or “zh-hans”" in response.content.decode() and bad in response.content.decode()


def test_sales_are_still_refused_before_the_language_is_read(client, chinese):
    client.force_login(staff(StaffRole.SALES))
    response = client.get(reverse("staff-statement"), {"customer": chinese.pk, **OCTOBER, "lang": "fr"})
    assert response.status_code == 403
