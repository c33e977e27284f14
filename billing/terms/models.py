"""How a customer pays: prepaid, or on monthly / quarterly credit terms."""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.models import Customer
from billing.money import LEDGER_FIELD, MoneyField, money_text


class BillingTerms(models.Model):
    class Mode(models.TextChoices):
        PREPAID = "prepaid", _("Prepaid")
        MONTHLY = "monthly", _("Monthly credit")
        QUARTERLY = "quarterly", _("Quarterly credit")

    class CreditPolicy(models.TextChoices):
        WARN = "warn", _("Warn only")
        BLOCK = "block", _("Block new usage")

    class PaymentTerm(models.TextChoices):
        DUE_ON_RECEIPT = "on_receipt", _("Due on receipt")
        NET = "net", _("Net N days")
        END_OF_MONTH = "eom", _("End of month + N days")

    customer = models.OneToOneField(Customer, on_delete=models.CASCADE, related_name="billing_terms")
    mode = models.CharField(_("billing mode"), max_length=12, choices=Mode.choices, default=Mode.PREPAID)
    currency = models.CharField(_("currency"), max_length=3, help_text=_("ISO 4217 code."))
    payment_term = models.CharField(
        _("payment term"), max_length=12, choices=PaymentTerm.choices, default=PaymentTerm.DUE_ON_RECEIPT
    )
    payment_days = models.PositiveSmallIntegerField(_("payment days"), default=0)
    credit_limit = MoneyField(
        _("credit limit"),
        default=Decimal("0"),
        help_text=_("In the terms' currency; zero for prepaid customers."),
    )
    credit_policy = models.CharField(
        _("when the credit limit is crossed"),
        max_length=8,
        choices=CreditPolicy.choices,
        default=CreditPolicy.WARN,
    )
    tax_rate = models.DecimalField(
        _("tax rate"),
        max_digits=7,
        decimal_places=6,
        default=Decimal("0"),
        validators=[MinValueValidator(0), MaxValueValidator(1)],
        help_text=_("A fraction: 0.06 is 6%. Applied to every invoice line."),
    )
    tax_label = models.CharField(_("tax label"), max_length=40, blank=True, help_text=_("E.g. VAT 6%."))
    tax_id = models.CharField(_("customer tax ID"), max_length=60, blank=True)
    billing_address = models.TextField(_("billing address"), blank=True)
    billing_emails = models.CharField(
        _("billing contacts"),
        max_length=500,
        blank=True,
        help_text=_("E-mail addresses that receive invoices and reminders, separated by commas."),
    )
    review_invoices = models.BooleanField(
        _("review invoices before issue"),
        default=False,
        help_text=_("Period close keeps this customer's invoices as drafts until finance issues them."),
    )
    auto_apply_credit = models.BooleanField(
        _("apply credit to invoices automatically"),
        default=True,
        help_text=_(
            "Unallocated credit is applied to open invoices, oldest due first, when an invoice is issued "
            "and when a credit note frees paid money. Off: finance allocates it by hand."
        ),
    )
    # Risk flags (billing.dunning.risk): each off while blank. An open flag notifies under the *warn*
    # credit policy and suspends the gateway under *block*, like the credit limit.
    overdue_flag_days = models.PositiveSmallIntegerField(
        _("flag when overdue beyond (days)"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(3650)],
        help_text=_("Raise a risk flag while any invoice is unpaid this many days past its due date."),
    )
    spike_factor = models.DecimalField(
        _("flag usage spikes above (× trailing average)"),
        max_digits=6,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("1.01")), MaxValueValidator(Decimal(1000))],
        help_text=_("Raise a risk flag when a day's usage passes this multiple of the trailing average."),
    )
    # Progressive billing (billing.invoicing.progressive): an interim invoice as soon as unbilled usage
    # passes either threshold; blank is off.
    progressive_threshold = MoneyField(
        _("interim invoice when unbilled passes"),
        null=True,
        blank=True,
        help_text=_("An amount in the terms' currency."),
    )
    progressive_limit_share = models.DecimalField(
        _("interim invoice at share of the credit limit"),
        max_digits=7,
        decimal_places=6,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0.01")), MaxValueValidator(1)],
        help_text=_("A fraction: 0.8 bills at once when unbilled usage reaches 80% of the limit."),
    )
    dunning_policy = models.ForeignKey(
        "billing.DunningPolicy",
        verbose_name=_("dunning policy"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        help_text=_("Blank: no reminders."),
    )

    class Meta:
        verbose_name = _("billing terms")
        verbose_name_plural = _("billing terms")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(credit_limit__gte=0), name="billing_terms_credit_limit_gte_0"
            ),
            models.CheckConstraint(
                condition=models.Q(progressive_threshold__isnull=True)
                | models.Q(progressive_threshold__gt=0),
                name="billing_terms_progressive_threshold_gt_0",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.customer}: {self.get_mode_display()}"

    @property
    def is_credit(self) -> bool:
        """Whether the customer is billed on credit (invoiced after use): the one test. No terms: prepaid."""
        return self.mode in CREDIT_MODES

    @property
    def billing_email_list(self) -> list[str]:
        """The billing contacts, falling back to the customer's contact e-mail."""
        emails = [e.strip() for e in self.billing_emails.split(",") if e.strip()]
        if not emails and self.customer.contact_email:
            emails = [self.customer.contact_email]
        return emails


