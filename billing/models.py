"""Django discovers the billing app's models here; each capability keeps its own in its package."""

from billing.allowances.models import AllowanceDraw, PackPurchase, Subscription, TokenAllowance  # noqa: F401
from billing.chain.models import CommissionSettlement, CommissionStatement  # noqa: F401
from billing.dunning.models import DunningExhaustion, DunningLevel, DunningNotice, DunningPolicy  # noqa: F401
from billing.exposure.models import CapitalSnapshot, EclMatrix, EclRun  # noqa: F401
from billing.fx.models import FxRealisation, FxRevaluation  # noqa: F401
from billing.gateway.models import GatewayHold  # noqa: F401
from billing.invoicing.models import (  # noqa: F401
    Invoice,
    InvoiceLine,
    NumberSeries,
    PeriodClose,
    ServiceCharge,
    UsageStatement,
)
from billing.journals.models import ManualJournal, ManualJournalAttachment, ManualJournalLine  # noqa: F401
from billing.ledger.models import JournalEntry, JournalTransaction, LedgerAccount
from billing.opening.models import OpeningImport  # noqa: F401
from billing.payments.models import (  # noqa: F401
    BankTransfer,
    CardTopUp,
    Correction,
    RedemptionBatch,
    RedemptionCode,
    StripeEvent,
)
from billing.receivables.models import (  # noqa: F401
    BadDebtRecovery,
    CreditNote,
    CreditNoteLine,
    CustomerPayment,
    PaymentAllocation,
    Receipt,
    WriteOff,
    WriteOffLine,
)
from billing.statements.models import StatementExport  # noqa: F401
from billing.terms.models import BillingTerms, RiskFlag, TermsSpan  # noqa: F401
from billing.upstream.models import (  # noqa: F401
    MismatchFlag,
    ReconciliationLine,
    ReconciliationRun,
    UpstreamDraw,
    UpstreamImport,
    UpstreamPack,
    UpstreamSettings,
    VendorBill,
    VendorPayment,
    VendorUsage,
)
from billing.usage.models import (  # noqa: F401
    GatewayKey,
    GatewaySource,
    UsageBatch,
    UsageDaily,
    UsageEvent,
    UsageHourly,
    UsageRequestKey,
    UsageUpload,
    UsageWindowDaily,
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
