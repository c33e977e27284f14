"""Read usage files of any size as a stream of records, and feed them through the pipeline.

CSV (new-api export, or generic columns), NDJSON, or a JSON array (top level, or an object's ``events``),
all streamed: memory holds a line, a CSV row or an array item at a time, whatever the file's size. On
PostgreSQL files go through the bulk path (``bulk.bulk_ingest``: COPY, chunks of 100,000); elsewhere in
batches of ``FILE_BATCH`` through ``usage_batch_ingest``.

A row that cannot be read (not UTF-8, not JSON, a broken CSV row) is yielded in its place as an
``UnreadableRecord``, so it is reported with its index and reason like any bad row and the good rows
are kept. Only a file that is not text this reader can read at all (UTF-16, a zip) raises
``UnreadableFile``, before anything is ingested.
"""

import csv
import hashlib
import io
import json
import re
import sys
from collections.abc import Callable, Iterable, Iterator
from decimal import Decimal
from itertools import islice

import ijson
import msgspec
from django.db import connection

from billing.usage.bulk.ingest import bulk_ingest
from billing.usage.connectors.base import RecordsRefused
from billing.usage.connectors.registry import records_checked
from billing.usage.events import UnreadableRecord
from billing.usage.models import TOKEN_COLUMNS, UNIT_COLUMNS, GatewaySource
from billing.usage.services import BatchResult, usage_batch_ingest
from common.stored_text import stored, stored_render

FILE_BATCH = 5000
UTF8_BOM = b"\xef\xbb\xbf"
# What the first bytes of a file that is not UTF-8 text look like, and what it then is.
_SIGNATURES = (
    (b"\xff\xfe\x00\x00", "UTF-32"),
    (b"\x00\x00\xfe\xff", "UTF-32"),
    (b"\xff\xfe", "UTF-16"),
    (b"\xfe\xff", "UTF-16"),
    (b"\x1f\x8b", "gzip"),
    (b"PK\x03\x04", "zip"),
)
# An object whose first key is "events" holds the array of events (as the API accepts).
_EVENTS_OBJECT = re.compile(rb'\{\s*"events"\s*:').match


class UnreadableFile(ValueError):
    """The file as a whole cannot be read as usage (its message says why and what to do); ``stored`` is
    the same as stored text (common.stored_text), for an upload's ``error_message``."""

    def __init__(self, stored_message: dict):
        super().__init__(stored_render(stored_message))
        self.stored = stored_message


def _file_problem(head: bytes) -> dict | None:
    """Why a file starting with ``head`` is not UTF-8 text (as stored text), or None."""
    kind = next((kind for signature, kind in _SIGNATURES if head.startswith(signature)), None)
    if kind is None:
        # UTF-16 or UTF-32 without a byte-order mark: text of mostly ASCII has a NUL in every other byte
        # (a NUL or two in UTF-8 text are a row's problem, not the file's).
        sample = head[:64]
        if len(sample) < 4 or sample.count(0) < len(sample) // 4:
            return None
        kind = "UTF-16"
    if kind in ("gzip", "zip"):
        return stored("usage.file.archive", kind=kind)
    return stored("usage.file.encoding", encoding=kind)


def _sniff(stream: io.BufferedReader) -> str:
    """The file's layout: "ndjson", "array", "events" (an object holding the array) or "csv"; raise
    ``UnreadableFile`` if it is not UTF-8 text."""
    head = stream.peek(4096)[:4096]
    if (problem := _file_problem(head)) is not None:
        raise UnreadableFile(problem)
    head = head.removeprefix(UTF8_BOM).lstrip()
    if head[:1] == b"[":
        return "array"
    if _EVENTS_OBJECT(head):
        return "events"
    if head[:1] == b"{":
        return "ndjson"
    return "csv"


def records_iter(binary) -> Iterator:
    """The records (dicts, or ``UnreadableRecord`` for rows that cannot be read) of a binary file object,
    detecting CSV / NDJSON / JSON array. A file that is not text raises ``UnreadableFile`` here, at the
    call, before anything is read or ingested (and before the bulk path forks its reader)."""
    stream = binary if isinstance(binary, io.BufferedReader) else io.BufferedReader(binary)
    return _records(stream, _sniff(stream))


