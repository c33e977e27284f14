"""What a customer has bought from the catalog's allowance definitions: subscriptions and packs.

Billing reads these at period close (subscription fees, pack purchases on account); usage rating draws
their token allowances down before money.
"""

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.models import Customer
from billing.money import MoneyField
from catalog.models import FreeGrant, ModelGroup, Pack, SubscriptionPlan


class Subscription(models.Model):
    """A customer on a subscription plan (e.g. a coding plan) from ``starts_on`` until ``ends_on``."""

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="subscriptions")
    plan = models.ForeignKey(SubscriptionPlan, on_delete=models.PROTECT, related_name="subscriptions")
    starts_on = models.DateField(_("from"))
    ends_on = models.DateField(_("until"), null=True, blank=True, help_text=_("Blank: until cancelled."))
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    cancelled_at = models.DateTimeField(_("cancelled"), null=True, blank=True)
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        db_table = "allowances_subscription"
        verbose_name = _("subscription")
        verbose_name_plural = _("subscriptions")
        ordering = ["customer", "-starts_on"]

    def __str__(self) -> str:
        return f"{self.customer}: {self.plan}"


class PackPurchase(models.Model):
    """A pack bought by a customer; credit-term customers are invoiced for it at the next close."""

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="pack_purchases")
    pack = models.ForeignKey(Pack, on_delete=models.PROTECT, related_name="purchases")
    purchased_at = models.DateTimeField(_("purchased"))
    expires_at = models.DateTimeField(_("expires"))
    price = MoneyField(_("price"))
    currency = models.CharField(_("currency"), max_length=3)
    idempotency_key = models.CharField(max_length=200, unique=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        db_table = "allowances_pack_purchase"
        verbose_name = _("pack purchase")
        verbose_name_plural = _("pack purchases")
        ordering = ["-purchased_at"]

    def __str__(self) -> str:
        return f"{self.customer}: {self.pack}"


class TokenAllowance(models.Model):
    """Tokens left on one token allowance: a pack purchase, a free grant, or one month of a subscription.

    Created when usage first needs it (``billing.allowances.drawdown``); ``remaining`` only falls, under a
    row lock, in the usage batch's transaction, and ``AllowanceDraw`` rows say which batch took what.
    A subscription gets one row per month (in the operator's time zone): that is its monthly reset.
    """

    class Kind(models.TextChoices):
        GRANT = "grant", _("Free grant")
        SUBSCRIPTION = "subscription", _("Subscription")
        PACK = "pack", _("Pack")

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="token_allowances")
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    pack_purchase = models.OneToOneField(
        PackPurchase, on_delete=models.PROTECT, null=True, blank=True, related_name="token_allowance"
    )
    subscription = models.ForeignKey(
        Subscription, on_delete=models.PROTECT, null=True, blank=True, related_name="token_allowances"
    )
    grant = models.OneToOneField(
        FreeGrant, on_delete=models.PROTECT, null=True, blank=True, related_name="token_allowance"
    )
    month = models.DateField(_("month"), null=True, blank=True, help_text=_("Subscriptions: first day."))
    group = models.ForeignKey(
        ModelGroup, on_delete=models.PROTECT, null=True, blank=True, help_text=_("Blank: every model.")
    )
    starts_at = models.DateTimeField(_("valid from"))
    expires_at = models.DateTimeField(_("expires"))
    tokens = models.BigIntegerField(_("tokens"))
    remaining = models.BigIntegerField(_("tokens left"))

    class Meta:
        db_table = "allowances_token_allowance"
        verbose_name = _("token allowance")
        verbose_name_plural = _("token allowances")
        ordering = ["customer", "expires_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["subscription", "month"], name="allowances_one_row_per_month"),
            models.CheckConstraint(
                condition=models.Q(remaining__gte=0, remaining__lte=models.F("tokens")),
                name="allowances_remaining_in_range",
            ),
        ]
        indexes = [models.Index(fields=["customer", "expires_at"])]

    def __str__(self) -> str:
        return f"{self.customer}: {self.remaining}/{self.tokens} ({self.get_kind_display()})"


