"""Vendor invoice totals per channel and month, as CSV:

``channel,number,kind,month,amount,currency,issued_on,due_on``

``kind`` is usage, prepayment or commitment; ``month`` YYYY-MM; ``due_on`` blank: the contract's payment
terms from ``issued_on``; ``channel`` blank or absent when the import is for one channel. Each row is
recorded through ``billing.upstream.bills.vendor_bill_record``, which posts the invoice and answers
"unchanged" for a number already recorded with the same figures; a number recorded with other figures is a
row error. A preview runs the same calls and rolls them back, so it shows exactly what applying would do.
"""

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from billing.upstream.bills import vendor_bill_record
from billing.upstream.imports import values
from billing.upstream.imports.resolve import ChannelFinder
from billing.upstream.imports.rows import FieldProblem, RowError, SourceRow
from billing.upstream.imports.source import csv_rows
from catalog.models import Channel

REQUIRED = ("number", "kind", "month", "amount", "currency", "issued_on")
OPTIONAL = ("channel", "due_on")
HEADER = "channel,number,kind,month,amount,currency,issued_on,due_on"


@dataclass
class BillRow:
    row: int
    channel_name: str
    number: str
    kind: str
    month: date
    amount: Decimal
    currency: str
    issued_on: date
    due_on: date | None


@dataclass
class PlannedBill:
    row: int
    channel: Channel
    number: str
    kind: str
    month: date
    amount: Decimal
    currency: str
    issued_on: date
    due_on: date | None
    outcome: str = ""


@dataclass
class BillPlan:
    rows_read: int = 0
    planned: list[PlannedBill] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)

    @property
    def rejected(self) -> int:
        return len({e.row for e in self.errors})

    def count(self, outcome: str) -> int:
        return sum(1 for p in self.planned if p.outcome == outcome)


def parse(content: bytes):
    rows = csv_rows(content, required=REQUIRED, optional=OPTIONAL, format_name="vendor invoice")
    return (_row(r.number, r.values, r.overflow) for r in rows)


def _row(number: int, record: dict, overflow: bool):
    try:
        if overflow:
            raise FieldProblem("row", _("The row has more cells than the header has columns."))
        amount = values.amount(record.get("amount"), "amount")
        if amount is None:
            raise FieldProblem("amount", _("amount is missing."))
        kind = record.get("kind", "").strip().lower()
        return BillRow(
            row=number,
            channel_name=values.text(record.get("channel"), "channel", max_length=120, required=False),
            number=values.text(record.get("number"), "number", max_length=120),
            kind=kind,
            month=values.month(record.get("month")),
            amount=amount,
            currency=values.currency(record.get("currency")),
            issued_on=values.day(record.get("issued_on"), "issued_on"),
            due_on=values.day(record["due_on"], "due_on") if record.get("due_on") else None,
        )
    except FieldProblem as problem:
        return RowError(number, problem.field, problem.message, "")


def bills_run(items, *, channel: Channel | None, preview: bool, source: str, user=None) -> BillPlan:
    """Record every good row (each in its own savepoint, so one refused invoice leaves the others); with
    ``preview`` everything is rolled back at the end."""
    plan = BillPlan()
    finder = ChannelFinder(channel)
    with transaction.atomic():
        for item in items:
            plan.rows_read += 1
            if isinstance(item, RowError):
                plan.errors.append(item)
                continue
            try:
                found = finder.find(
                    SourceRow(row=item.row, where="", model_name="", channel_name=item.channel_name)
                )
            except FieldProblem as problem:
                plan.errors.append(RowError(item.row, problem.field, problem.message, ""))
                continue
            planned = PlannedBill(
                row=item.row,
                channel=found,
                **{
                    k: getattr(item, k)
                    for k in ("number", "kind", "month", "amount", "currency", "issued_on", "due_on")
                },
            )
            try:
                with transaction.atomic():
                    _bill, planned.outcome = vendor_bill_record(
                        channel=found,
                        number=item.number,
                        kind=item.kind,
                        month=item.month,
                        amount=item.amount,
                        currency=item.currency,
                        issued_on=item.issued_on,
                        due_on=item.due_on,
                        source=source,
                        created_by=user,
                    )
            except ValidationError as exc:
                for name, messages in _fields(exc):
                    plan.errors.append(RowError(item.row, name, " ".join(messages), ""))
                continue
            plan.planned.append(planned)
        if preview:
            transaction.set_rollback(True)
    return plan


def _fields(exc: ValidationError) -> list[tuple[str, list[str]]]:
    if hasattr(exc, "error_dict"):
        return [
            (name, [str(m) for m in ValidationError(errors).messages])
            for name, errors in exc.error_dict.items()
        ]
    return [("row", exc.messages)]
