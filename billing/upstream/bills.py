"""Vendor invoices (payables) per channel and month: record, post, void.

What an invoice posts depends on what it bills (the channel's accounts, ``ledger_accounts``):

* **usage, postpaid channel** — moves the month's accrual to payables: Dr UPSTREAM_ACCRUED (what usage
  accrued in that month and no earlier invoice of the month moved) / Cr PAYABLE (the invoice). The
  difference between the invoice and that accrual is a *cost variance*, posted to cost of tokens, so cost
  of tokens ends at what the vendor billed. Usage of the month arriving after its invoice is matched against
  that variance by the daily run (``invoiced_months``);
* **usage, prepaid channel** — the vendor's statement of what we consumed: nothing to owe (consumption
  already drew the prepaid asset), no posting; kept for reconciliation;
* **prepayment** — created with the purchase it bills (``packs.upstream_pack_buy``), never on its own;
* **commitment** — settles the committed-spend shortfall accrued at the end of the period that ends in the
  invoice's month (``commitments``): Dr UPSTREAM_ACCRUED / Cr PAYABLE, any difference to the shortfall
  expense. The accrual sits on the contract's first channel and may be invoiced on any of its channels, in
  parts: what every commitment invoice of the contract and month moved counts.

Invoices are not edited: the same number with the same figures is "unchanged"; a different figure is an
error naming the field (void the invoice and record the corrected one under its own number).
"""

from datetime import date, timedelta
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q, Sum
from django.utils.translation import gettext as _

from billing.ledger.models import AccountKind, JournalEntry
from billing.ledger.services import credit, debit, transaction_post, transaction_reverse
from billing.upstream.consumption import cost_by_channel
from billing.upstream.ledger_accounts import (
    SHORTFALL_KIND,
    channel_account,
    commitment_channel,
    vendor_expense,
)
from billing.upstream.models import VendorBill
from billing.upstream.money_checks import amount_check
from billing.upstream.volume_tiers import tier_rebate_posted
from catalog.models import Channel, Settlement
from common.stored_text import money, stored

K = AccountKind
Kind = VendorBill.Kind
ZERO = Decimal(0)
# Ledger kinds that move a postpaid month's usage accrual: its invoices and the true-ups of usage arriving
# after them (``invoiced_months``).
TRUE_UP_KIND = "upstream.bill.trueup"
USAGE_KINDS = ("upstream.bill.usage", TRUE_UP_KIND)


def month_start(day: date) -> date:
    return day.replace(day=1)


def next_month(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)


def _clean(*, channel, number, kind, month, amount, currency, issued_on, due_on) -> dict:
    """The invoice's fields checked and normalised; ValidationError names the field at fault."""
    number = (number or "").strip()
    if not number:
        raise ValidationError({"number": _("Enter the vendor's invoice number.")})
    if len(number) > VendorBill._meta.get_field("number").max_length:
        raise ValidationError({"number": _("An invoice number has at most 120 characters.")})
    if kind not in Kind.values:
        raise ValidationError(
            {
                "kind": _("Unknown invoice kind %(kind)s: use usage, prepayment or commitment.")
                % {"kind": kind}
            }
        )
    if not isinstance(month, date):
        raise ValidationError({"month": _("Enter the month billed.")})
    if not isinstance(issued_on, date):
        raise ValidationError({"issued_on": _("Enter the date the invoice was issued.")})
    contract = channel.contract
    currency = (currency or "").strip().upper()
    if currency != contract.currency:
        raise ValidationError(
            {
                "currency": _(
                    "%(channel)s is billed in its contract currency %(expected)s, not %(currency)s."
                )
                % {"channel": channel.name, "expected": contract.currency, "currency": currency or "—"}
            }
        )
    amount = amount_check(amount, currency)
    if due_on is None:
        try:
            due_on = issued_on + timedelta(days=contract.payment_terms_days)
        except OverflowError:
            # A mistyped year (9999) would otherwise crash the form or the import with a 500.
            raise ValidationError(
                {"issued_on": _("%(date)s is no plausible issue date: check the year.") % {"date": issued_on}}
            ) from None
    elif not isinstance(due_on, date):
        raise ValidationError({"due_on": _("Enter the due date.")})
    elif due_on < issued_on:
        raise ValidationError({"due_on": _("An invoice cannot fall due before it is issued.")})
    return {
        "number": number,
        "kind": kind,
        "month": month_start(month),
        "amount": amount,
        "currency": currency,
        "issued_on": issued_on,
        "due_on": due_on,
    }


