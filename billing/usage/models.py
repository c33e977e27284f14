"""Usage: gateway sources and keys, batches, canonical usage events and their hourly/daily rollups.

Be careful changing these tables: raw events are the evidence behind every usage charge and are kept
append-only (re-rating an unrated event is the one update allowed). On PostgreSQL ``UsageEvent`` is a
table partitioned by month on ``occurred_at`` (see migration 0005 and docs/usage.md); its primary key
there is ``(id, occurred_at)``, so deduplication lives in ``UsageRequestKey``, a plain table.
"""

import hashlib
import secrets
from datetime import timedelta

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Customer
from catalog.models import AIModel
from catalog.rating import UNIT_FIELDS, USAGE_FIELDS
from common.encrypted_fields import EncryptedTextField

# Rated amounts keep 24 decimal places: per-million prices have 12, per-token prices 18, and a plan's
# markup (6 places) on top still fits exactly. Never rounded here (DESIGN §4.5).
RATED_DIGITS = {"max_digits": 40, "decimal_places": 24}
# The columns of an event (and of a rollup row) holding its six token counts: named as the counts of
# ``catalog.rating.Usage`` are, so an event's counts go to rating by name. Prices are per token *class*
# (``catalog.rating.TOKEN_CLASSES``), which these counts overlap: prompt includes cache, completion reasoning.
TOKEN_COLUMNS = USAGE_FIELDS
# Image and audio counts (``catalog.rating.UNIT_FIELDS``), zero on nearly every event. Kept apart from the
# six so that every path that reads or writes only those six stays as it was; the columns' database
# default (0) fills them where a writer leaves them out.
UNIT_COLUMNS = UNIT_FIELDS


def _unit_count(help_text=None) -> models.BigIntegerField:
    return models.BigIntegerField(default=0, db_default=0, help_text=help_text or "")


class StoredJSONField(models.JSONField):
    """A ``JSONField`` kept as PostgreSQL ``json`` (the text, checked to be JSON) instead of ``jsonb``.

    For free-form data the database never looks into, such as the metadata a gateway sends with each
    request: ``jsonb`` builds a binary tree from every value it stores, ``json`` only checks the text,
    and that difference was a sixth of the cost of COPYing an event into ``usage_event`` (~1 KB rows,
    ~700 bytes of metadata; docs/usage.md). Reading works as before, whole or by key
    (``values("metadata__ua")``). The price: ``json`` has no equality, containment or ordering operators,
    so filtering on the value or on a key (exact, ``has_key``, ``contains``) and ordering by it are refused
    by the database; a query that ever needs them can cast (``metadata::jsonb``). Other databases store
    JSONField as text anyway, so this changes nothing there.
    """

    def db_type(self, connection):
        return "json" if connection.vendor == "postgresql" else super().db_type(connection)

    def select_format(self, compiler, sql, params):
        # psycopg decodes ``json`` itself (Django turns that off for ``jsonb`` only): select the text, so
        # JSONField's own decoding runs as it does for jsonb (its decoder, its handling of scalars).
        if compiler.connection.vendor == "postgresql":
            return f"({sql})::text", params
        return super().select_format(compiler, sql, params)


def token_hash(token: str) -> str:
    """Return the stored form of a source token (tokens are random, so SHA-256 suffices)."""
    return hashlib.sha256(token.encode()).hexdigest()


class SourceKind(models.TextChoices):
    GENERIC = "generic", _("Generic (canonical events)")
    LITELLM = "litellm", _("LiteLLM")
    NEWAPI = "newapi", _("new-api / one-api")
    OPENROUTER = "openrouter", _("OpenRouter")


