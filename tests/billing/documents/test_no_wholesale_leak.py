"""An end customer of a resale sub-distributor sees nothing of the wholesale side (#17).

S (resale) buys at the operator's plan "Wholesale CNY" (cost × 1.37: 1.37 / 5.48 CNY per million input /
output tokens) and sells to C at its own "Acme Retail" (wholesale × 1.3: 1.781 / 7.124). After one event of
1M + 1M tokens and the October close, C is billed 8.905 → 8.91 at retail; the wholesale hop (6.85 to S) is
the operator's business with S. Every page, PDF, CSV and API answer C can reach must carry S's identity and
neither the wholesale plan's name, nor its prices or amount, nor the operator's name or tax id.

The document surfaces (helper D's: invoices, receipts, statements, the portal shell) are one test; the
others (usage, wallet, packs: helpers R and U2; price list, calculator, quotes: helper P) another, so a
failure says whose surface leaks.
"""

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import MemberRole, StaffRole
from billing.documents.pdf import invoice_pdf
from billing.invoicing.close.services import close_period
from billing.invoicing.models import Invoice, UsageStatement
from billing.receivables.credit_notes import credit_note_issue
from billing.receivables.models import Receipt
from billing.receivables.services import payment_record
from billing.terms.models import BillingTerms
from billing.usage.models import GatewayKey
from billing.usage.services import usage_batch_ingest
from catalog.models import PlanRule
from catalog.services.plans import plan_assign, plan_create
from tests.billing.documents.sellers import (
    OPERATOR,
    SELLER_LEGAL,
    end_customer,
    operator_settings,
    pdf_text,
    reseller,
)
from tests.billing.factories import staff, topup
from tests.billing.usage.factories import T0, default_plan, priced_model, source_make
from tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db

WHOLESALE = "Wholesale CNY"
RETAIL = "Acme Retail"
# The wholesale hop's figures: unit prices and the amount of the one event (6.85 = 1.37 + 5.48).
WHOLESALE_FIGURES = ("1.37", "5.48", "6.85")
RETAIL_TOTAL = Decimal("8.91")


def leaks(text: str) -> list[str]:
    """What of the wholesale side or the operator ``text`` shows (empty when nothing)."""
    # One space for any run of blanks: a PDF's narrow column wraps a name over two lines.
    text = " ".join(text.split())
    found = [word for word in (WHOLESALE, *OPERATOR.values()) if word in text]
    # A figure counts standing alone, trailing zeros or not ("6.85", "6.850000"); "11.37" or "1.375" is
    # another number.
    found += [f for f in WHOLESALE_FIGURES if re.search(rf"(?<![\d.,]){re.escape(f)}0*(?!\d)", text)]
    return found


