"""The upstream side: what we prepaid vendors, what they bill us, what they say we used, and how that
compares with what we rated (DESIGN §8).

Channels and contracts are catalog data (``catalog.models.contracts``): rating reads them. Here:

* ``UpstreamPack`` — a prepayment or a vendor pack (资源包) on one channel, posted to the channel's
  upstream-prepaid asset; consumption at contract cost draws the packs earliest expiry first
  (``UpstreamDraw`` per pack and day); an expired remainder is expensed.
* ``VendorBill`` / ``VendorPayment`` — vendor invoices (payables) and their payments from the bank.
* ``UpstreamImport`` / ``VendorUsage`` — vendor usage files and their rows, one per channel × day (in the
  channel's reporting zone) × model × batch flag × vendor key, imported idempotently.
* ``ReconciliationRun`` / ``ReconciliationLine`` — each comparison of vendor rows with our rated usage, per
  channel × model × day, classified, with the value at stake in the base currency.
* ``MismatchFlag`` — evidence, from records alone, that a channel served another model than named (货不对版).
* ``UpstreamSettings`` — tolerances, thresholds and where alerts go (one row).
"""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from billing.ledger.models import JournalTransaction
from billing.money import LEDGER_FIELD, MoneyField
from catalog.models import AIModel, Channel
from common.encrypted_fields import EncryptedTextField

# Token and request counts a vendor reports, and what it charged (full precision, its currency).
COST_FIELD = {"max_digits": 28, "decimal_places": 12}