def _same_or_error(bill: VendorBill, fields: dict, *, due_given: bool) -> None:
    """Refuse a second recording of ``bill``'s number with any other figure, naming the first that differs."""
    if bill.state == VendorBill.State.VOID:
        raise ValidationError(
            {
                "number": _(
                    "Invoice %(number)s of %(channel)s was voided; record the corrected invoice under its "
                    "own number."
                )
                % {"number": bill.number, "channel": bill.channel.name}
            }
        )
    compared = ["kind", "month", "currency", "amount", "issued_on"] + (["due_on"] if due_given else [])
    for field in compared:
        if getattr(bill, field) != fields[field]:
            raise ValidationError(
                {
                    field: _(
                        "Invoice %(number)s of %(channel)s is already recorded with %(field)s %(recorded)s, "
                        "not %(given)s. Invoices are not edited: void it and record the corrected invoice."
                    )
                    % {
                        "number": bill.number,
                        "channel": bill.channel.name,
                        "field": VendorBill._meta.get_field(field).verbose_name,
                        "recorded": getattr(bill, field),
                        "given": fields[field],
                    }
                }
            )


def vendor_bill_record(
    *,
    channel: Channel,
    number: str,
    kind: str,
    month: date,
    amount: Decimal,
    currency: str,
    issued_on: date,
    due_on: date | None = None,
    source: str = "",
    created_by=None,
) -> tuple[VendorBill, str]:
    """Record a vendor invoice for ``channel`` and post it; return it with "created" or "unchanged".

    ``month`` may be any day of the month billed. ``due_on`` defaults to ``issued_on`` plus the contract's
    payment terms. Raises ValidationError naming the field (``number``, ``kind``, ``amount`` …) for bad
    input or for a number already recorded with another figure.
    """
    fields = _clean(
        channel=channel,
        number=number,
        kind=kind,
        month=month,
        amount=amount,
        currency=currency,
        issued_on=issued_on,
        due_on=due_on,
    )
    with transaction.atomic():
        # One writer per channel at a time: two invoices of a month must not both move the same accrual.
        # A commitment invoice moves the accrual on the contract's first channel: lock that one as well.
        locked = {channel.pk, getattr(commitment_channel(channel.contract), "pk", channel.pk)}
        list(Channel.objects.select_for_update().filter(pk__in=locked).order_by("pk"))
        existing = VendorBill.objects.filter(channel=channel, number=fields["number"]).first()
        if existing is not None:
            _same_or_error(existing, fields, due_given=due_on is not None)
            return existing, "unchanged"
        if kind == Kind.PREPAYMENT:
            raise ValidationError(
                {
                    "kind": _(
                        "A prepayment invoice is recorded with its purchase: record the purchase (pack or "
                        "top-up) on the channel's ledger page, payable to the vendor, with this number."
                    )
                }
            )
        bill = VendorBill.objects.create(
            channel=channel, source=source[:200], created_by=created_by, **fields
        )
        bill.transaction = _post(bill, actor=created_by)
        bill.save(update_fields=["transaction"])
    return bill, "created"


def _moved_by_bills(account, *, channels, month: date, kinds) -> Decimal:
    """What earlier postings of ``channels``' invoices of ``month`` (ledger kinds ``kinds``: invoices and
    their true-ups) moved off ``account``, voided ones left out."""
    of_channels = Q()
    for channel in channels:
        of_channels |= Q(transaction__source__startswith=f"upstream.bill:{channel.pk}:{month:%Y-%m}:")
    return (
        JournalEntry.objects.filter(
            of_channels,
            account=account,
            transaction__kind__in=list(kinds),
            transaction__reversed_by__isnull=True,
        ).aggregate(s=Sum("amount"))["s"]
        or ZERO
    )


def usage_moved(channel: Channel, month: date) -> Decimal:
    """What ``channel``'s usage invoices of ``month`` and their true-ups moved off its accrual."""
    accrued = channel_account(channel, K.UPSTREAM_ACCRUED)
    return _moved_by_bills(accrued, channels=[channel], month=month, kinds=USAGE_KINDS)


def month_accrued(channel: Channel, month: date) -> Decimal:
    """What ``channel``'s usage of ``month`` accrued, at contract cost, less the month's volume rebate.

    Read from the rollups (usage postings credit the accrual when a batch arrives, so a late batch is
    dated after its month; the rollups keep the day it was used)."""
    used = cost_by_channel([channel], month, next_month(month) - timedelta(days=1)).get(channel.pk, ZERO)
    return used - tier_rebate_posted(channel, month)


