"""Committed spend: at the end of each commit period, accrue what consumption fell short of the commitment.

A contract with ``committed_amount`` commits to that spend (at contract cost, in the contract currency) per
commit period. Periods are anchored on the contract's ``valid_from``: a month, a quarter or a year from it
(clipped at ``valid_to``), or the whole term (only when the contract has an end). When a period has ended
and its consumption on all the contract's channels is below the commitment, the shortfall is accrued once:

    Dr COMMIT_SHORTFALL (vendor) / Cr UPSTREAM_ACCRUED (the contract's first channel)

The accrual, not payables: the vendor has not invoiced it yet. Its commitment invoice
(``bills.vendor_bill_record`` kind "commitment") moves it to payables, as a usage invoice moves usage
accruals. The posting's key is the contract and period, so re-running never accrues twice; usage that
arrives after the accrual does not change it (the invoice's difference goes to the shortfall expense).
"""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.utils import timezone

from billing.ledger.models import AccountKind, JournalTransaction
from billing.ledger.services import credit, debit, transaction_post
from billing.upstream.consumption import cost_by_channel
from billing.upstream.ledger_accounts import (
    SHORTFALL_KIND,
    channel_account,
    commitment_channel,
    vendor_expense,
)
from catalog.models import CommitPeriod, VendorContract
from common.stored_text import day, money, stored

K = AccountKind
MONTHS = {CommitPeriod.MONTH: 1, CommitPeriod.QUARTER: 3, CommitPeriod.YEAR: 12}


@dataclass(frozen=True)
class Shortfall:
    contract: VendorContract
    start: date
    end: date  # inclusive
    consumed: Decimal
    shortfall: Decimal
    transaction: JournalTransaction | None


def _add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    for last in (31, 30, 29, 28):
        try:
            return date(year, month, min(day.day, last))
        except ValueError:
            continue
    raise AssertionError("unreachable")  # pragma: no cover


def commit_periods(contract: VendorContract, *, until: date) -> list[tuple[date, date]]:
    """The contract's commit periods ``(start, end inclusive)`` that ended before ``until``."""
    if contract.commit_period == CommitPeriod.TERM:
        end = contract.valid_to
        return [(contract.valid_from, end)] if end is not None and end < until else []
    periods, start, step = [], contract.valid_from, MONTHS[contract.commit_period]
    index = 1
    while True:
        end = _add_months(contract.valid_from, step * index) - timedelta(days=1)
        if contract.valid_to is not None:
            end = min(end, contract.valid_to)
        if end >= until or start > end:
            return periods
        periods.append((start, end))
        if contract.valid_to is not None and end >= contract.valid_to:
            return periods
        start, index = end + timedelta(days=1), index + 1


def _key(contract: VendorContract, end: date) -> str:
    return f"upstream.commitment:{contract.pk}:{end.isoformat()}"


def commitment_shortfalls_accrue(*, today: date | None = None) -> list[Shortfall]:
    """Accrue the shortfall of every ended commit period not accrued yet; return the periods measured
    (those accrued before are skipped; a met commitment is measured again each run, cheaply).

    Re-running posts nothing twice (one ledger key per contract and period)."""
    today = today or timezone.localdate()
    results = []
    contracts = VendorContract.objects.filter(committed_amount__gt=0).select_related("vendor")
    for contract in contracts:
        holder = commitment_channel(contract)
        if holder is None:
            continue
        channels = list(contract.channels.select_related("contract__vendor"))
        periods = commit_periods(contract, until=today)
        # Periods accrued before are not measured again (one query for all of them).
        accrued = set(
            JournalTransaction.objects.filter(
                idempotency_key__in=[_key(contract, end) for _start, end in periods]
            ).values_list("idempotency_key", flat=True)
        )
        for start, end in periods:
            if _key(contract, end) in accrued:
                continue
            consumed = sum(cost_by_channel(channels, start, end).values(), Decimal(0))
            shortfall = max(contract.committed_amount - consumed, Decimal(0))
            posted = _post(contract, holder, start, end, consumed, shortfall) if shortfall > 0 else None
            results.append(Shortfall(contract, start, end, consumed, shortfall, posted))
    return results


def _post(contract, holder, start: date, end: date, consumed: Decimal, shortfall: Decimal):
    currency = contract.currency
    return transaction_post(
        idempotency_key=_key(contract, end),
        kind=SHORTFALL_KIND,
        lines=[
            debit(vendor_expense(holder, K.COMMIT_SHORTFALL), shortfall, currency),
            credit(channel_account(holder, K.UPSTREAM_ACCRUED), shortfall, currency),
        ],
        memo=(
            f"Committed spend of {contract.name} {start}–{end}: {contract.committed_amount} committed, "
            f"{consumed} consumed at contract cost"
        ),
        memo_message=stored(
            "upstream.memo.commitment_shortfall",
            contract=contract.name,
            start=day(start),
            end=day(end),
            committed=money(contract.committed_amount, currency),
            consumed=money(consumed, currency),
        ),
        source=f"upstream.commitment:{contract.pk}",
        effective_date=end,
    )
