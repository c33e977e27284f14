"""Preview and apply an opening-balance file: ``opening_import`` (the command and the upload page call it)
and ``opening_import_apply`` for a preview shown on the page.

All or nothing: a file with any row in error applies nothing, and says what is wrong with every row.
Each call is recorded as an ``OpeningImport``: *preview* (nothing written but the record and, so the page
can apply it later, the file), *applied*, or *refused* (the file could not be read, or it had errors when
applying was asked for). Applying is idempotent per document: the same file again finds every row
"already imported" and writes nothing.
"""

import hashlib
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import DataError, IntegrityError, transaction
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Customer
from billing.money import LEDGER_DIGITS, LEDGER_PLACES
from billing.opening.models import OpeningImport
from billing.opening.parse import rows_read
from billing.opening.plan import CREATED, UNCHANGED, Plan, plan_build
from billing.opening.writes import WRITERS
from billing.upstream.imports.rows import FileRefused, RowError
from catalog.models import Channel

State = OpeningImport.State
# A file of open items is a few thousand rows; beyond this it is not one (or should be split).
MAX_BYTES = 10 * 1024 * 1024
# Errors kept on the record (the page and the command show them all from the file while it is stored).
MAX_ERRORS_KEPT = 1000


def _stored_name(sha256: str) -> str:
    return f"opening-imports/{sha256}"


def _keep(content: bytes, sha256: str) -> None:
    """Store the file of a preview (to apply it from the page) or of an applied import (to show its rows)."""
    name = _stored_name(sha256)
    if not default_storage.exists(name):
        default_storage.save(name, ContentFile(content))


def _refuse_binary(content: bytes) -> None:
    """Refuse a file that is not text before reading it as CSV, saying what it looks like."""
    if content.startswith(b"PK\x03\x04") or content.startswith(b"\xd0\xcf\x11\xe0"):
        raise FileRefused(
            _(
                "This is an Excel workbook, not a CSV file: in Excel choose Save As, “CSV UTF-8”, and "
                "import that."
            )
        )
    if b"\x00" in content[:4096]:
        raise FileRefused(_("The file is binary or UTF-16, not CSV text: save it as “CSV UTF-8”."))


def plan_of(content: bytes, kind: str) -> Plan:
    """The plan of ``content`` read as a file of ``kind``; ``FileRefused`` when the file cannot be read."""
    if len(content) > MAX_BYTES:
        raise FileRefused(
            _("The file is %(size)s; an import takes at most %(limit)s: split it.")
            % {"size": filesizeformat(len(content)), "limit": filesizeformat(MAX_BYTES)}
        )
    if not content.strip():
        raise FileRefused(_("The file is empty."))
    _refuse_binary(content)
    rows = list(rows_read(content, kind))
    if not rows:
        raise FileRefused(_("The file has its header but no rows."))
    return plan_build(kind, rows)


def _counts(record: OpeningImport, plan: Plan) -> None:
    record.rows = len(plan.rows)
    errors = plan.errors
    record.rejected = len({e.row for e in errors})
    # Nothing is applied while any row is in error, so none is counted new then.
    record.created = 0 if errors else plan.count(CREATED)
    record.unchanged = plan.count(UNCHANGED)
    record.totals = plan.totals()
    record.errors = [_error_dict(e) for e in errors[:MAX_ERRORS_KEPT]]


def _error_dict(error: RowError) -> dict:
    return {"row": error.row, "field": error.field, "message": error.message}


def _refused(record: OpeningImport, refused: FileRefused) -> OpeningImport:
    record.state = State.REFUSED
    record.errors = [{"row": 0, "field": "file", "message": refused.message}]
    record.save()
    record.plan = None
    return record


def opening_import(*, content: bytes, filename: str, kind: str, apply: bool, user=None) -> OpeningImport:
    """Read ``content`` as a file of ``kind``; preview it (``apply`` False) or apply it; return the record.

    The record carries ``plan`` (not stored; None when the file was refused): every row with its
    outcome. Applying with any row in error applies nothing and records the import as refused.
    """
    if kind not in OpeningImport.Kind.values:
        raise ValidationError(
            {
                "kind": _("Unknown kind %(kind)s: use one of %(kinds)s.")
                % {"kind": kind, "kinds": ", ".join(OpeningImport.Kind.values)}
            }
        )
    record = OpeningImport(
        kind=kind,
        filename=(filename or "upload")[:255],
        sha256=hashlib.sha256(content).hexdigest(),
        created_by=user,
    )
    try:
        plan = plan_of(content, kind)
    except FileRefused as refused:
        return _refused(record, refused)
    if not apply:
        _counts(record, plan)
        record.state = State.PREVIEW
        _keep(content, record.sha256)
        record.save()
        record.plan = plan
        return record
    if plan.errors:
        _counts(record, plan)
        record.state = State.REFUSED
        record.save()
        record.plan = plan
        return record
    record.save()
    try:
        applied = _apply(record, content, digest=None, actor=user)
    except ValidationError as exc:
        record.state = State.REFUSED
        record.errors = [{"row": 0, "field": "file", "message": message} for message in exc.messages]
        record.save(update_fields=["state", "errors"])
        record.plan = None
        return record
    if applied.state == State.APPLIED:
        _keep(content, applied.sha256)
    return applied


