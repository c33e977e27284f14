"""Invoice lines say what was charged: batch-priced usage reconciles on the page, the PDF and the CSV.

The audit's line: tokens whose unit prices come to 771.77, charged 687.56 because part of them were batch
requests at half price (DESIGN §5). The documents print the batch prices and a price adjustment of −84.21.
"""

import csv
import io
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.urls import reverse

from accounts.models import MemberRole, StaffRole
from billing.documents.pdf import invoice_pdf
from billing.invoicing.close.services import close_period
from billing.terms.models import BillingTerms
from billing.usage.services import usage_batch_ingest
from catalog.models import BookKind, PriceEntry
from tests.billing.documents.test_pdf import pdf_text
from tests.billing.factories import staff
from tests.billing.usage.factories import customer_make
from tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db


def _ingest(source, request_id: str, *, prompt: int, completion: int, batch: bool) -> None:
    result = usage_batch_ingest(
        source=source,
        records=[
            {
                "request_id": request_id,
                "occurred_at": datetime(2026, 10, 12, 3, tzinfo=UTC).isoformat(),
                "key": "key-b",
                "model": "deepseek-chat",
                "prompt_tokens": prompt,
                "completion_tokens": completion,
                "batch": batch,
            }
        ],
        idempotency_key=f"b-{request_id}",
    )
    assert result.accepted == 1


@pytest.fixture
def batch_invoice(source, model):
    PriceEntry.objects.filter(model=model, book__kind=BookKind.SELL).update(batch_multiplier=Decimal("0.5"))
    customer_make(key="key-b", mode=BillingTerms.Mode.MONTHLY)
    # Standard: 100,000,000 input × 2/M + 50,418,750 output × 8/M = 200 + 403.35 = 603.35.
    _ingest(source, "std", prompt=100_000_000, completion=50_418_750, batch=False)
    # Batch: 84,210,000 input, 168.42 at the unit price, charged half: 84.21.
    _ingest(source, "bat", prompt=84_210_000, completion=0, batch=True)
    [invoice] = close_period("2026-10", issue_date=date(2026, 11, 1)).invoices
    return invoice


def test_the_close_stores_the_batch_prices_and_charges_the_rated_amount(batch_invoice):
    line = batch_invoice.lines.get()
    assert line.amount == Decimal("687.56")
    assert line.details["unit_prices"]["input"] == "2" and line.details["batch_prices"]["input"] == "1"
    assert line.details["batch_prices"]["output"] == "4"
    assert line.details["prices_varied"] is False


def test_the_pages_reconcile_tokens_times_prices_to_the_charged_amount(client, batch_invoice):
    client.force_login(staff(StaffRole.FINANCE))
    page = client.get(reverse("staff-invoice-detail", args=[batch_invoice.pk])).content.decode()
    assert 'data-testid="line-price-check"' in page
    assert "771.77" in page and "-84.21" in page and "687.56" in page
    assert "Batch price per 1M tokens" in page and "batch requests at the batch prices" in page

    client.force_login(MembershipFactory(customer=batch_invoice.customer, role=MemberRole.BILLING).user)
    page = client.get(reverse("portal-invoice-detail", args=[batch_invoice.pk])).content.decode()
    assert "771.77" in page and "-84.21" in page


def test_the_pdf_prints_the_batch_prices_and_the_adjustment(batch_invoice):
    text = " ".join(pdf_text(invoice_pdf(batch_invoice)).split())
    assert "Tokens × unit prices 771.77" in text
    # The reason wraps in its cell: the amount may print between its words.
    assert "-84.21" in text
    assert "Price adjustment (batch requests at the batch prices)" in text.replace(" -84.21", "")
    assert "Amount charged 687.56" in text
    input_row = next(row for row in pdf_text(invoice_pdf(batch_invoice)).splitlines() if "Input" in row)
    assert input_row.split()[1:] == ["184,210,000", "2.00", "1.00"]


def test_the_pdf_says_it_in_chinese_on_a_chinese_invoice(batch_invoice):
    batch_invoice.language = "zh-hans"
    batch_invoice.save(update_fields=["language"])
    text = " ".join(pdf_text(invoice_pdf(batch_invoice)).split())
    assert "价格调整" in text and "批量请求按批量价格计费" in text.replace(" -84.21", "")
    assert "Token 数 × 单价 771.77" in text and "实收金额 687.56" in text


def test_the_lines_csv_adds_up_and_is_refused_to_other_customers(client, batch_invoice):
    client.force_login(staff(StaffRole.AUDITOR))
    response = client.get(reverse("staff-invoice-lines-csv", args=[batch_invoice.pk]))
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    line = next(r for r in rows if r["row"] == "usage")
    at_prices = next(r for r in rows if r["row"] == "at_unit_prices")
    adjustment = next(r for r in rows if r["row"] == "price_adjustment")
    assert (line["amount"], at_prices["amount"], adjustment["amount"]) == ("687.56", "771.77", "-84.21")
    assert Decimal(at_prices["amount"]) + Decimal(adjustment["amount"]) == Decimal(line["amount"])
    classes = {r["token_class"]: r for r in rows if r["row"] == "token_class"}
    assert classes["input"]["quantity"] == "184210000" and classes["input"]["batch_unit_price"] == "1"

    client.force_login(MembershipFactory(customer=batch_invoice.customer, role=MemberRole.BILLING).user)
    assert client.get(reverse("portal-invoice-lines-csv", args=[batch_invoice.pk])).status_code == 200
    client.force_login(MembershipFactory(role=MemberRole.BILLING).user)  # another customer's user
    assert client.get(reverse("portal-invoice-lines-csv", args=[batch_invoice.pk])).status_code == 404
    assert client.get(reverse("staff-invoice-lines-csv", args=[batch_invoice.pk])).status_code == 403
