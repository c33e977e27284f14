"""Bad debts recovered: money later paid on an amount written off.

Be careful changing this module: together with ``writeoffs`` it keeps the receivables invariant. A
recovery reverses the write-off for the amount paid: Dr the customer's receivable / Cr bad debts
recovered (income, in the customer's seller's book), a ``BadDebtRecovery`` row, and the invoice's
``amount_written_off`` lowered by as much, so the amount is due again; the payment allocation that called
it then settles it as usual (``services.payment_allocate``). Net: the receivable is back where the
write-off left it, the cash is in, and the income shows the recovery.

Only a payment finance allocates to a written-off invoice recovers (the payment's allocation, or
"apply the customer's credit" on the write-off): credit applied automatically never goes to a written-off
invoice, so money a customer pays for new service is not swallowed by an old debt without a person
deciding. Within an invoice the oldest write-off is recovered first. A recovery is dated the day its
allocation takes effect (never before the write-off it reverses), and the allocation is dated that same
day: money held as credit and applied later recovers on the day it is applied, so statements and aging
of an earlier date read the same whenever they are printed.

A recovery is undone when the allocation that made it is released (the payment bounced or was paid
back): a negative ``BadDebtRecovery`` pointing at it, dated the release, Dr bad debts recovered / Cr the
receivable, and the invoice's ``amount_written_off`` raised again, so the invoice is written off again
rather than due (``recovery_reverse``). The part of a payment's allocations to an invoice that recovered
is released first.
"""

from datetime import date
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db.models import Sum
from django.utils.translation import gettext as _

from billing.invoicing.models import Invoice
from billing.ledger.accounts import account_get
from billing.ledger.models import AccountKind
from billing.ledger.services import credit, debit, transaction_post
from billing.receivables.models import BadDebtRecovery, CustomerPayment, WriteOff, WriteOffLine
from common.stored_text import stored

POSTING_KIND = "receivable.bad_debt_recovered"
REVERSAL_KIND = "receivable.bad_debt_recovery_reversed"
ZERO = Decimal("0")


def _line_open(line: WriteOffLine) -> Decimal:
    recovered = line.recoveries.aggregate(s=Sum("amount"))["s"] or ZERO
    return line.amount - recovered


def recovery_day(invoice: Invoice, on: date) -> date:
    """The day a recovery of ``invoice`` allocated on day ``on`` takes effect: never before the latest
    approved write-off of the invoice, so the recovery, its journal and its allocation share one date."""
    latest = (
        WriteOffLine.objects.filter(invoice=invoice, write_off__status=WriteOff.Status.APPROVED)
        .order_by("-write_off__effective_date")
        .values_list("write_off__effective_date", flat=True)
        .first()
    )
    return max(on, latest) if latest else on


def bad_debt_recover(
    *, invoice: Invoice, payment: CustomerPayment, amount: Decimal, on: date, actor=None
) -> list[BadDebtRecovery]:
    """Reverse ``amount`` of ``invoice``'s write-offs, oldest first, on day ``on`` (``recovery_day``: the
    caller dates its allocation the same); return the recovery rows.

    The caller holds the invoice's lock (inside its transaction) and saves ``amount_written_off``, which
    this lowers on the instance. Refused when more is asked than is written off.
    """
    if amount <= 0:
        return []
    if amount > invoice.amount_written_off:
        raise ValidationError(
            {
                "allocations": _(
                    "Invoice %(number)s has only %(amount)s %(currency)s written off to recover."
                )
                % {
                    "number": invoice.number,
                    "amount": invoice.amount_written_off,
                    "currency": invoice.currency,
                }
            }
        )
    lines = (
        WriteOffLine.objects.filter(invoice=invoice, write_off__status=WriteOff.Status.APPROVED)
        .select_related("write_off", "write_off__customer")
        .order_by("write_off__effective_date", "write_off_id", "pk")
    )
    made, left = [], amount
    for line in lines:
        take = min(left, _line_open(line))
        if take <= 0:
            continue
        write_off = line.write_off
        customer, currency = write_off.customer, write_off.currency
        recovered_on = max(on, write_off.effective_date)
        receivable = account_get(kind=AccountKind.RECEIVABLE, currency=currency, customer=customer)
        income = account_get(kind=AccountKind.BAD_DEBT_RECOVERED, currency=currency, book=customer.seller)
        already = line.amount - _line_open(line)
        posted = transaction_post(
            # The line and how much of it is recovered so far: one recovery per step, whatever retries.
            idempotency_key=f"receivables.recovery:{line.pk}:{already}",
            kind=POSTING_KIND,
            lines=[debit(receivable, take, currency), credit(income, take, currency)],
            memo=f"Bad debt recovered, write-off #{write_off.pk}, invoice {invoice.number}",
            memo_message=stored(
                "receivables.memo.bad_debt_recovered", write_off=write_off.pk, invoice=invoice.number
            ),
            source=f"write_off:{write_off.pk}",
            effective_date=recovered_on,
            actor=actor,
        )
        made.append(
            BadDebtRecovery.objects.create(
                write_off_line=line,
                invoice=invoice,
                payment=payment,
                amount=take,
                recovered_on=recovered_on,
                journal_transaction=posted,
                recorded_by=actor,
            )
        )
        invoice.amount_written_off -= take
        left -= take
        if left <= 0:
            break
    if left > 0:  # amount_written_off and the rows disagree: never post half a recovery
        raise ValidationError(
            _("The write-offs of invoice %(number)s do not add up.") % {"number": invoice.number}
        )
    return made


