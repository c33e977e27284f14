"""Django discovers the billing app's models here; each capability keeps its own in its package."""

from billing.ledger.models import JournalEntry, JournalTransaction, LedgerAccount
from billing.terms.models import BillingTerms
from billing.wallets.models import (
    BalanceSuspension,
    Wallet,
    WalletAdjustment,
    WalletLot,
    WalletLotUse,
)

__all__ = [
    "BalanceSuspension",
    "BillingTerms",
    "JournalEntry",
    "JournalTransaction",
    "LedgerAccount",
    "Wallet",
    "WalletAdjustment",
    "WalletLot",
    "WalletLotUse",
]
