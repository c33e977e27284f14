"""Documents come from the customer's seller: a resale sub-distributor's customer gets its seller's name,
address, tax id, logo and bank details on every PDF and e-mail, in its language, and never the operator's."""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from accounts.identity import seller_identity, seller_name
from accounts.models import Customer, StaffRole
from billing.documents.pdf import invoice_pdf, receipt_pdf, statement_pdf, usage_statement_pdf
from billing.invoicing.models import UsageStatement
from billing.receivables.models import CustomerPayment, Receipt
from billing.statements.build import statement_build
from tests.billing.documents.sellers import (
    OPERATOR,
    SELLER_ACCOUNT,
    SELLER_LEGAL,
    SELLER_LEGAL_ZH,
    SELLER_TAX,
    end_customer,
    operator_settings,
    pdf_images,
    pdf_text,
    reseller,
)
from tests.billing.factories import staff
from tests.billing.invoicing.factories import issued_invoice
from tests.factories import CustomerFactory, SubDistributorFactory

pytestmark = pytest.mark.django_db
OCT_1, OCT_31 = dt.date(2026, 10, 1), dt.date(2026, 10, 31)


@pytest.fixture(autouse=True)
def _operator(settings, tmp_path):
    operator_settings(settings)
    settings.MEDIA_ROOT = tmp_path


def assert_sellers(text: str, legal_name: str = SELLER_LEGAL) -> None:
    assert legal_name in text and SELLER_TAX in text and SELLER_ACCOUNT in text, text
    for value in OPERATOR.values():
        assert value not in text, text
    assert "Operator Bank" not in text


def test_identity_follows_the_seller_of_each_mode():
    seller = reseller()
    customer = end_customer(seller)
    bare = SubDistributorFactory(name="Bare Reseller", chain_mode=Customer.ChainMode.RESALE)
    agency = SubDistributorFactory(name="Agent Co", chain_mode=Customer.ChainMode.AGENCY)
    direct = SubDistributorFactory(name="Group Co", chain_mode=Customer.ChainMode.DIRECT)

    mine = seller_identity(customer)
    assert (mine.name, mine.tax_id, mine.seller_id) == (SELLER_LEGAL, SELLER_TAX, seller.pk)
    assert mine.logo.startswith("data:image/png;base64,")
    assert "CMBCCNBS" in mine.bank_text() and SELLER_ACCOUNT in mine.bank_text()
    # A reseller without a profile is still the seller: its name, nothing of the operator's.
    plain = seller_identity(end_customer(bare))
    assert (plain.name, plain.tax_id, plain.bank_text(), plain.logo) == ("Bare Reseller", "", "", None)
    # Agency: the operator sells, "via" the agent; direct: the operator, no via.
    via = seller_identity(end_customer(agency))
    assert (via.name, via.via, via.seller_id) == (OPERATOR["OPERATOR_NAME"], "Agent Co", None)
    assert seller_identity(end_customer(direct)).via == ""
    # The sub-distributor itself buys from the operator.
    assert seller_identity(seller).name == OPERATOR["OPERATOR_NAME"]
    assert seller_name(customer) == SELLER_LEGAL and seller_name(seller) == OPERATOR["OPERATOR_NAME"]


@pytest.mark.parametrize(
    ("language", "legal_name", "heading"),
    [("en", SELLER_LEGAL, "Invoice"), ("zh-hans", SELLER_LEGAL_ZH, "发票")],
)
def test_invoice_pdf_carries_the_sellers_identity_in_the_customers_language(language, legal_name, heading):
    seller = reseller(legal_name=legal_name)
    customer = end_customer(seller, language=language)
    invoice = issued_invoice(customer, "123.45", issue_date=OCT_31)
    invoice.language = language

    data = invoice_pdf(invoice)

    text = pdf_text(data)
    assert heading in text and "123.45" in text
    assert_sellers(text, legal_name)
    assert "Thank you for choosing Acme." in text
    assert pdf_images(data) == 1  # the seller's logo; the operator's SVG is not there


def test_an_agency_customers_invoice_is_the_operators_via_the_agent():
    agency = SubDistributorFactory(name="Agent Co", chain_mode=Customer.ChainMode.AGENCY)
    customer = end_customer(agency)
    text = pdf_text(invoice_pdf(issued_invoice(customer, "10.00", issue_date=OCT_31)))
    assert OPERATOR["OPERATOR_NAME"] in text and "via Agent Co" in text


