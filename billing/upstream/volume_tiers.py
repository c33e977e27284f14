"""Volume tiers of discount-off-list contracts: the month-end rebate a month's volume earned.

Rating prices cost at the contract's own discount (``catalog.selectors.channels.channel_cost``). A tier
(``ContractTier``) says: from this much list volume in a month, the whole month earns a deeper discount.
The month's list volume is its cost at the base discount grossed up, ``cost / (1 − base)``; when it reaches
a tier whose discount is deeper than the base, each channel of the contract is credited

    rebate = cost at the base discount × (tier − base) / (1 − base)

(list × (1 − base) becomes list × (1 − tier)), Dr the channel's prepaid asset (prepaid contract) or accrual
(postpaid) / Cr cost of tokens, dated the month's last day, once per channel and month (the key). Run it
after the month has ended; re-running posts nothing twice.
"""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.db.models import Sum
from django.utils import timezone

from billing.ledger.models import JournalEntry, JournalTransaction
from billing.ledger.services import credit, debit, transaction_post
from billing.money import ledger_round
from billing.upstream.consumption import cost_by_channel
from billing.upstream.ledger_accounts import channel_account, consumption_kind, vendor_expense
from catalog.models import Channel, ContractTier, CostBasis, VendorContract
from common.stored_text import money, stored

ZERO = Decimal(0)


@dataclass(frozen=True)
class Rebate:
    channel: Channel
    month: date
    list_volume: Decimal  # of the whole contract, contract currency
    tier: ContractTier
    amount: Decimal
    transaction: JournalTransaction | None


def _month_end(month: date) -> date:
    return (month.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)


def _key(channel: Channel, month: date) -> str:
    return f"upstream.tier:{channel.pk}:{month:%Y-%m}"


def tier_rebate_posted(channel: Channel, month: date) -> Decimal:
    """The rebate posted for ``channel`` and ``month`` (zero when none), in the contract currency."""
    account = channel_account(channel, consumption_kind(channel))
    total = JournalEntry.objects.filter(
        account=account, transaction__idempotency_key=_key(channel, month)
    ).aggregate(s=Sum("amount"))["s"]
    return total or ZERO


def tier_reached(contract: VendorContract, list_volume: Decimal) -> ContractTier | None:
    """The deepest tier ``list_volume`` reaches, if it is deeper than the contract's own discount."""
    reached = (
        contract.tiers.filter(min_monthly_volume__lte=list_volume).order_by("-min_monthly_volume").first()
    )
    return reached if reached is not None and reached.discount > contract.discount else None


def volume_rebates_post(*, month: date, today: date | None = None) -> list[Rebate]:
    """Post the rebate every tiered contract's ``month`` earned, per channel; return the rebates due.

    Refuses nothing silently: a month that has not ended yet posts nothing (its volume is not final)."""
    month = month.replace(day=1)
    end = _month_end(month)
    if end >= (today or timezone.localdate()):
        return []
    rebates = []
    contracts = VendorContract.objects.filter(cost_basis=CostBasis.LIST_DISCOUNT, tiers__isnull=False)
    for contract in contracts.distinct().select_related("vendor"):
        if contract.discount >= 1:
            continue
        channels = list(contract.channels.select_related("contract__vendor").order_by("pk"))
        costs = cost_by_channel(channels, month, end)
        list_volume = sum(costs.values(), ZERO) / (1 - contract.discount)
        tier = tier_reached(contract, list_volume)
        if tier is None:
            continue
        factor = (tier.discount - contract.discount) / (1 - contract.discount)
        for channel in channels:
            amount = ledger_round(costs.get(channel.pk, ZERO) * factor)
            if amount <= 0:
                continue
            posted = JournalTransaction.objects.filter(idempotency_key=_key(channel, month)).first()
            if posted is None:
                posted = _post(channel, month, end, amount, tier, list_volume)
            rebates.append(Rebate(channel, month, list_volume, tier, amount, posted))
    return rebates


def _post(channel: Channel, month: date, end: date, amount: Decimal, tier: ContractTier, volume: Decimal):
    currency = channel.contract.currency
    return transaction_post(
        idempotency_key=_key(channel, month),
        kind="upstream.tier.rebate",
        lines=[
            debit(channel_account(channel, consumption_kind(channel)), amount, currency),
            credit(vendor_expense(channel), amount, currency),
        ],
        memo=(
            f"Volume tier of {channel.contract.name} for {month:%Y-%m}: list volume {volume} reached "
            f"{tier.min_monthly_volume} ({tier.discount} off instead of {channel.contract.discount})"
        ),
        memo_message=stored(
            "upstream.memo.tier_rebate",
            contract=channel.contract.name,
            month=f"{month:%Y-%m}",
            volume=money(volume, currency),
            threshold=money(tier.min_monthly_volume, currency),
            discount=str(tier.discount),
            usual=str(channel.contract.discount),
        ),
        source=f"upstream.tier:{channel.contract_id}:{month:%Y-%m}",
        effective_date=end,
    )
