"""Money credit customers owe and pay: payments, their allocation to invoices, credit notes, receipts.

A payment is posted to the ledger in full when recorded (Dr cash or Stripe clearing / Cr receivable);
allocations only say which invoices it settles. What is not allocated stays on the customer's receivable
account as a credit balance and can be allocated later, so an overpayment is never lost.
"""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Customer
from billing.invoicing.models import Invoice
from billing.ledger.exceptions import AppendOnlyError
from billing.ledger.models import JournalTransaction
from billing.money import LEDGER_FIELD, MoneyField, money_text


class CustomerPayment(models.Model):
    """Money received from a credit customer against its invoices (bank transfer or card)."""

    class Method(models.TextChoices):
        BANK = "bank", _("Bank transfer")
        CARD = "card", _("Card (Stripe)")

    class Status(models.TextChoices):
        PENDING = "pending", _("Awaiting card payment")
        RECEIVED = "received", _("Received")
        FAILED = "failed", _("Failed")

    customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, related_name="payments", verbose_name=_("customer")
    )
    method = models.CharField(_("method"), max_length=8, choices=Method.choices)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.RECEIVED)
    amount = MoneyField(_("amount"))
    refunded = MoneyField(
        _("refunded or reversed"),
        default=Decimal("0"),
        help_text=_(
            "Paid back (refund, chargeback) or reversed (bounced), major units. Written only by "
            "billing.payments corrections, whose dated rows it sums; no longer the customer's credit."
        ),
    )
    currency = models.CharField(_("currency"), max_length=3)
    received_on = models.DateField(_("received on"), null=True, blank=True)
    reference = models.CharField(_("reference"), max_length=200, blank=True)
    idempotency_key = models.CharField(max_length=200, unique=True)
    stripe_session_id = models.CharField(max_length=255, unique=True, null=True, blank=True)
    checkout_url = models.URLField(max_length=2000, blank=True)
    payment_intent_id = models.CharField(max_length=255, unique=True, null=True, blank=True)
    intended_invoice = models.ForeignKey(
        Invoice,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("For a card payment started from an invoice: the invoice it pays."),
    )
    note = models.CharField(_("note"), max_length=500, blank=True)
    recorded_at = models.DateTimeField(_("recorded"), auto_now_add=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    journal_transaction = models.OneToOneField(
        JournalTransaction, on_delete=models.PROTECT, null=True, blank=True, related_name="customer_payment"
    )

    class Meta:
        db_table = "receivables_payment"
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        ordering = ["-received_on", "-id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="customer_payment_amount_gt_0"),
        ]

    def __str__(self) -> str:
        amount = money_text(self.amount, self.currency)
        return f"{self.customer} {amount} {self.currency} ({self.get_method_display()})"


class AllocationQuerySet(models.QuerySet):
    """Refuse bulk updates and deletes: allocations are history (PostgreSQL adds a trigger too)."""

    def update(self, **kwargs):
        raise AppendOnlyError(_("Allocations are append-only; release one with a dated row instead."))

    def delete(self):
        raise AppendOnlyError(_("Allocations are append-only; release one with a dated row instead."))

    _raw_delete = delete


class PaymentAllocation(models.Model):
    """Part of a payment settling part of an invoice, from a moment on; or the release of such a part.

    Be careful here: these rows are the history statements and aging are read from. A row is never
    changed or deleted. An allocation has a positive amount; releasing it (a credit note giving the money
    back to the customer's credit, a payment reversed) adds a row with a negative amount pointing at it
    (``releases``), dated when the release takes effect. What a payment had settled of an invoice at any
    moment is the sum of the rows dated up to it (``billing.receivables.allocations``).
    """

    payment = models.ForeignKey(CustomerPayment, on_delete=models.PROTECT, related_name="allocations")
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="allocations")
    amount = MoneyField(
        _("amount"), help_text=_("Major units: positive for an allocation, negative for a release of one.")
    )
    allocated_at = models.DateTimeField(
        _("effective"),
        default=timezone.now,
        help_text=_("When the allocation or its release takes effect; readers as of a date go by it."),
    )
    releases = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="released_by",
        verbose_name=_("releases"),
    )
    reason = models.CharField(_("reason"), max_length=500, blank=True)
    recorded_at = models.DateTimeField(_("recorded"), auto_now_add=True)
    allocated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    objects = AllocationQuerySet.as_manager()

    class Meta:
        db_table = "receivables_allocation"
        verbose_name = _("payment allocation")
        verbose_name_plural = _("payment allocations")
        ordering = ["allocated_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(releases__isnull=True, amount__gt=0)
                | models.Q(releases__isnull=False, amount__lt=0),
                name="allocation_signed_by_kind",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.payment_id} → {self.invoice}: {self.amount}"

    def save(self, *args, **kwargs):
        # Guard, not business logic: a row of the allocation history is never rewritten.
        if self.pk is not None and not self._state.adding:
            raise AppendOnlyError(_("Allocations are append-only; release one with a dated row instead."))
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError(_("Allocations are append-only; release one with a dated row instead."))


