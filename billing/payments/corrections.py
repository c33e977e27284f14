"""What every correction shares: who may act, the proposal with its idempotency key, the four-eyes lock.

A correction that moves money out (a bank payment reversal, a credit refund) is written as a pending
``Correction`` by one finance user and applied only when a second one (finance or admin, never the
proposer) approves it (``billing.payments.approvals``). The row is the audit trail: who proposed, who
decided, when, why, and the postings it made.
"""

from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import StaffRole, User
from billing.money import currency_exponent, is_money
from billing.payments.models import Correction

MONEY_ROLES = (StaffRole.FINANCE, StaffRole.ADMIN)


def require_money_role(user: User) -> None:
    """Refuse anyone but active finance or admin staff."""
    if user is None or not user.is_active or user.staff_role not in MONEY_ROLES:
        raise PermissionDenied(_("Only finance staff may propose, approve or reject corrections."))


def amount_check(amount, currency: str) -> Decimal:
    """Return ``amount`` if it is a positive amount in the currency's minor unit; refuse it otherwise."""
    if (
        not isinstance(amount, Decimal)
        or not amount.is_finite()
        or amount <= 0
        or not is_money(amount, currency)
    ):
        raise ValidationError(
            {
                "amount": _("Enter a positive amount with at most %(places)s decimal places.")
                % {"places": currency_exponent(currency)}
            }
        )
    return amount


def note_check(note: str) -> str:
    note = (note or "").strip()
    if not note:
        raise ValidationError({"note": _("Say why, in a few words: it stays on the record.")})
    return note[:500]


def idempotency_key_check(key: str) -> str:
    if not isinstance(key, str) or not key.strip() or len(key) > 200:
        raise ValidationError({"idempotency_key": _("An idempotency key (1–200 characters) is required.")})
    return key


# The fields a replayed proposal must repeat exactly to be the same proposal.
_BODY = (
    "kind",
    "customer",
    "currency",
    "amount",
    "reason",
    "source",
    "method",
    "payment",
    "card_topup",
    "bank_transfer",
)


def correction_create(*, idempotency_key: str, **fields) -> Correction:
    """Write a pending correction once per key; the same key with another body is refused.

    Returns the first correction when the key was used for the same proposal (a double submit).
    """
    existing = Correction.objects.filter(idempotency_key=idempotency_key).first()
    if existing is None:
        try:
            with transaction.atomic():
                return Correction.objects.create(idempotency_key=idempotency_key, **fields)
        except IntegrityError:
            existing = Correction.objects.filter(idempotency_key=idempotency_key).first()
            if existing is None:
                raise
    if any(getattr(existing, name) != fields.get(name) for name in _BODY if name in fields):
        raise ValidationError(
            {"idempotency_key": _("This idempotency key was already used for a different correction.")}
        )
    return existing


def correction_lock_pending(correction: Correction, *, approver: User) -> Correction:
    """Lock a pending correction for its decision; refuse the proposer and anything already decided."""
    require_money_role(approver)
    correction = Correction.objects.select_for_update().get(pk=correction.pk)
    if correction.status != Correction.Status.PENDING:
        raise ValidationError(
            _("This correction is already %(status)s.") % {"status": correction.get_status_display().lower()}
        )
    if correction.proposed_by_id == approver.pk:
        raise PermissionDenied(
            _("A correction must be approved or rejected by someone other than its proposer.")
        )
    return correction


def correction_decided(correction: Correction, *, approver: User, status: str) -> None:
    correction.status = status
    correction.decided_by = approver
    correction.decided_at = timezone.now()
    correction.save(
        update_fields=[
            "status",
            "decided_by",
            "decided_at",
            "rejection_reason",
            "journal_transaction",
            "stripe_refund_id",
            "stripe_refund_requested_at",
            "effective_date",
        ]
    )
