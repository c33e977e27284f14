"""What we buy from vendors: contracts, and the channels (upstream accounts) the gateway sends traffic to.

A **contract** is our deal with a vendor or a reseller of its models (Azure, Bedrock, Vertex, OpenRouter,
another distributor): its currency, how cost is priced (a contract price book, or a discount off a list
book, optionally tiered by monthly volume), whether we prepay or are billed afterwards, committed spend,
payment terms and validity. A **channel** is one upstream account under a contract — the key or endpoint the
gateway uses — and every usage event names one (``UsageEvent.upstream_account``, matched to a channel's name
or one of its aliases, case-insensitively). Cost is rated at the event's channel's contract
(``catalog.selectors.channels``); an event whose channel is unknown is rated at the best cost book and listed
for staff to map.
"""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _

from catalog.models.books import PriceBook
from catalog.models.fields import FRACTION_DIGITS, currency_field
from catalog.models.vendors import Vendor

# Contract amounts (prepaid, committed, volume thresholds): money at the minor unit is plenty; two places
# more than any currency's minor unit leave room for thresholds like 0.5 of a cent.
CONTRACT_AMOUNT = {"max_digits": 20, "decimal_places": 4}


class CostBasis(models.TextChoices):
    BOOK = "book", _("Contract price book")
    LIST_DISCOUNT = "list_discount", _("Discount off list prices")


class Settlement(models.TextChoices):
    # Prepaid: we pay the vendor in advance (top-ups, packs); consumption draws the upstream prepaid asset.
    PREPAID = "prepaid", _("Prepaid (consumption draws down what we paid in advance)")
    # Postpaid: the vendor bills us after use; consumption accrues a liability until its invoice arrives.
    POSTPAID = "postpaid", _("Postpaid (the vendor invoices us after use)")


class CommitPeriod(models.TextChoices):
    MONTH = "month", _("Per month")
    QUARTER = "quarter", _("Per quarter")
    YEAR = "year", _("Per year")
    TERM = "term", _("Over the contract's whole term")


class ChannelKind(models.TextChoices):
    DIRECT = "direct", _("Direct vendor account")
    AZURE = "azure", _("Azure")
    BEDROCK = "bedrock", _("AWS Bedrock")
    VERTEX = "vertex", _("Google Vertex AI")
    OPENROUTER = "openrouter", _("OpenRouter")
    DISTRIBUTOR = "distributor", _("Another distributor")
    OTHER = "other", _("Other reseller")


