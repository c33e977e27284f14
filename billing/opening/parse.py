"""Read an opening-balance CSV file into rows of typed values, each with the problems of its fields.

Parsing knows the columns of each kind and how to read a value; it does not know customers, channels or
what is stored (``plan`` does). A file that cannot be read as a whole (empty, binary, not UTF-8 or GB 18030,
a missing or unknown column, too large) raises ``FileRefused``; a value that cannot be read is a
``RowError`` on its row and field, and the other fields of the row are still read, so one pass reports
everything wrong with the file.
"""

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation

from django.utils.translation import gettext as _

from billing.opening.models import OpeningImport
from billing.upstream.imports import values
from billing.upstream.imports.rows import FieldProblem, FileRefused, RowError
from billing.upstream.imports.source import csv_rows

Kind = OpeningImport.Kind

# The columns of each kind: required, then optional. A file's header must name every required column and
# nothing else (a misspelt column must not be silently ignored).
COLUMNS = {
    Kind.RECEIVABLES: (
        ("customer", "document", "issue_date", "due_date", "amount", "currency"),
        ("description",),
    ),
    Kind.DEPOSITS: (("customer", "document", "date", "amount", "currency"), ("description",)),
    Kind.UPSTREAM: (("channel", "document", "date", "amount", "currency"), ("expires_on", "description")),
}
# An opening file is one distributor's open items, not a usage export: beyond these it is a mistake (or
# should be split), and one apply must stay one reasonable database transaction and page request (5,000
# receivables apply in about 15 seconds).
MAX_ROWS = 10000
# The longest old document number kept: an opening invoice's number column holds 60 characters.
DOCUMENT_LENGTH = 60
DESCRIPTION_LENGTH = 300
# Amounts of this many digits before the point are typos, not balances: an opening balance (and what one
# file brings to one account) stays below 10**15, a tenth of what a ledger balance holds (16 digits before
# the point, ``billing.money.LEDGER_FIELD``), so what is stored already and what comes later still fit.
AMOUNT_DIGITS = 15
AMOUNT_LIMIT = Decimal(10) ** AMOUNT_DIGITS
# With thousands separators, digits in groups of three: "1,234.50". Anything else with a comma ("1,2,3.4",
# a decimal comma "1234,50") is refused, never guessed at.
GROUPED = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d*)?", re.ASCII)


def limit_text() -> str:
    """The limit of an opening amount as the errors say it: 1,000,000,000,000,000."""
    return f"{AMOUNT_LIMIT:,}"


def header_of(kind: str) -> str:
    """The header line of a file of ``kind``, as the upload page shows it."""
    required, optional = COLUMNS[kind]
    return ",".join((*required, *optional))


@dataclass
class SourceRow:
    """One data row as read: ``row`` is its line as a spreadsheet numbers it (the header is line 1).

    Values that could not be read are None (or blank) and have a ``RowError`` in ``errors``; ``cells``
    keeps the row's text so a row in error can still be shown as it was written."""

    row: int
    cells: dict[str, str]
    party: str = ""  # the customer code or the channel's name (or id), as written
    document: str = ""
    on: date | None = None  # issue date (receivables) or the balance's date
    due_date: date | None = None
    expires_on: date | None = None
    amount: Decimal | None = None
    currency: str = ""
    description: str = ""
    errors: list[RowError] = field(default_factory=list)

    def problem(self, field_name: str, message: str) -> None:
        self.errors.append(RowError(self.row, field_name, message))


