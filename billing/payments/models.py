"""Top-up records: card payments through Stripe, Stripe's webhook events, bank transfers, redemption codes.

Money fields are in major units of the row's currency. None of these rows is money by itself: the wallet
credit is the journal transaction each one points to, posted through ``billing.payments.postings``.
"""

import re
import unicodedata
import uuid
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from accounts.models import Customer
from billing.money import MoneyField, money_text


class FeeMode(models.TextChoices):
    CUSTOMER = "customer", _("Passed to the customer")
    ABSORB = "absorb", _("Absorbed by us")


class CardTopUp(models.Model):
    """One attempt to top up a wallet by card through a Stripe Checkout Session."""

    class Status(models.TextChoices):
        OPEN = "open", _("Awaiting payment")
        PAID = "paid", pgettext_lazy("card top-up status", "Paid")
        EXPIRED = "expired", _("Expired")
        REFUNDED = "refunded", _("Refunded")
        PARTIALLY_REFUNDED = "partially_refunded", _("Partially refunded")
        DISPUTED = "disputed", _("Disputed")

    public_id = models.UUIDField(_("reference"), default=uuid.uuid4, unique=True, editable=False)
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="card_topups")
    currency = models.CharField(_("currency"), max_length=3, help_text=_("ISO 4217 code."))
    amount = MoneyField(_("amount"), help_text=_("Credited to the wallet, in major units of the currency."))
    fee = MoneyField(_("card fee"), default=Decimal("0"), help_text=_("In major units; see fee mode."))
    fee_mode = models.CharField(_("fee mode"), max_length=10, choices=FeeMode.choices)
    charged = MoneyField(
        _("charged"),
        help_text=_("What the card pays, in major units: amount, plus fee if passed on."),
    )
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.OPEN)
    stripe_session_id = models.CharField(_("Checkout Session"), max_length=255, unique=True, null=True)
    checkout_url = models.URLField(_("Checkout URL"), max_length=2000, blank=True)
    payment_intent_id = models.CharField(_("payment intent"), max_length=255, unique=True, null=True)
    refunded = MoneyField(
        _("refunded"),
        default=Decimal("0"),
        help_text=_("Charged amount refunded so far, major units."),
    )
    refunded_fee = MoneyField(
        _("card fee refunded"),
        default=Decimal("0"),
        help_text=_("Of the refunded amount, the card fee the customer had paid on top (our expense)."),
    )
    disputed = MoneyField(
        _("disputed"),
        default=Decimal("0"),
        help_text=_("Charged amount withdrawn by open or lost disputes."),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("started by")
    )
    created_at = models.DateTimeField(_("started"), auto_now_add=True)
    paid_at = models.DateTimeField(_("paid"), null=True, blank=True)
    credit_transaction = models.OneToOneField(
        "billing.JournalTransaction", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("card top-up")
        verbose_name_plural = _("card top-ups")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="payments_card_topup_amount_gt_0"),
            models.CheckConstraint(condition=Q(fee__gte=0), name="payments_card_topup_fee_gte_0"),
        ]

    def __str__(self) -> str:
        return f"{money_text(self.amount, self.currency)} {self.currency} → {self.customer}"


