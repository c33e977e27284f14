"""Bank transfers (对公转账): recorded by finance, credited on a second person's approval.

A resale sub-distributor's customers pay into the sub-distributor's bank account: its owner or billing
members record and approve those transfers (``accounts.chain``; the credit posts in its book), and operator
finance may too, as for every customer.
"""

from datetime import date
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Customer, StaffRole, User
from accounts.permissions import SELLER_MANAGERS, manages_book
from billing.money import currency_exponent, is_money
from billing.payments import postings
from billing.payments.models import HOLDS_REFERENCE, BankTransfer, reference_normalise
from billing.terms.selectors import customer_currency

MONEY_ROLES = (StaffRole.FINANCE, StaffRole.ADMIN)

# What a bank slip or statement extract may be, by extension and by its first bytes: the extension alone
# is what the uploader chose to call it, the signature is what it is.
ATTACHMENT_SIGNATURES = {
    "pdf": (b"%PDF-",),
    "png": (b"\x89PNG\r\n\x1a\n",),
    "jpg": (b"\xff\xd8\xff",),
    "jpeg": (b"\xff\xd8\xff",),
}


def attachment_validate(upload) -> None:
    """Refuse an attachment that is too large or is not really a PDF, PNG or JPEG."""
    limit = settings.BANK_TRANSFER_ATTACHMENT_MAX_BYTES
    if upload.size > limit:
        raise ValidationError(
            _("The attachment is larger than %(mb)s MB.") % {"mb": limit // (1024 * 1024)}, code="size"
        )
    extension = upload.name.rsplit(".", 1)[-1].lower() if "." in upload.name else ""
    signatures = ATTACHMENT_SIGNATURES.get(extension)
    upload.seek(0)
    head = upload.read(16)
    upload.seek(0)
    if signatures is None or not head.startswith(signatures):
        raise ValidationError(_("Attach a PDF, PNG or JPEG file."), code="type")


def _require_money_role(user: User, customer: Customer) -> None:
    """Operator finance for any customer; the seller's owner or billing members for a customer it sells to."""
    if not user.is_active:
        raise PermissionDenied(_("Only finance staff may record or approve bank transfers."))
    if user.staff_role in MONEY_ROLES:
        return
    if not manages_book(user, customer.seller_id):
        raise PermissionDenied(_("Only finance staff may record or approve bank transfers."))


def customer_notice(user: User, customer: Customer) -> bool:
    """Whether ``user`` notifies a transfer its own organisation sent (an owner or billing member of
    ``customer``, from the portal): recorded like finance's, but always left for finance to approve."""
    membership = getattr(user, "membership", None)
    return (
        user.is_active
        and membership is not None
        and membership.customer_id == customer.pk
        and membership.role in SELLER_MANAGERS
    )


def bank_transfer_record(
    *,
    recorder: User,
    customer: Customer,
    currency: str,
    amount: Decimal,
    reference: str,
    value_date: date,
    attachment=None,
    note: str = "",
) -> BankTransfer:
    """Record a received transfer; credit it at once unless a second person must approve it.

    The customer's own owner or billing member may record (notify) one too (``customer_notice``); it then
    waits for finance, whatever ``BANK_TRANSFER_REQUIRES_APPROVAL`` says."""
    notified = customer_notice(recorder, customer)
    if not notified:
        _require_money_role(recorder, customer)
    currency = currency.upper()
    expected = customer_currency(customer)
    if currency != expected:
        raise ValidationError(
            {
                "currency": _("%(customer)s is billed in %(currency)s.")
                % {"customer": customer, "currency": expected}
            }
        )
    if amount <= 0 or not is_money(amount, currency):
        raise ValidationError(
            {
                "amount": _("Enter a positive amount with at most %(places)s decimal places.")
                % {"places": currency_exponent(currency)}
            }
        )
    if value_date > timezone.localdate():
        raise ValidationError({"value_date": _("The value date cannot be in the future.")})
    reference = reference.strip()
    if attachment:
        attachment_validate(attachment)
    if notified:
        _own_duplicate_refuse(customer, reference, currency)
    try:
        with transaction.atomic():
            transfer = BankTransfer.objects.create(
                customer=customer,
                book_id=customer.seller_id,
                currency=currency,
                amount=amount,
                reference=reference,
                value_date=value_date,
                attachment=attachment or "",
                note=note,
                recorded_by=recorder,
                notified=notified,
            )
            if not settings.BANK_TRANSFER_REQUIRES_APPROVAL and not notified:
                _credit(transfer, actor=recorder, decided_by=None)
    except IntegrityError as exc:
        if notified:
            # Only the customer's own pending notice holds a notice's reference (two quick posts).
            _own_duplicate_refuse(customer, reference, currency)
        # Only this book's lines: whether a reference exists in another seller's book is not ours to tell.
        if _holders(customer.seller_id, reference_normalise(reference), currency).exists():
            raise ValidationError(
                {"reference": _("A transfer with this bank reference is already recorded.")}
            ) from exc
        raise
    return transfer


def _holders(book_id: int | None, reference_key: str, currency: str):
    """The transfers holding a bank line in a book (``HOLDS_REFERENCE``); the operator's book is NULL."""
    return BankTransfer.objects.filter(
        HOLDS_REFERENCE, book_id=book_id, reference_key=reference_key, currency=currency
    )


def _own_duplicate_refuse(customer: Customer, reference: str, currency: str) -> None:
    """Refuse a notice of a bank line already on ``customer``'s own list, naming only that transfer of its
    own: another customer's lines are never looked at here (a notice must not tell they exist)."""
    own = (
        BankTransfer.objects.filter(
            customer=customer,
            book_id=customer.seller_id,
            reference_key=reference_normalise(reference),
            currency=currency,
        )
        .exclude(status__in=[BankTransfer.Status.REJECTED, BankTransfer.Status.REVERSED])
        .first()
    )
    if own is None:
        return
    values = {"reference": own.reference, "day": own.recorded_at.date().isoformat()}
    if own.notified:
        message = _("You already notified this transfer (%(reference)s, on %(day)s); it is listed below.")
    else:
        message = _("This transfer (%(reference)s) is already on your list below, recorded on %(day)s.")
    raise ValidationError({"reference": message % values})


def reference_clash(transfer: BankTransfer) -> BankTransfer | None:
    """Another transfer holding ``transfer``'s bank line in its book: approving ``transfer`` would credit
    that line twice. Only a customer's pending notice can meet one (any other row holds its line)."""
    return (
        _holders(transfer.book_id, transfer.reference_key, transfer.currency)
        .exclude(pk=transfer.pk)
        .select_related("customer")
        .first()
    )


def _clash_refuse(transfer: BankTransfer, clash: BankTransfer) -> None:
    raise ValidationError(
        _(
            "Bank reference %(reference)s is already recorded in this book (%(customer)s, %(status)s): "
            "approving this notice would credit that bank line twice. Check the bank statement, then "
            "reject the one that is not this customer's."
        )
        % {
            "reference": clash.reference,
            "customer": clash.customer.name,
            "status": clash.get_status_display().lower(),
        },
        code="reference_clash",
    )


def _credit(transfer: BankTransfer, *, actor: User, decided_by: User | None) -> None:
    transfer.credit_transaction = postings.bank_transfer_credit_post(transfer=transfer, actor=actor)
    transfer.status = BankTransfer.Status.APPROVED
    transfer.decided_by = decided_by
    transfer.decided_at = timezone.now()
    transfer.save(update_fields=["credit_transaction", "status", "decided_by", "decided_at"])
    # Deferred import: receivables build on payments. The receipt is numbered in this transaction.
    from billing.receivables.receipts import receipt_for_topup

    receipt_for_topup(bank_transfer=transfer)


def _locked_pending(transfer: BankTransfer, user: User) -> BankTransfer:
    _require_money_role(user, transfer.customer)
    transfer = BankTransfer.objects.select_for_update().get(pk=transfer.pk)
    if transfer.status != BankTransfer.Status.PENDING:
        raise ValidationError(
            _("This transfer is already %(status)s.") % {"status": transfer.get_status_display().lower()}
        )
    if transfer.recorded_by_id == user.pk:
        raise PermissionDenied(
            _("A transfer must be approved or rejected by someone other than its recorder.")
        )
    return transfer


@transaction.atomic
def bank_transfer_approve(*, transfer: BankTransfer, approver: User) -> BankTransfer:
    """Credit the customer's wallet; the approver must be finance staff other than the recorder."""
    transfer = _locked_pending(transfer, approver)
    clash = reference_clash(transfer)
    if clash is not None:
        _clash_refuse(transfer, clash)
    try:
        with transaction.atomic():
            _credit(transfer, actor=approver, decided_by=approver)
    except IntegrityError:
        # Another approval took the line between the check and this write.
        clash = reference_clash(transfer)
        if clash is None:
            raise
        _clash_refuse(transfer, clash)
    return transfer


@transaction.atomic
def bank_transfer_reject(*, transfer: BankTransfer, approver: User, reason: str) -> BankTransfer:
    """Refuse a recorded transfer (wrong customer, not on the statement…); nothing is credited."""
    if not reason.strip():
        raise ValidationError({"reason": _("Say why the transfer is rejected.")})
    transfer = _locked_pending(transfer, approver)
    transfer.status = BankTransfer.Status.REJECTED
    transfer.decided_by = approver
    transfer.decided_at = timezone.now()
    transfer.rejection_reason = reason.strip()
    transfer.save(update_fields=["status", "decided_by", "decided_at", "rejection_reason"])
    return transfer