def _lock_parties(plan: Plan) -> None:
    """Lock the customers or channels the rows are for, in id order, so two applies of overlapping files
    queue and the second finds the first's rows imported."""
    customers = sorted({p.customer.pk for p in plan.rows if p.customer is not None})
    channels = sorted({p.channel.pk for p in plan.rows if p.channel is not None})
    if customers:
        list(Customer.objects.select_for_update().filter(pk__in=customers).order_by("pk").values_list("pk"))
    if channels:
        list(Channel.objects.select_for_update().filter(pk__in=channels).order_by("pk").values_list("pk"))


def _apply(record: OpeningImport, content: bytes, *, digest: str | None, actor) -> OpeningImport:
    """Plan ``content`` again under lock and, when it is free of errors (and, from the page, what the
    person previewed), write it all in one transaction."""
    try:
        with transaction.atomic(durable=True):
            locked = OpeningImport.objects.select_for_update().get(pk=record.pk)
            if locked.state != State.PREVIEW:
                raise ValidationError(
                    _("This import is %(state)s already: upload the file again to import it anew.")
                    % {"state": locked.get_state_display().lower()}
                )
            plan = plan_of(content, locked.kind)
            _lock_parties(plan)
            plan = plan_of(content, locked.kind)  # against what is stored now that nobody else can write it
            _counts(locked, plan)
            if plan.errors:
                locked.state = State.REFUSED
                locked.save()
                locked.plan = plan
                return locked
            if digest is not None and digest != plan.digest():
                raise ValidationError(
                    _(
                        "What applying would do has changed since the preview (another import or a change "
                        "to a customer or channel): check the preview below and apply again."
                    )
                )
            WRITERS[locked.kind](plan, locked, actor=actor)
            locked.state = State.APPLIED
            locked.applied_at = timezone.now()
            locked.save()
    except FileRefused as refused:
        raise ValidationError(refused.message) from None
    except IntegrityError:
        # A document written by someone else between the check and the write (an invoice numbered as an
        # old document): nothing of this file was written.
        raise ValidationError(
            _("Another change wrote one of these documents at the same time; nothing was applied: try again.")
        ) from None
    except (DataError, InvalidOperation):
        # The plan keeps each file below parse.AMOUNT_LIMIT per account; what is stored already can still take
        # a balance past the ledger's columns. Nothing of the file was written (the transaction rolled
        # back): record the refusal, and say it, instead of failing the request. PostgreSQL says DataError;
        # SQLite (the demo) stores the sum and fails reading it back as a Decimal of too many digits.
        message = _(
            "The amounts are more than the ledger can hold: with what is stored already, an account's "
            "balance would reach %(limit)s or more. Nothing was applied."
        ) % {"limit": f"{Decimal(10) ** (LEDGER_DIGITS - LEDGER_PLACES):,}"}
        OpeningImport.objects.filter(pk=record.pk).update(
            state=State.REFUSED, errors=[{"row": 0, "field": "file", "message": message}]
        )
        raise ValidationError(message) from None
    locked.plan = plan
    return locked


def stored_content(record: OpeningImport) -> bytes:
    """The file of an import, as uploaded; ValidationError when it is gone or no longer that file."""
    name = _stored_name(record.sha256)
    if not default_storage.exists(name):
        raise ValidationError(_("The file is no longer stored: upload it again to preview and apply it."))
    with default_storage.open(name, "rb") as handle:
        content = handle.read()
    if hashlib.sha256(content).hexdigest() != record.sha256:
        raise ValidationError(_("The stored file has changed since the preview: upload it again."))
    return content


def opening_import_preview(record: OpeningImport) -> Plan:
    """The plan of a stored import's file against what is stored now (nothing is written)."""
    content = stored_content(record)
    try:
        return plan_of(content, record.kind)
    except FileRefused as refused:
        raise ValidationError(refused.message) from None


def opening_import_apply(record: OpeningImport, *, digest: str, user=None) -> OpeningImport:
    """Apply a previewed import when its file and what applying would do are still what ``digest`` (the
    preview's ``Plan.digest``) says; refused (recorded so) when a row is in error now."""
    if record.state != State.PREVIEW:
        raise ValidationError(
            _("This import is %(state)s already: upload the file again to import it anew.")
            % {"state": record.get_state_display().lower()}
        )
    content = stored_content(record)
    return _apply(record, content, digest=digest, actor=user)
