"""Every document kind reads in Chinese all the way down, and any of them downloads in either language.

A Chinese customer's invoice, credit note, receipt, statement, usage statement, price list, commission
statement and the aging report carry no English label: statement rows ("Invoice · 2026-10", "Payment
received · …"), aging headers ("Current" … "Over 90 days"), invoice units ("month") and token classes
included. Every download takes ``?lang=en|zh-hans`` whatever the customer reads; anything else is a 400
that says what ``lang`` takes.
"""

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import translation

from accounts.models import MemberRole, StaffRole
from billing.chain.commission import commission_statement_issue
from billing.chain.commission_pdf import commission_statement_pdf
from billing.documents.pdf import (
    credit_note_pdf,
    invoice_pdf,
    receipt_pdf,
    statement_pdf,
    usage_statement_pdf,
)
from billing.invoicing.models import UsageStatement
from billing.invoicing.services import LineDraft, invoice_create, invoice_issue
from billing.receivables.models import Receipt
from billing.statements.build import statement_build
from tests.billing.chain.test_commission import OCT, accrue, agency
from tests.billing.documents.helpers import credit_note, invoice, payment
from tests.billing.documents.sellers import pdf_text
from tests.billing.factories import staff
from tests.billing.invoicing.factories import credit_terms
from tests.catalog.windowed import windowed_catalog
from tests.factories import CustomerFactory, MembershipFactory

pytestmark = pytest.mark.django_db
OCT_1, OCT_31 = dt.date(2026, 10, 1), dt.date(2026, 10, 31)
ZH_NAME = "上海智算科技有限公司"

# Labels a document prints (headers, row kinds, units, token classes, aging buckets, payment block): none
# may be left in English on a Chinese document. Matched as whole words, in any case (the print stylesheet
# upper-cases field labels: "BILL TO").
ENGLISH_LABELS = (
    "Invoice",
    "Statement of account",
    "Bill to",
    "Issue date",
    "Due date",
    "Description",
    "Quantity",
    "Unit",
    "Unit price",
    "Amount",
    "Subtotal",
    "Total",
    "Amount due",
    "Opening balance",
    "Closing balance",
    "Payment received",
    "Payments and credits",
    "Balance",
    "Charges",
    "Credit note",
    "Reversal of",
    "Written off",
    "Current",
    "Over 90 days",
    "days",
    "Input",
    "Output",
    "Cache read",
    "Reasoning",
    "month",
    "tokens",
    "Tokens",
    "How to pay",
    "Pay to",
    "Bank",
    "Account name",
    "Account number",
    "Transfer reference",
    "Receipt",
    "Usage",
    "Period",
    "Generated",
    "Commission",
    "Customer",
    "Currency",
    "Receivables aging",
    "Price list",
    "Model",
)


def english_labels_in(text: str) -> list[str]:
    return [
        label
        for label in ENGLISH_LABELS
        if re.search(rf"(?<![A-Za-z]){re.escape(label)}(?![A-Za-z])", text, re.IGNORECASE)
    ]


def words(data: bytes) -> str:
    """A PDF's text on one line, lower-cased (labels are upper-cased by the stylesheet)."""
    return " ".join(pdf_text(data).split()).lower()


@pytest.fixture(autouse=True)
def _chinese_operator(settings):
    # The operator's own details in Chinese, so that only the documents' labels could be English.
    settings.OPERATOR_NAME = "示例分销有限公司"
    settings.OPERATOR_ADDRESS = "上海市示例路1号"
    settings.OPERATOR_BANK_NAME = "招商银行上海分行"
    settings.OPERATOR_BANK_ACCOUNT_NAME = "示例分销有限公司"
    settings.OPERATOR_BANK_ACCOUNT_NUMBER = "6225-0000-1111-2222"
    settings.OPERATOR_BANK_CODE = "CMBCCNBS"
    settings.OPERATOR_PAYMENT_INSTRUCTIONS = "请于到期日前付款。"


USAGE_DETAILS = {
    "tokens": {"input": 1200000, "cache_read": 50000, "output": 300000, "reasoning": 1000},
    "unit_prices": {"input": "2.5", "cache_read": "0.25", "output": "10", "reasoning": "10"},
}


