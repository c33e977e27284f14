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
deciding. Within an invoice the oldest write-off is recovered first. A recovery is dated the day the
payment was received (never before the write-off it reverses), so statements and aging of any date read
the same whenever they are printed.
"""

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db.models import Sum
from django.utils.translation import gettext as _

from billing.invoicing.models import Invoice
from billing.ledger.accounts import account_get
from billing.ledger.models import AccountKind
from billing.ledger.services import credit, debit, transaction_post
from billing.receivables.models import BadDebtRecovery, CustomerPayment, WriteOff, WriteOffLine

POSTING_KIND = "receivable.bad_debt_recovered"
ZERO = Decimal("0")


def _line_open(line: WriteOffLine) -> Decimal:
    recovered = line.recoveries.aggregate(s=Sum("amount"))["s"] or ZERO
    return line.amount - recovered


def bad_debt_recover(
    *, invoice: Invoice, payment: CustomerPayment, amount: Decimal, actor=None
) -> list[BadDebtRecovery]:
    """Reverse ``amount`` of ``invoice``'s write-offs, oldest first; return the recovery rows.

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
        recovered_on = max(payment.received_on, write_off.effective_date)
        receivable = account_get(kind=AccountKind.RECEIVABLE, currency=currency, customer=customer)
        income = account_get(kind=AccountKind.BAD_DEBT_RECOVERED, currency=currency, book=customer.seller)
        already = line.amount - _line_open(line)
        posted = transaction_post(
            # The line and how much of it was recovered before: one recovery per step, whatever retries.
            idempotency_key=f"receivables.recovery:{line.pk}:{already}",
            kind=POSTING_KIND,
            lines=[debit(receivable, take, currency), credit(income, take, currency)],
            memo=f"Bad debt recovered, write-off #{write_off.pk}, invoice {invoice.number}",
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
