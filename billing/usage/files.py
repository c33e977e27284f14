"""Read usage files of any size as a stream of records, and feed them through the pipeline.

CSV (new-api export, or generic columns), NDJSON, or a JSON array (read whole: keep those small). On
PostgreSQL files go through the bulk path (``bulk.bulk_ingest``: COPY, chunks of 100,000); elsewhere in
batches of ``FILE_BATCH`` through ``usage_batch_ingest``. Memory stays bounded whatever the file size.
"""

import contextlib
import csv
import io
import json
from collections.abc import Callable, Iterable, Iterator
from decimal import Decimal
from itertools import islice

import msgspec
from django.db import connection

from billing.usage.bulk import bulk_ingest
from billing.usage.models import GatewaySource
from billing.usage.services import BatchResult, usage_batch_ingest

FILE_BATCH = 5000


def _sniff(stream: io.BufferedReader) -> str:
    head = stream.peek(64)[:64].lstrip()
    if head.startswith(b"\xef\xbb\xbf"):
        head = head[3:].lstrip()
    if head[:1] == b"[":
        return "array"
    if head[:1] == b"{":
        return "ndjson"
    return "csv"


def records_iter(binary) -> Iterator:
    """Yield records (dicts) from a binary file object, detecting CSV / NDJSON / JSON array."""
    stream = binary if isinstance(binary, io.BufferedReader) else io.BufferedReader(binary)
    kind = _sniff(stream)
    if kind == "ndjson":
        yield from ndjson_records(stream)
        return
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")
    if kind == "array":
        yield from json.load(text, parse_float=Decimal)
    else:
        for row in csv.DictReader(text):
            yield _csv_row(row)


_DECODER = json.JSONDecoder(parse_float=Decimal)
# The same records as _DECODER (floats as exact Decimals from their text, ints of any size, the last of a
# repeated key) several times faster, in C: tests/billing/usage/test_bulk.py compares the two line by line.
_FAST_DECODER = msgspec.json.Decoder(float_hook=Decimal)
# What the reference decoder refuses with (its int-size limit, its nesting depth, and Decimal's exponent
# limit raising InvalidOperation, an ArithmeticError): such a line is yielded as its text, a bad row
# reported with its index, never a crash.
_NOT_JSON = (ValueError, RecursionError, ArithmeticError)
_BLOCK = 1 << 20


def _lines(binary) -> Iterator[bytes]:
    """The lines of a binary file without their ends, which are ``\\n``, ``\\r`` or ``\\r\\n`` as in text mode
    (a file from an old Mac tool is lines too, not one huge line). Read a block at a time; a ``\\r\\n`` cut
    by a block's end gives an empty line, which the caller skips as blank."""
    rest = b""
    while block := binary.read(_BLOCK):
        lines = (rest + block).splitlines() if rest else block.splitlines()
        rest = b"" if block[-1:] in (b"\n", b"\r") or not lines else lines.pop()
        yield from lines
    if rest:
        yield rest


def ndjson_records(binary) -> Iterator:
    """Yield the records of an NDJSON file (binary) one line at a time.

    Floats as Decimal, blank lines skipped, a byte-order mark ignored; a line that is not JSON (or not
    UTF-8, or beyond json's limits) is yielded as its text, so it is reported as a bad row with its index,
    never dropped and never a crash. A line the fast decoder refuses (blank, not JSON, not UTF-8, NaN,
    lone surrogates, too deep) takes the reference path. Memory: one line at a time.
    """
    fast = _FAST_DECODER.decode
    first = True
    for line in _lines(binary):
        if first:
            first = False
            if line.startswith(b"\xef\xbb\xbf"):
                line = line[3:]
        try:
            record = fast(line)
        except (msgspec.DecodeError, UnicodeDecodeError, RecursionError, ArithmeticError):
            record = _reference_record(line)
            if record is _BLANK:
                continue
        yield record


_BLANK = object()


def _reference_record(line: bytes):
    """The reference decoder's record for ``line``; its text when it is not JSON; ``_BLANK`` if blank."""
    try:
        text = line.decode()
    except UnicodeDecodeError:
        return line.decode(errors="replace")
    if not text.strip():
        return _BLANK
    try:
        return _DECODER.decode(text)
    except _NOT_JSON:
        return text


def _csv_row(row: dict) -> dict:
    """CSV cells are text: turn digit strings into ints and ``true``/``false`` into booleans."""
    out = {}
    for name, value in row.items():
        if name is None:
            continue
        name = name.strip()
        if isinstance(value, str):
            value = value.strip()
            if value.isdigit():
                value = int(value)
            elif value.lower() in ("true", "false"):
                value = value.lower() == "true"
            elif value == "":
                value = None
        out[name] = value
    if isinstance(out.get("metadata"), str):
        with contextlib.suppress(json.JSONDecodeError):
            out["metadata"] = json.loads(out["metadata"])
    return out


def file_ingest(
    *,
    source: GatewaySource,
    records: Iterable,
    fmt: str,
    key_prefix: str,
    progress: Callable[[int, BatchResult], None] | None = None,
    parallel: bool | None = None,
) -> BatchResult:
    """Ingest ``records``; return the summed counts. ``progress(n, total)`` follows each batch or chunk;
    ``parallel`` is the bulk path's (whether it may fork a producer and write with two threads).

    Each batch's idempotency key is ``<prefix>:<n>`` (the bulk path's ``<prefix>:bulk:<n>``: its chunks
    are cut differently, so a file begun one way is never taken as done the other), so a re-run after a
    crash replays what was done and completes the rest exactly once.
    """
    if connection.vendor == "postgresql":
        return bulk_ingest(
            source=source,
            records=records,
            fmt=fmt,
            key_prefix=f"{key_prefix}:bulk",
            progress=progress,
            parallel=parallel,
        )
    total = BatchResult(batch_id=None)
    iterator = iter(records)
    offset = 0
    for n in range(10**9):
        chunk = list(islice(iterator, FILE_BATCH))
        if not chunk:
            break
        result = usage_batch_ingest(
            source=source, records=chunk, fmt=fmt, idempotency_key=f"{key_prefix}:{n}"
        )
        total.add(result, offset=offset)
        offset += len(chunk)
        if progress is not None:
            progress(n, total)
    return total