class CreditNote(models.Model):
    """A correction that reduces what a customer owes on an invoice, in full (void) or in part."""

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="credit_notes")
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="credit_notes")
    series = models.CharField(_("series"), max_length=40)
    number = models.CharField(_("number"), max_length=60, unique=True)
    reason = models.CharField(_("reason"), max_length=500)
    voids_invoice = models.BooleanField(_("voids the invoice"), default=False)
    currency = models.CharField(_("currency"), max_length=3)
    language = models.CharField(_("document language"), max_length=8)
    issue_date = models.DateField(_("issue date"))
    subtotal = MoneyField(_("subtotal"))
    tax_amount = MoneyField(_("tax"), default=Decimal("0"))
    total = MoneyField(_("total"))
    idempotency_key = models.CharField(max_length=200, unique=True)
    request_hash = models.CharField(
        max_length=64, blank=True, editable=False, help_text=_("SHA-256 of the request that issued it.")
    )
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    journal_transaction = models.OneToOneField(
        JournalTransaction, on_delete=models.PROTECT, null=True, blank=True, related_name="credit_note"
    )

    class Meta:
        db_table = "receivables_credit_note"
        verbose_name = _("credit note")
        verbose_name_plural = _("credit notes")
        ordering = ["-issue_date", "-id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(total__gt=0), name="credit_note_total_gt_0"),
        ]

    def __str__(self) -> str:
        return self.number


class CreditNoteLine(models.Model):
    credit_note = models.ForeignKey(CreditNote, on_delete=models.CASCADE, related_name="lines")
    invoice_line = models.ForeignKey(
        "billing.InvoiceLine", on_delete=models.PROTECT, null=True, blank=True, related_name="credit_lines"
    )
    description = models.CharField(_("description"), max_length=300)
    amount_exact = models.DecimalField(_("exact amount"), **LEDGER_FIELD)
    amount = MoneyField(_("amount"))
    tax_rate = models.DecimalField(_("tax rate"), max_digits=7, decimal_places=6, default=Decimal("0"))
    tax_amount = MoneyField(_("tax"), default=Decimal("0"))

    class Meta:
        db_table = "receivables_credit_note_line"
        verbose_name = _("credit note line")
        verbose_name_plural = _("credit note lines")
        ordering = ["credit_note", "id"]

    def __str__(self) -> str:
        return f"{self.description}: {self.amount}"


class Receipt(models.Model):
    """A numbered receipt for money received: a prepaid top-up (card or bank) or a credit payment."""

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="receipts")
    series = models.CharField(_("series"), max_length=40)
    number = models.CharField(_("number"), max_length=60, unique=True)
    amount = MoneyField(_("amount"))
    currency = models.CharField(_("currency"), max_length=3)
    language = models.CharField(_("document language"), max_length=8)
    issue_date = models.DateField(_("issue date"))
    card_topup = models.OneToOneField(
        "billing.CardTopUp", on_delete=models.PROTECT, null=True, blank=True, related_name="receipt"
    )
    bank_transfer = models.OneToOneField(
        "billing.BankTransfer", on_delete=models.PROTECT, null=True, blank=True, related_name="receipt"
    )
    payment = models.OneToOneField(
        CustomerPayment, on_delete=models.PROTECT, null=True, blank=True, related_name="receipt"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "receivables_receipt"
        verbose_name = _("receipt")
        verbose_name_plural = _("receipts")
        ordering = ["-issue_date", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(card_topup__isnull=False, bank_transfer__isnull=True, payment__isnull=True)
                    | models.Q(card_topup__isnull=True, bank_transfer__isnull=False, payment__isnull=True)
                    | models.Q(card_topup__isnull=True, bank_transfer__isnull=True, payment__isnull=False)
                ),
                name="receipt_exactly_one_source",
            ),
        ]

    def __str__(self) -> str:
        return self.number