# Every mode but prepaid bills on credit; querysets filter on ``mode__in=CREDIT_MODES``.
CREDIT_MODES = frozenset(BillingTerms.Mode.values) - {BillingTerms.Mode.PREPAID}


class TermsSpan(models.Model):
    """One stretch of time a customer was on one billing mode: the terms history usage is charged by.

    Every usage event is charged under the mode of the span holding its ``occurred_at``, whenever it
    arrives (``billing.terms.spans``): credit-span usage accrues to unbilled and is invoiced by the close,
    prepaid-span usage is debited from the wallet. Spans of a customer are contiguous: a mode change ends
    the open span and starts the next at the same instant (``spans.terms_span_switch``). The first span's
    ``starts_at`` records from when onboarding said the terms apply; usage before it is still charged
    under the first span's mode, so nothing rated falls outside every span. A customer with no span rows
    (terms written before spans existed) is on its current mode for all time.
    """

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="terms_spans")
    mode = models.CharField(_("billing mode"), max_length=12, choices=BillingTerms.Mode.choices)
    starts_at = models.DateTimeField(_("from"), null=True, blank=True, help_text=_("Blank: from the start."))
    ends_at = models.DateTimeField(_("until"), null=True, blank=True, help_text=_("Blank: still in force."))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "billing_terms_span"
        verbose_name = _("billing terms span")
        verbose_name_plural = _("billing terms spans")
        ordering = ["customer", "starts_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer"], condition=models.Q(ends_at__isnull=True), name="terms_span_one_open"
            ),
            models.CheckConstraint(
                condition=models.Q(starts_at__isnull=True)
                | models.Q(ends_at__isnull=True)
                | models.Q(starts_at__lt=models.F("ends_at")),
                name="terms_span_starts_before_end",
            ),
        ]
        indexes = [models.Index(fields=["customer", "ends_at"], name="terms_span_customer_end")]

    def __str__(self) -> str:
        return f"{self.customer}: {self.get_mode_display()} {self.starts_at or '…'} – {self.ends_at or '…'}"

    @property
    def is_credit(self) -> bool:
        return self.mode in CREDIT_MODES


class BillingTermsChange(models.Model):
    """The audit trail of billing terms: who changed which fields, from what to what, and when.

    Written in the same database transaction as the change itself (``billing_terms_update``).
    """

    terms = models.ForeignKey(BillingTerms, on_delete=models.CASCADE, related_name="changes")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    changed_at = models.DateTimeField(_("changed"), auto_now_add=True)
    changes = models.JSONField(
        _("changes"), default=dict, help_text=_("Per field: [old, new], as text (Decimals exact).")
    )

    class Meta:
        db_table = "billing_terms_change"
        verbose_name = _("billing terms change")
        verbose_name_plural = _("billing terms changes")
        ordering = ["-changed_at", "-id"]

    def __str__(self) -> str:
        return f"{self.terms.customer}: {', '.join(self.changes)}"