class UpstreamPack(models.Model):
    """Credit bought from a vendor in advance on one channel: a plain prepayment, an amount pack or a
    token pack, each with an optional expiry. Consumption draws the channel's packs earliest expiry first
    (no expiry last, then oldest purchase first)."""

    class Kind(models.TextChoices):
        PREPAYMENT = "prepayment", _("Prepayment (top-up)")
        AMOUNT = "amount", _("Amount pack")
        TOKENS = "tokens", _("Token pack")

    channel = models.ForeignKey(
        Channel, verbose_name=_("channel"), on_delete=models.PROTECT, related_name="upstream_packs"
    )
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    name = models.CharField(_("name"), max_length=120, blank=True)
    reference = models.CharField(
        _("vendor reference"),
        max_length=120,
        help_text=_("The vendor's order or receipt number; a second purchase with it is the same one."),
    )
    currency = models.CharField(_("currency"), max_length=3, help_text=_("The contract's currency."))
    price = models.DecimalField(
        _("price paid"), **LEDGER_FIELD, help_text=_("What the purchase cost us, in the currency.")
    )
    credit = models.DecimalField(
        _("credit"),
        **LEDGER_FIELD,
        help_text=_("Value consumption can draw, at contract cost (a pack may give more than its price)."),
    )
    tokens = models.BigIntegerField(_("tokens"), null=True, blank=True, help_text=_("Token packs only."))
    model = models.ForeignKey(
        AIModel,
        verbose_name=_("model"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("A token pack's model; blank: any model of the channel."),
    )
    purchased_at = models.DateTimeField(_("purchased"))
    starts_at = models.DateTimeField(_("valid from"))
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True)
    used_credit = models.DecimalField(_("credit used"), **LEDGER_FIELD, default=Decimal(0))
    used_tokens = models.BigIntegerField(_("tokens used"), default=0)
    expired_credit = models.DecimalField(_("credit expired"), **LEDGER_FIELD, default=Decimal(0))
    transaction = models.ForeignKey(
        JournalTransaction, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    expiry_transaction = models.ForeignKey(
        JournalTransaction, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        db_table = "upstream_pack"
        verbose_name = _("upstream pack")
        verbose_name_plural = _("upstream packs")
        ordering = ["channel", "expires_at", "purchased_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["channel", "reference"], name="upstream_pack_reference_unique"),
            models.CheckConstraint(
                condition=models.Q(price__gte=0) & models.Q(credit__gte=0), name="upstream_pack_amounts"
            ),
            models.CheckConstraint(
                condition=~models.Q(kind="tokens") | models.Q(tokens__gt=0), name="upstream_pack_tokens"
            ),
        ]

    def __str__(self) -> str:
        return self.name or self.reference


class UpstreamDraw(models.Model):
    """What one day's consumption on a channel drew from one pack (the burn job's allocation)."""

    pack = models.ForeignKey(UpstreamPack, on_delete=models.CASCADE, related_name="draws")
    day = models.DateField(_("day"))
    credit = models.DecimalField(_("credit drawn"), **LEDGER_FIELD, default=Decimal(0))
    tokens = models.BigIntegerField(_("tokens drawn"), default=0)
    transaction = models.ForeignKey(
        JournalTransaction, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        db_table = "upstream_draw"
        ordering = ["day", "pack"]
        constraints = [models.UniqueConstraint(fields=["pack", "day"], name="upstream_draw_one_per_day")]

    def __str__(self) -> str:
        return f"{self.pack_id}@{self.day}"


class VendorBill(models.Model):
    """A vendor invoice for one channel and month: a payable until paid."""

    class Kind(models.TextChoices):
        USAGE = "usage", _("Usage")
        PREPAYMENT = "prepayment", _("Prepayment or pack")
        COMMITMENT = "commitment", _("Committed-spend shortfall")

    class State(models.TextChoices):
        OPEN = "open", _("Open")
        PAID = "paid", _("Paid")
        VOID = "void", _("Void")

    channel = models.ForeignKey(
        Channel, verbose_name=_("channel"), on_delete=models.PROTECT, related_name="vendor_bills"
    )
    number = models.CharField(_("invoice number"), max_length=120)
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices, default=Kind.USAGE)
    month = models.DateField(_("month"), help_text=_("The first day of the month billed."))
    currency = models.CharField(_("currency"), max_length=3)
    amount = MoneyField(_("amount"))
    issued_on = models.DateField(_("issued"))
    due_on = models.DateField(_("due"))
    state = models.CharField(_("state"), max_length=8, choices=State.choices, default=State.OPEN)
    paid_amount = MoneyField(_("paid"), default=Decimal(0))
    source = models.CharField(_("source"), max_length=200, blank=True, help_text=_("Import or person."))
    transaction = models.ForeignKey(
        JournalTransaction, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        db_table = "upstream_vendor_bill"
        verbose_name = _("vendor invoice")
        verbose_name_plural = _("vendor invoices")
        ordering = ["-month", "channel", "number"]
        constraints = [
            models.UniqueConstraint(fields=["channel", "number"], name="upstream_bill_number_unique"),
        ]

    def __str__(self) -> str:
        return self.number


class VendorPayment(models.Model):
    """A payment of a vendor invoice from the bank, in the bank's currency when it differs (with FX)."""

    bill = models.ForeignKey(VendorBill, on_delete=models.PROTECT, related_name="payments")
    paid_on = models.DateField(_("paid on"))
    amount = MoneyField(_("amount settled"), help_text=_("In the invoice's currency."))
    bank_currency = models.CharField(_("bank currency"), max_length=3)
    bank_amount = MoneyField(_("amount paid from the bank"))
    reference = models.CharField(_("bank reference"), max_length=120)
    transaction = models.ForeignKey(
        JournalTransaction, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        db_table = "upstream_vendor_payment"
        verbose_name = _("vendor payment")
        verbose_name_plural = _("vendor payments")
        ordering = ["-paid_on", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["bill", "reference"], name="upstream_payment_reference_unique"),
        ]

    def __str__(self) -> str:
        return self.reference


class UpstreamImport(models.Model):
    """One vendor usage or bill file: previewed (nothing stored), then applied (rows upserted)."""

    class Format(models.TextChoices):
        OPENAI_USAGE = "openai-usage", _("OpenAI organization usage (JSON)")
        ANTHROPIC_USAGE = "anthropic-usage", _("Anthropic usage report (JSON)")
        OPENROUTER_ACTIVITY = "openrouter-activity", _("OpenRouter activity (CSV)")
        GENERIC = "generic", _("Generic daily usage (CSV)")
        VENDOR_BILLS = "vendor-bills", _("Vendor invoice totals (CSV)")

    class State(models.TextChoices):
        PREVIEW = "preview", _("Previewed")
        APPLIED = "applied", _("Applied")
        FAILED = "failed", _("Failed")

    fmt = models.CharField(_("format"), max_length=20, choices=Format.choices)
    channel = models.ForeignKey(
        Channel,
        verbose_name=_("channel"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("The channel every row is for, when the file does not say."),
    )
    filename = models.CharField(_("file"), max_length=255)
    sha256 = models.CharField(max_length=64)
    state = models.CharField(_("state"), max_length=8, choices=State.choices, default=State.PREVIEW)
    rows = models.PositiveIntegerField(_("rows"), default=0)
    created = models.PositiveIntegerField(_("new"), default=0)
    updated = models.PositiveIntegerField(_("changed"), default=0)
    unchanged = models.PositiveIntegerField(_("unchanged"), default=0)
    rejected = models.PositiveIntegerField(_("rejected"), default=0)
    errors = models.JSONField(_("errors"), default=list, blank=True, help_text=_("[{row, field, message}]"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    applied_at = models.DateTimeField(_("applied"), null=True, blank=True)

    class Meta:
        db_table = "upstream_import"
        verbose_name = _("vendor usage import")
        verbose_name_plural = _("vendor usage imports")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.filename


class VendorUsage(models.Model):
    """What a vendor says one channel used of one model on one day (its reporting zone's day, the window
    ``[starts_at, ends_at)`` in UTC), as imported; a later import of the same key replaces the figures.

    Token classes as the vendor reports them, mapped to ours: ``input_tokens`` is *uncached* input (not
    the canonical prompt_tokens, which includes cache reads and writes); ``output_tokens`` includes
    reasoning."""

    channel = models.ForeignKey(
        Channel, verbose_name=_("channel"), on_delete=models.PROTECT, related_name="vendor_usage"
    )
    day = models.DateField(_("day"))
    starts_at = models.DateTimeField(_("from"))
    ends_at = models.DateTimeField(_("until"))
    model_name = models.CharField(_("model as reported"), max_length=200)
    model = models.ForeignKey(
        AIModel, verbose_name=_("model"), on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    is_batch = models.BooleanField(_("batch"), default=False)
    vendor_key = models.CharField(
        _("vendor's key id"),
        max_length=200,
        blank=True,
        help_text=_("As the export names the key, if it does."),
    )
    requests = models.BigIntegerField(_("requests"), default=0)
    input_tokens = models.BigIntegerField(_("uncached input tokens"), default=0)
    cache_read_tokens = models.BigIntegerField(_("cache read tokens"), default=0)
    cache_write_tokens = models.BigIntegerField(_("cache write tokens (5 min)"), default=0)
    cache_write_1h_tokens = models.BigIntegerField(_("cache write tokens (1 h)"), default=0)
    output_tokens = models.BigIntegerField(_("output tokens"), default=0)
    reasoning_tokens = models.BigIntegerField(_("reasoning tokens"), default=0)
    cost = models.DecimalField(_("cost"), **COST_FIELD, null=True, blank=True)
    currency = models.CharField(_("currency"), max_length=3, blank=True)
    has_cache_counts = models.BooleanField(
        _("reports cache"),
        default=True,
        help_text=_("False when the format has no cache counts (OpenRouter): the split is not compared."),
    )
    source_import = models.ForeignKey(
        UpstreamImport, on_delete=models.PROTECT, null=True, blank=True, related_name="usage_rows"
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        db_table = "upstream_vendor_usage"
        verbose_name = _("vendor usage row")
        verbose_name_plural = _("vendor usage rows")
        ordering = ["-day", "channel", "model_name"]
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "day", "model_name", "is_batch", "vendor_key"],
                name="upstream_vendor_usage_key",
            ),
            models.CheckConstraint(
                condition=models.Q(starts_at__lt=models.F("ends_at")), name="upstream_vendor_usage_window"
            ),
        ]
        indexes = [models.Index(fields=["day", "channel"], name="upstream_vendor_usage_day")]

    def __str__(self) -> str:
        return f"{self.channel_id}/{self.model_name}/{self.day}"


class ReconClass(models.TextChoices):
    MATCHED = "matched", _("Matched")
    UNBILLED_USAGE = "unbilled_usage", _("Unbilled usage (vendor saw more than we billed)")
    NO_UPSTREAM_RECORD = (
        "no_upstream_record",
        _("No upstream record (we billed what the vendor does not show)"),
    )
    TOKEN_DRIFT = "token_drift", _("Token drift")
    CACHE_MISMATCH = "cache_mismatch", _("Cache mismatch (totals agree, the cached split does not)")
    PRICE_MISMATCH = "price_mismatch", _("Price mismatch (tokens agree, cost does not)")
    MODEL_MISMATCH = "model_mismatch", _("Model mismatch (usage under another model)")
    MISSING_UPSTREAM_DATA = "missing_upstream_data", _("Missing upstream data")


class ReconciliationRun(models.Model):
    """One reconciliation of the days ``[date_from, date_to]`` (and optionally one channel)."""

    class Kind(models.TextChoices):
        DAILY = "daily", _("Daily (days now due)")
        MONTHLY = "monthly", _("Monthly (closed month)")
        MANUAL = "manual", _("On demand")

    class State(models.TextChoices):
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices)
    date_from = models.DateField(_("from"))
    date_to = models.DateField(_("to"), help_text=_("Inclusive."))
    channel = models.ForeignKey(
        Channel, verbose_name=_("channel"), on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    state = models.CharField(_("state"), max_length=8, choices=State.choices, default=State.RUNNING)
    fingerprint = models.CharField(
        max_length=64, blank=True, help_text=_("Of the inputs compared: an equal re-run stores nothing new.")
    )
    totals = models.JSONField(
        _("totals"),
        default=dict,
        blank=True,
        help_text=_("Per class: lines and value at stake (base currency)."),
    )
    base_currency = models.CharField(_("base currency"), max_length=3)
    error = models.TextField(_("error"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    started_at = models.DateTimeField(_("started"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        db_table = "upstream_recon_run"
        verbose_name = _("reconciliation run")
        verbose_name_plural = _("reconciliation runs")
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"{self.date_from}–{self.date_to}"


class ReconciliationLine(models.Model):
    """One channel × model × day of a run: our figures and the vendor's, per class, and the value at stake
    (base currency, positive: money we lose or may lose)."""

    run = models.ForeignKey(ReconciliationRun, on_delete=models.CASCADE, related_name="lines")
    channel = models.ForeignKey(Channel, on_delete=models.PROTECT, related_name="+")
    model = models.ForeignKey(AIModel, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    model_name = models.CharField(_("model"), max_length=200)
    day = models.DateField(_("day"))
    klass = models.CharField(_("class"), max_length=24, choices=ReconClass.choices)
    ours = models.JSONField(_("ours"), default=dict)
    theirs = models.JSONField(_("theirs"), default=dict)
    value = models.DecimalField(_("value at stake"), **LEDGER_FIELD, default=Decimal(0))
    detail = models.CharField(_("detail"), max_length=500, blank=True)
    detail_message = models.JSONField(
        null=True, blank=True, help_text=_("The detail as a message key (common.stored_text).")
    )

    class Meta:
        db_table = "upstream_recon_line"
        verbose_name = _("reconciliation line")
        verbose_name_plural = _("reconciliation lines")
        ordering = ["day", "channel", "model_name"]
        constraints = [
            models.UniqueConstraint(
                fields=["run", "channel", "model_name", "day"], name="upstream_recon_line_key"
            )
        ]
        indexes = [models.Index(fields=["run", "klass"], name="upstream_recon_line_class")]

    def __str__(self) -> str:
        return f"{self.channel_id}/{self.model_name}/{self.day}: {self.klass}"


class MismatchFlag(models.Model):
    """Evidence that a channel served another model than the one named (货不对版), from records alone."""

    class Signal(models.TextChoices):
        REPORTED_MODEL = "reported_model", _("Responses report another model")
        DISTRIBUTION_SHIFT = "distribution_shift", _("Token distribution shifted")
        PRICE_TABLE = "price_table", _("Charges match another model's prices")

    class State(models.TextChoices):
        OPEN = "open", _("Open")
        DISPUTED = "disputed", _("Disputed with the vendor")
        DISMISSED = "dismissed", _("Dismissed")

    channel = models.ForeignKey(Channel, on_delete=models.PROTECT, related_name="mismatch_flags")
    model = models.ForeignKey(AIModel, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    model_name = models.CharField(_("model"), max_length=200)
    day = models.DateField(_("day"))
    signal = models.CharField(_("signal"), max_length=20, choices=Signal.choices)
    score = models.DecimalField(
        _("strength"), max_digits=12, decimal_places=4, default=Decimal(0), help_text=_("Signal-specific.")
    )
    detail = models.CharField(_("detail"), max_length=500, blank=True)
    detail_message = models.JSONField(
        null=True, blank=True, help_text=_("The detail as a message key (common.stored_text).")
    )
    evidence = models.JSONField(_("evidence"), default=dict, blank=True)
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.OPEN)
    note = models.TextField(_("note"), blank=True)
    first_seen = models.DateTimeField(_("first seen"), auto_now_add=True)
    last_seen = models.DateTimeField(_("last seen"), auto_now=True)

    class Meta:
        db_table = "upstream_mismatch_flag"
        verbose_name = _("model mismatch flag")
        verbose_name_plural = _("model mismatch flags")
        ordering = ["-day", "channel", "model_name"]
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "model_name", "day", "signal"], name="upstream_mismatch_flag_key"
            )
        ]

    def __str__(self) -> str:
        return f"{self.channel_id}/{self.model_name}/{self.day}: {self.signal}"


class UpstreamSettings(models.Model):
    """Tolerances and thresholds of the upstream side, and where its alerts go (one row, ``load()``)."""

    token_tolerance = models.DecimalField(
        _("token tolerance"),
        max_digits=7,
        decimal_places=6,
        default=Decimal("0.005"),
        help_text=_("Relative difference in a token class still matched (0.005 = 0.5%)."),
    )
    token_tolerance_abs = models.PositiveIntegerField(
        _("token tolerance (tokens)"), default=1000, help_text=_("Absolute difference still matched.")
    )
    request_tolerance = models.DecimalField(
        _("request tolerance"), max_digits=7, decimal_places=6, default=Decimal("0.01")
    )
    cost_tolerance = models.DecimalField(
        _("cost tolerance"),
        max_digits=7,
        decimal_places=6,
        default=Decimal("0.01"),
        help_text=_("Relative difference in cost still matched."),
    )
    leakage_threshold = MoneyField(
        _("leakage alert threshold"),
        default=Decimal(100),
        help_text=_("Alert when a run's value at stake passes this, in the base currency."),
    )
    shift_sigmas = models.DecimalField(
        _("distribution shift (standard deviations)"), max_digits=5, decimal_places=2, default=Decimal(3)
    )
    alert_emails = models.TextField(_("alert e-mails"), blank=True, help_text=_("One per line."))
    webhook_url = models.URLField(_("alert webhook URL"), blank=True)
    webhook_secret = EncryptedTextField(_("alert webhook secret"), blank=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        db_table = "upstream_settings"
        verbose_name = _("upstream settings")
        verbose_name_plural = _("upstream settings")

    def __str__(self) -> str:
        return "upstream settings"

    @classmethod
    def load(cls) -> "UpstreamSettings":
        found, _created = cls.objects.get_or_create(pk=1)
        return found