def _records(stream: io.BufferedReader, kind: str) -> Iterator:
    if kind == "ndjson":
        yield from ndjson_records(stream)
    elif kind == "csv":
        yield from csv_records(stream)
    else:
        if stream.peek(3)[:3] == UTF8_BOM:
            stream.read(3)
        yield from json_array_records(stream, "item" if kind == "array" else "events.item")


# JSON has no NaN or Infinity, but Python's encoder writes them (LiteLLM posts what it writes): they are
# read as floats, refused where a number counts and stored as null in metadata (events._json_safe).
_DECODER = json.JSONDecoder(parse_float=Decimal)
# The same records as _DECODER (floats as exact Decimals from their text, ints of any size, the last of a
# repeated key) several times faster, in C: tests/billing/usage/test_bulk.py compares the two line by line.
_FAST_DECODER = msgspec.json.Decoder(float_hook=Decimal)
_BLOCK = 1 << 20


def _lines(binary) -> Iterator[bytes]:
    """The lines of a binary file without their ends, which are ``\\n``, ``\\r`` or ``\\r\\n`` as in text mode
    (a file from an old Mac tool is lines too, not one huge line), each exactly once, so that counting them
    gives an editor's line numbers. Read a block at a time."""
    rest = b""
    after_cr = False
    while block := binary.read(_BLOCK):
        if after_cr and block[:1] == b"\n":
            block = block[1:]  # the end of a \r\n the last block's end cut: its line has been given
        after_cr = block[-1:] == b"\r"
        if not block:
            continue
        lines = (rest + block).splitlines() if rest else block.splitlines()
        rest = b"" if block[-1:] in (b"\n", b"\r") or not lines else lines.pop()
        yield from lines
    if rest:
        yield rest


def ndjson_records(binary) -> Iterator:
    """Yield the records of an NDJSON file (binary) one line at a time.

    Floats as Decimal, blank lines skipped, a byte-order mark ignored; a line that is not JSON (or not
    UTF-8, or beyond json's limits) is yielded as an ``UnreadableRecord`` saying so and naming its line
    (``line 3: is not valid JSON (…)``, blank lines counted: a record's index does not count them), reported
    as a bad row with its index, never dropped and never a crash. A line the fast decoder refuses (blank,
    not JSON, not UTF-8, NaN, lone surrogates, too deep) takes the reference path. Memory: one line at a
    time.
    """
    fast = _FAST_DECODER.decode
    for number, line in enumerate(_lines(binary), 1):
        if number == 1:
            line = line.removeprefix(UTF8_BOM)
        try:
            record = fast(line)
        except (msgspec.DecodeError, UnicodeDecodeError, RecursionError, ArithmeticError):
            record = _reference_record(line)
            if record is _BLANK:
                continue
            if isinstance(record, UnreadableRecord):
                record = UnreadableRecord(f"line {number}: {record.reason}")
        yield record


_BLANK = object()


def _reference_record(line: bytes):
    """The reference decoder's record for ``line``, an ``UnreadableRecord`` saying why there is none, or
    ``_BLANK`` for a blank line."""
    try:
        text = line.decode()
    except UnicodeDecodeError:
        return UnreadableRecord("is not UTF-8 text")
    if not text.strip():
        return _BLANK
    return json_decode(text)


def json_decode(text: str):
    """``text`` as JSON (floats as Decimal), or an ``UnreadableRecord`` saying why it is not: a syntax
    error, or beyond what the decoder reads (an int of over 4,300 digits, an exponent beyond Decimal's,
    nesting deeper than Python's recursion limit)."""
    try:
        return _DECODER.decode(text)
    except json.JSONDecodeError as exc:
        return UnreadableRecord(f"is not valid JSON ({exc.msg} at column {exc.colno})")
    except RecursionError:
        return UnreadableRecord("is nested too deeply to read")
    except (ValueError, ArithmeticError):
        return UnreadableRecord("holds a number too long or too large to read")


# Nesting a JSON array may reach before it stops being read: items are 2 levels in, and metadata deeper
# than MAX_METADATA_DEPTH is a bad row anyway (reported, and the file read on).
MAX_STREAM_DEPTH = 512
# A whole JSON string (quotes and escapes), the rest of one begun in an earlier block, or what counts for
# nesting: a string skipped whole, an unterminated quote (a string running past the block), a bracket.
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_STRING_REST = re.compile(rb'[^"\\]*(?:\\.[^"\\]*)*', re.DOTALL)
_TOKEN = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|"|[][{}]', re.DOTALL)


