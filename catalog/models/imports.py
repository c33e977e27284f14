"""Price imports (kept whole, for the preview-then-apply flow and the audit trail) and price alerts."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from catalog.models.books import BookKind, PriceBook
from catalog.models.fields import FRACTION_DIGITS, PRICE_DIGITS, currency_field
from catalog.models.plans import SellPlan
from catalog.models.vendors import AIModel, Vendor


class PriceImport(models.Model):
    class Format(models.TextChoices):
        LITELLM = "litellm", _("LiteLLM model_prices_and_context_window.json")
        CSV = "csv", _("Distributor CSV")

    class Status(models.TextChoices):
        PREVIEWED = "previewed", _("Previewed")
        APPLIED = "applied", _("Applied")
        DISCARDED = "discarded", _("Discarded")

    format = models.CharField(_("format"), max_length=8, choices=Format.choices)
    book_name = models.CharField(_("price book"), max_length=120)
    kind = models.CharField(_("kind"), max_length=8, choices=BookKind.choices)
    currency = models.CharField(_("currency"), max_length=3, blank=True)
    vendor_slug = models.CharField(_("vendor"), max_length=50, blank=True)
    create_models = models.BooleanField(_("create unknown models"), default=False)
    effective_from = models.DateTimeField(_("effective from"))
    filename = models.CharField(_("file name"), max_length=255, blank=True)
    content = models.TextField(_("content"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PREVIEWED)
    summary = models.JSONField(_("summary"), default=dict, blank=True)
    diff_digest = models.CharField(max_length=64, blank=True)
    book = models.ForeignKey(
        PriceBook, on_delete=models.SET_NULL, null=True, blank=True, related_name="imports"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    applied_at = models.DateTimeField(_("applied"), null=True, blank=True)

    class Meta:
        verbose_name = _("price import")
        verbose_name_plural = _("price imports")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.filename or self.get_format_display()} → {self.book_name}"


class PriceAlert(models.Model):
    """A plan price that loses money, earns less than the plan's margin floor, or (a sub-distributor's plan)
    sells under the retail floor the operator set over its wholesale price."""

    class Kind(models.TextChoices):
        LOSS = "loss", _("Sells below cost")
        BELOW_FLOOR = "below_floor", _("Below margin floor")
        # A sub-distributor's retail price under its wholesale × (1 + the retail floor the operator set).
        RETAIL_FLOOR = "retail_floor", _("Below retail floor")

    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    plan = models.ForeignKey(
        SellPlan, verbose_name=_("plan"), on_delete=models.CASCADE, related_name="alerts"
    )
    model = models.ForeignKey(
        AIModel, verbose_name=_("model"), on_delete=models.CASCADE, related_name="alerts"
    )
    tier_lo = models.PositiveBigIntegerField(_("tier above"))
    tier_hi = models.PositiveBigIntegerField(_("tier up to"), null=True, blank=True)
    token_class = models.CharField(_("token class"), max_length=20)
    batch = models.BooleanField(_("batch"), default=False)
    window = models.CharField(
        _("time-of-day window"),
        max_length=60,
        blank=True,
        default="",
        help_text=_("The sell price's window (off-peak) at the hours compared; blank: standard hours."),
    )
    service_tier = models.CharField(
        _("service tier"),
        max_length=20,
        blank=True,
        default="",
        help_text=_("The service tier of the requests compared (flex, priority); blank: standard requests."),
    )
    currency = currency_field()
    sell_price = models.DecimalField(_("sell price"), **PRICE_DIGITS, help_text=_("Per million tokens."))
    cost_price = models.DecimalField(
        _("cost price"), **PRICE_DIGITS, help_text=_("Per million tokens, converted to the plan's currency.")
    )
    margin = models.DecimalField(
        _("margin"),
        **FRACTION_DIGITS,
        null=True,
        blank=True,
        help_text=_("(sell − cost) / sell, to 6 places."),
    )
    trigger = models.CharField(_("raised by"), max_length=200, blank=True)
    raised_at = models.DateTimeField(_("raised"), auto_now_add=True)
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)

    class Meta:
        verbose_name = _("price alert")
        verbose_name_plural = _("price alerts")
        ordering = ["-raised_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["plan", "model", "tier_lo", "token_class", "batch", "window", "service_tier"],
                condition=models.Q(resolved_at__isnull=True),
                name="catalog_alert_one_open_per_price",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.plan} · {self.model} · {self.token_class}: {self.get_kind_display()}"


class ProviderMapping(models.Model):
    """What an import does with the entries of one ``litellm_provider``: staff data, not code.

    ``vendor``: the vendor whose models the entries are (a LiteLLM import into a list or cost book creates
    or prices them); ``channel_book``: a reseller's entries (``bedrock``, ``azure``, ``openrouter`` …)
    priced into that cost book, a channel's (``VendorContract.cost_book``), matched to our models by name
    or alias without the provider's prefix; ``skip``: never imported. A provider with no row is imported
    only into a book of its vendor-less kind when its entries' names are known models.
    """

    class Action(models.TextChoices):
        VENDOR = "vendor", _("Our vendor's own prices")
        CHANNEL = "channel", _("A reseller channel's cost book")
        SKIP = "skip", _("Skip")

    provider = models.CharField(_("LiteLLM provider"), max_length=80, unique=True)
    action = models.CharField(_("action"), max_length=8, choices=Action.choices, default=Action.VENDOR)
    vendor = models.ForeignKey(
        Vendor, verbose_name=_("vendor"), on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    channel_book = models.ForeignKey(
        PriceBook,
        verbose_name=_("channel cost book"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        limit_choices_to={"kind": BookKind.COST},
    )
    note = models.CharField(_("note"), max_length=200, blank=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("provider mapping")
        verbose_name_plural = _("provider mappings")
        ordering = ["provider"]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(action="vendor") | models.Q(vendor__isnull=False),
                name="catalog_provider_vendor_needs_vendor",
            ),
            models.CheckConstraint(
                condition=~models.Q(action="channel") | models.Q(channel_book__isnull=False),
                name="catalog_provider_channel_needs_book",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.provider} → {self.get_action_display()}"
