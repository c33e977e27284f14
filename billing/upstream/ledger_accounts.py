"""The ledger accounts of one channel's upstream side, keyed as usage postings key them.

Every channel account is the operator's, in the contract currency, under the contract's vendor with the
reference ``channel-<id>`` (``billing.ledger.accounts.channel_reference``): the prepaid asset, the accrued
liability of a postpaid contract, and payables. Expenses (cost of tokens, expired credit, commitment
shortfall) are per vendor, as usage postings debit cost of tokens per vendor.
"""

from billing.ledger.accounts import account_get, channel_reference
from billing.ledger.models import AccountKind, LedgerAccount
from catalog.models import Channel, Settlement, VendorContract

K = AccountKind
# The ledger kind of a committed-spend shortfall accrual (``commitments``; settled by ``bills``).
SHORTFALL_KIND = "upstream.commitment.shortfall"


def channel_account(channel: Channel, kind: str) -> LedgerAccount:
    """``channel``'s account of ``kind`` (prepaid, accrued or payable) in its contract currency."""
    contract = channel.contract
    return account_get(
        kind=kind,
        currency=contract.currency,
        vendor=contract.vendor,
        reference=channel_reference(channel.pk),
    )


def vendor_expense(channel: Channel, kind: str = K.COST_OF_TOKENS) -> LedgerAccount:
    """The vendor's expense account of ``kind`` in the contract currency (as usage postings use it)."""
    contract = channel.contract
    return account_get(kind=kind, currency=contract.currency, vendor=contract.vendor)


def consumption_kind(channel: Channel) -> str:
    """The account a channel's consumption is credited to: prepaid asset, or accrual when postpaid."""
    return K.UPSTREAM_PREPAID if channel.contract.settlement == Settlement.PREPAID else K.UPSTREAM_ACCRUED


def commitment_channel(contract: VendorContract) -> Channel | None:
    """The channel whose accrual carries the contract's committed-spend shortfall: its first (lowest id)."""
    return contract.channels.order_by("pk").first()
