"""Dunning: reminders at set days around an invoice's due date, and the record of each one sent."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from billing.invoicing.models import Invoice
from billing.money import MoneyField


class DunningPolicy(models.Model):
    """A named set of reminder levels, chosen per customer in its billing terms."""

    class Exhausted(models.TextChoices):
        NOTHING = "nothing", _("Nothing more")
        SUSPEND = "suspend", _("Suspend service")
        PROPOSE_WRITE_OFF = "propose_write_off", _("Propose a write-off")
        SUSPEND_AND_PROPOSE = "suspend_and_propose", _("Suspend and propose a write-off")

    name = models.CharField(_("name"), max_length=100, unique=True)
    is_active = models.BooleanField(_("active"), default=True)
    # When the last level was sent this many days ago and the invoice is still unpaid, dunning is
    # exhausted: billing.dunning.services acts as the policy says (a write-off is only proposed; finance
    # and an admin still decide it).
    exhausted_after_days = models.PositiveSmallIntegerField(
        _("exhausted after (days past the last level)"), default=30
    )
    exhausted_action = models.CharField(
        _("when dunning is exhausted"), max_length=20, choices=Exhausted.choices, default=Exhausted.NOTHING
    )

    class Meta:
        db_table = "dunning_policy"
        verbose_name = _("dunning policy")
        verbose_name_plural = _("dunning policies")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class DunningLevel(models.Model):
    """One reminder: sent ``days_from_due`` days after the due date (negative: before it)."""

    policy = models.ForeignKey(DunningPolicy, on_delete=models.CASCADE, related_name="levels")
    days_from_due = models.SmallIntegerField(_("days from due date"), help_text=_("-3 is three days before."))
    name = models.CharField(_("name"), max_length=100, help_text=_("E.g. Friendly reminder, Final notice."))
    suspend_service = models.BooleanField(
        _("suspend service"),
        default=False,
        help_text=_("At this level the gateway stops the customer's traffic until the invoice is paid."),
    )

    class Meta:
        db_table = "dunning_level"
        verbose_name = _("dunning level")
        verbose_name_plural = _("dunning levels")
        ordering = ["policy", "days_from_due"]
        constraints = [
            models.UniqueConstraint(fields=["policy", "days_from_due"], name="dunning_level_unique_day"),
        ]

    def __str__(self) -> str:
        return f"{self.policy}: {self.name} ({self.days_from_due:+d})"


class DunningNotice(models.Model):
    """A reminder sent (or attempted) for one invoice at one level; at most one per invoice and level."""

    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="dunning_notices")
    level = models.ForeignKey(DunningLevel, on_delete=models.PROTECT, related_name="notices")
    recipients = models.CharField(_("sent to"), max_length=500, blank=True)
    amount_due = MoneyField(_("amount due"))
    sent_at = models.DateTimeField(_("sent"), auto_now_add=True)
    suspended = models.BooleanField(_("suspended service"), default=False)
    error = models.TextField(_("error"), blank=True)
    skipped = models.BooleanField(
        _("skipped"),
        default=False,
        help_text=_("A lower level that fell due together with a higher one: recorded, not e-mailed."),
    )
    lifted_at = models.DateTimeField(
        _("suspension lifted"),
        null=True,
        blank=True,
        help_text=_("When the invoice was settled and the overdue suspension ended."),
    )

    class Meta:
        db_table = "dunning_notice"
        verbose_name = _("dunning notice")
        verbose_name_plural = _("dunning notices")
        ordering = ["-sent_at"]
        constraints = [
            models.UniqueConstraint(fields=["invoice", "level"], name="dunning_notice_once_per_level"),
        ]

    def __str__(self) -> str:
        return f"{self.invoice}: {self.level.name}"


class DunningExhaustion(models.Model):
    """An invoice whose dunning ran out (its policy's last level sent ``exhausted_after_days`` ago, still
    unpaid), and what the policy did about it: once per invoice."""

    invoice = models.OneToOneField(Invoice, on_delete=models.PROTECT, related_name="dunning_exhaustion")
    action = models.CharField(_("action"), max_length=20, choices=DunningPolicy.Exhausted.choices)
    amount_due = MoneyField(_("amount due"))
    write_off = models.ForeignKey(
        "billing.WriteOff",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("write-off proposed"),
    )
    acted_at = models.DateTimeField(_("acted"), auto_now_add=True)

    class Meta:
        db_table = "dunning_exhaustion"
        verbose_name = _("exhausted dunning")
        verbose_name_plural = _("exhausted dunning")
        ordering = ["-acted_at"]

    def __str__(self) -> str:
        return f"{self.invoice}: {self.get_action_display()}"
