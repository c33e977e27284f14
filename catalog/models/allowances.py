"""Packs, subscriptions and free grants: allowances that draw down before money.

Only their definitions live here; drawing them down belongs to usage rating in billing.
"""

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from accounts.models import Customer
from catalog.models.fields import PRICE_DIGITS, currency_field
from catalog.models.plans import SellPlan
from catalog.models.vendors import AIModel, Vendor

MONEY_HELP = _("In the currency shown; full precision, not rounded.")
ALLOWANCE_HELP = _("Tokens, or an amount of credit in the currency shown.")


class AllowanceUnit(models.TextChoices):
    TOKENS = "tokens", _("Tokens")
    CREDIT = "credit", pgettext_lazy("allowance unit", "Credit")


class ModelGroup(models.Model):
    """Models an allowance covers: the listed models plus every model of the listed vendors."""

    name = models.CharField(_("name"), max_length=120, unique=True)
    vendors = models.ManyToManyField(Vendor, verbose_name=_("vendors"), blank=True)
    ai_models = models.ManyToManyField(AIModel, verbose_name=_("models"), blank=True)
    description = models.TextField(_("description"), blank=True)

    class Meta:
        verbose_name = _("model group")
        verbose_name_plural = _("model groups")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class _Allowance(models.Model):
    group = models.ForeignKey(
        ModelGroup,
        verbose_name=_("model group"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        help_text=_("Blank: every model."),
    )
    unit = models.CharField(
        _("unit"), max_length=8, choices=AllowanceUnit.choices, default=AllowanceUnit.TOKENS
    )
    currency = currency_field()

    class Meta:
        abstract = True


class Pack(_Allowance):
    """A resource pack (资源包): an allowance sold up front, valid for a number of days."""

    name = models.CharField(_("name"), max_length=120, unique=True)
    allowance = models.DecimalField(
        _("allowance"), **PRICE_DIGITS, validators=[MinValueValidator(0)], help_text=ALLOWANCE_HELP
    )
    price = models.DecimalField(
        _("price"), **PRICE_DIGITS, validators=[MinValueValidator(0)], help_text=MONEY_HELP
    )
    validity_days = models.PositiveIntegerField(_("valid for days"))
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("pack")
        verbose_name_plural = _("packs")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class SubscriptionPlan(_Allowance):
    """A monthly subscription, such as a coding plan: a fee, a monthly allowance, overage at a plan."""

    name = models.CharField(_("name"), max_length=120, unique=True)
    monthly_fee = models.DecimalField(
        _("monthly fee"), **PRICE_DIGITS, validators=[MinValueValidator(0)], help_text=MONEY_HELP
    )
    allowance = models.DecimalField(
        _("monthly allowance"), **PRICE_DIGITS, validators=[MinValueValidator(0)], help_text=ALLOWANCE_HELP
    )
    overage_plan = models.ForeignKey(
        SellPlan,
        verbose_name=_("overage plan"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        help_text=_("Rates usage beyond the allowance; blank: the customer's own plan."),
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("subscription plan")
        verbose_name_plural = _("subscription plans")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class FreeGrant(_Allowance):
    """A free allowance given to one customer; it expires, and is used before paid allowances."""

    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="free_grants"
    )
    amount = models.DecimalField(
        _("amount"), **PRICE_DIGITS, validators=[MinValueValidator(0)], help_text=ALLOWANCE_HELP
    )
    granted_at = models.DateTimeField(_("granted"))
    expires_at = models.DateTimeField(_("expires"))
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("free grant")
        verbose_name_plural = _("free grants")
        ordering = ["expires_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(expires_at__gt=models.F("granted_at")),
                name="catalog_grant_expires_after_grant",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.customer}: {self.amount} {self.get_unit_display()}"
