"""Usage lines show their token classes, tokens and unit price per million (PDF, staff and portal pages)."""

from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import translation

from accounts.models import MemberRole, StaffRole
from billing.documents.line_prices import class_prices
from billing.documents.pdf import invoice_pdf
from billing.invoicing.services import LineDraft, invoice_create, invoice_issue
from catalog.rating import TOKEN_CLASS_LABELS, TOKEN_CLASSES
from tests.billing.documents.test_pdf import pdf_text
from tests.billing.factories import staff
from tests.billing.invoicing.factories import credit_terms
from tests.factories import CustomerFactory, MembershipFactory

pytestmark = pytest.mark.django_db

# As billing.invoicing.close stores a usage line: unit_price None, the breakdown in details.
# Keyed by the catalog's token classes, as the close writes them (billing.invoicing.close.measure).
DETAILS = {
    "tokens": {"output": 300000, "cache_read": 0, "input": 1200000},
    "plan": "Standard",
    "unit_prices": {"input": "2.5", "cache_read": "0.25", "output": "10.075"},
    "prices_varied": True,
}
VARIED = "Prices varied in this period"


@pytest.fixture
def usage_invoice():
    customer = CustomerFactory(name="Acme")
    credit_terms(customer, currency="CNY")
    draft = invoice_create(
        customer=customer,
        lines=[
            LineDraft(
                kind="usage",
                description="gpt-4o",
                amount_exact=Decimal("6.0225"),
                quantity=Decimal("1500000"),
                unit="tokens",
                details=DETAILS,
            ),
            LineDraft(kind="service", description="Onboarding", amount_exact=Decimal("100")),
        ],
    )
    return invoice_issue(invoice=draft)


def test_class_prices_lists_billed_classes_in_close_order_and_tolerates_bad_details(usage_invoice):
    usage, service = usage_invoice.lines.order_by("position")
    rows = class_prices(usage)
    assert [(r.token_class, r.tokens, r.unit_price) for r in rows] == [
        ("input", 1200000, Decimal("2.5")),
        ("output", 300000, Decimal("10.075")),
    ]
    assert [str(r.label) for r in rows] == ["Input", "Output"]
    assert class_prices(service) == []
    usage.details = {"tokens": {"input": "x", "output": 5}, "unit_prices": "nope"}
    assert [(r.tokens, r.unit_price) for r in class_prices(usage)] == [(5, None)]
    usage.details = None
    assert class_prices(usage) == []


def test_the_invoice_pdf_shows_each_usage_class_with_its_unit_price(usage_invoice):
    text = pdf_text(invoice_pdf(usage_invoice))
    input_row = next(row for row in text.splitlines() if "Input" in row)
    assert "1,200,000" in input_row and "2.50" in input_row
    output_row = next(row for row in text.splitlines() if "Output" in row)
    assert "300,000" in output_row and "10.075" in output_row
    assert "Cache read" not in text  # no tokens of that class were billed
    assert "per 1M tokens" in text
    assert VARIED in " ".join(text.split())


def test_the_class_labels_are_the_catalogs_in_its_order_and_in_the_invoice_language(usage_invoice):
    """Every class the close bills, listed in the catalog's order (not the order the details hold them,
    nor alphabetically) under the catalog's label, in Chinese on a Chinese invoice's PDF."""
    line = usage_invoice.lines.get(kind="usage")
    line.details = {
        **DETAILS,
        "tokens": {cls: 1000 * (i + 1) for i, cls in enumerate(reversed(TOKEN_CLASSES))},
    }
    line.save(update_fields=["details"])
    assert [r.token_class for r in class_prices(line)] == list(TOKEN_CLASSES)
    usage_invoice.language = "zh-hans"
    usage_invoice.save(update_fields=["language"])
    text = pdf_text(invoice_pdf(usage_invoice))
    with translation.override("zh-hans"):
        labels = [str(TOKEN_CLASS_LABELS[cls]) for cls in TOKEN_CLASSES]
    assert labels[0] == "输入" and labels[4] == "输出"
    rows = [row for row in text.splitlines() if any(label in row for label in labels)]
    assert [next(label for label in labels if label in row) for row in rows] == labels
    # the input row: its tokens (grouped in Chinese too), unit price
    assert rows[0].split()[1:] == ["6,000", "2.50"]
    assert not any(cls in text for cls in ("cache_read", "cache_write_5m", "reasoning"))


def test_no_varied_note_when_prices_held(usage_invoice):
    line = usage_invoice.lines.get(kind="usage")
    line.details = {**DETAILS, "prices_varied": False}
    line.save(update_fields=["details"])
    text = " ".join(pdf_text(invoice_pdf(usage_invoice)).split())
    assert "10.075" in text and VARIED not in text


def test_staff_and_portal_invoice_pages_show_the_class_prices(client, usage_invoice):
    client.force_login(staff(StaffRole.FINANCE))
    page = client.get(reverse("staff-invoice-detail", args=[usage_invoice.pk])).content.decode()
    assert 'data-testid="line-class-prices"' in page and "10.075" in page and "1,200,000" in page
    assert VARIED in page

    client.force_login(MembershipFactory(customer=usage_invoice.customer, role=MemberRole.BILLING).user)
    page = client.get(reverse("portal-invoice-detail", args=[usage_invoice.pk])).content.decode()
    assert 'data-testid="line-class-prices"' in page and "10.075" in page and "2.50" in page
