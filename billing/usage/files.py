"""Read usage files of any size as a stream of records, and feed them through the pipeline in batches.

CSV (new-api export, or generic columns), NDJSON, or a JSON array (read whole: keep those small). Memory
stays bounded by one batch whatever the file size.
"""

import contextlib
import csv
import io
import json
from collections.abc import Callable, Iterable, Iterator
from decimal import Decimal
from itertools import islice

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
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")
    if kind == "array":
        yield from json.load(text, parse_float=Decimal)
    elif kind == "ndjson":
        for line in text:
            if line.strip():
                try:
                    yield json.loads(line, parse_float=Decimal)
                # Not JSON, or beyond json's limits (an int of over 4,300 digits, nesting too deep).
                except (ValueError, RecursionError):
                    yield line  # validated as a bad row (reported with its index), never dropped
    else:
        for row in csv.DictReader(text):
            yield _csv_row(row)


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
    key_prefix: str = "",
    progress: Callable[[int, BatchResult], None] | None = None,
) -> BatchResult:
    """Ingest ``records`` in batches of ``FILE_BATCH``; return the summed counts.

    With ``key_prefix`` each batch's idempotency key is ``<prefix>:<n>``, so a re-run after a crash
    replays the batches already done; without it the key is the batch's content hash.
    """
    total = BatchResult(batch_id=None)
    iterator = iter(records)
    offset = 0
    for n in range(10**9):
        chunk = list(islice(iterator, FILE_BATCH))
        if not chunk:
            break
        result = usage_batch_ingest(
            source=source, records=chunk, fmt=fmt, idempotency_key=f"{key_prefix}:{n}" if key_prefix else ""
        )
        total.accepted += result.accepted
        total.duplicates += result.duplicates
        total.rejected += result.rejected
        total.unrated += result.unrated
        if len(total.errors) < 1000:
            total.errors += [{**e, "index": e["index"] + offset} for e in result.errors][
                : 1000 - len(total.errors)
            ]
        offset += len(chunk)
        if progress is not None:
            progress(n, total)
    return total
