"""Sell plans: how a customer's price derives from cost, list or an explicit sell book."""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.models import Customer
from catalog.models.books import PriceBook
from catalog.models.fields import FRACTION_DIGITS, currency_field
from catalog.models.vendors import AIModel, Vendor


class SellPlan(models.Model):
    """A price list for customers: the operator's (``owner`` blank) or a sub-distributor's retail plan.

    A customer is priced only by plans of its ``price_owner`` (``catalog.selectors.pricing``), so a
    sub-distributor's customers never see the operator's wholesale plan, and a sub-distributor's plans
    price nobody outside its subtree.
    """

    owner = models.ForeignKey(
        Customer,
        verbose_name=_("owner"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="sell_plans",
        help_text=_("The sub-distributor selling at this plan; blank for the operator's plans."),
    )
    name = models.CharField(_("name"), max_length=120)
    currency = currency_field()
    description = models.TextField(_("description"), blank=True)
    is_default = models.BooleanField(
        _("default plan"),
        default=False,
        help_text=_(
            "Used for customers billed in this currency that have no plan of their own or above them."
        ),
    )
    margin_floor = models.DecimalField(
        _("margin floor"),
        **FRACTION_DIGITS,
        default=0,
        validators=[MinValueValidator(-1), MaxValueValidator(1)],
        help_text=_(
            "Lowest acceptable margin as a fraction of the sell price (0.05 = 5%); below it, an alert."
        ),
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("sell plan")
        verbose_name_plural = _("sell plans")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["name"],
                condition=models.Q(owner__isnull=True),
                name="catalog_plan_operator_name_unique",
            ),
            models.UniqueConstraint(
                fields=["owner", "name"],
                condition=models.Q(owner__isnull=False),
                name="catalog_plan_owner_name_unique",
            ),
            models.UniqueConstraint(
                fields=["currency"],
                condition=models.Q(is_default=True, owner__isnull=True),
                name="catalog_plan_one_default_per_currency",
            ),
            models.UniqueConstraint(
                fields=["owner", "currency"],
                condition=models.Q(is_default=True, owner__isnull=False),
                name="catalog_plan_owner_one_default_per_currency",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class PlanRule(models.Model):
    """How one plan prices one model, all models of a vendor, or every model (most specific wins)."""

    class Method(models.TextChoices):
        COST_MARKUP = "cost_markup", _("Cost × (1 + markup)")
        # Cost-plus for a sub-distributor: on the price it buys at (its own plan's), not on our cost.
        WHOLESALE_MARKUP = "wholesale_markup", _("Wholesale × (1 + markup)")
        LIST_DISCOUNT = "list_discount", _("List × (1 − discount)")
        EXPLICIT = "explicit", _("Explicit prices from a sell book")

    plan = models.ForeignKey(SellPlan, verbose_name=_("plan"), on_delete=models.CASCADE, related_name="rules")
    vendor = models.ForeignKey(
        Vendor, verbose_name=_("vendor"), on_delete=models.PROTECT, null=True, blank=True
    )
    model = models.ForeignKey(
        AIModel, verbose_name=_("model"), on_delete=models.PROTECT, null=True, blank=True
    )
    method = models.CharField(_("method"), max_length=16, choices=Method.choices)
    markup = models.DecimalField(
        _("markup"),
        **FRACTION_DIGITS,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
        help_text=_("Fraction added to cost (or wholesale): 0.055 sells at cost + 5.5%."),
    )
    discount = models.DecimalField(
        _("discount"),
        **FRACTION_DIGITS,
        null=True,
        blank=True,
        validators=[MinValueValidator(0), MaxValueValidator(1)],
        # Translators: 0.30 is a discount rate; "70% of list" is 70 per cent of the list price.
        # xgettext:no-python-format
        help_text=_("Fraction taken off list: 0.30 sells at 70% of list."),
    )
    source_book = models.ForeignKey(
        PriceBook,
        verbose_name=_("source book"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="plan_rules",
        help_text=_(
            "Cost book for a markup, list book for a discount (blank: the highest-priority book of "
            "that kind), or the sell book holding explicit prices (required)."
        ),
    )
    keep_windows = models.BooleanField(
        _("keep time-of-day prices"),
        default=True,
        help_text=_(
            "Derived prices keep the source book's time-of-day windows (off-peak), scaled like every "
            "price; untick to sell at the standard price at all hours."
        ),
    )
    effective_from = models.DateTimeField(_("effective from"))
    effective_to = models.DateTimeField(_("effective to"), null=True, blank=True, help_text=_("Exclusive."))

    class Meta:
        verbose_name = _("plan rule")
        verbose_name_plural = _("plan rules")
        ordering = ["plan", "-effective_from"]
        constraints = [
            models.CheckConstraint(
                condition=~(models.Q(vendor__isnull=False) & models.Q(model__isnull=False)),
                name="catalog_planrule_vendor_or_model",
            ),
            models.CheckConstraint(
                condition=models.Q(effective_to__isnull=True)
                | models.Q(effective_to__gt=models.F("effective_from")),
                name="catalog_planrule_dates_ordered",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.plan}: {self.scope_label} · {self.get_method_display()}"

    @property
    def scope_label(self) -> str:
        if self.model_id:
            return str(self.model)
        if self.vendor_id:
            return str(self.vendor)
        return str(_("all models"))


class PlanAssignment(models.Model):
    """A plan given to a customer, or to a sub-distributor for its whole subtree, for a span of time."""

    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="plan_assignments"
    )
    plan = models.ForeignKey(
        SellPlan, verbose_name=_("plan"), on_delete=models.PROTECT, related_name="assignments"
    )
    effective_from = models.DateTimeField(_("effective from"))
    effective_to = models.DateTimeField(_("effective to"), null=True, blank=True, help_text=_("Exclusive."))
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("plan assignment")
        verbose_name_plural = _("plan assignments")
        ordering = ["customer", "-effective_from"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(effective_to__isnull=True)
                | models.Q(effective_to__gt=models.F("effective_from")),
                name="catalog_assignment_dates_ordered",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.customer} → {self.plan}"
