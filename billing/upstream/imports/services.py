"""Preview and apply a vendor usage or invoice file: ``upstream_import`` (the page and
``manage.py import_upstream`` both call it), ``upstream_import_apply`` for a stored preview.

Every call records an ``UpstreamImport`` with its counts and row errors: *preview* (nothing stored but the
record and, for applying later, the file), *applied*, or *failed* (the file as a whole could not be read:
nothing imported). Good rows are kept when others are bad. Applying is idempotent: the same file again
finds every row "unchanged" and writes nothing.

Counts: ``rows`` and ``rejected`` are the file's rows (results of a JSON file); ``created``, ``updated``
and ``unchanged`` are the stored rows they sum into (vendor usage rows, or invoices).
"""

import hashlib

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.translation import gettext as _

from billing.upstream.imports import anthropic_usage, generic, openai_usage, openrouter_activity, vendor_bills
from billing.upstream.imports.plan import (
    CHANGED,
    CREATED,
    FIGURES,
    UNCHANGED,
    UsagePlan,
    usage_compare,
    usage_plan,
)
from billing.upstream.imports.rows import FileRefused, RowError
from billing.upstream.models import UpstreamImport, VendorUsage
from catalog.models import Channel

Format = UpstreamImport.Format
PARSERS = {
    Format.OPENAI_USAGE: openai_usage.parse,
    Format.ANTHROPIC_USAGE: anthropic_usage.parse,
    Format.OPENROUTER_ACTIVITY: openrouter_activity.parse,
    Format.GENERIC: generic.parse,
}
# Errors kept on the record (a file of a million bad rows must not make a row the size of the file).
MAX_ERRORS_KEPT = 500


def _stored_name(sha256: str) -> str:
    return f"upstream-imports/{sha256}"


def upstream_import(
    *,
    content: bytes,
    filename: str,
    fmt: str,
    channel: Channel | None = None,
    preview: bool = False,
    user=None,
) -> UpstreamImport:
    """Read ``content`` as ``fmt`` and preview or apply it; return the recorded import.

    The returned record carries ``plan`` (not stored): the rows it would store or stored, each with its
    outcome and, when changed, the stored and the imported figures."""
    if fmt not in Format.values:
        raise ValidationError(
            {
                "fmt": _("Unknown format %(fmt)s: use one of %(formats)s.")
                % {"fmt": fmt, "formats": ", ".join(Format.values)}
            }
        )
    record = UpstreamImport(
        fmt=fmt,
        channel=channel,
        filename=(filename or "upload")[:255],
        sha256=hashlib.sha256(content).hexdigest(),
        created_by=user,
    )
    limit = settings.UPSTREAM_IMPORT_MAX_BYTES
    try:
        if len(content) > limit:
            raise FileRefused(
                _("The file is %(size)s; an import takes at most %(limit)s: split it by month.")
                % {"size": filesizeformat(len(content)), "limit": filesizeformat(limit)}
            )
        if not content.strip():
            raise FileRefused(_("The file is empty."))
        return _run(record, content, preview=preview)
    except FileRefused as refused:
        record.state = UpstreamImport.State.FAILED
        record.errors = [RowError(0, "file", refused.message).as_dict()]
        record.save()
        record.plan = None
        return record


def _run(record: UpstreamImport, content: bytes, *, preview: bool) -> UpstreamImport:
    if record.fmt == Format.VENDOR_BILLS:
        plan = vendor_bills.bills_run(
            vendor_bills.parse(content),
            channel=record.channel,
            preview=preview,
            source=_("import %(file)s") % {"file": record.filename},
            user=record.created_by,
        )
        _counts(record, plan, updated=0)
        _finish(record, content, preview=preview)
        record.plan = plan
        return record
    plan = usage_plan(PARSERS[record.fmt](content), channel=record.channel)
    if preview:
        _counts(record, plan, updated=plan.count(CHANGED))
        _finish(record, content, preview=True)
    else:
        with transaction.atomic():
            _usage_write(record, plan)
    record.plan = plan
    return record


