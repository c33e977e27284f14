"""Prepaid wallets: per customer and currency, split into paid credit, granted credit and packs.

The money itself lives in three ledger accounts per wallet (``wallet_paid``, ``wallet_granted``,
``wallet_pack``). Granted and pack credit expire, so each credit to those buckets is also a *lot* here,
burned down in order (earliest expiry first, granted before pack before paid when equal). Paid credit never
expires and needs no lots; it is always burned last and is the bucket that goes negative when a wallet's
floor allows it.
"""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.models import Customer
from billing.ledger.models import JournalTransaction, LedgerAccount
from billing.money import LEDGER_FIELD
from common.encrypted_fields import EncryptedTextField


def _money(verbose_name, help_text, **kwargs):
    return models.DecimalField(verbose_name, **LEDGER_FIELD, help_text=help_text, **kwargs)


class Bucket(models.TextChoices):
    PAID = "paid", _("Paid credit")
    GRANTED = "granted", _("Granted credit")
    PACK = "pack", _("Pack")


# Burn-down priority among lots with equal expiry; paid credit is always last.
BUCKET_PRIORITY = {Bucket.GRANTED: 0, Bucket.PACK: 1, Bucket.PAID: 2}


# A day of spend at the trailing hour's rate is as much reserve as makes sense.
MAX_RESERVE_MINUTES = 1440


class LimitMode(models.TextChoices):
    """How the floor holds against metered usage, which is charged after it happened."""

    SOFT = "soft", _("Soft: suspend once the floor is reached")
    HARD = "hard", _("Hard: suspend early, keeping a reserve of recent spend")


class Wallet(models.Model):
    """A customer's prepaid balance in one currency, with its floor and low-balance alerting."""

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="wallets")
    currency = models.CharField(_("currency"), max_length=3, help_text=_("ISO 4217 code."))
    floor = _money(
        _("floor"),
        _("Lowest available balance debits may reach, in the wallet's currency: 0 or negative."),
        default=Decimal("0"),
    )
    limit_mode = models.CharField(
        _("limit"),
        max_length=4,
        choices=LimitMode.choices,
        default=LimitMode.SOFT,
        help_text=_(
            "Soft: service stops once the available balance is at or below the floor, so usage already "
            "under way can take it below. Hard: service stops while the available balance less a reserve "
            "(the trailing hour's usage spend scaled to the reserve minutes) is at or below the floor."
        ),
    )
    reserve_minutes = models.PositiveIntegerField(
        _("reserve minutes"),
        null=True,
        blank=True,
        help_text=_(
            "Hard limit only: minutes of spend at the trailing hour's rate held back; blank: default."
        ),
    )
    low_balance_threshold = _money(
        _("low-balance threshold"),
        _("Alert when the available balance falls to or below this, in the wallet's currency."),
        null=True,
        blank=True,
    )
    alert_email = models.EmailField(
        _("alert e-mail"), blank=True, help_text=_("Blank: the customer's contact e-mail.")
    )
    webhook_url = models.URLField(
        _("webhook URL"), blank=True, help_text=_("Receives signed balance events.")
    )
    webhook_secret = EncryptedTextField(
        _("webhook secret"),
        blank=True,
        help_text=_("HMAC-SHA256 key for this customer's webhooks; blank uses the global secret."),
    )
    low_balance_alerted_at = models.DateTimeField(
        null=True, blank=True, editable=False, help_text=_("Set when alerted; cleared when back above.")
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "billing_wallet"
        verbose_name = _("wallet")
        verbose_name_plural = _("wallets")
        ordering = ["customer__name", "currency"]
        constraints = [
            models.UniqueConstraint(fields=["customer", "currency"], name="wallet_customer_currency_unique"),
            models.CheckConstraint(condition=models.Q(floor__lte=0), name="wallet_floor_lte_0"),
            models.CheckConstraint(
                condition=models.Q(reserve_minutes__isnull=True)
                | models.Q(reserve_minutes__lte=MAX_RESERVE_MINUTES),
                name="wallet_reserve_minutes_lte_day",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.customer} {self.currency}"


class WalletLot(models.Model):
    """One credit of granted or pack money, with its expiry and what is left of it."""

    wallet = models.ForeignKey(Wallet, on_delete=models.PROTECT, related_name="lots")
    bucket = models.CharField(_("bucket"), max_length=8, choices=Bucket.choices)
    account = models.ForeignKey(LedgerAccount, on_delete=models.PROTECT, related_name="+")
    amount = _money(_("amount"), _("Credited, in the wallet's currency, full precision."))
    remaining = _money(_("remaining"), _("Not yet used or expired, in the wallet's currency."))
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True, db_index=True)
    credited_by = models.OneToOneField(
        JournalTransaction, on_delete=models.PROTECT, related_name="wallet_lot", verbose_name=_("credited by")
    )
    closed_at = models.DateTimeField(
        _("closed"), null=True, blank=True, help_text=_("When it expired to breakage or was reversed.")
    )

    class Meta:
        db_table = "billing_wallet_lot"
        verbose_name = _("wallet lot")
        verbose_name_plural = _("wallet lots")
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(remaining__gte=0), name="wallet_lot_remaining_gte_0"),
            models.CheckConstraint(
                condition=models.Q(remaining__lte=models.F("amount")), name="wallet_lot_remaining_lte_amount"
            ),
            models.CheckConstraint(condition=~models.Q(bucket="paid"), name="wallet_lot_not_paid"),
        ]

    def __str__(self) -> str:
        return f"{self.get_bucket_display()} {self.remaining}/{self.amount} {self.wallet.currency}"


