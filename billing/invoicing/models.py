"""Invoices and what goes on them: numbering series, lines, staff-entered service charges, period closes.

An invoice is built at period close (or by hand) as a *draft*; issuing it takes the next number of its
series, fixes its dates and posts it to the ledger, after which its lines never change. Corrections are
credit notes (``billing.receivables``). Amounts on documents are rounded to the currency's minor unit
once, per line; ``amount_exact`` keeps the full-precision sum the line was rounded from.
"""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.models import Customer
from billing.ledger.models import JournalTransaction
from billing.money import LEDGER_FIELD, MoneyField, quantize_money
from catalog.models import AIModel


class NumberSeries(models.Model):
    """A gapless document numbering series, e.g. invoices of 2026: INV-2026-000001, -000002, …

    ``last_number`` is read and advanced under a row lock in the same database transaction that issues
    the document, so a number is never skipped or used twice, however many closes race.
    """

    key = models.CharField(_("series"), max_length=40, unique=True, help_text=_("E.g. INV-2026 or CN-2026."))
    last_number = models.PositiveIntegerField(_("last number used"), default=0)

    class Meta:
        db_table = "invoicing_number_series"
        verbose_name = _("number series")
        verbose_name_plural = _("number series")
        ordering = ["key"]

    def __str__(self) -> str:
        return f"{self.key} #{self.last_number}"


