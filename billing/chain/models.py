"""Agency commissions: the monthly statement an agency sub-distributor receives, and each settlement.

An agency sub-distributor A earns a commission on its customers' usage, accrued per usage batch as a
credit on ``COMMISSION_PAYABLE`` (customer A) in the book of A's seller (``accounts.chain``). The statement's
money figures are read from that account, never recomputed from usage, so a statement always agrees with
the ledger; its per-customer lines come from the usage rows that priced the commission.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.models import Customer
from billing.ledger.models import JournalTransaction
from billing.money import MoneyField
from billing.receivables.models import CustomerPayment


class CommissionStatement(models.Model):
    """One agent's commission for one month and currency: opening payable, accrued, settled, closing."""

    agent = models.ForeignKey(
        Customer, verbose_name=_("agent"), on_delete=models.PROTECT, related_name="commission_statements"
    )
    book = models.ForeignKey(
        Customer,
        verbose_name=_("book"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("The book that owes the commission (the agent's seller); none is the operator's."),
    )
    number = models.CharField(_("number"), max_length=80, unique=True)
    period = models.CharField(_("period"), max_length=7, help_text=_("The month, YYYY-MM."))
    period_start = models.DateField(_("period from"))
    period_end = models.DateField(_("period to"))
    currency = models.CharField(_("currency"), max_length=3)
    # The four figures are the payable's balance and movements in major units, rounded to the currency's
    # minor unit for the document (the ledger keeps full precision; closing is computed from it, not summed).
    opening = MoneyField(_("opening payable"))
    accrued = MoneyField(_("commission accrued"))
    settled = MoneyField(_("settled"))
    closing = MoneyField(_("closing payable"))
    basis = models.CharField(
        _("commission basis"), max_length=8, choices=Customer.CommissionBasis.choices, blank=True
    )
    rate = models.DecimalField(_("commission rate"), max_digits=7, decimal_places=6, null=True, blank=True)
    lines = models.JSONField(
        _("lines"),
        default=list,
        help_text=_("Per end customer and model: requests, retail revenue and commission (full precision)."),
    )
    revision = models.PositiveIntegerField(
        _("revision"), default=1, help_text=_("Raised when a later run found different figures.")
    )
    issued_at = models.DateTimeField(_("issued"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        db_table = "chain_commission_statement"
        verbose_name = _("commission statement")
        verbose_name_plural = _("commission statements")
        ordering = ["-period_start", "agent__name", "currency"]
        constraints = [
            models.UniqueConstraint(
                fields=["agent", "period", "currency"], name="chain_commission_statement_one_per_period"
            )
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def language(self) -> str:
        return self.agent.language

    @property
    def filename(self) -> str:
        return f"commission-{self.agent.code}-{self.period}-{self.currency}"


class CommissionSettlement(models.Model):
    """The operator (the agent's seller) paying an agent's commission, by bank or against its invoices."""

    class Method(models.TextChoices):
        BANK = "bank", _("Bank transfer")
        # The commission pays the agent's own open invoices: booked as the commission paid out and the
        # same money received back from the agent as a payment, allocated to its invoices.
        OFFSET = "offset", _("Offset against its invoices")

    agent = models.ForeignKey(
        Customer, verbose_name=_("agent"), on_delete=models.PROTECT, related_name="commission_settlements"
    )
    book = models.ForeignKey(
        Customer, verbose_name=_("book"), on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    currency = models.CharField(_("currency"), max_length=3)
    amount = MoneyField(_("amount"))
    method = models.CharField(_("method"), max_length=8, choices=Method.choices)
    settled_on = models.DateField(_("settled on"))
    reference = models.CharField(_("reference"), max_length=200, blank=True)
    note = models.CharField(_("note"), max_length=500, blank=True)
    idempotency_key = models.CharField(max_length=200, unique=True)
    journal_transaction = models.OneToOneField(
        JournalTransaction, on_delete=models.PROTECT, related_name="commission_settlement"
    )
    payment = models.OneToOneField(
        CustomerPayment,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="commission_settlement",
        help_text=_("For an offset: the agent's payment that settles its invoices."),
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    recorded_at = models.DateTimeField(_("recorded"), auto_now_add=True)

    class Meta:
        db_table = "chain_commission_settlement"
        verbose_name = _("commission settlement")
        verbose_name_plural = _("commission settlements")
        ordering = ["-settled_on", "-id"]

    def __str__(self) -> str:
        return f"{self.agent} {self.amount} {self.currency} {self.settled_on}"
