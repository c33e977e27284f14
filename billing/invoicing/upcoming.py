"""The upcoming invoice: what the close of the open period would invoice a customer if it ran now.

Read-only. It runs the close's own measuring and line building (``close.measure``, ``close.lines``) for
one customer and the period holding today, so the preview and the invoice the close will make agree line
for line, tax and rounding included; usage that lands later moves the figures until the close. Nothing is
stored: the reads run in a transaction that is rolled back, whatever a helper might write.
"""

from dataclasses import dataclass
from datetime import date

from django.db import transaction
from django.utils import timezone

from accounts.models import Customer
from billing.documents.line_prices import with_class_prices
from billing.invoicing.close.lines import other_lines, other_lines_add, usage_lines
from billing.invoicing.close.measure import billed_keys, credit_intervals, usage_billed, usage_cumulative
from billing.invoicing.close.services import closing_customers
from billing.invoicing.close.windows import window_shares
from billing.invoicing.models import Invoice, InvoiceLine
from billing.invoicing.periods import Period, period_of_day
from billing.invoicing.pricing import UnitPrices
from billing.invoicing.services import invoice_totals
from billing.terms.models import BillingTerms
from catalog.models import AIModel


@dataclass
class Upcoming:
    """One currency's invoice-to-date: an unsaved ``Invoice`` (totals set) and its unsaved lines."""

    invoice: Invoice
    lines: list[InvoiceLine]


def open_period(terms: BillingTerms | None, today: date) -> Period:
    """The period holding ``today`` at the customer's cadence (a quarter for quarterly terms)."""
    quarterly = terms is not None and terms.mode == BillingTerms.Mode.QUARTERLY
    return period_of_day(today, quarter=quarterly)


def upcoming_invoices(customer: Customer, *, today: date | None = None) -> tuple[Period, list[Upcoming]]:
    """The open period and what its close would invoice ``customer`` so far, per currency (none: a
    prepaid customer never on credit, or nothing billable yet)."""
    today = today or timezone.localdate()
    terms = BillingTerms.objects.filter(customer=customer).first()
    period = open_period(terms, today)
    if terms is None or customer.pk not in closing_customers(period):
        return period, []
    ids = [customer.pk]
    with transaction.atomic():
        intervals = credit_intervals(ids)
        cumulative = usage_cumulative(ids, period, False, intervals)
        models = {m.pk: m for m in AIModel.objects.filter(pk__in={key[1] for key in cumulative})}
        tax_rates = {customer.pk: terms.tax_rate}
        built_of = usage_lines(
            cumulative,
            usage_billed(ids, period),
            period=period,
            models=models,
            prices=UnitPrices(period=period, customer_ids=ids),
            tax_rates=tax_rates,
            windows=window_shares(ids, period, intervals),
        )
        others = other_lines(ids, period)
        already = billed_keys(ids, {d.source_key for ds in others.values() for d in ds})
        other_lines_add(built_of, others, already=already, tax_rates=tax_rates)
        transaction.set_rollback(True)
    out = []
    for (_cid, currency), built in sorted(built_of.items(), key=lambda item: item[0][1]):
        if not built:
            continue
        invoice = Invoice(
            customer=customer,
            currency=currency,
            period=period.label,
            period_start=period.start,
            period_end=period.end,
            language=customer.language,
        )
        lines = [ln.model() for ln in built]
        for line in lines:
            line.invoice = invoice
        invoice_totals(invoice, lines)
        out.append(Upcoming(invoice, with_class_prices(lines)))
    return period, out
