"""Django discovers the billing app's models here; each capability keeps its own in its package."""

from billing.gateway.models import GatewayHold  # noqa: F401
from billing.ledger.models import JournalEntry, JournalTransaction, LedgerAccount
from billing.payments.models import BankTransfer, CardTopUp, RedemptionBatch, RedemptionCode, StripeEvent
from billing.terms.models import BillingTerms
from billing.usage.models import (  # noqa: F401
    GatewayKey,
    GatewaySource,
    UsageBatch,
    UsageDaily,
    UsageEvent,
    UsageHourly,
    UsageRequestKey,
    UsageUpload,
)
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
