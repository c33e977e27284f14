"""Propose, approve and reject manual journal entries.

Finance (or an admin) proposes; an admin other than the proposer approves, and approval posts the lines
as one ledger transaction keyed by the proposal, so a double approval or a retried request posts once.
Each service writes its change and its audit fields in one durable transaction.
"""

import hashlib
from datetime import date

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Customer, StaffRole, User
from billing.journals.attachments import attachments_check
from billing.journals.lines import DEBIT, LineInput, lines_problems
from billing.journals.models import ManualJournal, ManualJournalAttachment, ManualJournalLine
from billing.ledger.exceptions import LedgerError
from billing.ledger.services import credit, debit, transaction_post

PROPOSER_ROLES = (StaffRole.FINANCE, StaffRole.ADMIN)
APPROVER_ROLES = (StaffRole.ADMIN,)
POSTING_KIND = "manual.journal"


def _require(user: User | None, roles: tuple, message: str) -> None:
    if user is None or not user.is_active or user.staff_role not in roles:
        raise PermissionDenied(message)


def _digest(file) -> str:
    digest = hashlib.sha256()
    file.seek(0)
    for chunk in file.chunks():
        digest.update(chunk)
    file.seek(0)
    return digest.hexdigest()


def _body(reason: str, effective_date: date, lines: list[LineInput], attachments: list) -> tuple:
    """What a replayed proposal must repeat to be the same proposal: reason, date, lines and files."""
    return (
        reason,
        effective_date,
        [(ln.position, ln.account.pk, ln.side, ln.amount, ln.currency) for ln in lines],
        [(upload.name[:200], upload.size, _digest(upload)) for upload in attachments],
    )


def _stored_body(journal: ManualJournal) -> tuple:
    files = []
    for attachment in journal.attachments.order_by("id"):
        with attachment.file.open("rb") as stored:
            files.append((attachment.name, attachment.size, _digest(stored)))
    return (
        journal.reason,
        journal.effective_date,
        [
            (ln.position, ln.account_id, ln.side, ln.amount, ln.currency)
            for ln in journal.lines.order_by("position")
        ],
        files,
    )


def manual_journal_propose(
    *,
    proposer: User,
    reason: str,
    effective_date: date,
    lines: list[LineInput],
    attachments: list | None = None,
    idempotency_key: str,
    book: Customer | None = None,
) -> ManualJournal:
    """Record a proposed entry with its lines and attachments, in ``book`` (a resale sub-distributor's,
    None: the operator's; every line's account must be kept there); nothing is posted yet.

    Refuses (ValidationError naming the field or line) an entry without a reason, dated in the future,
    with a bad or unbalanced line, a line on an account documents keep (``lines.KEPT_KINDS``), or with an
    attachment too large or of the wrong type. The same ``idempotency_key`` with the same reason, date,
    lines and attachments returns the first proposal; with anything else it is refused (DESIGN §4.4).
    """
    _require(proposer, PROPOSER_ROLES, _("Only finance staff or an admin may propose a journal entry."))
    attachments = list(attachments or [])
    reason = (reason or "").strip()
    errors: dict[str, list[str]] = {}
    if not reason:
        errors["reason"] = [_("Say why the entry is needed: it stays on the record.")]
    if not isinstance(effective_date, date):
        errors["effective_date"] = [_("Enter the date the entry is posted as of.")]
    elif effective_date > timezone.localdate():
        errors["effective_date"] = [_("The effective date cannot be in the future.")]
    if not isinstance(idempotency_key, str) or not idempotency_key.strip() or len(idempotency_key) > 200:
        errors["idempotency_key"] = [_("An idempotency key (1–200 characters) is required.")]
    problems = lines_problems(lines, book=book.pk if book is not None else None)
    if problems:
        errors["lines"] = [message for _position, message in problems]
    try:
        attachments_check(attachments)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    reason = reason[:500]
    existing = ManualJournal.objects.filter(idempotency_key=idempotency_key).first()
    if existing is None:
        try:
            with transaction.atomic(durable=True):
                return _create(proposer, reason, effective_date, lines, attachments, idempotency_key)
        except IntegrityError:
            existing = ManualJournal.objects.filter(idempotency_key=idempotency_key).first()
            if existing is None:
                raise
    body = _body(reason, effective_date, lines, attachments)
    if existing.proposed_by_id != proposer.pk or _stored_body(existing) != body:
        raise ValidationError(
            {"idempotency_key": _("This idempotency key was already used for a different journal entry.")}
        )
    return existing