class WalletLotUse(models.Model):
    """Append-only trail of a lot's remaining: used (positive) or restored by a reversal (negative)."""

    lot = models.ForeignKey(WalletLot, on_delete=models.PROTECT, related_name="uses")
    transaction = models.ForeignKey(
        JournalTransaction, on_delete=models.PROTECT, related_name="wallet_lot_uses"
    )
    amount = _money(_("amount"), _("Taken from the lot (negative: given back), in the wallet's currency."))

    class Meta:
        db_table = "billing_wallet_lot_use"
        verbose_name = _("wallet lot use")
        verbose_name_plural = _("wallet lot uses")

    def __str__(self) -> str:
        return f"lot {self.lot_id}: {self.amount} by #{self.transaction_id}"


class WalletAdjustment(models.Model):
    """The audit row of a manual adjustment by staff, written in the same transaction as its posting."""

    wallet = models.ForeignKey(Wallet, on_delete=models.PROTECT, related_name="adjustments")
    transaction = models.OneToOneField(
        JournalTransaction, on_delete=models.PROTECT, related_name="adjustment"
    )
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    bucket = models.CharField(_("bucket"), max_length=8, choices=Bucket.choices)
    amount = _money(_("amount"), _("Signed: positive adds credit, negative removes it; wallet currency."))
    reason = models.TextField(_("reason"))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "billing_wallet_adjustment"
        verbose_name = _("wallet adjustment")
        verbose_name_plural = _("wallet adjustments")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.wallet}: {self.amount} ({self.reason[:40]})"


class SuspensionReason(models.TextChoices):
    """Why a balance suspension opened; the codes are what the gateway status and webhooks say."""

    FLOOR = "balance_at_floor", _("Balance at its floor")
    RESERVE = "balance_reserve", _("Balance less the reserve at its floor")


class BalanceSuspension(models.Model):
    """A period during which a customer's service is suspended because a wallet reached its floor
    (or, under a hard limit, its floor plus the reserve).

    Open while ``ended_at`` is empty; the gateway-status endpoint reads the open ones.
    """

    wallet = models.ForeignKey(Wallet, on_delete=models.PROTECT, related_name="suspensions")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="balance_suspensions")
    started_at = models.DateTimeField(_("suspended"), auto_now_add=True)
    balance_at_start = _money(_("balance"), _("Available balance when suspended, wallet currency."))
    reason = models.CharField(
        _("reason"), max_length=20, choices=SuspensionReason.choices, default=SuspensionReason.FLOOR
    )
    reserve_at_start = _money(
        _("reserve"),
        _("Reserve held back when suspended (hard limit; 0 under a soft one), wallet currency."),
        default=Decimal("0"),
    )
    ended_at = models.DateTimeField(_("restored"), null=True, blank=True)

    class Meta:
        db_table = "billing_balance_suspension"
        verbose_name = _("balance suspension")
        verbose_name_plural = _("balance suspensions")
        ordering = ["-started_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["wallet"],
                condition=models.Q(ended_at__isnull=True),
                name="balance_suspension_one_open",
            )
        ]

    def __str__(self) -> str:
        return f"{self.wallet} suspended {self.started_at:%Y-%m-%d %H:%M}"


class FloorOvershoot(models.Model):
    """A crossing of a hard-limit wallet's floor: usage already under way when service stopped.

    Opened by the first debit that takes the available balance below the floor (the customer and the
    gateways are told once, then), deepened by the ones after it, closed when the balance is back at or
    above the floor. Finance reads these as the excess the hard limit did not prevent.
    """

    wallet = models.ForeignKey(Wallet, on_delete=models.PROTECT, related_name="overshoots")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="floor_overshoots")
    floor = _money(_("floor"), _("The wallet's floor when it was crossed, wallet currency."))
    lowest_balance = _money(
        _("lowest balance"), _("Lowest available balance during the crossing, wallet currency.")
    )
    started_at = models.DateTimeField(_("crossed"), auto_now_add=True)
    ended_at = models.DateTimeField(_("back at the floor"), null=True, blank=True)

    class Meta:
        db_table = "billing_floor_overshoot"
        verbose_name = _("floor overshoot")
        verbose_name_plural = _("floor overshoots")
        ordering = ["-started_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["wallet"], condition=models.Q(ended_at__isnull=True), name="floor_overshoot_one_open"
            ),
            models.CheckConstraint(
                condition=models.Q(lowest_balance__lt=models.F("floor")), name="floor_overshoot_below_floor"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.wallet} below {self.floor} by {self.excess}"

    @property
    def excess(self) -> Decimal:
        """How far below the floor the balance went, positive, wallet currency."""
        return self.floor - self.lowest_balance