class PeriodClose(models.Model):
    """One run of period close for one billing period: when it ran and what it made."""

    class State(models.TextChoices):
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    period = models.CharField(_("period"), max_length=7, help_text=_("2026-10 (month) or 2026-Q3 (quarter)."))
    period_start = models.DateField(_("first day"))
    period_end = models.DateField(_("last day"))
    state = models.CharField(_("state"), max_length=8, choices=State.choices, default=State.RUNNING)
    customers = models.PositiveIntegerField(_("customers"), default=0)
    invoices_created = models.PositiveIntegerField(_("invoices created"), default=0)
    statements_created = models.PositiveIntegerField(_("usage statements created"), default=0)
    error = models.TextField(_("error"), blank=True)
    started_at = models.DateTimeField(_("started"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # A close runs for every book at once, or for one book (``accounts.chain``: a reseller closes its own
    # customers; ``book`` None with ``all_books`` False is the operator's own customers only).
    all_books = models.BooleanField(_("all books"), default=True)
    book = models.ForeignKey(
        Customer,
        verbose_name=_("book"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="period_closes",
        help_text=_("The reseller whose customers this close invoiced; none: the operator's (or all books)."),
    )

    class Meta:
        db_table = "invoicing_period_close"
        verbose_name = _("period close")
        verbose_name_plural = _("period closes")
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"{self.period} ({self.get_state_display()})"


class Invoice(models.Model):
    class Kind(models.TextChoices):
        # Standard: a period close's invoice or one staff made. Interim: progressive billing of a credit
        # customer's unbilled usage mid-period (billing.invoicing.progressive); the period-end close
        # bills only the rest, since it bills usage cumulatively. Opening: an open item a distributor
        # moving in brought from its old system (billing.opening), numbered with its old document number.
        STANDARD = "standard", _("Invoice")
        INTERIM = "interim", _("Interim invoice")
        OPENING = "opening", _("Opening balance")

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        ISSUED = "issued", _("Issued")
        PARTIALLY_PAID = "partially_paid", _("Partially paid")
        PAID = "paid", _("Paid")
        # Nothing due any more because what was left was written off as bad debt (a later recovery
        # reopens it: billing.receivables.writeoffs).
        WRITTEN_OFF = "written_off", _("Written off")
        VOID = "void", _("Void")

    customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, related_name="invoices", verbose_name=_("customer")
    )
    close_key = models.CharField(
        _("close key"),
        max_length=80,
        unique=True,
        null=True,
        blank=True,
        help_text=_("Set by period close (period:customer:currency), so re-running a close creates nothing."),
    )
    period = models.CharField(_("period"), max_length=7, blank=True)
    period_start = models.DateField(_("period from"), null=True, blank=True)
    period_end = models.DateField(_("period to"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.DRAFT)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.STANDARD)
    series = models.CharField(_("series"), max_length=40, blank=True)
    number = models.CharField(_("number"), max_length=60, unique=True, null=True, blank=True)
    currency = models.CharField(_("currency"), max_length=3)
    language = models.CharField(_("document language"), max_length=8)
    issue_date = models.DateField(_("issue date"), null=True, blank=True)
    due_date = models.DateField(_("due date"), null=True, blank=True)
    subtotal = MoneyField(_("subtotal"), default=Decimal("0"))
    tax_amount = MoneyField(_("tax"), default=Decimal("0"))
    total = MoneyField(_("total"), default=Decimal("0"))
    amount_paid = MoneyField(_("paid"), default=Decimal("0"))
    amount_credited = MoneyField(_("credited"), default=Decimal("0"))
    amount_written_off = MoneyField(
        _("written off"),
        default=Decimal("0"),
        help_text=_(
            "Written off as bad debt and not recovered since, major units. Written only by "
            "billing.receivables.writeoffs, whose dated rows it sums."
        ),
    )
    notes = models.TextField(_("notes"), blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    issued_at = models.DateTimeField(_("issued"), null=True, blank=True)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    sent_at = models.DateTimeField(_("last sent"), null=True, blank=True)
    journal_transaction = models.OneToOneField(
        JournalTransaction, on_delete=models.PROTECT, null=True, blank=True, related_name="invoice"
    )

    class Meta:
        db_table = "invoicing_invoice"
        verbose_name = _("invoice")
        verbose_name_plural = _("invoices")
        ordering = ["-issue_date", "-id"]
        indexes = [
            models.Index(fields=["customer", "status"], name="invoice_customer_status"),
            models.Index(fields=["due_date"], name="invoice_due_date"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status="draft") | models.Q(number__isnull=False),
                name="invoice_issued_has_number",
            ),
            models.CheckConstraint(
                condition=models.Q(amount_paid__gte=0)
                & models.Q(amount_credited__gte=0)
                & models.Q(amount_written_off__gte=0),
                name="invoice_settlements_gte_0",
            ),
        ]

    def __str__(self) -> str:
        return self.number or _("Draft invoice #%(id)s") % {"id": self.pk}

    @property
    def amount_due(self) -> Decimal:
        if self.status in (self.Status.DRAFT, self.Status.VOID):
            return Decimal("0")
        # The columns keep three places for every currency; what is due is stated in the currency's own.
        return quantize_money(
            self.total - self.amount_paid - self.amount_credited - self.amount_written_off, self.currency
        )


class InvoiceLine(models.Model):
    class Kind(models.TextChoices):
        USAGE = "usage", _("Usage")
        SUBSCRIPTION = "subscription", _("Subscription")
        SERVICE = "service", _("Service")
        PACK = "pack", _("Pack purchase")
        ADJUSTMENT = "adjustment", _("Adjustment")
        OPENING = "opening", _("Opening balance")

    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveIntegerField(_("position"), default=0)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    description = models.CharField(_("description"), max_length=300)
    ai_model = models.ForeignKey(AIModel, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    quantity = models.DecimalField(_("quantity"), max_digits=24, decimal_places=6, default=Decimal("1"))
    unit = models.CharField(_("unit"), max_length=20, blank=True, help_text=_("E.g. tokens, month, each."))
    unit_price = models.DecimalField(
        _("unit price"),
        max_digits=24,
        decimal_places=12,
        null=True,
        blank=True,
        help_text=_("Per unit (per million for tokens); blank where several prices applied."),
    )
    details = models.JSONField(
        _("details"), default=dict, blank=True, help_text=_("E.g. tokens and prices per token class.")
    )
    amount_exact = models.DecimalField(_("exact amount"), **LEDGER_FIELD)
    amount = MoneyField(_("amount"), help_text=_("Rounded once, to the minor unit."))
    tax_rate = models.DecimalField(_("tax rate"), max_digits=7, decimal_places=6, default=Decimal("0"))
    tax_amount = MoneyField(_("tax"), default=Decimal("0"))
    service_charge = models.ForeignKey(
        "billing.ServiceCharge", on_delete=models.PROTECT, null=True, blank=True, related_name="invoice_lines"
    )
    source_key = models.CharField(
        _("source key"),
        max_length=120,
        blank=True,
        help_text=_("What this line bills, e.g. subscription:7:2026-10, so nothing is billed twice."),
    )

    class Meta:
        db_table = "invoicing_invoice_line"
        verbose_name = _("invoice line")
        verbose_name_plural = _("invoice lines")
        ordering = ["invoice", "position", "id"]

    def __str__(self) -> str:
        return f"{self.description}: {self.amount}"


class ServiceCharge(models.Model):
    """A value-added service staff bill a credit customer: once, or every month/quarter while active."""

    class Recurrence(models.TextChoices):
        ONE_OFF = "one_off", _("One-off")
        MONTHLY = "monthly", _("Every month")
        QUARTERLY = "quarterly", _("Every quarter")

    customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, related_name="service_charges", verbose_name=_("customer")
    )
    description = models.CharField(_("description"), max_length=300)
    amount = MoneyField(_("amount"))
    currency = models.CharField(_("currency"), max_length=3)
    recurrence = models.CharField(
        _("recurrence"), max_length=10, choices=Recurrence.choices, default=Recurrence.ONE_OFF
    )
    starts_on = models.DateField(
        _("from"), help_text=_("One-off: billed by the first close whose period ends on or after this date.")
    )
    ends_on = models.DateField(_("until"), null=True, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        db_table = "invoicing_service_charge"
        verbose_name = _("service charge")
        verbose_name_plural = _("service charges")
        ordering = ["customer", "starts_on"]
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="service_charge_amount_gt_0"),
        ]

    def __str__(self) -> str:
        return f"{self.customer}: {self.description}"


class UsageStatement(models.Model):
    """A prepaid customer's monthly usage statement (instead of an invoice): usage per model, no dues."""

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="usage_statements")
    period = models.CharField(_("period"), max_length=7)
    period_start = models.DateField(_("period from"))
    period_end = models.DateField(_("period to"))
    currency = models.CharField(_("currency"), max_length=3)
    lines = models.JSONField(_("lines"), default=list, help_text=_("Per model: tokens and amount."))
    total = MoneyField(_("total"), default=Decimal("0"))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "invoicing_usage_statement"
        verbose_name = _("usage statement")
        verbose_name_plural = _("usage statements")
        ordering = ["-period_start", "customer"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "period", "currency"], name="usage_statement_one_per_period"
            )
        ]

    def __str__(self) -> str:
        return f"{self.customer} {self.period}"
