"""An import's outcome as plain data: for the command's text and JSON output and the page's table."""

from datetime import UTC, datetime
from decimal import Decimal

from django.contrib.humanize.templatetags.humanize import intcomma
from django.utils.translation import gettext as _

from billing.upstream.imports.plan import PlannedUsage
from billing.upstream.imports.vendor_bills import PlannedBill
from billing.upstream.models import UpstreamImport, VendorUsage


def _plain(value):
    if value is None or isinstance(value, bool | int | str):
        return value
    return str(value)


def planned_dict(planned: PlannedUsage | PlannedBill) -> dict:
    """One stored (or to be stored) row: its key, figures, outcome and, when changed, old and new."""
    if isinstance(planned, PlannedBill):
        return {
            "outcome": planned.outcome,
            "row": planned.row,
            "channel": planned.channel.name,
            "number": planned.number,
            "kind": planned.kind,
            "month": planned.month.strftime("%Y-%m"),
            "amount": str(planned.amount),
            "currency": planned.currency,
            "issued_on": planned.issued_on.isoformat(),
            "due_on": planned.due_on.isoformat() if planned.due_on else None,
        }
    return {
        "outcome": planned.outcome,
        "rows": planned.rows,
        "channel": planned.channel.name,
        "day": planned.day.isoformat(),
        "starts_at": planned.starts_at.isoformat(),
        "ends_at": planned.ends_at.isoformat(),
        "model": planned.model_name,
        "reported_as": planned.reported,
        "catalog_model": planned.model.name if planned.model else None,
        "batch": planned.is_batch,
        **planned.counts,
        "cost": _plain(planned.cost),
        "currency": planned.currency,
        "has_cache_counts": planned.has_cache_counts,
        "changes": {name: [_plain(old), _plain(new)] for name, (old, new) in planned.changes.items()},
    }


def import_dict(record: UpstreamImport) -> dict:
    plan = getattr(record, "plan", None)
    return {
        "import": record.pk,
        "format": record.fmt,
        "file": record.filename,
        "state": record.state,
        "rows": record.rows,
        "created": record.created,
        "changed": record.updated,
        "unchanged": record.unchanged,
        "rejected": record.rejected,
        "stored": [planned_dict(p) for p in plan.planned] if plan else [],
        "errors": record.errors,
    }


# The counts the command's text output shows per row (all of them are in its JSON output).
TEXT_COUNTS = ("requests", "input_tokens", "cache_read_tokens", "cache_write_tokens", "output_tokens")


def _shown(name: str, value, planned: PlannedUsage) -> str:
    if value is None or value == "":
        return "—"
    if name == "model_id":
        stored = planned.existing.model if planned.existing is not None else None
        return next((m.name for m in (planned.model, stored) if m is not None and m.pk == value), str(value))
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, int):
        return intcomma(value)
    return str(value)


def changes_shown(planned: PlannedUsage) -> list[tuple[str, str, str]]:
    """A changed row's differences for people: (field label, stored, imported)."""
    shown = []
    for name, (old, new) in planned.changes.items():
        label = VendorUsage._meta.get_field(name.removesuffix("_id")).verbose_name
        shown.append((str(label), _shown(name, old, planned), _shown(name, new, planned)))
    return shown