class StripeEvent(models.Model):
    """A verified webhook event from Stripe, kept whatever happens to it.

    Stored before it is acted on; the unique Stripe id makes a redelivered event a no-op. States:
    received → processed | ignored | parked | failed, and parked or failed → resolved by finance. An
    event waiting for an earlier one (a refund before its payment) applies by itself when that arrives;
    any other parked or failed event is listed for finance ("Needs attention").
    """

    class Status(models.TextChoices):
        RECEIVED = "received", _("Received")
        PROCESSED = "processed", _("Processed")
        IGNORED = "ignored", _("Ignored")
        PARKED = "parked", _("Parked")
        FAILED = "failed", _("Failed")
        RESOLVED = "resolved", _("Resolved by finance")

    class ParkedReason(models.TextChoices):
        WAITING = "waiting", _("Waiting for an earlier event")
        MISMATCH = "mismatch", _("Does not match our records")
        INVALID = "invalid", _("Missing or invalid fields")

    # Nothing runs an event in these states again.
    FINAL = (Status.PROCESSED, Status.IGNORED, Status.RESOLVED)

    stripe_id = models.CharField(_("event id"), max_length=255, unique=True)
    type = models.CharField(_("type"), max_length=100, db_index=True)
    livemode = models.BooleanField(_("live mode"), default=False)
    api_version = models.CharField(_("API version"), max_length=40, blank=True)
    object_id = models.CharField(
        _("object"), max_length=255, blank=True, db_index=True, help_text=_("The id of data.object.")
    )
    payment_intent_id = models.CharField(
        _("payment intent"),
        max_length=255,
        blank=True,
        db_index=True,
        help_text=_("The payment the event is about; events waiting for it apply when it is credited."),
    )
    payload = models.JSONField(_("payload"))
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.RECEIVED, db_index=True
    )
    parked_reason = models.CharField(
        _("parked because"), max_length=10, choices=ParkedReason.choices, blank=True
    )
    error = models.TextField(_("reason"), blank=True, help_text=_("Why it was ignored, parked or failed."))
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    received_at = models.DateTimeField(_("received"), auto_now_add=True, db_index=True)
    processed_at = models.DateTimeField(_("processed"), null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("resolved by"),
    )
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)
    resolution = models.TextField(_("resolution"), blank=True, help_text=_("What finance did, and why."))

    class Meta:
        verbose_name = _("Stripe event")
        verbose_name_plural = _("Stripe events")
        ordering = ["-received_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status="parked") | ~Q(parked_reason=""),
                name="payments_stripe_event_parked_has_reason",
            ),
            # A hand-closed event always says who closed it and why: it is part of the audit trail.
            models.CheckConstraint(
                condition=~Q(status="resolved") | (Q(resolved_by__isnull=False) & ~Q(resolution="")),
                name="payments_stripe_event_resolved_by_someone",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.stripe_id} {self.type}"


def bank_transfer_upload_to(instance, filename: str) -> str:
    return f"bank-transfers/{instance.value_date:%Y/%m}/{filename}"


# Spaces and dashes (ASCII, en/em, and those NFKC leaves after folding full-width forms) a bank reference
# is written with: "ICBC-777", "icbc 777" and "ＩＣＢＣ777" are one bank line.
REFERENCE_NOISE = re.compile(r"[\s\-\u2010-\u2015\u2212]+")


def reference_normalise(reference: str) -> str:
    """The form of a bank reference compared for uniqueness: full-width folded, upper case, no spaces or
    dashes."""
    return REFERENCE_NOISE.sub("", unicodedata.normalize("NFKC", reference)).upper()


# A row that holds its bank line in its book: not rejected or reversed (those may be recorded again), and
# not a customer's notice still awaiting finance (a customer's word must not keep finance from recording
# the real line, nor tell it that another customer's reference exists). A notice takes the slot when it is
# approved, and approving is refused while another row holds it.
HOLDS_REFERENCE = ~Q(status__in=["rejected", "reversed"]) & (Q(notified=False) | Q(status="approved"))


