"""Price books and their effective-dated entries, each with one or more context tiers.

Every price lives in a tier row: a model without context tiers has one tier covering every prompt
length. Rows are never edited once rating may have used them; a new price is a new entry with a
later ``effective_from`` (the import closes the previous one).
"""

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from catalog.models.fields import FRACTION_DIGITS, PRICE_DIGITS, currency_field, price_field
from catalog.models.vendors import AIModel, Vendor


class BookKind(models.TextChoices):
    LIST = "list", _("List (vendor's official price)")
    COST = "cost", _("Cost (our contract price)")
    SELL = "sell", _("Sell (what a customer pays)")


class PriceBook(models.Model):
    # A sub-distributor's explicit retail prices live in sell books it owns; every other book (list, cost,
    # the operator's sell books) is the operator's, and only the operator's are found by name.
    owner = models.ForeignKey(
        "accounts.Customer",
        verbose_name=_("owner"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="price_books",
        help_text=_("The sub-distributor whose explicit retail prices this sell book holds; blank: ours."),
    )
    name = models.CharField(_("name"), max_length=120)
    kind = models.CharField(_("kind"), max_length=8, choices=BookKind.choices)
    currency = currency_field()
    vendor = models.ForeignKey(
        Vendor,
        verbose_name=_("vendor"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="price_books",
        help_text=_("The vendor whose price page or contract this book holds; blank for mixed books."),
    )
    priority = models.PositiveSmallIntegerField(
        _("priority"),
        default=100,
        help_text=_("When several books of one kind price a model, rating uses the highest priority."),
    )
    batch_multiplier = models.DecimalField(
        _("batch multiplier"),
        **FRACTION_DIGITS,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
        help_text=_(
            "Share of the standard price charged for batch requests (0.5 = 50%); a model's own "
            "multiplier or explicit batch prices win. Blank: batch requests pay standard prices."
        ),
    )
    description = models.TextField(_("description"), blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("price book")
        verbose_name_plural = _("price books")
        ordering = ["kind", "name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(batch_multiplier__isnull=True) | models.Q(batch_multiplier__gte=0),
                name="catalog_pricebook_batch_multiplier_gte_0",
            ),
            models.UniqueConstraint(
                fields=["name"],
                condition=models.Q(owner__isnull=True),
                name="catalog_pricebook_operator_name_unique",
            ),
            models.UniqueConstraint(
                fields=["owner", "name"],
                condition=models.Q(owner__isnull=False),
                name="catalog_pricebook_owner_name_unique",
            ),
            models.CheckConstraint(
                condition=models.Q(owner__isnull=True) | models.Q(kind="sell"),
                name="catalog_pricebook_owned_is_sell",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class PriceEntry(models.Model):
    """One model's prices in one book for a span of time: ``effective_from ≤ t < effective_to``."""

    book = models.ForeignKey(
        PriceBook, verbose_name=_("price book"), on_delete=models.CASCADE, related_name="entries"
    )
    model = models.ForeignKey(
        AIModel, verbose_name=_("model"), on_delete=models.PROTECT, related_name="price_entries"
    )
    effective_from = models.DateTimeField(_("effective from"))
    effective_to = models.DateTimeField(
        _("effective to"), null=True, blank=True, help_text=_("Exclusive; blank while the price is current.")
    )
    request_fee = models.DecimalField(
        _("request fee"),
        **PRICE_DIGITS,
        default=0,
        validators=[MinValueValidator(0)],
        help_text=_(
            "Per request (not per token), in the price book's currency; full precision, not rounded."
        ),
    )
    batch_multiplier = models.DecimalField(
        _("batch multiplier"),
        **FRACTION_DIGITS,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
        help_text=_("Overrides the book's batch multiplier for this model (0.6 = 60%)."),
    )
    source = models.CharField(_("source"), max_length=200, blank=True, help_text=_("Import or person."))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("price entry")
        verbose_name_plural = _("price entries")
        ordering = ["book", "model", "-effective_from"]
        indexes = [models.Index(fields=["model", "book", "effective_from"], name="catalog_entry_lookup")]
        constraints = [
            models.UniqueConstraint(
                fields=["book", "model", "effective_from"], name="catalog_entry_unique_start"
            ),
            models.CheckConstraint(
                condition=models.Q(effective_to__isnull=True)
                | models.Q(effective_to__gt=models.F("effective_from")),
                name="catalog_entry_dates_ordered",
            ),
            models.CheckConstraint(
                condition=models.Q(request_fee__gte=0), name="catalog_entry_request_fee_gte_0"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.book} · {self.model} · {self.effective_from:%Y-%m-%d}"


class PriceTier(models.Model):
    """Prices for prompts with ``lo < prompt_tokens ≤ hi`` (the first tier, lo = 0, also takes 0).

    Blank optional prices fall back: cache read and 5-minute cache write to input, 1-hour cache write
    to 5-minute cache write, reasoning to output; batch prices to the multiplier, else standard.
    """

    entry = models.ForeignKey(
        PriceEntry, verbose_name=_("price entry"), on_delete=models.CASCADE, related_name="tiers"
    )
    lo = models.PositiveBigIntegerField(
        _("above prompt tokens"), default=0, help_text=_("Exclusive lower bound.")
    )
    hi = models.PositiveBigIntegerField(
        _("up to prompt tokens"),
        null=True,
        blank=True,
        help_text=_("Inclusive upper bound; blank: no limit."),
    )
    input = price_field(_("input (uncached)"))
    cache_read = price_field(_("cache read"), required=False)
    cache_write_5m = price_field(_("cache write, 5 minutes"), required=False)
    cache_write_1h = price_field(_("cache write, 1 hour"), required=False)
    output = price_field(_("output"))
    reasoning = price_field(_("reasoning"), required=False)
    batch_input = price_field(_("batch input"), required=False)
    batch_output = price_field(_("batch output"), required=False)
    audio_input = price_field(_("audio input"), required=False)
    audio_output = price_field(_("audio output"), required=False)
    image = price_field(
        _("per image"), required=False, help_text=_("Per image generated, in the price book's currency.")
    )
    audio_second = price_field(
        _("per audio second"),
        required=False,
        help_text=_("Per second of audio, in the price book's currency."),
    )
    service_tier = models.CharField(
        _("service tier"),
        max_length=20,
        blank=True,
        default="",
        help_text=_(
            "Blank: the standard prices. A name (flex, priority): the prices of requests that ask for "
            "that service tier; its tiers stand on their own, like the standard ones."
        ),
    )

    class Meta:
        verbose_name = _("price tier")
        verbose_name_plural = _("price tiers")
        ordering = ["entry", "service_tier", "lo"]
        constraints = [
            models.UniqueConstraint(fields=["entry", "service_tier", "lo"], name="catalog_tier_unique_lo"),
            models.CheckConstraint(
                condition=models.Q(hi__isnull=True) | models.Q(hi__gt=models.F("lo")),
                name="catalog_tier_hi_gt_lo",
            ),
            models.CheckConstraint(
                condition=models.Q(input__gte=0) & models.Q(output__gte=0), name="catalog_tier_prices_gte_0"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.entry} ({self.lo}, {self.hi or '∞'}]"


class PriceWindow(models.Model):
    """Time-of-day prices of one entry (off-peak, 错峰): in force during the hours ``rules`` give, in
    ``time_zone``, for as long as the entry is (``catalog.tier_prices.TimeWindow`` rates with it).

    ``rules`` is a list of ``{"weekdays": [1..7], "start": "HH:MM", "end": "HH:MM"}`` (ISO weekdays, 1 =
    Monday; a start after the end runs past midnight; equal start and end: the whole day). A blank price
    keeps the standard price of that class.
    """

    entry = models.ForeignKey(
        PriceEntry, verbose_name=_("price entry"), on_delete=models.CASCADE, related_name="windows"
    )
    position = models.PositiveSmallIntegerField(
        _("position"), default=1, help_text=_("When windows overlap, the first in position order applies.")
    )
    label = models.CharField(_("label"), max_length=60, default="Off-peak")
    time_zone = models.CharField(
        _("time zone"), max_length=64, default="UTC", help_text=_("IANA name, e.g. Asia/Shanghai.")
    )
    rules = models.JSONField(_("hours"), default=list)
    input = price_field(_("input (uncached)"), required=False)
    cache_read = price_field(_("cache read"), required=False)
    cache_write_5m = price_field(_("cache write, 5 minutes"), required=False)
    cache_write_1h = price_field(_("cache write, 1 hour"), required=False)
    output = price_field(_("output"), required=False)
    reasoning = price_field(_("reasoning"), required=False)
    audio_input = price_field(_("audio input"), required=False)
    audio_output = price_field(_("audio output"), required=False)

    class Meta:
        verbose_name = _("time-of-day window")
        verbose_name_plural = _("time-of-day windows")
        ordering = ["entry", "position"]
        constraints = [
            models.UniqueConstraint(fields=["entry", "position"], name="catalog_window_unique_position"),
        ]

    def __str__(self) -> str:
        return f"{self.entry} · {self.label}"