def payment_recovered(*, invoice: Invoice, payment: CustomerPayment) -> Decimal:
    """What ``payment`` recovers of ``invoice`` now (its recoveries less their reversals)."""
    rows = BadDebtRecovery.objects.filter(invoice=invoice, payment=payment)
    return rows.aggregate(s=Sum("amount"))["s"] or ZERO


def recovery_reverse(
    *, invoice: Invoice, payment: CustomerPayment, amount: Decimal, on: date, actor=None
) -> Decimal:
    """Undo up to ``amount`` of what ``payment`` recovered of ``invoice``, newest recovery first, on day
    ``on``; return how much was undone (the rest of the release was paying what was due).

    The caller holds the invoice's lock and saves ``amount_written_off``, which this raises on the
    instance: the amount is written off again, as it was before the payment.
    """
    recoveries = (
        BadDebtRecovery.objects.select_for_update()
        .filter(invoice=invoice, payment=payment, reverses__isnull=True)
        .select_related("write_off_line__write_off__customer")
        .order_by("-recovered_on", "-pk")
    )
    left = min(amount, payment_recovered(invoice=invoice, payment=payment))
    undone = ZERO
    for recovery in recoveries:
        if left <= 0:
            break
        reversed_already = -(recovery.reversals.aggregate(s=Sum("amount"))["s"] or ZERO)
        take = min(left, recovery.amount - reversed_already)
        if take <= 0:
            continue
        write_off = recovery.write_off_line.write_off
        customer, currency = write_off.customer, write_off.currency
        day = max(on, recovery.recovered_on)
        receivable = account_get(kind=AccountKind.RECEIVABLE, currency=currency, customer=customer)
        income = account_get(kind=AccountKind.BAD_DEBT_RECOVERED, currency=currency, book=customer.seller)
        posted = transaction_post(
            # The recovery and how much of it is undone so far: one reversal per step, whatever retries.
            idempotency_key=f"receivables.recovery_reversal:{recovery.pk}:{reversed_already}",
            kind=REVERSAL_KIND,
            lines=[debit(income, take, currency), credit(receivable, take, currency)],
            memo=f"Bad debt recovery #{recovery.pk} undone, invoice {invoice.number}",
            memo_message=stored(
                "receivables.memo.recovery_undone", recovery=recovery.pk, invoice=invoice.number
            ),
            source=f"write_off:{write_off.pk}",
            effective_date=day,
            actor=actor,
        )
        BadDebtRecovery.objects.create(
            write_off_line=recovery.write_off_line,
            invoice=invoice,
            payment=payment,
            amount=-take,
            recovered_on=day,
            journal_transaction=posted,
            reverses=recovery,
            recorded_by=actor,
        )
        invoice.amount_written_off += take
        undone += take
        left -= take
    return undone
