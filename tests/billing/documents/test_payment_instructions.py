"""Invoices and statements tell the customer how to pay: its seller's bank details, the document's number as
the transfer reference, the due date and the operator's instruction, in the document's language.

A resale sub-distributor's customer pays the reseller (its profile's bank details, never the operator's);
the operator's customers pay the operator (``OPERATOR_BANK_*``). With no bank details configured nothing is
printed, and ``payment_instructions`` says None so the portal can say to ask the seller instead.
"""

import datetime as dt

import pytest

from accounts.identity import payment_instructions
from accounts.models import Customer, SellerProfile
from billing.documents.pdf import invoice_pdf, receipt_pdf, statement_pdf
from billing.receivables.models import Receipt
from billing.statements.build import statement_build
from tests.billing.documents.helpers import invoice, payment
from tests.billing.documents.sellers import SELLER_ACCOUNT, end_customer, pdf_text, reseller
from tests.factories import CustomerFactory, SubDistributorFactory

pytestmark = pytest.mark.django_db
OCT_1, OCT_31 = dt.date(2026, 10, 1), dt.date(2026, 10, 31)
OPERATOR_ACCOUNT = "4000-1234-5678-0000"
INSTRUCTION = "Transfers from outside China: add USD 15 for intermediary bank fees."


@pytest.fixture
def operator_bank(settings):
    settings.OPERATOR_NAME = "Operator Holdings Ltd."
    settings.OPERATOR_BANK_NAME = "Bank of Example, Shanghai Branch"
    settings.OPERATOR_BANK_ACCOUNT_NAME = "Operator Holdings Ltd."
    settings.OPERATOR_BANK_ACCOUNT_NUMBER = OPERATOR_ACCOUNT
    settings.OPERATOR_BANK_CODE = "BOEXCNSH"
    settings.OPERATOR_PAYMENT_INSTRUCTIONS = INSTRUCTION
    settings.OPERATOR_BANK_DETAILS = ""


@pytest.fixture
def no_bank(settings):
    for name in ("NAME", "ACCOUNT_NAME", "ACCOUNT_NUMBER", "CODE"):
        setattr(settings, f"OPERATOR_BANK_{name}", "")
    settings.OPERATOR_PAYMENT_INSTRUCTIONS = INSTRUCTION
    settings.OPERATOR_BANK_DETAILS = ""


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def flat(data: bytes) -> str:
    return " ".join(pdf_text(data).split())


def test_the_selector_gives_the_operators_details_to_its_customers(operator_bank):
    details = payment_instructions(CustomerFactory())
    assert details.payee == "Operator Holdings Ltd."
    assert [(str(label), value) for label, value in details.bank_fields] == [
        ("Bank", "Bank of Example, Shanghai Branch"),
        ("Account name", "Operator Holdings Ltd."),
        ("Account number", OPERATOR_ACCOUNT),
        ("SWIFT / branch", "BOEXCNSH"),
    ]
    assert details.note == INSTRUCTION
    # An agency's customer is the operator's (the agent only introduced it); so is a reseller itself.
    agency = SubDistributorFactory(chain_mode=Customer.ChainMode.AGENCY)
    assert payment_instructions(end_customer(agency)).payee == "Operator Holdings Ltd."
    assert payment_instructions(reseller(logo=False)).payee == "Operator Holdings Ltd."
    assert payment_instructions(None).payee == "Operator Holdings Ltd."


def test_a_resellers_customer_pays_the_reseller_never_the_operator(operator_bank):
    seller = reseller(logo=False)
    details = payment_instructions(end_customer(seller))
    values = [value for _label, value in details.bank_fields]
    assert SELLER_ACCOUNT in values and OPERATOR_ACCOUNT not in values
    assert details.note == "" and details.email == "billing@acme.example"
    # A reseller without bank details (or without a profile) has none: never the operator's instead.
    SellerProfile.objects.filter(customer=seller).update(
        bank_name="", bank_account_name="", bank_account_number="", bank_code=""
    )
    assert payment_instructions(end_customer(seller)) is None
    bare = SubDistributorFactory(chain_mode=Customer.ChainMode.RESALE)
    assert payment_instructions(end_customer(bare)) is None


