"""Invoice helpers other areas' tests can use: an issued, posted invoice in one call."""

from decimal import Decimal

from billing.invoicing.services import LineDraft, invoice_create, invoice_issue
from billing.terms.models import BillingTerms


def credit_terms(customer, *, currency: str = "CNY", mode: str = "monthly", **fields) -> BillingTerms:
    """Put ``customer`` on credit terms (creating or updating its BillingTerms) and return them."""
    terms, _created = BillingTerms.objects.update_or_create(
        customer=customer, defaults={"mode": mode, "currency": currency, **fields}
    )
    customer.billing_terms = terms
    return terms


def issued_invoice(
    customer,
    amount="100.00",
    currency: str = "CNY",
    *,
    issue_date=None,
    description: str = "Consulting",
    actor=None,
):
    """An issued invoice of one service line of ``amount`` (tax at the terms' rate, zero by default).

    Gives ``customer`` monthly credit terms in ``currency`` when it has none (or is prepaid). Posted:
    Dr receivable(customer) total / Cr revenue: services (and tax payable).
    """
    terms = getattr(customer, "billing_terms", None)
    if terms is None or terms.mode == BillingTerms.Mode.PREPAID or terms.currency != currency:
        credit_terms(customer, currency=currency)
    invoice = invoice_create(
        customer=customer,
        currency=currency,
        lines=[LineDraft(kind="service", description=description, amount_exact=Decimal(amount))],
    )
    return invoice_issue(invoice=invoice, actor=actor, issue_date=issue_date)