# What a block's end may cut in two that the guard rewrites: a backslash run, a \\u escape (and the one
# after it, which may be its low surrogate), NaN, Infinity or -Infinity. Held back to the next block.
_PARTIAL_END = re.compile(
    rb"(?:\\+(?:u[0-9a-fA-F]{0,4}(?:\\+(?:u[0-9a-fA-F]{0,4})?)?)?"
    rb"|-|-?I(?:n(?:f(?:i(?:n(?:i(?:ty?)?)?)?)?)?)?|N(?:aN?)?)\Z"
).search
_HIGH_ESCAPE = re.compile(rb"\\u[dD][89abAB][0-9a-fA-F]{2}").fullmatch
# An escaped backslash (read first, so that the parity of a run is kept), a surrogate pair, a lone surrogate.
_SURROGATE_HINT = re.compile(rb"\\u[dD][89a-fA-F]").search
_SURROGATE_ESCAPE = re.compile(
    rb"\\\\|\\u[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2}|\\u[dD][89a-fA-F][0-9a-fA-F]{2}"
)
# A string (or one running to the block's end), kept as it is, or a bare NaN / Infinity / -Infinity.
_NONFINITE = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*(?:"|\Z)|-?Infinity|NaN', re.DOTALL)


def _surrogate_fixed(match: re.Match) -> bytes:
    escape = match[0]
    return b"\\u0000" if len(escape) == 6 else escape


def _nonfinite_fixed(match: re.Match) -> bytes:
    token = match[0]
    return token if token[:1] == b'"' else b"null"


class _StopReading(Exception):
    """What in the JSON stops it being read; the message says what (see ``_JsonGuard``)."""


class _JsonGuard:
    """The file as ijson reads it, a block at a time, ending just before what ijson must not be given:

    - an integer of more digits than Python turns into an int (``sys.get_int_max_str_digits``): ijson's C
      backend crashes the whole process on it instead of raising (a run of digits that long inside a
      string, absurd in a usage file, stops the reading too);
    - nesting deeper than MAX_STREAM_DEPTH: ijson builds a path for every value, as long as the value is
      deep, so a file nested 100,000 deep would take it hours.

    Nesting is followed exactly (brackets inside strings do not count) with C-speed scans of each block:
    complete strings are cut out, brackets counted; only a block that might go too deep is walked bracket
    by bracket to find where. The next read after a stop raises ``_StopReading``.

    It also rewrites what yajl reads otherwise than the NDJSON path and the API (Python's json) do: an
    escaped lone surrogate (yajl makes a high one "?", changing the value, and a low one stops the read)
    becomes an escaped NUL, of the same length, which validation refuses as the row's error; a bare NaN,
    Infinity or -Infinity (Python's encoder writes them; yajl stops at them) becomes null, as metadata
    stores them. Blocks without a backslash-u-D escape or those words pay one C-speed scan each.
    """

    _DIGITS = b"0123456789"

    def __init__(self, raw):
        self.raw = raw
        self.limit = sys.get_int_max_str_digits()
        self.long_run = re.compile(b"[0-9]{%d}" % (self.limit + 1)).search if self.limit else None
        self.trailing = 0  # digits ending what was read so far
        self.depth = 0  # open arrays and objects at the end of what was read
        self.in_string = False  # what was read ends inside a string
        self.escaped = False  # ... right after its backslash
        self.stop: _StopReading | None = None
        self.held = b""  # the end of the last block, which the next one may complete (_PARTIAL_END)

    def read(self, size: int = -1) -> bytes:
        if self.stop is not None:
            raise self.stop
        if size == 0:  # ijson's probe of the file's type
            return b""
        block = self._rewritten(self._next_block(size))
        if not block:
            return block
        stops = [found for found in (self._digits(block), self._nesting(block)) if found is not None]
        if not stops:
            return block
        cut, self.stop = min(stops, key=lambda found: found[0])
        if cut == 0:
            raise self.stop
        return block[:cut]

    def _next_block(self, size: int) -> bytes:
        """The next block, ending where nothing it ends with may be completed by the next: never inside a
        backslash run, an escape, a surrogate pair or a NaN / Infinity; empty only at the file's end."""
        while True:
            fresh = self.raw.read(size)
            block, self.held = (self.held + fresh if self.held else fresh), b""
            if fresh and (partial := _PARTIAL_END(block, max(len(block) - 16, 0))) is not None:
                start = partial.start()
                if start >= 6 and _HIGH_ESCAPE(block, start - 6, start):
                    start -= 6  # a high surrogate, whose pair the held escape may be
                while start and block[start - 1] == ord("\\"):
                    start -= 1  # the whole backslash run, so its parity is known
                block, self.held = block[:start], block[start:]
            if block or not fresh:
                return block

    def _rewritten(self, block: bytes) -> bytes:
        """``block`` with lone surrogate escapes as escaped NULs and bare NaN / Infinity as null."""
        if (b"\\ud" in block or b"\\uD" in block) and _SURROGATE_HINT(block):  # bytes.find: memchr speed
            block = _SURROGATE_ESCAPE.sub(_surrogate_fixed, block)
        if b"NaN" in block or b"Infinity" in block:
            start = 0
            if self.in_string:  # the block begins inside a string: its rest is no token
                start = _STRING_REST.match(block, 1 if self.escaped else 0).end() + 1
            if start < len(block):
                block = block[:start] + _NONFINITE.sub(_nonfinite_fixed, block[start:])
        return block

    def _digits(self, block: bytes) -> tuple[int, _StopReading] | None:
        """Where a run of too many digits starts in ``block`` (0 if it began before) and why it stops
        there, or None."""
        if self.long_run is None:
            return None
        joined = b"0" * self.trailing + block if self.trailing else block
        found = self.long_run(joined)
        if found is None:
            self.trailing = min(len(joined) - len(joined.rstrip(self._DIGITS)), self.limit)
            return None
        return max(found.start() - self.trailing, 0), _StopReading(
            f"holds a number of more than {self.limit} digits"
        )

    def _nesting(self, block: bytes) -> tuple[int, _StopReading] | None:
        """Where ``block`` nests deeper than MAX_STREAM_DEPTH and why it stops there, or None; follows
        strings and depth."""
        start = 0
        if self.in_string:
            start = self._string_end(block)
            if start is None:
                return None  # the whole block is inside one string
        outside = _STRING.sub(b"", block[start:])
        quote = outside.find(b'"')
        if quote >= 0:  # a string runs past the block's end
            outside = outside[:quote]
            self.in_string = True
            self.escaped = (len(block) - len(block.rstrip(b"\\"))) % 2 == 1
        opened = outside.count(b"[") + outside.count(b"{")
        if self.depth + opened > MAX_STREAM_DEPTH and (cut := self._too_deep(block, start)) is not None:
            return cut, _StopReading(f"is nested more than {MAX_STREAM_DEPTH} levels deep")
        self.depth += opened - outside.count(b"]") - outside.count(b"}")
        return None

    def _string_end(self, block: bytes) -> int | None:
        """Just past the end of the string this block begins inside, or None if it runs past the block."""
        begin = 1 if self.escaped else 0
        self.escaped = False
        end = _STRING_REST.match(block, begin).end() if begin < len(block) else begin
        if end < len(block) and block[end] == ord('"'):
            self.in_string = False
            return end + 1
        self.escaped = end == len(block) - 1  # only a backslash, escaping what comes next, is left
        return None

    def _too_deep(self, block: bytes, start: int) -> int | None:
        """The exact place in ``block`` where nesting passes MAX_STREAM_DEPTH, or None."""
        depth = self.depth
        for token in _TOKEN.finditer(block, start):
            char = block[token.start()]
            if char == ord('"'):
                if token.end() - token.start() == 1:
                    return None  # a string that runs past the block: nothing after it counts
            elif char in b"[{":
                depth += 1
                if depth > MAX_STREAM_DEPTH:
                    return token.start()
            else:
                depth -= 1
        return None


def json_array_records(binary, prefix: str) -> Iterator:
    """Yield the items at ``prefix`` (``item``: of a top-level array; ``events.item``: of an object's
    ``events``) of a JSON file, streamed by ijson (its C backend when installed): numbers as ints and
    Decimals, one item in memory at a time, numbered like NDJSON lines.

    An array cannot be resumed past what breaks it: at the first thing that cannot be read (not UTF-8,
    not JSON, a number too long, nesting too deep), one last ``UnreadableRecord`` takes the next row's
    place, saying why and that the rest of the file was not read. The rows before it are kept.
    """
    try:
        yield from ijson.items(_JsonGuard(binary), prefix)
    except _StopReading as exc:
        problem = str(exc)
    except UnicodeDecodeError:
        problem = "is not UTF-8 text"
    except ijson.JSONError as exc:
        problem = _ijson_problem(exc)
    except (ValueError, ArithmeticError):
        problem = "holds a number too long or too large to read"
    else:
        return
    yield UnreadableRecord(f"reading stopped here: the file {problem}; nothing after this point was read")


def _ijson_problem(exc: Exception) -> str:
    """What ijson's error says, without the piece of the file it quotes (which may be anything)."""
    message = exc.args[0] if exc.args else ""
    if isinstance(message, bytes):
        message = message.decode("utf-8", "replace")
    first = str(message).split("\n", 1)[0].strip().rstrip(".")[:120]
    if "UTF8" in first or "UTF-8" in first:
        return "is not UTF-8 text"
    return f"is not valid JSON ({first})" if first else "is not valid JSON"


def csv_records(stream) -> Iterator:
    """Yield the rows of a CSV file (binary) as records keyed by its header row.

    Bytes that are not UTF-8 are kept as lone surrogates (``surrogateescape``), so the row is refused
    naming the field that holds them, and the other rows are read on; a row the CSV reader refuses (a
    field over its size limit) is an ``UnreadableRecord``. Blank lines are skipped.
    """
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", errors="surrogateescape", newline="")
    reader = csv.reader(text)
    header = None
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            if header is None:
                yield UnreadableRecord(f"reading stopped here: the header row is not readable CSV ({exc})")
                return
            yield UnreadableRecord(f"is not a readable CSV row ({exc})")
            continue
        if not row:
            continue
        if header is None:
            header = [name.strip() for name in row]
        else:
            yield _csv_row(dict(zip(header, row, strict=False)))


# A cell of more digits than this stays text: it is no token count (validation refuses it as one).
_INT_DIGITS = 18
# Only token and unit counts become ints (so that a well-formed row takes the bulk path's fast check); every
# other cell stays text, so that ids keep their leading zeros ("0012" is not "12") and the connectors and
# validation read numbers and times from text as they do from JSON (audio_seconds, gateway_cost: decimals).
_COUNT_COLUMNS = frozenset((*TOKEN_COLUMNS, *UNIT_COLUMNS))


def _csv_row(row: dict) -> dict:
    """CSV cells are text: turn token and unit counts into ints, the ``batch`` cell's ``true``/``false``
    into a boolean, empty cells into None, and the ``metadata`` cell into JSON when it is."""
    out = {}
    for name, value in row.items():
        value = value.strip()
        if value == "":
            value = None
        elif name in _COUNT_COLUMNS:
            if value.isascii() and value.isdigit() and len(value) <= _INT_DIGITS:
                value = int(value)
        elif name == "batch" and value.lower() in ("true", "false"):
            value = value.lower() == "true"
        out[name] = value
    if isinstance(out.get("metadata"), str):
        decoded = json_decode(out["metadata"])
        if not isinstance(decoded, UnreadableRecord):
            out["metadata"] = decoded
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

    Records a format's check refuses whole (``registry.records_checked``: new-api logs from its user log
    API) raise ``UnreadableFile`` here, before anything is ingested.
    """
    try:
        records = records_checked(fmt, records)
    except RecordsRefused as exc:
        raise UnreadableFile(exc.stored) from exc
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
        key = f"{key_prefix}:{n}"
        # The key already names the content (the file's digest, or the upload), as on the bulk path: the
        # records are not hashed again (json.dumps could not write a row nested beyond its limit).
        result = usage_batch_ingest(
            source=source,
            records=chunk,
            fmt=fmt,
            idempotency_key=key,
            request_hash=hashlib.sha256(key.encode()).hexdigest(),
        )
        total.add(result, offset=offset)
        offset += len(chunk)
        if progress is not None:
            progress(n, total)
    return total