@pytest.fixture
def chain(settings, tmp_path):
    operator_settings(settings)
    settings.MEDIA_ROOT = tmp_path
    priced_model()  # deepseek-chat: contract cost 1 / 4 CNY per million tokens
    default_plan()
    wholesale = plan_create(name=WHOLESALE, currency="CNY")
    PlanRule.objects.create(
        plan=wholesale, method=PlanRule.Method.COST_MARKUP, markup=Decimal("0.37"), effective_from=T0
    )
    seller = reseller(name="Acme Reseller")
    BillingTerms.objects.create(customer=seller, mode=BillingTerms.Mode.MONTHLY, currency="CNY")
    plan_assign(customer=seller, plan=wholesale, effective_from=T0)
    retail = plan_create(name=RETAIL, currency="CNY", owner=seller)
    PlanRule.objects.create(
        plan=retail, method=PlanRule.Method.WHOLESALE_MARKUP, markup=Decimal("0.3"), effective_from=T0
    )
    customer = end_customer(seller, name="Zed Labs", contact_email="ap@zed.example")
    BillingTerms.objects.create(customer=customer, mode=BillingTerms.Mode.MONTHLY, currency="CNY")
    plan_assign(customer=customer, plan=retail, effective_from=T0)
    source = source_make()[0]
    GatewayKey.objects.create(key="key-zed", customer=customer, source=source)
    # A prepaid customer too: its usage statement and wallet are what a prepaid customer reads.
    prepaid = end_customer(seller, name="Yak Studio", language="zh-hans")
    BillingTerms.objects.create(customer=prepaid, mode=BillingTerms.Mode.PREPAID, currency="CNY")
    plan_assign(customer=prepaid, plan=retail, effective_from=T0)
    GatewayKey.objects.create(key="key-yak", customer=prepaid, source=source)
    topup(prepaid, "100.00", "yak-topup-1")
    for n, key in enumerate(("key-zed", "key-yak"), start=1):
        _use(source, key, n)
    close_period("2026-10", issue_date=dt.date(2026, 11, 1))
    invoice = Invoice.objects.get(customer=customer)
    assert invoice.total == RETAIL_TOTAL  # C is billed at retail, by S
    finance = staff(StaffRole.FINANCE)
    note = credit_note_issue(
        invoice=invoice, reason="Goodwill", amount=Decimal("1.00"), actor=finance, idempotency_key="zed-cn-1"
    )
    invoice.refresh_from_db()
    payment = payment_record(
        customer=customer,
        amount=invoice.amount_due,
        currency="CNY",
        received_on=dt.date(2026, 11, 5),
        reference="ZED-TT-1",
        actor=finance,
        idempotency_key="zed-pay-1",
    )
    return {
        "customer": customer,
        "invoice": invoice,
        "receipt": Receipt.objects.get(payment=payment),
        "credit_note": note,
        "user": MembershipFactory(customer=customer, role=MemberRole.OWNER).user,
        "prepaid": prepaid,
        "usage_statement": UsageStatement.objects.get(customer=prepaid),
        "prepaid_user": MembershipFactory(customer=prepaid, role=MemberRole.OWNER).user,
    }


def _use(source, key: str, n: int) -> None:
    """One request of 1M input and 1M output tokens on 10 October, through the real ingest."""
    at = dt.datetime(2026, 10, 10, 4, tzinfo=dt.UTC)
    result = usage_batch_ingest(
        source=source,
        records=[
            {
                "request_id": f"req-leak-{n}",
                "occurred_at": at.isoformat(),
                "key": key,
                "model": "deepseek-chat",
                "prompt_tokens": 1_000_000,
                "completion_tokens": 1_000_000,
            }
        ],
        idempotency_key=f"batch-leak-{n}",
        now=max(at, timezone.now()),
    )
    assert result.accepted == 1, result


def _get(client, url: str, **params) -> str:
    response = client.get(url, params)
    assert response.status_code == 200, (url, response.status_code)
    if response.get("Content-Type", "").startswith("application/pdf"):
        return pdf_text(response.content)
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return body.decode()


def _check(pages: dict[str, str]) -> None:
    leaked = {name: found for name, text in pages.items() if (found := leaks(text))}
    assert not leaked, f"wholesale or operator details shown to the end customer: {leaked}"


def test_documents_show_the_seller_and_nothing_of_the_wholesale_side(client, chain):
    client.force_login(chain["user"])
    invoice, receipt = chain["invoice"], chain["receipt"]
    month = {"period": "month", "month": "2026-10"}
    pages = {
        "home": _get(client, reverse("portal-home")),
        "invoice list": _get(client, reverse("portal-invoice-list")),
        "invoice page": _get(client, reverse("portal-invoice-detail", args=[invoice.pk])),
        "invoice PDF": _get(client, reverse("portal-invoice-pdf", args=[invoice.pk])),
        "invoice lines CSV": _get(client, reverse("portal-invoice-lines-csv", args=[invoice.pk])),
        "receipts": _get(client, reverse("portal-receipt-list")),
        "receipt PDF": _get(client, reverse("portal-receipt-pdf", args=[receipt.pk])),
        "credit note PDF": _get(client, reverse("portal-credit-note-pdf", args=[chain["credit_note"].pk])),
        "statement": _get(client, reverse("portal-statement"), **month),
        "statement PDF": _get(client, reverse("portal-statement"), **month, format="pdf"),
        "statement CSV": _get(client, reverse("portal-statement"), **month, format="csv"),
        "usage statements": _get(client, reverse("portal-usage-statement-list")),
    }
    invoice.language = "zh-hans"
    pages["invoice PDF (zh)"] = pdf_text(invoice_pdf(invoice))
    # The prepaid customer (Chinese): its usage statements.
    client.force_login(chain["prepaid_user"])
    usage = chain["usage_statement"]
    assert usage.total == RETAIL_TOTAL
    pages["usage statements (prepaid)"] = _get(client, reverse("portal-usage-statement-list"))
    pages["usage statement PDF"] = _get(client, reverse("portal-usage-statement-pdf", args=[usage.pk]))
    pages["home (prepaid)"] = _get(client, reverse("portal-home"))
    pages["statement PDF (prepaid)"] = _get(client, reverse("portal-statement"), **month, format="pdf")
    _check(pages)
    # What C does see: its retail total, from S.
    for name in (
        "invoice page",
        "statement",
        "invoice PDF",
        "invoice PDF (zh)",
        "receipt PDF",
        "credit note PDF",
        "statement PDF",
        "usage statement PDF",
        "statement PDF (prepaid)",
    ):
        assert SELLER_LEGAL in pages[name], name
    assert "8.91" in pages["invoice PDF"] and "8.91" in pages["invoice page"]
    assert "deepseek-chat" in pages["usage statement PDF"]