class BankTransfer(models.Model):
    """A transfer into our bank account (对公转账), recorded by finance and credited on approval."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Awaiting approval")
        APPROVED = "approved", _("Approved and credited")
        REJECTED = "rejected", _("Rejected")
        REVERSED = "reversed", _("Reversed (bounced or misposted)")

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="bank_transfers")
    # Whose bank account received it: the customer's seller when recorded (None = the operator). Bank
    # references are unique only within one book: two sellers' banks number their lines independently.
    book = models.ForeignKey(
        Customer,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("book"),
    )
    currency = models.CharField(_("currency"), max_length=3, help_text=_("ISO 4217 code."))
    amount = MoneyField(_("amount"), help_text=_("Received, in major units."))
    reference = models.CharField(
        _("bank reference"), max_length=100, help_text=_("The bank's transaction number (流水号).")
    )
    # ``reference_normalise(reference)``, set on every save: what uniqueness compares.
    reference_key = models.CharField(_("normalised bank reference"), max_length=100, editable=False)
    # Notified by the customer itself from the portal (``billing.payments.portal_notify``), not recorded
    # by finance: it holds no bank line until approved (``HOLDS_REFERENCE``).
    notified = models.BooleanField(_("notified by the customer"), default=False, editable=False)
    value_date = models.DateField(_("value date"))
    attachment = models.FileField(_("attachment"), upload_to=bank_transfer_upload_to, blank=True)
    note = models.CharField(_("note"), max_length=500, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("recorded by")
    )
    recorded_at = models.DateTimeField(_("recorded"), auto_now_add=True)
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
    credit_transaction = models.OneToOneField(
        "billing.JournalTransaction", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("bank transfer")
        verbose_name_plural = _("bank transfers")
        ordering = ["-recorded_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="payments_bank_transfer_amount_gt_0"),
            # Recording the same bank line twice in one book would credit it twice (``HOLDS_REFERENCE``).
            # The operator's book is NULL, which a plain unique constraint treats as distinct: its own one.
            models.UniqueConstraint(
                fields=["book", "reference_key", "currency"],
                condition=HOLDS_REFERENCE & Q(book__isnull=False),
                name="payments_bank_transfer_reference_unique",
            ),
            models.UniqueConstraint(
                fields=["reference_key", "currency"],
                condition=HOLDS_REFERENCE & Q(book__isnull=True),
                name="payments_bank_transfer_reference_unique_operator",
            ),
            # A customer notifies one bank line once while finance has not decided it (two quick posts).
            models.UniqueConstraint(
                fields=["customer", "reference_key", "currency"],
                condition=Q(notified=True, status="pending"),
                name="payments_bank_transfer_notice_unique",
            ),
            # Four eyes, in the database too: the approver is never the recorder (when approval is
            # switched off, the recorder's own credit has decided_by empty).
            models.CheckConstraint(
                condition=Q(decided_by__isnull=True) | ~Q(decided_by=F("recorded_by")),
                name="payments_bank_transfer_four_eyes",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reference}: {money_text(self.amount, self.currency)} {self.currency} → {self.customer}"

    def save(self, *args, **kwargs):
        self.reference_key = reference_normalise(self.reference)
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "reference" in update_fields:
            kwargs["update_fields"] = {*update_fields, "reference_key"}
        super().save(*args, **kwargs)


class RedemptionBatch(models.Model):
    """A batch of single-use codes worth ``value`` each, generated by finance."""

    name = models.CharField(_("name"), max_length=200, help_text=_("E.g. the campaign or partner."))
    currency = models.CharField(_("currency"), max_length=3, help_text=_("ISO 4217 code."))
    value = MoneyField(_("value"), help_text=_("Per code, in major units."))
    count = models.PositiveIntegerField(_("number of codes"))
    expires_at = models.DateTimeField(_("redeem before"))
    # Whose gift it is (``billing.payments.redemption``): a resale sub-distributor's codes credit only the
    # customers it sells to, in its book; the operator's (None) only the operator's own customers.
    book = models.ForeignKey(
        Customer,
        verbose_name=_("issued by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="redemption_batches",
        help_text=_("The sub-distributor whose book the codes credit; blank for the operator."),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("created by")
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    exported_at = models.DateTimeField(_("last exported"), null=True, blank=True)

    class Meta:
        verbose_name = _("redemption batch")
        verbose_name_plural = _("redemption batches")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(value__gt=0), name="payments_redemption_batch_value_gt_0"),
        ]

    def __str__(self) -> str:
        return self.name


class RedemptionCode(models.Model):
    """One single-use code. ``redeemed_at`` is set by one conditional UPDATE, so only one redeemer wins."""

    batch = models.ForeignKey(RedemptionBatch, on_delete=models.PROTECT, related_name="codes")
    code = models.CharField(
        _("code"), max_length=19, unique=True, help_text=_("XXXX-XXXX-XXXX-XXXX, Crockford base32.")
    )
    redeemed_at = models.DateTimeField(_("redeemed"), null=True, blank=True, db_index=True)
    redeemed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("redeemed by"),
    )
    customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, null=True, blank=True, related_name="redemption_codes"
    )
    credit_transaction = models.OneToOneField(
        "billing.JournalTransaction", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("redemption code")
        verbose_name_plural = _("redemption codes")
        ordering = ["id"]

    def __str__(self) -> str:
        return self.code


class Correction(models.Model):
    """A correction of money already booked: who proposed it, who approved it, when, and why.

    Reversing a bank payment and refunding a credit balance move money out, so one finance user proposes
    and another (finance or admin) approves: four eyes, held here and by a database constraint. Card
    refunds and disputes of invoice payments are booked from Stripe's events, where the money has already
    moved: they are recorded as done, with the Stripe object that booked them.

    Be careful: ``CustomerPayment.refunded`` is the sum of the done rows' amounts per payment (disputes
    reinstated count negative); a row is never edited once done — a later event is a new row.
    """

    class Kind(models.TextChoices):
        PAYMENT_REVERSAL = "payment_reversal", _("Bank payment reversal")
        CREDIT_REFUND = "credit_refund", _("Credit refund")
        CARD_REFUND = "card_refund", _("Card refund of an invoice payment")
        CARD_DISPUTE = "card_dispute", _("Card dispute of an invoice payment")
        DISPUTE_REINSTATED = "dispute_reinstated", _("Dispute funds reinstated")

    class Status(models.TextChoices):
        PENDING = "pending", _("Awaiting approval")
        DONE = "done", _("Done")
        REJECTED = "rejected", _("Rejected")

    class Reason(models.TextChoices):
        BOUNCED = "bounced", _("Bounced: the bank returned the money")
        MISPOSTED = "misposted", _("Misposted: recorded for the wrong customer or twice")
        CUSTOMER_REQUEST = "customer_request", _("The customer asked for its credit back")
        STRIPE = "stripe", _("Reported by Stripe")

    class Source(models.TextChoices):
        RECEIVABLE = "receivable", _("Unapplied payment credit")
        WALLET = "wallet", _("Paid wallet credit")

    class Method(models.TextChoices):
        BANK = "bank", _("Bank transfer")
        CARD = "card", _("Card (Stripe refund)")

    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, db_index=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="corrections")
    currency = models.CharField(_("currency"), max_length=3, help_text=_("ISO 4217 code."))
    amount = MoneyField(_("amount"), help_text=_("What leaves (or comes back), major units."))
    reason = models.CharField(_("reason"), max_length=20, choices=Reason.choices)
    note = models.CharField(_("explanation"), max_length=500, help_text=_("Why, in finance's words."))
    source = models.CharField(_("refunded from"), max_length=10, choices=Source.choices, blank=True)
    method = models.CharField(_("paid back by"), max_length=4, choices=Method.choices, blank=True)
    payment = models.ForeignKey(
        "billing.CustomerPayment",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="corrections",
        verbose_name=_("payment"),
    )
    card_topup = models.ForeignKey(
        CardTopUp,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="corrections",
        verbose_name=_("card top-up"),
    )
    bank_transfer = models.ForeignKey(
        BankTransfer,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="corrections",
        verbose_name=_("bank transfer"),
        help_text=_("A prepaid top-up by bank transfer that is reversed."),
    )
    effective_date = models.DateField(
        _("effective date"), help_text=_("The day the money left or came back: the postings' date.")
    )
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("proposed by"),
        help_text=_("Empty when Stripe reported it."),
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
    journal_transaction = models.ForeignKey(
        "billing.JournalTransaction",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("journal transaction"),
    )
    stripe_refund_requested_at = models.DateTimeField(
        _("Stripe refund asked"),
        null=True,
        blank=True,
        help_text=_("When Stripe was asked for this card refund; set before asking, kept until it answers."),
    )
    stripe_refund_id = models.CharField(_("Stripe refund"), max_length=255, blank=True)
    stripe_object_id = models.CharField(
        _("Stripe object"), max_length=255, blank=True, help_text=_("The charge or dispute Stripe reported.")
    )
    idempotency_key = models.CharField(max_length=200, unique=True)

    class Meta:
        verbose_name = _("correction")
        verbose_name_plural = _("corrections")
        ordering = ["-proposed_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="payments_correction_amount_gt_0"),
            models.CheckConstraint(
                condition=Q(decided_by__isnull=True) | ~Q(decided_by=F("proposed_by")),
                name="payments_correction_four_eyes",
            ),
            # A payment is reversed at most once: a second proposal while one is pending or done is refused.
            models.UniqueConstraint(
                fields=["payment"],
                condition=Q(kind="payment_reversal") & ~Q(status="rejected"),
                name="payments_correction_one_reversal",
            ),
            models.UniqueConstraint(
                fields=["bank_transfer"],
                condition=Q(kind="payment_reversal") & ~Q(status="rejected"),
                name="payments_correction_one_transfer_reversal",
            ),
            models.UniqueConstraint(
                fields=["stripe_refund_id"],
                condition=~Q(stripe_refund_id=""),
                name="payments_correction_stripe_refund_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {money_text(self.amount, self.currency)} {self.currency}"