def chinese_invoice(customer):
    """An issued invoice with a monthly subscription ("month") and a usage line of four token classes."""
    credit_terms(customer, currency="CNY")
    draft = invoice_create(
        customer=customer,
        lines=[
            LineDraft(
                kind="subscription",
                description="标准套餐 (2026-10)",
                amount_exact=Decimal("99"),
                quantity=Decimal(1),
                unit="month",
                unit_price=Decimal("99"),
            ),
            LineDraft(
                kind="usage",
                description="deepseek-chat",
                amount_exact=Decimal("6.0225"),
                quantity=Decimal("1551000"),
                unit="tokens",
                details=USAGE_DETAILS,
            ),
        ],
    )
    return invoice_issue(invoice=draft)


@pytest.fixture
def chinese_customer():
    return CustomerFactory(name=ZH_NAME, code="zh-cust", language="zh-hans")


@pytest.fixture
def chinese_statement(chinese_customer):
    """September's invoice open into October (aging), October's invoice, a payment, a credit note."""
    customer = chinese_customer
    september = invoice(customer, "1000.00", dt.date(2026, 9, 10))
    october = invoice(customer, "500.00", dt.date(2026, 10, 5))
    payment(customer, "600.00", dt.date(2026, 10, 12), [(september, "600.00")], reference="ZH-PAY-1")
    credit_note(october, "100.00", dt.date(2026, 10, 20), reason="价格调整")
    return statement_build(customer, OCT_1, OCT_31, strict=True)


def test_a_chinese_invoice_has_no_english_label_units_and_classes_included(chinese_customer):
    inv = chinese_invoice(chinese_customer)
    zh = pdf_text(invoice_pdf(inv))
    assert english_labels_in(zh) == [], zh
    # "month" as a unit, the token classes, and the payment block, in Chinese.
    assert "月" in zh and "输入" in zh and "缓存命中" in zh and "输出" in zh
    assert "付款方式" in zh and "6225-0000-1111-2222" in zh and inv.number in zh
    en = words(invoice_pdf(inv, language="en"))
    assert "month" in en and "cache read" in en and "how to pay" in en and "transfer reference" in en


def test_a_chinese_statement_has_chinese_rows_and_aging_headers(chinese_statement):
    zh = pdf_text(statement_pdf(chinese_statement))
    assert english_labels_in(zh) == [], zh
    assert "收到付款" in zh and "贷项通知单" in zh and "价格调整" in zh and "发票" in zh
    assert "未到期" in zh and "90 天以上" in zh and "期初余额" in zh
    en = words(statement_pdf(chinese_statement, language="en"))
    # (A row's description wraps in its narrow column: its words, not the phrase.)
    assert "received" in en and "credit note" in en and "current" in en and "over 90 days" in en


def test_statement_rows_follow_the_language_they_are_shown_in_not_the_one_they_were_built_in(
    chinese_statement,
):
    # Built under English (a staff page), printed in Chinese (the customer's document): Chinese rows.
    [section] = chinese_statement.sections
    payment_row = next(row for row in section.rows if row.category == "payment")
    with translation.override("zh-hans"):
        assert str(payment_row.description) == "收到付款 · ZH-PAY-1"
        assert str(section.aging[0].label) == "未到期"
    with translation.override("en"):
        assert str(payment_row.description) == "Payment received · ZH-PAY-1"


def test_credit_note_receipt_and_usage_statement_read_in_chinese(chinese_customer):
    inv = invoice(chinese_customer, "300.00", dt.date(2026, 10, 2))
    note = credit_note(inv, "50.00", dt.date(2026, 10, 3), reason="价格调整")
    note.language = "zh-hans"
    pay = payment(chinese_customer, "250.00", dt.date(2026, 10, 4), [(inv, "250.00")], reference="ZH-2")
    receipt = Receipt.objects.create(
        customer=chinese_customer,
        series="RC-2026",
        number="RC-2026-T9",
        amount=pay.amount,
        currency="CNY",
        language="zh-hans",
        issue_date=dt.date(2026, 10, 4),
        payment=pay,
    )
    usage = UsageStatement.objects.create(
        customer=chinese_customer,
        period="2026-10",
        period_start=OCT_1,
        period_end=OCT_31,
        currency="CNY",
        lines=[
            {"model": "deepseek-chat", "requests": 3, "tokens": {"input": 1000, "output": 20}, "amount": "1"}
        ],
        total=Decimal("1"),
    )
    for data in (credit_note_pdf(note), receipt_pdf(receipt), usage_statement_pdf(usage)):
        text = pdf_text(data)
        assert english_labels_in(text) == [], text
    assert "receipt" in words(receipt_pdf(receipt, language="en"))


