"""Realised FX gain or loss on foreign-currency payments applied to foreign-currency invoices.

An invoice in USD booked the receivable at the invoice date's rate; the payment that settles it is worth
the payment date's rate. On the allocated amount the difference is realised:
``amount × (payment rate − invoice rate)`` in the base currency, Dr (gain) or Cr (loss) the receivables'
FX adjustment account against FX gain/loss. A release of an allocation (a credit note, a reversed
payment) realises the same figure back with the opposite sign.

Read-only on allocations: this runs after them (daily and before each month-end revaluation), once per
allocation row, so nothing in the payment code has to call it.
"""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from billing.fx.accounts import adjustment_account, realised_account
from billing.fx.models import FxRealisation
from billing.fx.rates import BaseRates
from billing.ledger.accounts import account_get
from billing.ledger.models import AccountKind
from billing.ledger.services import credit, debit, transaction_post
from billing.money import quantize_money
from billing.receivables.models import PaymentAllocation
from common.stored_text import money, stored


@dataclass(frozen=True)
class _Plan:
    allocation: PaymentAllocation
    effective_date: date
    invoice_rate: Decimal
    payment_rate: Decimal
    base_amount: Decimal


def pending_allocations(*, up_to: date):
    """Foreign-currency allocation rows (and releases) effective by ``up_to`` not yet realised."""
    base = settings.BASE_CURRENCY
    done = FxRealisation.objects.values("allocation_id")
    return (
        PaymentAllocation.objects.exclude(invoice__currency=base)
        .exclude(pk__in=done)
        .select_related("invoice", "payment", "payment__customer", "releases__invoice", "releases__payment")
        .order_by("allocated_at", "id")
    ).filter(allocated_at__date__lte=up_to)


def _plan(allocation: PaymentAllocation, rates: BaseRates) -> _Plan | None:
    # A release gives back what its allocation realised: the same rates, the opposite amount.
    source = allocation.releases or allocation
    invoice, payment = source.invoice, source.payment
    invoice_on = invoice.issue_date
    payment_on = payment.received_on or timezone.localdate(source.allocated_at)
    invoice_rate = rates.rate(invoice.currency, invoice_on)
    payment_rate = rates.rate(invoice.currency, payment_on)
    if invoice_rate is None or payment_rate is None:
        return None
    amount = quantize_money(allocation.amount * (payment_rate - invoice_rate), rates.base)
    return _Plan(
        allocation=allocation,
        effective_date=timezone.localdate(allocation.allocated_at),
        invoice_rate=invoice_rate,
        payment_rate=payment_rate,
        base_amount=amount,
    )


def fx_realised_post(*, up_to: date | None = None) -> list[FxRealisation]:
    """Post the realised FX of every pending allocation up to ``up_to`` (today); return the rows written.

    All or nothing: a missing rate raises ``FxRatesMissing`` naming every pair and date, before anything
    is posted. Re-running posts nothing twice (one row per allocation; ledger keys per allocation).
    """
    up_to = up_to or timezone.localdate()
    rates = BaseRates()
    allocations = list(pending_allocations(up_to=up_to))
    plans = [_plan(a, rates) for a in allocations]
    rates.raise_if_missing()
    written = []
    with transaction.atomic(durable=True):
        for plan in plans:
            written.append(_post(plan, rates.base))
    return written


def _post(plan: _Plan, base: str) -> FxRealisation:
    allocation = plan.allocation
    invoice = allocation.invoice
    receivable = account_get(
        kind=AccountKind.RECEIVABLE, currency=invoice.currency, customer=allocation.payment.customer
    )
    posted = None
    gain = plan.base_amount
    if gain:
        book = receivable.book  # the customer's seller's: each book realises its own FX
        adjustment, income = adjustment_account(AccountKind.RECEIVABLE, book), realised_account(book)
        lines = (
            [debit(adjustment, gain, base), credit(income, gain, base)]
            if gain > 0
            else [credit(adjustment, -gain, base), debit(income, -gain, base)]
        )
        posted = transaction_post(
            idempotency_key=f"fx.realised:allocation:{allocation.pk}",
            kind="fx.realised",
            lines=lines,
            memo=(
                f"Realised FX on {allocation.amount} {invoice.currency} of invoice {invoice.number}: "
                f"{plan.invoice_rate} → {plan.payment_rate}"
            ),
            memo_message=stored(
                "fx.memo.realised",
                amount=money(allocation.amount, invoice.currency),
                currency=invoice.currency,
                invoice=invoice.number,
                invoice_rate=str(plan.invoice_rate),
                payment_rate=str(plan.payment_rate),
            ),
            source=f"allocation:{allocation.pk}",
            effective_date=plan.effective_date,
        )
    return FxRealisation.objects.create(
        allocation=allocation,
        account=receivable,
        effective_date=plan.effective_date,
        invoice_rate=plan.invoice_rate,
        payment_rate=plan.payment_rate,
        base_amount=gain,
        journal_transaction=posted,
    )