def _create(proposer, reason, effective_date, lines, attachments, idempotency_key) -> ManualJournal:
    journal = ManualJournal.objects.create(
        reason=reason, effective_date=effective_date, proposed_by=proposer, idempotency_key=idempotency_key
    )
    ManualJournalLine.objects.bulk_create(
        ManualJournalLine(
            journal=journal,
            position=ln.position,
            account=ln.account,
            side=ln.side,
            amount=ln.amount,
            currency=ln.currency,
        )
        for ln in lines
    )
    for upload in attachments:
        ManualJournalAttachment.objects.create(
            journal=journal, file=upload, name=upload.name[:200], size=upload.size, uploaded_by=proposer
        )
    return journal


def _lock_proposed(journal: ManualJournal, *, approver: User) -> ManualJournal:
    _require(approver, APPROVER_ROLES, _("Only an admin may approve or reject a journal entry."))
    journal = ManualJournal.objects.select_for_update().get(pk=journal.pk)
    if journal.proposed_by_id == approver.pk:
        raise PermissionDenied(_("The proposer of a journal entry cannot approve or reject it."))
    if journal.status != ManualJournal.Status.PROPOSED:
        raise ValidationError(
            _("This journal entry was already decided: %(status)s.")
            % {"status": journal.get_status_display()}
        )
    return journal


def manual_journal_approve(*, journal: ManualJournal, approver: User) -> ManualJournal:
    """Post a proposed entry as one ledger transaction and mark it approved; a second approval is refused,
    and so is an entry whose lines the rules of ``billing.journals.lines`` no longer accept (reject it)."""
    with transaction.atomic(durable=True):
        journal = _lock_proposed(journal, approver=approver)
        lines = list(journal.lines.select_related("account").order_by("position"))
        # The rules again: a proposal made before an account kind was refused must not post there now.
        problems = lines_problems(
            [LineInput(ln.position, ln.account, ln.side, ln.amount, ln.currency) for ln in lines]
        )
        if problems:
            raise ValidationError([message for _position, message in problems])
        entries = [
            (debit if ln.side == DEBIT else credit)(ln.account, ln.amount, ln.currency) for ln in lines
        ]
        try:
            posted = transaction_post(
                # Keyed by the proposal: whatever retries, one proposal posts one transaction.
                idempotency_key=f"journals.manual:{journal.pk}",
                kind=POSTING_KIND,
                lines=entries,
                memo=journal.reason,
                source=f"manual_journal:{journal.pk}",
                effective_date=journal.effective_date,
                actor=approver,
            )
        except LedgerError as exc:
            raise ValidationError(str(exc)) from exc
        journal.journal_transaction = posted
        journal.status = ManualJournal.Status.APPROVED
        journal.decided_by = approver
        journal.decided_at = timezone.now()
        journal.save(update_fields=["journal_transaction", "status", "decided_by", "decided_at"])
    return journal


def manual_journal_reject(*, journal: ManualJournal, approver: User, reason: str) -> ManualJournal:
    """Refuse a proposed entry with a reason; nothing is posted."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Say why the journal entry is rejected.")})
    with transaction.atomic(durable=True):
        journal = _lock_proposed(journal, approver=approver)
        journal.status = ManualJournal.Status.REJECTED
        journal.rejection_reason = reason[:500]
        journal.decided_by = approver
        journal.decided_at = timezone.now()
        journal.save(update_fields=["status", "rejection_reason", "decided_by", "decided_at"])
    return journal