def test_commission_statement_and_aging_report_read_in_chinese(client):
    agent = agency("agent-zh", language="zh-hans")
    agent.name = "代理商甲"
    agent.save(update_fields=["name"])
    accrue(agent, "7.50", dt.date(2026, 10, 28))
    commission = pdf_text(commission_statement_pdf(commission_statement_issue(agent, OCT, "CNY")))
    assert english_labels_in(commission) == [], commission

    customer = CustomerFactory(name=ZH_NAME, language="zh-hans")
    invoice(customer, "500.00", dt.date(2026, 8, 1))
    client.force_login(staff(StaffRole.FINANCE))
    response = client.get(reverse("exposure-aging-pdf"), {"as_of": "2026-11-30", "lang": "zh-hans"})
    assert response.status_code == 200
    aging = pdf_text(response.content)
    assert english_labels_in(aging) == [], aging
    assert "90 天以上" in aging and "未到期" in aging


def test_the_price_list_reads_in_chinese(client):
    catalog = windowed_catalog()
    client.force_login(staff(StaffRole.SUPPORT))
    response = client.get(reverse("catalog-plan-prices-pdf", args=[catalog["keeps"].pk]), {"lang": "zh-hans"})
    assert response.status_code == 200
    text = pdf_text(response.content)
    assert english_labels_in(text) == [], text


# ----------------------------------------------------------------------------------------------------------
# ?lang= on every download


def _portal(client, customer):
    client.force_login(MembershipFactory(customer=customer, role=MemberRole.OWNER).user)


def test_invoice_downloads_in_either_language_whatever_the_customer_reads(client, chinese_customer):
    inv = chinese_invoice(chinese_customer)
    client.force_login(staff(StaffRole.SUPPORT))
    url = reverse("staff-invoice-pdf", args=[inv.pk])
    default = words(client.get(url).content)
    english = words(client.get(url, {"lang": "en"}).content)
    chinese = words(client.get(url, {"lang": "zh-hans"}).content)
    assert "付款方式" in default and "付款方式" in chinese and "how to pay" not in chinese
    assert "how to pay" in english and "付款方式" not in english and "due date" in english
    # And an English customer's invoice in Chinese.
    english_customer = CustomerFactory(name="Acme", language="en")
    other = chinese_invoice(english_customer)
    url = reverse("staff-invoice-pdf", args=[other.pk])
    assert "due date" in words(client.get(url).content)
    assert "到期日" in words(client.get(url, {"lang": "zh-hans"}).content)
    _portal(client, chinese_customer)
    portal = client.get(reverse("portal-invoice-pdf", args=[inv.pk]), {"lang": "en"})
    assert portal.status_code == 200 and "how to pay" in words(portal.content)


def _bad_lang_urls(inv, note, receipt, usage) -> dict:
    return {
        "staff-invoice": reverse("staff-invoice-pdf", args=[inv.pk]),
        "staff-credit-note": reverse("staff-credit-note-pdf", args=[note.pk]),
        "staff-receipt": reverse("staff-receipt-pdf", args=[receipt.pk]),
        "staff-usage-statement": reverse("staff-usage-statement-pdf", args=[usage.pk]),
        "staff-statement": reverse("staff-statement")
        + f"?customer={inv.customer_id}&date_from=2026-10-01&date_to=2026-10-31&format=pdf",
        "staff-invoice-lines": reverse("staff-invoice-lines-csv", args=[inv.pk]),
        "aging": reverse("exposure-aging-pdf"),
    }


