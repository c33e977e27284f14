"""Manual journal entries: proposed by finance, approved by an admin, then posted once to the ledger.

A proposal is the audit trail of a manual entry: its lines, the reason, the documents that support it, who
proposed it and who decided. Its lines are never posted until an admin other than the proposer approves;
the posted transaction is then the ledger's record and the proposal points at it.
"""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from billing.ledger.models import JournalTransaction, LedgerAccount
from billing.money import MoneyField


class ManualJournal(models.Model):
    class Status(models.TextChoices):
        PROPOSED = "proposed", _("Awaiting approval")
        APPROVED = "approved", _("Approved and posted")
        REJECTED = "rejected", _("Rejected")

    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PROPOSED, db_index=True
    )
    reason = models.CharField(_("reason"), max_length=500, help_text=_("Why the entry is needed."))
    effective_date = models.DateField(_("effective date"), help_text=_("The date the entry is posted as of."))
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("proposed by")
    )
    proposed_at = models.DateTimeField(_("proposed"), auto_now_add=True, db_index=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("approved or rejected by"),
    )
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    rejection_reason = models.CharField(_("rejection reason"), max_length=500, blank=True)
    journal_transaction = models.OneToOneField(
        JournalTransaction,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="manual_journal",
        verbose_name=_("journal transaction"),
    )
    idempotency_key = models.CharField(max_length=200, unique=True)

    class Meta:
        db_table = "journals_manual_journal"
        verbose_name = _("manual journal entry")
        verbose_name_plural = _("manual journal entries")
        ordering = ["-proposed_at", "-id"]
        constraints = [
            # Four eyes, held by the database too: nobody approves or rejects their own proposal.
            models.CheckConstraint(
                condition=Q(decided_by__isnull=True) | ~Q(decided_by=F("proposed_by")),
                name="journals_manual_four_eyes",
            ),
            models.CheckConstraint(
                condition=~Q(status="approved") | Q(journal_transaction__isnull=False),
                name="journals_manual_approved_posted",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.reason[:60]}"


class ManualJournalLine(models.Model):
    class Side(models.TextChoices):
        DEBIT = "debit", _("Debit")
        CREDIT = "credit", _("Credit")

    journal = models.ForeignKey(ManualJournal, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveSmallIntegerField(_("line"), help_text=_("1-based, as the form numbered it."))
    account = models.ForeignKey(
        LedgerAccount, on_delete=models.PROTECT, related_name="+", verbose_name=_("account")
    )
    side = models.CharField(_("debit or credit"), max_length=6, choices=Side.choices)
    amount = MoneyField(_("amount"), help_text=_("Positive, major units of ``currency``."))
    currency = models.CharField(_("currency"), max_length=3, help_text=_("ISO 4217; the account's currency."))

    class Meta:
        db_table = "journals_manual_journal_line"
        verbose_name = _("manual journal line")
        verbose_name_plural = _("manual journal lines")
        ordering = ["journal", "position"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="journals_line_amount_gt_0"),
            models.UniqueConstraint(fields=["journal", "position"], name="journals_line_position_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.position}: {self.side} {self.account.code} {self.amount} {self.currency}"


def attachment_upload_to(instance, filename: str) -> str:
    return f"manual-journals/{instance.journal_id}/{filename}"


class ManualJournalAttachment(models.Model):
    """A document supporting a manual entry, kept in Django's storage and served only to finance/admin."""

    journal = models.ForeignKey(ManualJournal, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(_("file"), upload_to=attachment_upload_to)
    name = models.CharField(_("name"), max_length=200, help_text=_("The file name as uploaded."))
    size = models.PositiveIntegerField(_("size"), help_text=_("Bytes."))
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(_("uploaded"), auto_now_add=True)

    class Meta:
        db_table = "journals_manual_journal_attachment"
        verbose_name = _("manual journal attachment")
        verbose_name_plural = _("manual journal attachments")
        ordering = ["journal", "id"]

    def __str__(self) -> str:
        return self.name