def _counts(record: UpstreamImport, plan, *, updated: int) -> None:
    record.rows = plan.rows_read
    record.created = plan.count(CREATED)
    record.updated = updated
    record.unchanged = plan.count(UNCHANGED)
    record.rejected = plan.rejected
    record.errors = [e.as_dict() for e in plan.errors[:MAX_ERRORS_KEPT]]


def _finish(record: UpstreamImport, content: bytes, *, preview: bool) -> None:
    if preview:
        record.state = UpstreamImport.State.PREVIEW
        # Kept so the preview can be applied from the page without uploading it again.
        name = _stored_name(record.sha256)
        if not default_storage.exists(name):
            default_storage.save(name, ContentFile(content))
    else:
        record.state = UpstreamImport.State.APPLIED
        record.applied_at = timezone.now()
    record.save()


def _usage_write(record: UpstreamImport, plan: UsagePlan) -> None:
    """Store the plan's new and changed rows; the caller's transaction makes it all or nothing."""
    channel_ids = sorted({p.channel.pk for p in plan.planned})
    # One importer per channel at a time, so two imports of the same day cannot both create its row; the
    # comparison is made again under the lock, against what is stored now.
    list(Channel.objects.select_for_update().filter(pk__in=channel_ids).order_by("pk").values_list("pk"))
    usage_compare(plan)
    _counts(record, plan, updated=plan.count(CHANGED))
    record.state = UpstreamImport.State.APPLIED
    record.applied_at = timezone.now()
    record.save()
    now = timezone.now()
    new = []
    changed = []
    for planned in plan.planned:
        figures = planned.figures()
        if planned.outcome == CREATED:
            new.append(
                VendorUsage(
                    channel=planned.channel,
                    day=planned.day,
                    model_name=planned.model_name,
                    is_batch=planned.is_batch,
                    vendor_key=planned.vendor_key,
                    source_import=record,
                    **figures,
                )
            )
        elif planned.outcome == CHANGED:
            row = planned.existing
            for name, value in figures.items():
                setattr(row, name, value)
            row.source_import = record
            row.updated_at = now
            changed.append(row)
    VendorUsage.objects.bulk_create(new, batch_size=1000)
    fields = [name.removesuffix("_id") for name in FIGURES]
    VendorUsage.objects.bulk_update(changed, [*fields, "source_import", "updated_at"], batch_size=1000)


def stored_content(record: UpstreamImport) -> bytes:
    """The file of a previewed import, as uploaded."""
    name = _stored_name(record.sha256)
    if not default_storage.exists(name):
        raise ValidationError(
            _("The previewed file is no longer stored: upload it again to preview and apply it.")
        )
    with default_storage.open(name, "rb") as handle:
        return handle.read()


def upstream_import_preview(record: UpstreamImport):
    """The plan of a previewed import, computed again against what is stored now (nothing is written)."""
    content = stored_content(record)
    try:
        if record.fmt == Format.VENDOR_BILLS:
            return vendor_bills.bills_run(
                vendor_bills.parse(content), channel=record.channel, preview=True, source=record.filename
            )
        return usage_plan(PARSERS[record.fmt](content), channel=record.channel)
    except FileRefused as refused:
        raise ValidationError(refused.message) from None


def upstream_import_apply(record: UpstreamImport, *, user=None) -> UpstreamImport:
    """Apply a previewed import to what is stored now; a second apply of it is refused."""
    content = stored_content(record)
    with transaction.atomic():
        locked = UpstreamImport.objects.select_for_update().get(pk=record.pk)
        if locked.state != UpstreamImport.State.PREVIEW:
            raise ValidationError(
                _("This import is %(state)s already: upload the file again to import it anew.")
                % {"state": locked.get_state_display().lower()}
            )
        locked.created_by = locked.created_by or user
        try:
            return _run(locked, content, preview=False)
        except FileRefused as refused:
            raise ValidationError(refused.message) from None