class AllowanceDraw(models.Model):
    """Tokens one usage batch took from one token allowance (one row per batch × allowance, not per event)."""

    allowance = models.ForeignKey(TokenAllowance, on_delete=models.PROTECT, related_name="draws")
    batch = models.ForeignKey("billing.UsageBatch", on_delete=models.PROTECT, related_name="allowance_draws")
    tokens = models.BigIntegerField(_("tokens"))
    events = models.PositiveIntegerField(_("events"))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "allowances_draw"
        verbose_name = _("allowance draw")
        verbose_name_plural = _("allowance draws")
        constraints = [
            models.UniqueConstraint(fields=["allowance", "batch"], name="allowances_one_draw_per_batch"),
        ]

    def __str__(self) -> str:
        return f"{self.tokens} tokens from #{self.allowance_id} by batch {self.batch_id}"


class AllowanceCharge(models.Model):
    """A subscription month or a pack paid from the customer's wallet (the wallet debit it was paid by).

    ``source_key`` is the key the period close bills the same thing by (``subscription:<id>:<YYYY-MM>``,
    ``pack:<id>``); the close skips a key found here, so a month or pack is paid once, by wallet or by
    invoice, whatever the customer's terms did in between (``billing.allowances.charges``).
    """

    source_key = models.CharField(max_length=120, unique=True)
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="allowance_charges")
    subscription = models.ForeignKey(
        Subscription, on_delete=models.PROTECT, null=True, blank=True, related_name="charges"
    )
    month = models.DateField(_("month"), null=True, blank=True, help_text=_("Subscriptions: first day."))
    pack_purchase = models.OneToOneField(
        PackPurchase, on_delete=models.PROTECT, null=True, blank=True, related_name="charge"
    )
    amount = MoneyField(_("amount"), help_text=_("Debited from paid credit, in the currency shown."))
    currency = models.CharField(_("currency"), max_length=3)
    transaction = models.OneToOneField(
        "billing.JournalTransaction", on_delete=models.PROTECT, related_name="allowance_charge"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("charged"), auto_now_add=True)

    class Meta:
        db_table = "allowances_charge"
        verbose_name = _("allowance charge")
        verbose_name_plural = _("allowance charges")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(
                    subscription__isnull=False, month__isnull=False, pack_purchase__isnull=True
                )
                | models.Q(subscription__isnull=True, month__isnull=True, pack_purchase__isnull=False),
                name="allowances_charge_one_subject",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.source_key}: {self.amount} {self.currency}"


class CardOrder(models.Model):
    """A pack or subscription a portal user pays by card: bought once the card payment is credited.

    The card payment is an ordinary card top-up (``topup_reference`` is its public id): its money lands in
    the wallet's paid credit and the purchase is paid from there in the same database transaction, so a
    refund or dispute of the card payment is booked as for any top-up.
    """

    class Status(models.TextChoices):
        OPEN = "open", _("Awaiting payment")
        DONE = "done", _("Bought")
        FAILED = "failed", _("Not bought")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="card_orders")
    pack = models.ForeignKey(Pack, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    plan = models.ForeignKey(
        SubscriptionPlan, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    price = MoneyField(_("price"), help_text=_("In the currency shown, to its minor unit."))
    currency = models.CharField(_("currency"), max_length=3)
    topup_reference = models.UUIDField(null=True, blank=True, unique=True)
    status = models.CharField(_("status"), max_length=8, choices=Status.choices, default=Status.OPEN)
    error = models.TextField(_("why not bought"), blank=True)
    pack_purchase = models.OneToOneField(
        PackPurchase, on_delete=models.PROTECT, null=True, blank=True, related_name="card_order"
    )
    subscription = models.OneToOneField(
        Subscription, on_delete=models.PROTECT, null=True, blank=True, related_name="card_order"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "allowances_card_order"
        verbose_name = _("card order")
        verbose_name_plural = _("card orders")
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(pack__isnull=False, plan__isnull=True)
                | models.Q(pack__isnull=True, plan__isnull=False),
                name="allowances_card_order_one_item",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.customer}: {self.pack or self.plan} ({self.get_status_display()})"