def test_other_portal_surfaces_show_nothing_of_the_wholesale_side(client, chain):
    """Usage (helper R), wallet and packs (U2), price list, calculator and quotes (helper P)."""
    client.force_login(chain["user"])
    customer = chain["customer"]
    quote = client.post(
        "/api/v1/quotes",
        {"model": "deepseek-chat", "prompt_tokens": 1_000_000, "completion_tokens": 1_000_000},
        content_type="application/json",
    )
    assert quote.status_code == 200, quote.content
    pages = {
        "usage": _get(client, reverse("portal-usage")),
        "wallet": _get(client, reverse("portal-wallet")),
        "packs": _get(client, reverse("portal-allowances")),
        "prices": _get(client, reverse("portal-prices")),
        "prices CSV": _get(client, reverse("portal-prices"), format="csv"),
        "calculator": _get(
            client,
            reverse("portal-calculator"),
            customer=customer.pk,
            model="deepseek-chat",
            prompt_tokens=1_000_000,
            completion_tokens=1_000_000,
        ),
        "quote API": quote.content.decode(),
    }
    client.force_login(chain["prepaid_user"])
    pages["usage (prepaid)"] = _get(client, reverse("portal-usage"))
    pages["wallet (prepaid)"] = _get(client, reverse("portal-wallet"))
    _check(pages)
    assert RETAIL in pages["prices"]


def _portal_urls() -> list[str]:
    """Every portal page that takes no id, read from the URL configuration (so a new page is walked too)."""
    from django.urls import URLPattern, URLResolver, get_resolver

    def walk(patterns, prefix=""):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, prefix + str(pattern.pattern))
            elif isinstance(pattern, URLPattern):
                yield prefix + str(pattern.pattern)

    return sorted(
        {
            f"/{url}"
            for url in walk(get_resolver().url_patterns)
            if url.startswith("portal/") and "<" not in url
        }
    )


def test_every_portal_page_an_end_customer_reaches_shows_nothing_of_the_wholesale_side(client, chain):
    """The walk over all id-less portal URLs (GET, as each end customer, with and without ?format=csv):
    whatever answers 200 must not leak; pages refused to an end customer (403, 404, redirects) are fine."""
    pages, reached = {}, set()
    for user in ("user", "prepaid_user"):
        client.force_login(chain[user])
        for url in _portal_urls():
            for params in ({}, {"format": "csv"}):
                response = client.get(url, params)
                if response.status_code != 200:
                    continue
                reached.add(url)
                body = b"".join(response.streaming_content) if response.streaming else response.content
                if response.get("Content-Type", "").startswith("application/pdf"):
                    pages[f"{user} {url} {params}"] = pdf_text(body)
                else:
                    pages[f"{user} {url} {params}"] = body.decode()
    # The walk did reach the pages an end customer lives on.
    assert {
        "/portal/",
        "/portal/invoices/",
        "/portal/usage/",
        "/portal/wallet/",
        "/portal/prices/",
    } <= reached
    assert "/portal/seller/profile/" not in reached  # a seller's page, not an end customer's
    _check(pages)
