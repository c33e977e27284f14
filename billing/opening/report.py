"""An opening import as plain data: the command's JSON and text output (amounts as decimal strings)."""

from billing.money import money_text
from billing.opening.models import OpeningImport
from billing.opening.plan import Planned

Kind = OpeningImport.Kind


def _amount(planned: Planned) -> str | None:
    source = planned.source
    if source.amount is None:
        return None
    return money_text(source.amount, source.currency) if source.currency else str(source.amount)


def _day(value) -> str | None:
    return value.isoformat() if value else None


def planned_dict(planned: Planned, kind: str) -> dict:
    """One row of the file: what it says, what applying does with it, and what is wrong with it."""
    source = planned.source
    row = {"row": planned.row, "outcome": planned.outcome}
    if kind == Kind.UPSTREAM:
        row["channel"] = planned.channel.name if planned.channel else source.party
    else:
        row["customer"] = planned.customer.code if planned.customer else source.party
    row["document"] = source.document
    if kind == Kind.RECEIVABLES:
        row["issue_date"] = _day(source.on)
        row["due_date"] = _day(planned.due_date or source.due_date)
    else:
        row["date"] = _day(source.on)
    if kind == Kind.UPSTREAM:
        row["expires_on"] = _day(source.expires_on)
    row["amount"] = _amount(planned)
    row["currency"] = source.currency
    row["description"] = source.description
    row["errors"] = [{"field": e.field, "message": e.message} for e in planned.errors]
    return row


def import_dict(record: OpeningImport) -> dict:
    plan = getattr(record, "plan", None)
    errors = record.errors
    if plan is not None:
        errors = [{"row": e.row, "field": e.field, "message": e.message} for e in plan.errors]
    return {
        "import": record.pk,
        "kind": record.kind,
        "file": record.filename,
        "sha256": record.sha256,
        "state": record.state,
        "rows": record.rows,
        "created": record.created,
        "unchanged": record.unchanged,
        "rejected": record.rejected,
        "totals": record.totals,
        "items": [planned_dict(p, record.kind) for p in plan.rows] if plan is not None else [],
        "errors": errors,
    }


def text_line(item: dict) -> str:
    """One row of ``import_dict``'s items for the command's text output."""
    party = item.get("customer") or item.get("channel") or "?"
    if "issue_date" in item:
        dates = f"{item['issue_date']} due {item['due_date']}"
    else:
        dates = item["date"] or "?"
        if item.get("expires_on"):
            dates += f" expires {item['expires_on']}"
    return (
        f"  {item['outcome']:<9} row {item['row']}: {party} {item['document']} {dates} "
        f"{item['amount']} {item['currency']}"
    )
