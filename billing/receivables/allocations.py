"""Releasing payment allocations by dated rows, and reading allocations as of a date.

Be careful changing this module: statements and aging of past dates are computed from these rows, and
they must read the same whenever they are printed. So an allocation is never shrunk or deleted: a
release (a credit note giving paid money back to the customer's credit, a bank payment reversed) is a new
``PaymentAllocation`` row with a negative amount pointing at the allocation it releases, dated when the
release takes effect. The invoice's ``amount_paid`` is a cache of the current sum, updated in the same
transaction; as of any earlier moment the rows answer (``invoice_paid_at``).

A release is never dated before the allocation it releases (it is moved to the allocation's moment), so
no invoice ever shows more paid back than was paid. Locks: the invoice first, then the allocation, the
order payment allocation uses too (payment → invoice).
"""

from datetime import date, datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from billing.dunning.suspension import overdue_suspension_watch
from billing.invoicing.models import Invoice
from billing.receivables.models import CustomerPayment, PaymentAllocation
from billing.receivables.moments import day_end, effective_moment
from billing.receivables.recoveries import recovery_reverse
from billing.receivables.services import (
    ZERO,
    _validate_amount,
    credit_auto_apply_on_commit,
    invoice_status_settle,
    require_money_role,
)


def allocation_open(allocation: PaymentAllocation) -> Decimal:
    """What of ``allocation`` is not released yet (now)."""
    released = allocation.released_by.aggregate(s=Sum("amount"))["s"] or ZERO
    return allocation.amount + released


def invoice_paid_at(invoice: Invoice, day: date) -> Decimal:
    """What payments had settled of ``invoice`` by the end of ``day`` (releases dated by then deducted)."""
    rows = PaymentAllocation.objects.filter(invoice=invoice, allocated_at__lt=day_end(day))
    return rows.aggregate(s=Sum("amount"))["s"] or ZERO


def release_row(
    *, allocation: PaymentAllocation, amount: Decimal | None, at: date | datetime, reason: str, actor
) -> PaymentAllocation:
    """Write the row releasing ``amount`` (None: all still open) of ``allocation``; return it.

    Only the row: the caller holds the invoice's lock and updates its cached ``amount_paid``.
    """
    original = PaymentAllocation.objects.select_for_update().get(pk=allocation.pk)
    if original.releases_id is not None:
        raise ValidationError(_("A release cannot be released; release the allocation itself."))
    still_open = allocation_open(original)
    currency = original.payment.currency
    if amount is None:
        amount = still_open
        if amount <= 0:
            raise ValidationError(_("This allocation was released in full already."))
    _validate_amount(amount, currency)
    if amount > still_open:
        raise ValidationError(
            {
                "amount": _("Only %(open)s %(currency)s of this allocation is left to release.")
                % {"open": still_open, "currency": currency}
            }
        )
    if isinstance(at, datetime):
        in_future = at > timezone.now()
    elif isinstance(at, date):
        in_future = at > timezone.localdate()
    else:
        raise ValidationError({"at": _("Enter the date the release takes effect.")})
    if in_future:
        raise ValidationError({"at": _("A release cannot take effect in the future.")})
    return PaymentAllocation.objects.create(
        payment_id=original.payment_id,
        invoice_id=original.invoice_id,
        amount=-amount,
        allocated_at=max(effective_moment(at), original.allocated_at),
        releases=original,
        reason=reason[:500],
        allocated_by=actor,
    )


def _reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Say why the allocation is released.")})
    return reason


@transaction.atomic
def allocation_release(
    *,
    allocation: PaymentAllocation,
    amount: Decimal | None = None,
    at: date | datetime,
    reason: str,
    actor,
) -> PaymentAllocation:
    """Release ``amount`` (None: all still open) of ``allocation`` from ``at`` on; return the release row.

    The money goes back to the payment's unallocated credit and the invoice is due again by that much
    (its status and any overdue suspension follow); once committed, the customer's credit is applied
    again where its terms say so (``credit_auto_apply``), which may settle the invoice from other credit.
    What the payment recovered of a written-off invoice is released first and the recovery undone, dated
    the release (``recoveries.recovery_reverse``): that amount is written off again, not due again.
    ``at`` is a date (effective that day) or a moment, never in the future. ``actor`` None is the system.
    """
    require_money_role(actor)
    reason = _reason(reason)
    invoice = Invoice.objects.select_for_update().get(pk=allocation.invoice_id)
    row = release_row(allocation=allocation, amount=amount, at=at, reason=reason, actor=actor)
    recovery_reverse(
        invoice=invoice,
        payment=row.payment,
        amount=-row.amount,
        on=timezone.localtime(row.allocated_at).date(),
        actor=actor,
    )
    invoice.amount_paid += row.amount
    invoice_status_settle(invoice)
    invoice.save(update_fields=["amount_paid", "amount_written_off", "status"])
    overdue_suspension_watch(invoice=invoice)
    credit_auto_apply_on_commit(customer_id=invoice.customer_id, currency=invoice.currency)
    return row


@transaction.atomic
def payment_allocations_release(
    *, payment: CustomerPayment, amount: Decimal | None = None, at: date | datetime, reason: str, actor
) -> list[PaymentAllocation]:
    """Release ``amount`` (None: everything) of what ``payment`` settles, newest allocation first.

    For a payment reversed or paid back: the invoices it settled are due again. Returns the release rows.
    """
    require_money_role(actor)
    reason = _reason(reason)
    if amount is not None:
        _validate_amount(amount, payment.currency)
    left = amount
    made = []
    originals = PaymentAllocation.objects.filter(payment=payment, releases__isnull=True)
    for allocation in originals.order_by("-allocated_at", "-id"):
        if left is not None and left <= 0:
            break
        still_open = allocation_open(allocation)
        if still_open <= 0:
            continue
        take = still_open if left is None else min(left, still_open)
        made.append(allocation_release(allocation=allocation, amount=take, at=at, reason=reason, actor=actor))
        if left is not None:
            left -= take
    if left is not None and left > 0:
        raise ValidationError(
            {
                "amount": _("The payment settles only %(settled)s %(currency)s of invoices.")
                % {"settled": amount - left, "currency": payment.currency}
            }
        )
    return made


def invoice_allocations_release(
    *, invoice: Invoice, amount: Decimal, at: date | datetime, reason: str, actor
) -> Decimal:
    """Write rows releasing ``amount`` of ``invoice``'s allocations, newest first; return what was released.

    For a credit note larger than what is still due (caller: holds the invoice's lock and updates its
    cached ``amount_paid``, as it changes the invoice anyway).
    """
    left = amount
    originals = PaymentAllocation.objects.filter(invoice=invoice, releases__isnull=True)
    for allocation in originals.order_by("-allocated_at", "-id"):
        if left <= 0:
            break
        take = min(left, allocation_open(allocation))
        if take <= 0:
            continue
        release_row(allocation=allocation, amount=take, at=at, reason=reason, actor=actor)
        left -= take
    return amount - left