def test_nothing_is_configured_nothing_is_given(no_bank):
    assert payment_instructions(CustomerFactory()) is None


def test_the_operators_free_text_bank_details_alone_still_count(no_bank, settings):
    settings.OPERATOR_BANK_DETAILS = "Pay to account 1234 at Example Bank"
    details = payment_instructions(CustomerFactory())
    assert details.bank_fields == () and details.bank_details == "Pay to account 1234 at Example Bank"


@pytest.mark.parametrize(
    ("language", "heading", "reference_label", "due_label"),
    [("en", "how to pay", "transfer reference", "due date"), ("zh-hans", "付款方式", "转账附言", "到期日")],
)
def test_the_invoice_prints_the_block_in_its_language(
    operator_bank, language, heading, reference_label, due_label
):
    customer = CustomerFactory(name="Acme", language=language)
    inv = invoice(customer, "123.45", dt.date(2026, 10, 31))
    text = flat(invoice_pdf(inv, language=language)).lower()
    assert heading in text and reference_label in text and due_label in text
    assert OPERATOR_ACCOUNT in text and "boexcnsh" in text and INSTRUCTION.lower() in text
    # The invoice number is the reference to quote, and the due date is printed with it.
    block = text[text.index(heading) :]
    assert inv.number.lower() in block and inv.due_date.isoformat() in block


def test_a_resellers_customers_invoice_and_statement_carry_the_resellers_bank(operator_bank):
    customer = end_customer(reseller(logo=False))
    inv = invoice(customer, "88.00", dt.date(2026, 10, 9))
    for data in (invoice_pdf(inv), statement_pdf(statement_build(customer, OCT_1, OCT_31))):
        text = flat(data)
        assert SELLER_ACCOUNT in text and "CMBCCNBS" in text and "billing@acme.example" in text
        assert OPERATOR_ACCOUNT not in text and "BOEXCNSH" not in text and INSTRUCTION not in text


def test_the_statement_quotes_the_customer_code_as_the_reference(operator_bank):
    customer = CustomerFactory(name="Acme", code="acme-ref-77")
    invoice(customer, "500.00", dt.date(2026, 10, 5))
    text = flat(statement_pdf(statement_build(customer, OCT_1, OCT_31))).lower()
    block = text[text.index("how to pay") :]
    assert "acme-ref-77" in block and OPERATOR_ACCOUNT in block


def test_no_bank_details_no_block(no_bank):
    customer = CustomerFactory(name="Acme")
    inv = invoice(customer, "123.45", dt.date(2026, 10, 31))
    for data in (invoice_pdf(inv), statement_pdf(statement_build(customer, OCT_1, OCT_31))):
        text = flat(data).lower()
        assert (
            "how to pay" not in text and "transfer reference" not in text and INSTRUCTION.lower() not in text
        )


def test_a_paid_invoice_asks_for_nothing_but_the_receipt_keeps_the_bank_footer(operator_bank):
    customer = CustomerFactory(name="Acme")
    inv = invoice(customer, "100.00", dt.date(2026, 10, 2))
    pay = payment(customer, "100.00", dt.date(2026, 10, 4), [(inv, "100.00")])
    inv.refresh_from_db()
    assert inv.amount_due == 0
    assert "how to pay" not in flat(invoice_pdf(inv)).lower()
    receipt = Receipt.objects.create(
        customer=customer,
        series="RC-2026",
        number="RC-2026-P1",
        amount=pay.amount,
        currency="CNY",
        language="en",
        issue_date=dt.date(2026, 10, 4),
        payment=pay,
    )
    text = flat(receipt_pdf(receipt))
    assert "how to pay" not in text.lower() and OPERATOR_ACCOUNT in text  # the seller's footer, as before
