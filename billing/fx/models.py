"""What the FX services posted: one revaluation per foreign-currency account and month, one realisation
per payment allocation. Each row keeps the figures it was computed from, so a journal line can be traced
to its rate and balance."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from billing.ledger.models import JournalTransaction, LedgerAccount
from billing.money import LEDGER_FIELD, MoneyField
from billing.receivables.models import PaymentAllocation

RATE_FIELD = {"max_digits": 24, "decimal_places": 12}


class FxRevaluation(models.Model):
    """A foreign-currency balance revalued at a month end; the posting is reversed on the next day."""

    account = models.ForeignKey(
        LedgerAccount, on_delete=models.PROTECT, related_name="+", verbose_name=_("account revalued")
    )
    month_end = models.DateField(_("month end"))
    balance = models.DecimalField(
        _("balance"),
        **LEDGER_FIELD,
        help_text=_("At the month end, debit-positive, in the account's currency."),
    )
    rate = models.DecimalField(
        _("month-end rate"), **RATE_FIELD, help_text=_("1 account currency = rate base.")
    )
    carried_base = models.DecimalField(
        _("carried base value"),
        **LEDGER_FIELD,
        help_text=_("Each entry at its own date's rate, plus realised FX; full precision, base currency."),
    )
    difference = MoneyField(
        _("unrealised gain (loss)"), help_text=_("Revalued minus carried, rounded once, base currency.")
    )
    journal_transaction = models.OneToOneField(
        JournalTransaction, on_delete=models.PROTECT, related_name="+", verbose_name=_("revaluation")
    )
    reversal_transaction = models.OneToOneField(
        JournalTransaction, on_delete=models.PROTECT, related_name="+", verbose_name=_("reversal")
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "fx_revaluation"
        verbose_name = _("FX revaluation")
        verbose_name_plural = _("FX revaluations")
        ordering = ["-month_end", "account"]
        constraints = [
            models.UniqueConstraint(fields=["account", "month_end"], name="fx_revaluation_account_month"),
        ]

    def __str__(self) -> str:
        return f"{self.account.code} {self.month_end}: {self.difference}"


class FxRealisation(models.Model):
    """The realised gain or loss of one allocation (or release) of a foreign-currency payment."""

    allocation = models.OneToOneField(
        PaymentAllocation, on_delete=models.PROTECT, related_name="+", verbose_name=_("allocation")
    )
    account = models.ForeignKey(
        LedgerAccount, on_delete=models.PROTECT, related_name="+", verbose_name=_("receivable")
    )
    effective_date = models.DateField(_("effective date"))
    invoice_rate = models.DecimalField(_("rate on the invoice date"), **RATE_FIELD)
    payment_rate = models.DecimalField(_("rate on the payment date"), **RATE_FIELD)
    base_amount = MoneyField(
        _("realised gain (loss)"),
        help_text=_("Allocated amount × (payment rate − invoice rate), rounded once, base currency."),
    )
    journal_transaction = models.OneToOneField(
        JournalTransaction, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "fx_realisation"
        verbose_name = _("realised FX")
        verbose_name_plural = _("realised FX")
        ordering = ["-effective_date", "-id"]

    def __str__(self) -> str:
        return f"{self.allocation_id}: {self.base_amount}"