def test_receipt_statement_and_usage_statement_carry_the_seller_in_both_languages():
    seller = reseller()
    for language, words in (("en", "Receipt"), ("zh-hans", "收据")):
        customer = end_customer(seller, language=language)
        invoice = issued_invoice(customer, "50.00", issue_date=dt.date(2026, 10, 5))
        # The document reads the payment's reference only; its posting is the receivables' business.
        payment = CustomerPayment.objects.create(
            customer=customer,
            method=CustomerPayment.Method.BANK,
            amount=Decimal("50.00"),
            currency="CNY",
            received_on=dt.date(2026, 10, 6),
            reference=f"BANK-{language}",
            idempotency_key=f"seller-doc-{language}",
        )
        receipt = Receipt.objects.create(
            payment=payment,
            customer=customer,
            series="RC-2026",
            number=f"RC-2026-{language}",
            amount=Decimal("50.00"),
            currency="CNY",
            language=language,
            issue_date=dt.date(2026, 10, 6),
        )
        usage = UsageStatement.objects.create(
            customer=customer,
            period="2026-10",
            period_start=OCT_1,
            period_end=OCT_31,
            currency="CNY",
            lines=[{"model": "deepseek-chat", "requests": 1, "tokens": {"input": 10}, "amount": "1.00"}],
            total=Decimal("1.00"),
        )
        texts = {
            "receipt": pdf_text(receipt_pdf(receipt)),
            "statement": pdf_text(statement_pdf(statement_build(customer, OCT_1, OCT_31))),
            "usage": pdf_text(usage_statement_pdf(usage)),
        }
        assert words in texts["receipt"]
        assert invoice.number in texts["statement"]
        for text in texts.values():
            assert_sellers(text)


def test_invoice_email_and_dunning_reminder_come_from_the_seller(mailoutbox):
    from billing.dunning.emails import notice_message
    from billing.dunning.models import DunningLevel
    from billing.receivables.sending import invoice_send

    seller = reseller()
    customer = end_customer(seller, language="zh-hans", contact_email="c@example.com")
    invoice = issued_invoice(customer, "80.00", issue_date=OCT_1)
    invoice.language = "zh-hans"

    invoice_send(invoice=invoice)

    [sent] = mailoutbox
    assert SELLER_LEGAL in sent.subject and OPERATOR["OPERATOR_NAME"] not in sent.subject + sent.body
    assert sent.reply_to == ["billing@acme.example"]
    assert sent.from_email == f'"{SELLER_LEGAL}" <noreply@platform.example>'
    assert SELLER_LEGAL in pdf_text(sent.attachments[0][1])

    level = DunningLevel(name="First reminder", days_from_due=3)
    reminder = notice_message(
        invoice=invoice, level=level, recipients=["c@example.com"], today=invoice.due_date + dt.timedelta(3)
    )
    assert SELLER_LEGAL in reminder.body and SELLER_ACCOUNT in reminder.body
    assert "账号" in reminder.body  # the bank labels in the customer's language
    assert OPERATOR["OPERATOR_NAME"] not in reminder.body and "Operator Bank" not in reminder.body
    assert reminder.reply_to == ["billing@acme.example"]
    assert reminder.from_email.startswith(f'"{SELLER_LEGAL}"')


def test_portal_pages_show_the_sellers_name_not_the_operators(client):
    from tests.factories import MembershipFactory

    seller = reseller()
    customer = end_customer(seller)
    client.force_login(MembershipFactory(customer=customer).user)
    page = client.get("/portal/").content.decode()
    assert SELLER_LEGAL in page and OPERATOR["OPERATOR_NAME"] not in page
    # The operator's own customer still sees the operator.
    client.force_login(MembershipFactory(customer=CustomerFactory()).user)
    assert OPERATOR["OPERATOR_NAME"] in client.get("/portal/").content.decode()


def test_invoice_pages_name_the_seller_for_staff_and_via_the_agent_in_the_portal(client):
    from billing.invoicing.models import Invoice
    from tests.factories import MembershipFactory

    seller = reseller()
    invoice = issued_invoice(end_customer(seller), "12.00", issue_date=OCT_31)
    client.force_login(staff(StaffRole.SUPPORT))
    page = client.get(reverse("staff-invoice-detail", args=[invoice.pk])).content.decode()
    assert (
        'data-testid="invoice-seller"' in page and reverse("staff-seller-profile", args=[seller.pk]) in page
    )

    agency = SubDistributorFactory(name="Agent Co", chain_mode=Customer.ChainMode.AGENCY)
    customer = end_customer(agency)
    issued_invoice(customer, "9.00", issue_date=OCT_31)
    client.force_login(MembershipFactory(customer=customer).user)
    [own] = Invoice.objects.filter(customer=customer)
    page = client.get(reverse("portal-invoice-detail", args=[own.pk])).content.decode()
    assert OPERATOR["OPERATOR_NAME"] in page and "via Agent Co" in page
