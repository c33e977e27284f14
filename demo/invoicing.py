"""Demo invoices: terms and service charges for the credit demo customers, then last month's close.

Idempotent: terms are only filled in where still at their defaults, service charges are keyed by their
description, and re-running the close creates nothing (close keys). Works on SQLite (no temp table, no
COPY there: the close falls back to the ORM).
"""

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from accounts.models import Customer
from billing.invoicing.close.services import close_period
from billing.invoicing.models import PeriodClose, ServiceCharge
from billing.invoicing.periods import period_just_ended
from billing.terms.models import CREDIT_MODES, BillingTerms

# (customer code, payment term, days, tax rate, review before issue)
TERMS = [
    ("suzhou-mfg", "eom", 30, "0.06", False),
    ("shanghai-media", "net", 30, "0.06", True),  # finance reviews: its invoice stays a draft
    ("beijing-search", "net", 15, "0.06", False),
    ("acme-agents", "net", 30, "0", False),
    ("sg-fintech", "eom", 15, "0.09", False),
    ("huadong-ai", "net", 45, "0.06", False),
    ("pacific-hub", "eom", 30, "0", False),
    ("wuhan-bio", "net", 30, "0.06", False),
    ("sydney-health", "net", 30, "0.10", False),
    ("shenzhen-iot", "eom", 0, "0.06", False),
]
# (customer code, description, amount, recurrence)
CHARGES = [
    ("acme-agents", "Prompt engineering workshop (2 days)", "2400", ServiceCharge.Recurrence.ONE_OFF),
    ("beijing-search", "Agent orchestration retainer", "8000", ServiceCharge.Recurrence.MONTHLY),
    ("suzhou-mfg", "Model selection review", "3000", ServiceCharge.Recurrence.QUARTERLY),
]


def load() -> list[tuple[str, str]]:
    """Fill in credit terms and service charges, then close the month that just ended; no logins."""
    customers = {c.code: c for c in Customer.objects.filter(code__in={row[0] for row in TERMS + CHARGES})}
    for code, term, days, tax, review in TERMS:
        terms = BillingTerms.objects.filter(customer__code=code, mode__in=CREDIT_MODES).first()
        if terms is None or terms.payment_term != BillingTerms.PaymentTerm.DUE_ON_RECEIPT or terms.tax_rate:
            continue  # missing, prepaid, or already set up (by staff or an earlier load)
        terms.payment_term, terms.payment_days = term, days
        terms.tax_rate, terms.review_invoices = Decimal(tax), review
        terms.tax_label = f"VAT {Decimal(tax) * 100:.0f}%" if Decimal(tax) else ""
        terms.save()
    period = period_just_ended()
    for code, description, amount, recurrence in CHARGES:
        customer = customers.get(code)
        if customer is None or not hasattr(customer, "billing_terms"):
            continue
        ServiceCharge.objects.get_or_create(
            customer=customer,
            description=description,
            defaults={
                "amount": Decimal(amount),
                "currency": customer.billing_terms.currency,
                "recurrence": recurrence,
                # Inside last month, so the close below bills it.
                "starts_on": period.start + timedelta(days=9),
            },
        )
    # A second load must add nothing, not even a PeriodClose row for a close that would make nothing.
    if not PeriodClose.objects.filter(period=period.label, state=PeriodClose.State.DONE).exists():
        close_period(period, issue_date=timezone.localdate())
    return []