def test_a_bad_lang_is_refused_with_a_400_that_says_what_lang_takes(client, chinese_customer):
    inv = chinese_invoice(chinese_customer)
    note = credit_note(inv, "10.00", dt.date(2026, 10, 3))
    pay = payment(chinese_customer, "5.00", dt.date(2026, 10, 4))
    receipt = Receipt.objects.create(
        customer=chinese_customer,
        series="RC-2026",
        number="RC-2026-T8",
        amount=pay.amount,
        currency="CNY",
        language="zh-hans",
        issue_date=dt.date(2026, 10, 4),
        payment=pay,
    )
    usage = UsageStatement.objects.create(
        customer=chinese_customer,
        period="2026-10",
        period_start=OCT_1,
        period_end=OCT_31,
        currency="CNY",
        lines=[],
        total=Decimal("0"),
    )
    client.force_login(staff(StaffRole.FINANCE))
    for name, url in _bad_lang_urls(inv, note, receipt, usage).items():
        sep = "&" if "?" in url else "?"
        response = client.get(f"{url}{sep}lang=fr")
        assert response.status_code == 400, name
        body = response.content.decode()
        assert "lang" in body and "en" in body and "zh-hans" in body and "fr" in body, (name, body)
    _portal(client, chinese_customer)
    for url in (
        reverse("portal-invoice-pdf", args=[inv.pk]),
        reverse("portal-credit-note-pdf", args=[note.pk]),
        reverse("portal-receipt-pdf", args=[receipt.pk]),
        reverse("portal-usage-statement-pdf", args=[usage.pk]),
        reverse("portal-invoice-lines-csv", args=[inv.pk]),
        reverse("portal-statement") + "?period=2026-10&format=pdf",
        reverse("portal-prices-pdf"),
    ):
        sep = "&" if "?" in url else "?"
        assert client.get(f"{url}{sep}lang=english").status_code == 400, url


def test_a_bad_lang_does_not_leak_another_customers_document(client, chinese_customer):
    # The customer check comes first: someone else's invoice is 404 whatever lang says.
    inv = chinese_invoice(chinese_customer)
    _portal(client, CustomerFactory(name="Other"))
    url = reverse("portal-invoice-pdf", args=[inv.pk])
    assert client.get(url, {"lang": "en"}).status_code == 404
    assert client.get(url, {"lang": "zh-hans"}).status_code == 404


def test_the_pages_offer_the_pdf_in_both_languages(client, chinese_customer):
    inv = chinese_invoice(chinese_customer)
    client.force_login(staff(StaffRole.SUPPORT))
    page = client.get(reverse("staff-invoice-detail", args=[inv.pk])).content.decode()
    url = reverse("staff-invoice-pdf", args=[inv.pk])
    assert f"{url}?lang=en" in page and f"{url}?lang=zh-hans" in page
    assert "PDF (English)" in page and "PDF (中文)" in page
    _portal(client, chinese_customer)
    page = client.get(reverse("portal-invoice-detail", args=[inv.pk])).content.decode()
    url = reverse("portal-invoice-pdf", args=[inv.pk])
    assert f"{url}?lang=en" in page and f"{url}?lang=zh-hans" in page
    # The customer's own language is the primary download (the one the existing tests click).
    assert re.search(r'data-testid="download-pdf" data-pdf-lang="zh-hans"', page)


def test_the_invoice_csv_labels_follow_the_language_and_keep_the_codes(client, chinese_customer):
    import csv
    import io

    inv = chinese_invoice(chinese_customer)
    client.force_login(staff(StaffRole.AUDITOR))
    url = reverse("staff-invoice-lines-csv", args=[inv.pk])
    zh = list(csv.DictReader(io.StringIO(client.get(url).content.decode())))
    en = list(csv.DictReader(io.StringIO(client.get(url, {"lang": "en"}).content.decode())))
    month_zh = next(r for r in zh if r["unit"] == "month")
    month_en = next(r for r in en if r["unit"] == "month")
    assert (month_zh["unit_label"], month_en["unit_label"]) == ("月", "month")
    cache_zh = next(r for r in zh if r["token_class"] == "cache_read")
    cache_en = next(r for r in en if r["token_class"] == "cache_read")
    assert (cache_zh["label"], cache_en["label"]) == ("缓存命中", "Cache read")
    assert cache_zh["unit"] == "tokens_per_million" and cache_zh["unit_label"] == "每百万 Token"


def test_the_invoice_pages_show_the_unit_in_the_readers_language(client, chinese_customer):
    inv = chinese_invoice(chinese_customer)
    client.force_login(staff(StaffRole.SUPPORT))
    url = reverse("staff-invoice-detail", args=[inv.pk])
    with translation.override("zh-hans"):
        chinese = client.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    english = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "<td>月</td>" in chinese and "<td>month</td>" not in chinese
    assert "<td>month</td>" in english