def _amount(text: str) -> Decimal:
    """A positive decimal amount written as 1234.5 or 1,234.50 (no currency sign, no exponent)."""
    cleaned = text.strip()
    if not cleaned:
        raise FieldProblem("amount", _("amount is missing."))
    if "," in cleaned:
        if not GROUPED.fullmatch(cleaned):
            raise FieldProblem(
                "amount",
                _(
                    "amount %(value)s has a comma out of place: write 1234.50, or with thousands separators "
                    "1,234.50 (groups of three digits)."
                )
                % {"value": repr(text)},
            )
        cleaned = cleaned.replace(",", "")
    try:
        parsed = Decimal(cleaned)
    except InvalidOperation:
        parsed = None
    if parsed is None or not parsed.is_finite() or "e" in cleaned.lower():
        raise FieldProblem(
            "amount",
            _("amount must be a decimal number such as 1234.50, not %(value)s.") % {"value": repr(text)},
        )
    if parsed <= 0:
        raise FieldProblem(
            "amount",
            _("amount must be greater than zero, not %(value)s: an opening balance is what is owed or held.")
            % {"value": text.strip()},
        )
    if parsed >= AMOUNT_LIMIT:
        raise FieldProblem(
            "amount",
            _("amount %(value)s is too large: an opening balance must be below %(limit)s.")
            % {"value": text.strip(), "limit": limit_text()},
        )
    return parsed


def _date(row: SourceRow, name: str, *, required: bool = True) -> date | None:
    text = row.cells.get(name, "")
    if not text.strip():
        if required:
            row.problem(name, _("%(field)s is missing: enter a date as YYYY-MM-DD.") % {"field": name})
        return None
    try:
        return values.day(text, name)
    except FieldProblem as problem:
        row.problem(problem.field, problem.message)
        return None


def _read(row: SourceRow, kind: str) -> None:
    cells = row.cells
    party = "channel" if kind == Kind.UPSTREAM else "customer"
    for name, length, attribute in (
        (party, 200, "party"),
        ("document", DOCUMENT_LENGTH, "document"),
        ("description", DESCRIPTION_LENGTH, "description"),
    ):
        try:
            value = values.text(cells.get(name, ""), name, max_length=length, required=name != "description")
        except FieldProblem as problem:
            row.problem(problem.field, problem.message)
        else:
            setattr(row, attribute, value)
    if kind == Kind.RECEIVABLES:
        row.on = _date(row, "issue_date")
        # Blank: due by the customer's payment terms from the issue date (``plan``).
        row.due_date = _date(row, "due_date", required=False)
        if row.on and row.due_date and row.due_date < row.on:
            row.problem(
                "due_date",
                _("due_date %(due)s is before issue_date %(issued)s.")
                % {"due": row.due_date.isoformat(), "issued": row.on.isoformat()},
            )
    else:
        row.on = _date(row, "date")
    if kind == Kind.UPSTREAM:
        row.expires_on = _date(row, "expires_on", required=False)
        if row.on and row.expires_on and row.expires_on <= row.on:
            row.problem(
                "expires_on",
                _("expires_on %(expires)s is not after date %(on)s: the balance would have expired already.")
                % {"expires": row.expires_on.isoformat(), "on": row.on.isoformat()},
            )
    try:
        row.currency = values.currency(cells.get("currency", ""))
    except FieldProblem as problem:
        row.problem(problem.field, problem.message)
    try:
        row.amount = _amount(cells.get("amount", ""))
    except FieldProblem as problem:
        row.problem(problem.field, problem.message)


def _format_name(kind: str) -> str:
    """The kind as the header check says it: "Wrong header for a … file"."""
    return {
        Kind.RECEIVABLES: _("receivables"),
        Kind.DEPOSITS: _("deposits"),
        Kind.UPSTREAM: _("prepaid upstream"),
    }[kind]


def rows_read(content: bytes, kind: str) -> Iterator[SourceRow]:
    """Yield every non-blank data row of ``content`` read as a file of ``kind``; ``FileRefused`` when the
    file as a whole cannot be read (raised before the first row for a bad header)."""
    if kind not in COLUMNS:
        raise FileRefused(
            _("Unknown kind %(kind)s: use one of %(kinds)s.") % {"kind": kind, "kinds": ", ".join(COLUMNS)}
        )
    required, optional = COLUMNS[kind]
    records = csv_rows(content, required=required, optional=optional, format_name=_format_name(kind))
    for count, record in enumerate(records, start=1):
        if count > MAX_ROWS:
            raise FileRefused(
                _("The file has more than %(max)s rows: split it (by customer, say) and import each part.")
                % {"max": f"{MAX_ROWS:,}"}
            )
        row = SourceRow(record.number, record.values)
        if record.overflow:
            row.problem("row", _("The row has more cells than the header has columns."))
        _read(row, kind)
        yield row