class GatewaySource(models.Model):
    """A gateway that sends usage and reads customer status; authenticates with its own token."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    kind = models.CharField(_("kind"), max_length=16, choices=SourceKind.choices, default=SourceKind.GENERIC)
    token_prefix = models.CharField(
        max_length=12, editable=False, help_text=_("Shown to identify the token.")
    )
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    is_active = models.BooleanField(_("active"), default=True)
    quota_per_unit = models.DecimalField(
        _("quota per currency unit"),
        max_digits=20,
        decimal_places=6,
        null=True,
        blank=True,
        help_text=_("new-api/one-api: quota units worth 1 unit of the cost currency (500000 = 1 USD)."),
    )
    cost_currency = models.CharField(
        _("gateway cost currency"), max_length=3, default="USD", help_text=_("ISO 4217 code.")
    )
    webhook_url = models.URLField(
        _("webhook URL"), blank=True, help_text=_("Receives signed customer suspended/restored events.")
    )
    webhook_secret = EncryptedTextField(_("webhook secret"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        db_table = "usage_gateway_source"
        verbose_name = _("gateway source")
        verbose_name_plural = _("gateway sources")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def token_set(self) -> str:
        """Give the source a new random token and return it (shown once; only its hash is kept)."""
        token = "gws_" + secrets.token_urlsafe(32)
        self.token_prefix = token[:12]
        self.token_hash = token_hash(token)
        return token


class GatewayKey(models.Model):
    """Maps the key a gateway reports (API key hash, token name, user) to a customer; staff maintain it."""

    source = models.ForeignKey(
        GatewaySource,
        verbose_name=_("source"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="keys",
        help_text=_("Blank: the key means this customer whatever gateway reports it."),
    )
    key = models.CharField(_("gateway key"), max_length=200, help_text=_("As the gateway reports it."))
    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.PROTECT, related_name="gateway_keys"
    )
    is_active = models.BooleanField(_("active"), default=True)
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "usage_gateway_key"
        verbose_name = _("gateway key")
        verbose_name_plural = _("gateway keys")
        ordering = ["key"]
        constraints = [
            models.UniqueConstraint(fields=["source", "key"], name="usage_key_source_key_unique"),
            models.UniqueConstraint(
                fields=["key"], condition=models.Q(source__isnull=True), name="usage_key_global_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.key} → {self.customer}"


class UsageBatch(models.Model):
    """One delivery of usage events; its idempotency key makes a redelivery return the first answer."""

    class State(models.TextChoices):
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    source = models.ForeignKey(
        GatewaySource, on_delete=models.PROTECT, null=True, blank=True, related_name="batches"
    )
    idempotency_key = models.CharField(_("idempotency key"), max_length=200)
    request_hash = models.CharField(max_length=64, help_text=_("SHA-256 of the body first received."))
    fmt = models.CharField(_("format"), max_length=16, default=SourceKind.GENERIC)
    state = models.CharField(_("state"), max_length=8, choices=State.choices, default=State.DONE)
    received = models.PositiveIntegerField(_("received"), default=0)
    accepted = models.PositiveIntegerField(_("accepted"), default=0)
    duplicates = models.PositiveIntegerField(_("duplicates"), default=0)
    rejected = models.PositiveIntegerField(_("rejected"), default=0)
    unrated = models.PositiveIntegerField(_("unrated"), default=0)
    response = models.JSONField(default=dict, help_text=_("The answer given, replayed on redelivery."))
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        db_table = "usage_batch"
        verbose_name = _("usage batch")
        verbose_name_plural = _("usage batches")
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["source", "idempotency_key"], name="usage_batch_key_unique"),
        ]

    def __str__(self) -> str:
        return f"batch {self.pk} ({self.idempotency_key})"


class RatingState(models.TextChoices):
    RATED = "rated", _("Rated")
    UNRATED = "unrated", _("Unrated")
    NOT_CHARGED = "not_charged", _("Not charged (failed request)")
    # An agency sub-distributor's commission on its customer's event (a derived row, ``hop`` 1): posted as
    # the seller's commission expense, never rolled up or charged as a sale.
    COMMISSION = "commission", _("Commission")


class UsageEvent(models.Model):
    """One gateway request in canonical form, rated twice (sell and cost) at full precision.

    A request of a customer sold through the distribution chain is stored once per hop: the *hop 0* row
    (the gateway's event, customer = the end customer) and one derived row per hop up the chain
    (``hop`` 1, 2…, customer = the buyer at that hop, ``end_customer`` = the hop-0 customer, same
    request id and tokens), each sold at its buyer's plan with the next hop's price as its cost; an
    agency's commission is a derived row too (``RatingState.COMMISSION``), its ``end_customer`` the buyer
    whose sale earns it (the end customer, or a reseller's purchase of it). See ``billing.usage.rating``.

    Token counts follow ``catalog.rating.Usage``: ``prompt_tokens`` includes cache reads and writes,
    ``completion_tokens`` includes reasoning. Foreign keys carry no database constraint so the table can
    be partitioned (and later sharded by customer) without rewrites.
    """

    source = models.ForeignKey(
        GatewaySource, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, null=True
    )
    batch = models.ForeignKey(
        UsageBatch, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, related_name="+"
    )
    request_id = models.CharField(_("request id"), max_length=200)
    occurred_at = models.DateTimeField(_("occurred at"))
    gateway_key = models.CharField(_("gateway key"), max_length=200, blank=True)
    customer = models.ForeignKey(
        Customer,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        null=True,
        related_name="+",
    )
    model_name = models.CharField(_("model as sent"), max_length=200)
    model = models.ForeignKey(
        AIModel, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, null=True, related_name="+"
    )
    upstream_account = models.CharField(_("upstream account"), max_length=120, blank=True)
    prompt_tokens = models.BigIntegerField(default=0, help_text=_("All input, cache reads/writes included."))
    cache_read_tokens = models.BigIntegerField(default=0)
    cache_write_tokens = models.BigIntegerField(default=0, help_text=_("5-minute cache writes."))
    cache_write_1h_tokens = models.BigIntegerField(default=0)
    completion_tokens = models.BigIntegerField(default=0, help_text=_("All output, reasoning included."))
    reasoning_tokens = models.BigIntegerField(default=0)
    audio_prompt_tokens = _unit_count(_("Audio input tokens, included in prompt_tokens."))
    audio_completion_tokens = _unit_count(_("Audio output tokens, included in completion_tokens."))
    images = _unit_count(_("Images generated."))
    audio_ms = _unit_count(_("Audio duration in milliseconds (priced per second)."))
    service_tier = models.CharField(
        _("service tier"),
        max_length=20,
        blank=True,
        default="",
        db_default="",
        help_text=_("The tier the request asked for (flex, priority); blank: standard."),
    )
    price_window = models.CharField(
        _("time-of-day window"),
        max_length=60,
        blank=True,
        default="",
        db_default="",
        help_text=_("The window (off-peak) whose prices the sale was rated at; blank: standard hours."),
    )
    is_batch = models.BooleanField(_("batch request"), default=False)
    succeeded = models.BooleanField(_("succeeded"), default=True)
    gateway_cost = models.DecimalField(
        **RATED_DIGITS, null=True, blank=True, help_text=_("Cost the gateway computed, kept for comparison.")
    )
    gateway_cost_currency = models.CharField(max_length=3, blank=True)
    metadata = StoredJSONField(default=dict, blank=True)
    rating_state = models.CharField(max_length=12, choices=RatingState.choices, default=RatingState.UNRATED)
    unrated_reason = models.CharField(max_length=300, blank=True)
    # The reason as a message key and parameters (common.stored_text); json, not jsonb: COPYed with the row.
    unrated_message = StoredJSONField(null=True, blank=True)
    sell_plan = models.CharField(
        max_length=120, blank=True, help_text=_("Plan or book that priced the sale.")
    )
    sell_amount = models.DecimalField(
        **RATED_DIGITS, null=True, blank=True, help_text=_("In sell_currency; full precision, not rounded.")
    )
    sell_currency = models.CharField(max_length=3, blank=True)
    cost_amount = models.DecimalField(
        **RATED_DIGITS, null=True, blank=True, help_text=_("In cost_currency; full precision, not rounded.")
    )
    cost_currency = models.CharField(max_length=3, blank=True)
    hop = models.PositiveSmallIntegerField(
        default=0,
        db_default=0,
        help_text=_("0: the gateway's event; 1, 2…: its rating one hop up the chain."),
    )
    end_customer = models.ForeignKey(
        Customer,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("On a derived row (hop > 0): the customer whose request it was."),
    )
    rated_in = models.ForeignKey(
        UsageBatch,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        null=True,
        related_name="+",
        help_text=_("The batch (or re-rating run) whose postings charged this event."),
    )
    ingested_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "usage_event"
        verbose_name = _("usage event")
        verbose_name_plural = _("usage events")
        indexes = [
            models.Index(fields=["customer", "occurred_at"], name="usage_event_customer_at"),
            models.Index(
                fields=["occurred_at"],
                condition=models.Q(rating_state="unrated"),
                name="usage_event_unrated",
            ),
            # "Events of batch N" is served on PostgreSQL by a BRIN index on batch_id (migration 0015),
            # not a B-tree: batches arrive in id order, so a summary per block range finds them, at next
            # to no cost per inserted row (a B-tree costs an index entry per event, on the bulk path's
            # busiest statement).
        ]

    def __str__(self) -> str:
        return self.request_id


class UsageRequestKey(models.Model):
    """Deduplication: one row per (source, request id) ever accepted; the insert that wins charges.

    The pair is the primary key (no surrogate id): each claimed key then costs one index entry and no
    sequence value, on a table that grows by every event ingested.
    """

    pk = models.CompositePrimaryKey("source_id", "request_id")
    source_id = models.BigIntegerField()
    # COLLATE "C" on PostgreSQL (migration 0014, not db_collation: SQLite knows no such collation): the
    # key's index compares bytes, not locale-aware strings, which makes each claim's probes cheaper.
    request_id = models.CharField(max_length=200)
    occurred_at = models.DateTimeField(help_text=_("Lets retention drop keys with their partition."))

    class Meta:
        db_table = "usage_request_key"

    def __str__(self) -> str:
        return f"{self.source_id}:{self.request_id}"


class _Rollup(models.Model):
    # No single-column customer index: each rollup's (customer, bucket) index leads with customer_id and
    # serves the same lookups. Fewer indexes on these upsert-heavy tables; see migration 0007.
    # PROTECT is enforced by Django (deleting a customer or model with rollups is refused), not by a
    # database constraint: like the events they sum, rollups carry none, because a deferred foreign-key
    # check per upserted row cost ~3.4 s per 100,000 bulk events (28% of the chunk statement).
    customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, related_name="+", db_index=False, db_constraint=False
    )
    model = models.ForeignKey(AIModel, on_delete=models.PROTECT, related_name="+", db_constraint=False)
    upstream_account = models.CharField(max_length=120, blank=True)
    sell_currency = models.CharField(max_length=3)
    cost_currency = models.CharField(max_length=3, blank=True)
    requests = models.BigIntegerField(default=0)
    prompt_tokens = models.BigIntegerField(default=0)
    cache_read_tokens = models.BigIntegerField(default=0)
    cache_write_tokens = models.BigIntegerField(default=0)
    cache_write_1h_tokens = models.BigIntegerField(default=0)
    completion_tokens = models.BigIntegerField(default=0)
    reasoning_tokens = models.BigIntegerField(default=0)
    audio_prompt_tokens = _unit_count()
    audio_completion_tokens = _unit_count()
    images = _unit_count()
    audio_ms = _unit_count()
    sell_amount = models.DecimalField(
        **RATED_DIGITS, default=0, help_text=_("In sell_currency, full precision.")
    )
    cost_amount = models.DecimalField(
        **RATED_DIGITS, default=0, help_text=_("In cost_currency, full precision.")
    )

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self.customer_id}/{self.model_id}"


class UsageHourly(_Rollup):
    """Rated usage per hour × customer × model × upstream account (and currencies)."""

    hour = models.DateTimeField()

    class Meta:
        db_table = "usage_hourly"
        constraints = [
            models.UniqueConstraint(
                fields=["hour", "customer", "model", "upstream_account", "sell_currency", "cost_currency"],
                name="usage_hourly_key",
            )
        ]
        indexes = [models.Index(fields=["customer", "hour"], name="usage_hourly_customer")]


class UsageDaily(_Rollup):
    """Rated usage per day (operator's time zone) × customer × model × upstream account (and currencies)."""

    day = models.DateField()

    class Meta:
        db_table = "usage_daily"
        constraints = [
            models.UniqueConstraint(
                fields=["day", "customer", "model", "upstream_account", "sell_currency", "cost_currency"],
                name="usage_daily_key",
            )
        ]
        # Day ranges use usage_daily_key, which leads with day (a separate day index was redundant).
        indexes = [models.Index(fields=["customer", "day"], name="usage_daily_customer")]


class UsageWindowDaily(_Rollup):
    """Rated usage sold at a time-of-day window's prices (off-peak), per day × customer × model × window: the
    part of ``UsageDaily`` that invoices show apart from standard hours. Events at standard prices (blank
    ``price_window``) are never added here."""

    day = models.DateField()
    price_window = models.CharField(max_length=60)

    class Meta:
        db_table = "usage_window_daily"
        constraints = [
            models.UniqueConstraint(
                fields=[
                    "day",
                    "customer",
                    "model",
                    "upstream_account",
                    "sell_currency",
                    "cost_currency",
                    "price_window",
                ],
                name="usage_window_daily_key",
            )
        ]
        indexes = [models.Index(fields=["customer", "day"], name="usage_window_daily_customer")]


# A running upload with no heartbeat for this long has lost its worker: a heartbeat is written when a run
# starts and after each chunk (≤ 30 s for 100,000 events on a loaded machine, docs/usage.md), so three
# minutes is six chunks' time missed, while the sweep (every 2 minutes) resumes it within five.
UPLOAD_STALLED_AFTER = timedelta(minutes=3)


class UsageUpload(models.Model):
    """A usage file staff uploaded; a Celery task streams it through the pipeline in batches."""

    class State(models.TextChoices):
        PENDING = "pending", _("Waiting")
        RUNNING = "running", _("Processing")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")
        # The task queue was unreachable when the upload was to be queued; the sweep queues it once back.
        UNQUEUED = "unqueued", _("Not queued")

    source = models.ForeignKey(GatewaySource, verbose_name=_("source"), on_delete=models.PROTECT)
    fmt = models.CharField(_("format"), max_length=16, choices=SourceKind.choices)
    file = models.FileField(_("file"), upload_to="usage_uploads/%Y/%m/")
    size_bytes = models.BigIntegerField(default=0)
    processed_bytes = models.BigIntegerField(default=0)
    state = models.CharField(max_length=8, choices=State.choices, default=State.PENDING)
    accepted = models.PositiveIntegerField(default=0)
    duplicates = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0)
    unrated = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True, help_text=_("The first rejected rows."))
    error = models.TextField(blank=True)
    error_message = models.JSONField(
        null=True, blank=True, help_text=_("The error as a message key (common.stored_text).")
    )
    created_by = models.ForeignKey("accounts.User", on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text=_("Last sign of life: a run started or saved a chunk, or the upload was queued again."),
    )

    class Meta:
        db_table = "usage_upload"
        verbose_name = _("usage upload")
        verbose_name_plural = _("usage uploads")
        ordering = ["-id"]

    def __str__(self) -> str:
        return self.file.name

    @property
    def percent(self) -> int:
        if self.state == self.State.DONE:
            return 100
        return int(100 * self.processed_bytes / self.size_bytes) if self.size_bytes else 0

    @property
    def stalled(self) -> bool:
        """Running, but no heartbeat for ``UPLOAD_STALLED_AFTER``: its worker has most likely died."""
        if self.state != self.State.RUNNING:
            return False
        return self.heartbeat_at is None or self.heartbeat_at < timezone.now() - UPLOAD_STALLED_AFTER

    @property
    def resumable(self) -> bool:
        return self.stalled or self.state == self.State.UNQUEUED


class UsageCorrection(models.Model):
    """A re-rating of already-rated usage after a price error (``billing.usage.corrections``): who, why,
    which customer × model × time, and the difference it posted. Events and rollups carry the new amounts;
    the ledger only ever gets the difference, posted now (never an edit of what was posted)."""

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="+")
    model = models.ForeignKey(AIModel, on_delete=models.PROTECT, related_name="+")
    since = models.DateTimeField(_("from"))
    until = models.DateTimeField(_("until"), help_text=_("Exclusive."))
    reason = models.TextField(_("reason"))
    idempotency_key = models.CharField(_("idempotency key"), max_length=200, unique=True)
    request_hash = models.CharField(max_length=64)
    batch = models.OneToOneField(
        UsageBatch,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_(
            "The run that re-rated the events (their rated_in) and whose postings carry the difference."
        ),
    )
    events = models.PositiveIntegerField(_("events re-rated"), default=0)
    deltas = models.JSONField(
        default=list,
        help_text=_('What was posted: [{"mode": "credit"|"prepaid", "currency", "sell"}], full precision.'),
    )
    created_by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "usage_correction"
        verbose_name = _("usage correction")
        verbose_name_plural = _("usage corrections")
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(since__lt=models.F("until")), name="usage_correction_span"
            )
        ]

    def __str__(self) -> str:
        return f"{self.customer_id}/{self.model_id} {self.since:%Y-%m-%d}–{self.until:%Y-%m-%d}"