class CreditLimitBreach(models.Model):
    """A period during which a credit customer's exposure was at or above its credit limit.

    Open while ``ended_at`` is empty (at most one open per customer). Opening one is what sends the
    warning e-mail and the webhook *once per crossing*; under the *block* policy the gateway status also
    answers suspended (reason ``credit_limit``) — that answer is computed live from exposure, this row
    only records the crossing and which policy was notified.
    """

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="credit_limit_breaches")
    currency = models.CharField(_("currency"), max_length=3)
    credit_limit = MoneyField(_("credit limit"))
    policy = models.CharField(_("policy"), max_length=8, choices=BillingTerms.CreditPolicy.choices)
    exposure_at_start = models.DecimalField(
        _("exposure when crossed"), **LEDGER_FIELD, help_text=_("Full precision.")
    )
    started_at = models.DateTimeField(_("crossed"), auto_now_add=True)
    ended_at = models.DateTimeField(_("cleared"), null=True, blank=True)
    exposure_at_end = models.DecimalField(_("exposure when cleared"), **LEDGER_FIELD, null=True, blank=True)

    class Meta:
        db_table = "billing_credit_limit_breach"
        verbose_name = _("credit limit breach")
        verbose_name_plural = _("credit limit breaches")
        ordering = ["-started_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer"],
                condition=models.Q(ended_at__isnull=True),
                name="credit_limit_breach_one_open",
            ),
        ]

    def __str__(self) -> str:
        limit = money_text(self.credit_limit, self.currency)
        return f"{self.customer}: {self.exposure_at_start} ≥ {limit} {self.currency}"


class RiskFlag(models.Model):
    """A stretch of time a credit customer showed a risk sign: an invoice overdue beyond its terms'
    ``overdue_flag_days``, or a day's usage beyond ``spike_factor`` × its trailing average.

    Open while ``ended_at`` is empty (at most one open per customer and kind), written by
    ``billing.dunning.risk``. Opening one notifies finance once per crossing; under the *block* credit
    policy the gateway status answers suspended (reason ``overdue_days`` or ``usage_spike``) while it is
    open. Staff may clear a spike flag by hand (``cleared_by``) after a look.
    """

    class Kind(models.TextChoices):
        OVERDUE = "overdue_days", _("Overdue beyond the set days")
        SPIKE = "usage_spike", _("Usage spike")

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="risk_flags")
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    policy = models.CharField(_("policy"), max_length=8, choices=BillingTerms.CreditPolicy.choices)
    detail = models.CharField(_("detail"), max_length=300, blank=True)
    detail_message = models.JSONField(
        null=True, blank=True, help_text=_("The detail as a message key (common.stored_text).")
    )
    measured = models.DecimalField(
        _("measured"),
        **LEDGER_FIELD,
        null=True,
        blank=True,
        help_text=_("Days overdue, or the day's usage in the terms' currency."),
    )
    threshold = models.DecimalField(
        _("threshold"),
        **LEDGER_FIELD,
        null=True,
        blank=True,
        help_text=_("The days allowed, or the spike factor × the trailing average."),
    )
    started_at = models.DateTimeField(_("raised"), auto_now_add=True)
    ended_at = models.DateTimeField(_("cleared"), null=True, blank=True)
    cleared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("cleared by"),
    )

    class Meta:
        db_table = "billing_risk_flag"
        verbose_name = _("risk flag")
        verbose_name_plural = _("risk flags")
        ordering = ["-started_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "kind"],
                condition=models.Q(ended_at__isnull=True),
                name="risk_flag_one_open_per_kind",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.customer}: {self.get_kind_display()}"