class WriteOff(models.Model):
    """Writing off what a customer still owes on chosen invoices as bad debt: proposed by finance (or by
    an exhausted dunning policy), approved by an admin other than the proposer, then posted once.

    Posting (``billing.receivables.writeoffs``): Dr allowance for doubtful debts (as far as the
    allowance in that currency goes, the rest Dr bad-debt expense) / Cr the customer's receivable, dated
    ``effective_date``; each line's invoice then carries the amount in ``amount_written_off``. Aging and
    statements for a date read the approved lines dated up to it, less recoveries by then.
    """

    class Status(models.TextChoices):
        PROPOSED = "proposed", _("Awaiting approval")
        APPROVED = "approved", _("Approved and posted")
        REJECTED = "rejected", _("Rejected")

    class Origin(models.TextChoices):
        FINANCE = "finance", _("Proposed by finance")
        DUNNING = "dunning", _("Proposed when dunning was exhausted")

    customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, related_name="write_offs", verbose_name=_("customer")
    )
    currency = models.CharField(_("currency"), max_length=3)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PROPOSED, db_index=True
    )
    origin = models.CharField(_("origin"), max_length=10, choices=Origin.choices, default=Origin.FINANCE)
    reason = models.CharField(_("reason"), max_length=500)
    effective_date = models.DateField(
        _("effective date"), null=True, blank=True, help_text=_("Set on approval: the posting's date.")
    )
    total = MoneyField(_("total"))
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("proposed by"),
        help_text=_("Blank when an exhausted dunning policy proposed it."),
    )
    proposed_at = models.DateTimeField(_("proposed"), auto_now_add=True)
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
        JournalTransaction, on_delete=models.PROTECT, null=True, blank=True, related_name="write_off"
    )
    idempotency_key = models.CharField(max_length=200, unique=True)
    request_hash = models.CharField(max_length=64, editable=False)

    class Meta:
        db_table = "receivables_write_off"
        verbose_name = _("write-off")
        verbose_name_plural = _("write-offs")
        ordering = ["-proposed_at", "-id"]
        constraints = [
            # Four eyes, held by the database too: nobody decides their own proposal.
            models.CheckConstraint(
                condition=models.Q(decided_by__isnull=True) | ~models.Q(decided_by=models.F("proposed_by")),
                name="write_off_four_eyes",
            ),
            models.CheckConstraint(
                condition=~models.Q(status="approved")
                | models.Q(journal_transaction__isnull=False, effective_date__isnull=False),
                name="write_off_approved_posted",
            ),
            models.CheckConstraint(condition=models.Q(total__gt=0), name="write_off_total_gt_0"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.customer} {money_text(self.total, self.currency)} {self.currency}"


class WriteOffLine(models.Model):
    """What one write-off takes of one invoice."""

    write_off = models.ForeignKey(WriteOff, on_delete=models.PROTECT, related_name="lines")
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="write_off_lines")
    amount = MoneyField(_("amount"))

    class Meta:
        db_table = "receivables_write_off_line"
        verbose_name = _("write-off line")
        verbose_name_plural = _("write-off lines")
        ordering = ["write_off", "id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="write_off_line_amount_gt_0"),
            models.UniqueConstraint(fields=["write_off", "invoice"], name="write_off_line_once_per_invoice"),
        ]

    def __str__(self) -> str:
        return f"{self.invoice}: {self.amount}"


class BadDebtRecovery(models.Model):
    """Money later paid on an amount written off: the write-off is reversed for that much (Dr receivable /
    Cr bad debts recovered) and the payment settles the reopened amount. Dated, never changed.

    A recovery undone (its payment bounced or was paid back) is a further, negative row pointing at it
    (``reverses``), dated the release: the amount is written off again from that day."""

    write_off_line = models.ForeignKey(WriteOffLine, on_delete=models.PROTECT, related_name="recoveries")
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="recoveries")
    payment = models.ForeignKey(
        CustomerPayment, on_delete=models.PROTECT, null=True, blank=True, related_name="recoveries"
    )
    amount = MoneyField(_("amount"))
    recovered_on = models.DateField(_("recovered on"))
    journal_transaction = models.OneToOneField(
        JournalTransaction, on_delete=models.PROTECT, related_name="bad_debt_recovery"
    )
    reverses = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="reversals",
        verbose_name=_("reverses"),
    )
    recorded_at = models.DateTimeField(_("recorded"), auto_now_add=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        db_table = "receivables_bad_debt_recovery"
        verbose_name = _("bad-debt recovery")
        verbose_name_plural = _("bad-debt recoveries")
        ordering = ["recovered_on", "id"]
        constraints = [
            # A recovery is positive; only its reversal, pointing at it, is negative.
            models.CheckConstraint(
                condition=models.Q(amount__gt=0, reverses__isnull=True)
                | models.Q(amount__lt=0, reverses__isnull=False),
                name="bad_debt_recovery_amount_sign",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.invoice}: {self.amount}"
