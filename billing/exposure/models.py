"""Working capital and credit risk: the expected-credit-loss matrix and its runs, and the daily snapshots
the owner's dashboard draws its trends from.

Expected credit loss follows IFRS 9's simplified approach: a provision matrix of loss rates per aging
bucket (current, 1–30, 31–60, 61–90, over 90 days past due), entered by finance or derived from the
history of receivables by the loss-rate method, optionally adjusted for the outlook. A run measures the
allowance the matrix asks for on the open receivables at a date; posting it books only the change from
the allowance already held (Dr bad-debt expense / Cr allowance for doubtful debts), with the matrix used
kept on the run beside its journal.
"""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from billing.ledger.models import JournalTransaction
from billing.money import LEDGER_FIELD

PERCENT = {"max_digits": 9, "decimal_places": 6}
RATE_VALIDATORS = [MinValueValidator(0), MaxValueValidator(100)]


class EclMatrix(models.Model):
    """The provision matrix in force (one row, ``load()``): rates in percent per bucket, or the method."""

    class Method(models.TextChoices):
        ENTERED = "entered", _("Rates entered by finance")
        DERIVED = "derived", _("Derived from history (loss-rate method)")

    method = models.CharField(_("method"), max_length=8, choices=Method.choices, default=Method.ENTERED)
    rate_current = models.DecimalField(
        _("current"), **PERCENT, default=Decimal("1"), validators=RATE_VALIDATORS
    )
    rate_1_30 = models.DecimalField(
        _("1–30 days"), **PERCENT, default=Decimal("5"), validators=RATE_VALIDATORS
    )
    rate_31_60 = models.DecimalField(
        _("31–60 days"), **PERCENT, default=Decimal("15"), validators=RATE_VALIDATORS
    )
    rate_61_90 = models.DecimalField(
        _("61–90 days"), **PERCENT, default=Decimal("30"), validators=RATE_VALIDATORS
    )
    rate_over_90 = models.DecimalField(
        _("over 90 days"), **PERCENT, default=Decimal("60"), validators=RATE_VALIDATORS
    )
    forward_adjustment = models.DecimalField(
        _("forward-looking adjustment (%)"),
        **PERCENT,
        default=Decimal("0"),
        validators=[MinValueValidator(-100), MaxValueValidator(1000)],
        help_text=_("Relative: +10 raises every derived rate by a tenth (10% → 11%); capped at 100%."),
    )
    round_whole = models.BooleanField(_("round derived rates to whole percent"), default=True)
    history_months = models.PositiveSmallIntegerField(
        _("history (months)"),
        default=24,
        validators=[MinValueValidator(3), MaxValueValidator(120)],
        help_text=_("Invoices due within this many months before the date feed the derived rates."),
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        db_table = "exposure_ecl_matrix"
        verbose_name = _("provision matrix")
        verbose_name_plural = _("provision matrix")

    def __str__(self) -> str:
        return str(_("Provision matrix"))

    @classmethod
    def load(cls) -> "EclMatrix":
        matrix, _created = cls.objects.get_or_create(pk=1)
        return matrix

    @property
    def entered_rates(self) -> list[Decimal]:
        """The five entered rates in percent, in bucket order."""
        return [self.rate_current, self.rate_1_30, self.rate_31_60, self.rate_61_90, self.rate_over_90]


class EclRun(models.Model):
    """One measurement of expected credit loss at a date, in one currency, and its posting if any.

    ``buckets`` is the provision matrix as applied: ``[{"bucket", "gross", "rate", "ecl"}]`` (decimal
    strings; ``rate`` in percent), ``matrix`` how the rates were obtained (method, entered or derived
    rates with their history, the adjustment). ``change`` = ``total`` − ``prior_allowance`` is what the
    journal posted.
    """

    class Origin(models.TextChoices):
        MONTHLY = "monthly", _("Monthly job")
        BUTTON = "button", _("Posted by finance")
        COMMAND = "command", _("Command line")

    as_of = models.DateField(_("as of"), db_index=True)
    currency = models.CharField(_("currency"), max_length=3)
    origin = models.CharField(_("origin"), max_length=8, choices=Origin.choices)
    buckets = models.JSONField(_("buckets"), default=list)
    matrix = models.JSONField(_("matrix used"), default=dict)
    gross = models.DecimalField(_("gross receivables"), **LEDGER_FIELD)
    total = models.DecimalField(_("allowance required"), **LEDGER_FIELD)
    prior_allowance = models.DecimalField(_("allowance held"), **LEDGER_FIELD)
    change = models.DecimalField(_("charge (release)"), **LEDGER_FIELD)
    journal_transaction = models.OneToOneField(
        JournalTransaction, on_delete=models.PROTECT, null=True, blank=True, related_name="ecl_run"
    )
    idempotency_key = models.CharField(max_length=200, unique=True)
    created_at = models.DateTimeField(_("run"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        db_table = "exposure_ecl_run"
        verbose_name = _("expected credit loss run")
        verbose_name_plural = _("expected credit loss runs")
        ordering = ["-as_of", "-id"]

    def __str__(self) -> str:
        return f"ECL {self.as_of} {self.currency}"


class CapitalSnapshot(models.Model):
    """The working-capital figures at the end of one operator day, as the dashboard showed them.

    ``figures``: ``{"base": {name: decimal string}, "currencies": {ccy: {name: decimal string}}}``, names
    as in ``billing.exposure.figures`` (cash, funded_float, receivables, overdue, unbilled, deposits,
    upstream_prepaid, payables, …). Written by the daily beat job (and on demand for a past day read
    from the ledger); one per day, replaced when recomputed.
    """

    day = models.DateField(_("day"), unique=True)
    base_currency = models.CharField(_("base currency"), max_length=3)
    figures = models.JSONField(_("figures"), default=dict)
    computed_at = models.DateTimeField(_("computed"), auto_now=True)

    class Meta:
        db_table = "exposure_capital_snapshot"
        verbose_name = _("working-capital snapshot")
        verbose_name_plural = _("working-capital snapshots")
        ordering = ["-day"]

    def __str__(self) -> str:
        return str(self.day)
