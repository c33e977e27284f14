"""Postpaid usage that arrives after its month's usage invoice: matched against the invoice's variance.

A usage invoice (``bills``) moves the month's accrual — what the rollups say the month cost — to payables
and posts the difference to cost of tokens, so cost of tokens ends at what the vendor billed. Usage of that
month arriving later (a gateway's late batch, a correction) still posts Dr cost of tokens / Cr accrued when
it arrives; the vendor has billed the month already, so it is matched here against the variance:

    Dr UPSTREAM_ACCRUED (channel) / Cr COST_OF_TOKENS (vendor)    (the reverse for usage corrected down)

by the month's accrual less what its invoices and earlier true-ups moved. Cost of tokens of an invoiced
month stays at what the vendor billed and its accrual at zero. A month whose invoices are all void is not
invoiced: its usage stays accrued for the next invoice (which counts the true-ups already posted).

The daily run calls ``invoiced_usage_true_up``: three small queries per invoiced channel and month. Each
posting's key counts the channel and month's true-ups, so re-running posts only what changed since.
"""

from datetime import date

from django.db import transaction
from django.utils import timezone

from billing.ledger.models import AccountKind, JournalTransaction
from billing.ledger.services import credit, debit, transaction_post
from billing.upstream.bills import TRUE_UP_KIND, month_accrued, usage_moved
from billing.upstream.ledger_accounts import channel_account, vendor_expense
from billing.upstream.models import VendorBill
from catalog.models import Channel, Settlement
from common.stored_text import money, stored

K = AccountKind


def true_up_source(channel: Channel, month: date) -> str:
    """The source of a channel and month's true-ups (under its invoices' prefix, which ``bills`` sums)."""
    return f"upstream.bill:{channel.pk}:{month:%Y-%m}:trueup"


def invoiced_usage_true_up(*, today: date | None = None) -> list[JournalTransaction]:
    """Match every invoiced postpaid month's late usage against its invoices; return the postings made."""
    today = today or timezone.localdate()
    invoiced = (
        VendorBill.objects.filter(
            kind=VendorBill.Kind.USAGE, channel__contract__settlement=Settlement.POSTPAID
        )
        .exclude(state=VendorBill.State.VOID)
        .values_list("channel_id", "month")
        .distinct()
        .order_by("channel_id", "month")
    )
    posted = []
    channels = {}
    for channel_id, month in list(invoiced):
        if channel_id not in channels:
            channels[channel_id] = Channel.objects.select_related("contract__vendor").get(pk=channel_id)
        found = _true_up(channels[channel_id], month, today)
        if found is not None:
            posted.append(found)
    return posted


def _true_up(channel: Channel, month: date, today: date) -> JournalTransaction | None:
    with transaction.atomic():
        # The same lock as a vendor invoice of the channel takes: the two must not both move the accrual.
        Channel.objects.select_for_update().filter(pk=channel.pk).first()
        change = month_accrued(channel, month) - usage_moved(channel, month)
        if not change:
            return None
        currency = channel.contract.currency
        accrued, cost = channel_account(channel, K.UPSTREAM_ACCRUED), vendor_expense(channel)
        lines = (
            [debit(accrued, change, currency), credit(cost, change, currency)]
            if change > 0
            else [credit(accrued, -change, currency), debit(cost, -change, currency)]
        )
        source = true_up_source(channel, month)
        count = JournalTransaction.objects.filter(kind=TRUE_UP_KIND, source=source).count()
        return transaction_post(
            idempotency_key=f"upstream.bill.trueup:{channel.pk}:{month:%Y-%m}:{count + 1}",
            kind=TRUE_UP_KIND,
            lines=lines,
            memo=(
                f"{channel.name}, {month:%Y-%m}: {change} {currency} of usage arrived after the month's "
                "vendor invoice, matched against its variance (cost of tokens stays at what was billed)"
            ),
            memo_message=stored(
                "upstream.memo.trueup",
                channel=channel.name,
                month=f"{month:%Y-%m}",
                amount=money(change, currency),
                currency=currency,
            ),
            source=source,
            effective_date=today,
        )
