"""COPY text of the bulk path: an event's own columns as the producer writes them, and the writer's cuts
of a spooled slice (the byte ranges to send, the lines to send again with new sales)."""

import json
from array import array
from dataclasses import dataclass

import orjson

from billing.money import copy_escape
from billing.usage.bulk.sql import SELL_FIELDS
from billing.usage.events import CanonicalEvent

NULL = "\\N"
# One encoder for every row (json.dumps would build one per call); same output as json.dumps(default=str).
_encode_metadata = json.JSONEncoder(default=str).encode
ORJSON_OPTIONS = (
    orjson.OPT_NON_STR_KEYS
    | orjson.OPT_PASSTHROUGH_DATETIME
    | orjson.OPT_PASSTHROUGH_SUBCLASS
    | orjson.OPT_PASSTHROUGH_DATACLASS
)


def message_text(message: dict) -> str:
    """An unrated event's stored message (``Rated.message``) as the COPY text of its json column."""
    return copy_escape(orjson.dumps(message).decode())


def event_head(event: CanonicalEvent, source_id: int) -> str:
    """The COPY text of an event's own columns (HEAD_COLUMNS), tab-terminated; the rating part follows."""
    cost = event.gateway_cost
    return (
        f"{source_id}\t{copy_escape(event.request_id)}\t{event.occurred_at.isoformat()}\t"
        f"{copy_escape(event.model)}\t{copy_escape(event.upstream_account)}\t{event.prompt_tokens}\t"
        f"{event.cache_read_tokens}\t{event.cache_write_tokens}\t{event.cache_write_1h_tokens}\t"
        f"{event.completion_tokens}\t{event.reasoning_tokens}\t{'t' if event.batch else 'f'}\t"
        f"{'t' if event.succeeded else 'f'}\t{NULL if cost is None else cost}\t"
        f"{copy_escape(event.gateway_cost_currency)}\t{copy_escape(metadata_text(event.metadata))}\t"
        f"{event.audio_prompt_tokens}\t{event.audio_completion_tokens}\t{event.images}\t{event.audio_ms}\t"
        f"{copy_escape(event.service_tier)}\t"
    )


def metadata_text(metadata: dict) -> str:
    """The metadata as JSON text (orjson, or the reference encoder for what orjson refuses)."""
    if not metadata:
        return "{}"
    try:
        # Same JSON value as the reference encoder (the spacing differs; the value is what is kept):
        # datetimes, str/int subclasses and dataclasses go through default=str as they do there.
        return orjson.dumps(metadata, default=str, option=ORJSON_OPTIONS).decode()
    except (TypeError, orjson.JSONEncodeError):
        return _encode_metadata(metadata)


@dataclass
class Lines:
    """What the writer needs to know of a slice's wide lines, in line order (compact: arrays of ints)."""

    ends: array  # offset just past each line's newline
    customers: array  # the line's customer id, 0 for none

    def span(self, i: int) -> tuple[int, int]:
        return (self.ends[i - 1] if i else 0), self.ends[i]


def runs(lines: Lines, skip: list[int]) -> list[tuple[int, int]]:
    """The byte ranges of a slice's wide text that hold every line but those at ``skip`` (ascending)."""
    runs, start = [], 0
    for i in skip:
        first, after = lines.span(i)
        if first > start:
            runs.append((start, first))
        start = after
    if start < lines.ends[-1]:
        runs.append((start, lines.ends[-1]))
    return runs


def lines_only(text: bytes, lines: Lines, only: list[int], sales: dict[int, tuple], base: int) -> bytes:
    """The lines at ``only`` (ascending) of a slice's wide COPY text, each with the sale a token allowance
    gave it (``sales`` by line number in the chunk, the slice's first being ``base``: plan, amount,
    currency and time-of-day window as stored in the stage)."""
    kept = []
    for i in only:
        first, after = lines.span(i)
        line = text[first:after]
        sale = sales.get(base + i)
        if sale is not None:
            plan, amount, currency, window = sale
            fields = line[:-1].split(b"\t")
            values = (copy_escape(plan), NULL if amount is None else amount, currency, copy_escape(window))
            for field, value in zip(SELL_FIELDS, values, strict=True):
                fields[field] = str(value).encode()
            line = b"\t".join(fields) + b"\n"
        kept.append(line)
    return b"".join(kept)
