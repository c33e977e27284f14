"""Django discovers the billing app's models here; each capability keeps its own in its package."""

from billing.ledger.models import JournalEntry, JournalTransaction, LedgerAccount
from billing.payments.models import BankTransfer, CardTopUp, RedemptionBatch, RedemptionCode, StripeEvent
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
    "BankTransfer",
    "BillingTerms",
    "CardTopUp",
    "JournalEntry",
    "JournalTransaction",
    "LedgerAccount",
    "RedemptionBatch",
    "RedemptionCode",
    "StripeEvent",
    "Wallet",
    "WalletAdjustment",
    "WalletLot",
    "WalletLotUse",
]