def shortfall_accrued(channel: Channel, month: date) -> tuple[Decimal, object]:
    """The committed-spend shortfall accrued for the period ending in ``month`` on ``channel``'s contract,
    and the accrued account it sits on (``commitments`` posts it on the contract's first channel)."""
    holder = commitment_channel(channel.contract) or channel
    account = channel_account(holder, K.UPSTREAM_ACCRUED)
    total = (
        JournalEntry.objects.filter(
            account=account,
            transaction__kind=SHORTFALL_KIND,
            transaction__effective_date__gte=month,
            transaction__effective_date__lt=next_month(month),
        ).aggregate(s=Sum("amount"))["s"]
        or ZERO
    )
    return -total, holder


def _post(bill: VendorBill, *, actor):
    """Post ``bill`` (see the module docstring); None for a prepaid channel's usage statement."""
    channel, amount, currency = bill.channel, bill.amount, bill.currency
    if bill.kind == Kind.USAGE:
        if channel.contract.settlement == Settlement.PREPAID:
            return None
        accrued = channel_account(channel, K.UPSTREAM_ACCRUED)
        to_move = max(month_accrued(channel, bill.month) - usage_moved(channel, bill.month), ZERO)
        expense = vendor_expense(channel)
        ledger_kind = "upstream.bill.usage"
        memo = f"Vendor invoice {bill.number} ({channel.name}, {bill.month:%Y-%m}): accrued {to_move}"
        memo_key = "upstream.memo.vendor_invoice"
    else:  # commitment
        remaining, holder = shortfall_accrued(channel, bill.month)
        accrued = channel_account(holder, K.UPSTREAM_ACCRUED)
        # The accrual sits on the contract's first channel; the vendor may invoice it on any channel of the
        # contract, in parts: what every one of them moved counts.
        moved = _moved_by_bills(
            accrued,
            channels=list(channel.contract.channels.all()),
            month=bill.month,
            kinds=["upstream.bill.commitment"],
        )
        to_move = max(remaining - moved, ZERO)
        expense = vendor_expense(channel, K.COMMIT_SHORTFALL)
        ledger_kind = "upstream.bill.commitment"
        memo = f"Commitment invoice {bill.number} ({channel.name}, {bill.month:%Y-%m}): accrued {to_move}"
        memo_key = "upstream.memo.commitment_invoice"
    lines = [credit(channel_account(channel, K.PAYABLE), amount, currency)]
    if to_move:
        lines.append(debit(accrued, to_move, currency))
    variance = amount - to_move
    if variance > 0:
        lines.append(debit(expense, variance, currency))
    elif variance < 0:
        lines.append(credit(expense, -variance, currency))
    return transaction_post(
        idempotency_key=f"upstream.bill:{bill.pk}",
        kind=ledger_kind,
        lines=lines,
        memo=memo,
        memo_message=stored(
            memo_key,
            number=bill.number,
            channel=channel.name,
            month=f"{bill.month:%Y-%m}",
            accrued=money(to_move, currency),
        ),
        source=f"upstream.bill:{channel.pk}:{bill.month:%Y-%m}:{bill.pk}",
        effective_date=bill.issued_on,
        actor=actor,
    )


def prepayment_bill_create(
    *, channel: Channel, number: str, amount: Decimal, issued_on: date, source: str, created_by
):
    """The payable a purchase on credit creates (``packs``): its posting is the purchase's."""
    contract = channel.contract
    return VendorBill.objects.create(
        channel=channel,
        number=number,
        kind=Kind.PREPAYMENT,
        month=month_start(issued_on),
        currency=contract.currency,
        amount=amount,
        issued_on=issued_on,
        due_on=issued_on + timedelta(days=contract.payment_terms_days),
        source=source[:200],
        created_by=created_by,
    )


def vendor_bill_void(*, bill: VendorBill, actor=None) -> VendorBill:
    """Void an unpaid invoice: its posting is reversed; the number stays taken (record the corrected
    invoice under its own number). A purchase's prepayment invoice is voided with its purchase only."""
    with transaction.atomic():
        bill = VendorBill.objects.select_for_update().get(pk=bill.pk)
        if bill.state == VendorBill.State.VOID:
            return bill
        if bill.paid_amount:
            raise ValidationError({"state": _("A paid or partly paid invoice cannot be voided.")})
        if bill.kind == Kind.PREPAYMENT:
            raise ValidationError(
                {
                    "kind": _(
                        "A prepayment invoice stands for a purchase already credited; it cannot be voided."
                    )
                }
            )
        if bill.transaction_id is not None:
            transaction_reverse(
                original=bill.transaction,
                idempotency_key=f"upstream.bill.void:{bill.pk}",
                memo=f"Void of vendor invoice {bill.number}",
                memo_message=stored("upstream.memo.vendor_invoice_void", number=bill.number),
                actor=actor,
            )
        bill.state = VendorBill.State.VOID
        bill.save(update_fields=["state"])
    return bill
