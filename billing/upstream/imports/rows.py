"""The shared shape every usage format is parsed into, and the errors a file or a row can have.

A parser knows the vendor's file; it does not know our channels or the database. It yields one
``SourceRow`` per vendor record (a result of a bucket, a CSV line) with the vendor's figures already mapped
to our token classes, or a ``RowError`` naming the row and field it could not read.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

# Our token classes and counts, as ``VendorUsage`` stores them (input is *uncached* input; output includes
# reasoning). A parser fills them; ``plan`` sums them per stored row.
COUNTS = (
    "requests",
    "input_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "cache_write_1h_tokens",
    "output_tokens",
    "reasoning_tokens",
)


class FileRefused(Exception):
    """The file as a whole cannot be read (shape, header, encoding, size): nothing in it is imported."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class FieldProblem(Exception):
    """One value of a row cannot be read; the parser turns it into a ``RowError`` for its row."""

    def __init__(self, field_name: str, message: str):
        super().__init__(message)
        self.field = field_name
        self.message = message


@dataclass(frozen=True)
class RowError:
    """What is wrong with one row: ``row`` is the line of a CSV file as a spreadsheet numbers it (the
    header is line 1), or the result's position in a JSON file counted from 1 across all its buckets;
    ``where`` says it in words (e.g. "bucket 2026-11-03T00:00:00Z, result 2")."""

    row: int
    field: str
    message: str
    where: str = ""
    # What the row is about (channel, day, model), when that much could be read: the other rows summed
    # under the same key are then withheld too, as a partial sum would understate the vendor's figure.
    identity: "SourceRow | None" = field(default=None, compare=False)

    def as_dict(self) -> dict:
        return {"row": self.row, "field": self.field, "message": self.message, "where": self.where}


@dataclass
class SourceRow:
    """One vendor record, mapped to our token classes, before its channel, model and day are resolved.

    Time is either a vendor ``day`` (a date, in ``zone`` when the file says, else the channel's reporting
    zone) or a bucket ``window`` of UTC instants ``[start, end)`` that ``plan`` places in a day of the
    channel's reporting zone."""

    row: int
    where: str
    model_name: str
    day: date | None = None
    zone: str = ""
    window: tuple[datetime, datetime] | None = None
    channel_name: str = ""  # a channel name or alias the file names (the generic CSV's column)
    key_id: str = ""  # the vendor's id of the API key (OpenAI/Anthropic api_key_id)
    is_batch: bool = False
    requests: int = 0
    input_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    cache_write_1h_tokens: int = 0
    output_tokens: int = 0
    reasoning_tokens: int = 0
    cost: Decimal | None = None
    currency: str = ""
    has_cache_counts: bool = True
    extra: dict = field(default_factory=dict)


@dataclass
class ParsedFile:
    """What a parser read: the rows and row errors in file order, and for bucket formats every bucket's
    window (empty buckets included: they show which hours the file covers)."""

    items: list  # SourceRow | RowError, or an iterator of them for CSV files
    buckets: list[tuple[datetime, datetime]] = field(default_factory=list)


def identity_of(build: Callable[..., SourceRow], *args, **kwargs) -> SourceRow | None:
    """The row's identity as ``build(*args, **kwargs)`` reads it, or None when even that cannot be read."""
    try:
        return build(*args, **kwargs)
    except FieldProblem:
        return None