class VendorContract(models.Model):
    """Our terms with one vendor (or one reseller of a vendor's models) for what its channels carry."""

    vendor = models.ForeignKey(
        Vendor,
        verbose_name=_("vendor"),
        on_delete=models.PROTECT,
        related_name="contracts",
        help_text=_("Whom we buy from and pay: the model vendor, or the reseller (Azure, OpenRouter …)."),
    )
    name = models.CharField(_("name"), max_length=120, unique=True)
    reference = models.CharField(
        _("contract reference"),
        max_length=120,
        blank=True,
        help_text=_("The vendor's contract or account number."),
    )
    currency = currency_field(_("contract currency"))
    cost_basis = models.CharField(
        _("cost basis"), max_length=16, choices=CostBasis.choices, default=CostBasis.BOOK
    )
    cost_book = models.ForeignKey(
        PriceBook,
        verbose_name=_("contract price book"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="cost_contracts",
        help_text=_("A cost book holding this contract's prices (cost basis: contract price book)."),
    )
    list_book = models.ForeignKey(
        PriceBook,
        verbose_name=_("list price book"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="list_contracts",
        help_text=_("The list book the discount applies to; blank: the highest-priority list book."),
    )
    discount = models.DecimalField(
        _("discount off list"),
        **FRACTION_DIGITS,
        default=Decimal(0),
        validators=[MinValueValidator(0), MaxValueValidator(1)],
        help_text=_("0.15 = 15% off list (cost basis: discount off list), before any volume tier."),
    )
    settlement = models.CharField(
        _("settlement"), max_length=8, choices=Settlement.choices, default=Settlement.PREPAID
    )
    prepaid_amount = models.DecimalField(
        _("prepaid amount"),
        **CONTRACT_AMOUNT,
        default=Decimal(0),
        validators=[MinValueValidator(0)],
        help_text=_("Agreed advance payment, in the contract currency (the ledger records what was paid)."),
    )
    committed_amount = models.DecimalField(
        _("committed spend"),
        **CONTRACT_AMOUNT,
        default=Decimal(0),
        validators=[MinValueValidator(0)],
        help_text=_("Spend we committed to per commit period; a shortfall is accrued at the period's end."),
    )
    commit_period = models.CharField(
        _("commit period"), max_length=8, choices=CommitPeriod.choices, default=CommitPeriod.MONTH
    )
    payment_terms_days = models.PositiveSmallIntegerField(
        _("payment terms (days)"), default=30, help_text=_("Days from a vendor invoice to its due date.")
    )
    valid_from = models.DateField(_("valid from"))
    valid_to = models.DateField(
        _("valid to"), null=True, blank=True, help_text=_("Inclusive; blank: open-ended.")
    )
    notes = models.TextField(_("notes"), blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("vendor contract")
        verbose_name_plural = _("vendor contracts")
        ordering = ["vendor__name", "name"]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(cost_basis="book") | models.Q(cost_book__isnull=False),
                name="catalog_contract_book_basis_has_book",
            ),
            models.CheckConstraint(
                condition=models.Q(discount__gte=0) & models.Q(discount__lte=1),
                name="catalog_contract_discount_fraction",
            ),
            models.CheckConstraint(
                condition=models.Q(valid_to__isnull=True) | models.Q(valid_to__gte=models.F("valid_from")),
                name="catalog_contract_validity_span",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class ContractTier(models.Model):
    """A volume tier of a discount-off-list contract: from ``min_monthly_volume`` (list value of the
    month's usage, in the contract currency) the whole month earns ``discount`` instead of the contract's.
    Rating uses the contract's own discount; the month-end true-up posts what a tier earned."""

    contract = models.ForeignKey(
        VendorContract, verbose_name=_("contract"), on_delete=models.CASCADE, related_name="tiers"
    )
    min_monthly_volume = models.DecimalField(
        _("from monthly volume"), **CONTRACT_AMOUNT, validators=[MinValueValidator(0)]
    )
    discount = models.DecimalField(
        _("discount off list"), **FRACTION_DIGITS, validators=[MinValueValidator(0), MaxValueValidator(1)]
    )

    class Meta:
        verbose_name = _("volume tier")
        verbose_name_plural = _("volume tiers")
        ordering = ["contract", "min_monthly_volume"]
        constraints = [
            models.UniqueConstraint(
                fields=["contract", "min_monthly_volume"], name="catalog_tier_unique_floor"
            ),
            models.CheckConstraint(
                condition=models.Q(discount__gte=0) & models.Q(discount__lte=1),
                name="catalog_tier_discount_fraction",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.contract} ≥ {self.min_monthly_volume}"


class Channel(models.Model):
    """One upstream account: the key or endpoint the gateway sends traffic to, under one contract."""

    name = models.CharField(
        _("name"),
        max_length=120,
        help_text=_("As usage events name it (upstream_account), e.g. openai-main; case-insensitive."),
    )
    contract = models.ForeignKey(
        VendorContract, verbose_name=_("contract"), on_delete=models.PROTECT, related_name="channels"
    )
    kind = models.CharField(_("kind"), max_length=12, choices=ChannelKind.choices, default=ChannelKind.DIRECT)
    endpoint = models.CharField(_("endpoint"), max_length=300, blank=True, help_text=_("API base URL."))
    vendor_key_id = models.CharField(
        _("vendor's key id"),
        max_length=200,
        blank=True,
        help_text=_(
            "How the vendor's usage exports name this account (OpenAI/Anthropic api_key_id, an "
            "OpenRouter key label …); never the secret key itself."
        ),
    )
    reporting_zone = models.CharField(
        _("reporting time zone"),
        max_length=64,
        default="UTC",
        help_text=_("IANA zone of the vendor's daily figures (OpenAI, Anthropic: UTC; Kimi: Asia/Shanghai)."),
    )
    reporting_lag_hours = models.PositiveSmallIntegerField(
        _("reporting lag (hours)"),
        default=24,
        help_text=_("How long after a day ends the vendor's figures for it are complete."),
    )
    low_cover_days = models.PositiveSmallIntegerField(
        _("alert below days of cover"),
        default=7,
        help_text=_("Alert when the prepaid balance covers fewer days of trailing cost; 0: no alert."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    notes = models.TextField(_("notes"), blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("channel")
        verbose_name_plural = _("channels")
        ordering = ["name"]
        constraints = [models.UniqueConstraint(Lower("name"), name="catalog_channel_name_ci_unique")]

    def __str__(self) -> str:
        return self.name

    @property
    def vendor(self) -> Vendor:
        return self.contract.vendor

    @property
    def currency(self) -> str:
        return self.contract.currency


class ChannelAlias(models.Model):
    """Another name a gateway sends for a channel: LiteLLM's deployment id or api base, new-api's
    ``channel:12``. Mapping an unknown upstream account to a channel adds one."""

    channel = models.ForeignKey(
        Channel, verbose_name=_("channel"), on_delete=models.CASCADE, related_name="aliases"
    )
    alias = models.CharField(_("alias"), max_length=120)

    class Meta:
        verbose_name = _("channel alias")
        verbose_name_plural = _("channel aliases")
        ordering = ["alias"]
        constraints = [models.UniqueConstraint(Lower("alias"), name="catalog_channelalias_alias_ci_unique")]

    def __str__(self) -> str:
        return f"{self.alias} → {self.channel}"
