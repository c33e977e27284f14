"""The bulk path (PostgreSQL): stream a large NDJSON/CSV file through the pipeline at COPY speed.

Same steps and same guarantees as ``services.usage_batch_ingest``, organised for throughput. The work is
split so that the machine's two cores are both busy:

- the *producer* (a forked process) reads records, validates and rates them on plain data (prices loaded
  per slice of ``SLICE`` events) and turns each slice into two COPY texts at once — the wide rows of
  ``usage_event`` and a narrow copy (line number, key, customer, model, tokens, amounts) — with no
  per-event model instances;
- a *writer* copies a chunk's narrow rows into a temporary stage, claims their keys in one statement (an
  index probe per key, then a plain ``INSERT`` of the new ones into the key table; the rest are
  duplicates and leave the stage), COPYs the wide rows of the new events straight into ``usage_event``
  (each written once: no wide staging table), draws token allowances for the chunk's customers holding
  any (``billing.allowances.drawdown``; their wide rows are copied after the draw, with the sales it
  set), upserts the hourly and daily rollups from the stage, and posts one journal transaction per
  chunk × customer, in bulk.

``WRITERS`` writers (threads of the calling process, each with its own connection) take consecutive
chunks, so PostgreSQL works on two at once: one chunk's COPYs overlap the other's. Before its turn a
chunk writes only rows of its own (its stage, its batch, its new events); it claims its keys and takes
the rows it shares with others (allowances, rollup rows, ledger accounts and wallets) only once the
chunk before it has committed (``_Turns``). So no transaction holding rows that chunk needs can be
waiting for a chunk that is itself waiting for its turn: such a cycle, one of whose waits is ours, is
one PostgreSQL could not detect. The producer settles a repeat of the previous chunk's key itself, so
the claim seldom meets a key taken since its probe.

Each chunk is one usage batch and one database transaction (events, rollups, allowance draws and ledger
postings commit together), and chunks commit in input order; its idempotency key is ``<key_prefix>:<n>``,
so a re-run after a crash replays the chunks already committed and completes the rest exactly once.
Memory is bounded by a slice or two in each process, not by the chunk or the file: slices waiting
between them are spooled to temporary files, and the writers send them to COPY a block at a time (a
slice holding allowance holders' rows is read whole once more, in the chunk's turn). Inside a caller's
transaction (tests), or where no process may be forked, the producer runs in-process and one writer,
the caller, writes each chunk in turn.
"""

import json
import multiprocessing
import os
import pickle
import queue
import re
import tempfile
import threading
import traceback
from array import array
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from itertools import accumulate, islice
from queue import Empty

import orjson
from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from billing.allowances.drawdown import (
    Draw,
    allowance_holders,
    allowances_draw,
    balances_load,
    draws_record,
    event_tokens,
)
from billing.usage.allowance_use import overage_pricer
from billing.usage.connectors import ConnectorError, connector_for
from billing.usage.events import (
    COST_LIMIT,
    EARLIEST,
    FUTURE_TOLERANCE,
    MAX_ID,
    MAX_TOKENS,
    MAX_UPSTREAM,
    MAX_UTC_OFFSET,
    CanonicalEvent,
    RowError,
    event_validate,
    offset_text_problem,
)
from billing.usage.models import GatewaySource, RatingState, UsageBatch
from billing.usage.partitions import month_start, partitions_ensure
from billing.usage.postings import sums_post
from billing.usage.pricing import BatchPricer
from billing.usage.rating import row_rate
from billing.usage.resolve import customers_load, keys_resolve, models_resolve
from billing.usage.services import MAX_REPORTED_ERRORS, BatchResult, after_commit
from catalog.models import AIModel, Vendor

# Postings are per chunk × customer, so bigger chunks post less often; memory grows with the chunk.
CHUNK = 100_000
# The first chunk is small so the writer starts as soon as the producer has a slice, not a whole chunk,
# ready (filling the pipeline took ~4 s of a 1M-event file); later chunks are CHUNK long.
FIRST_CHUNK = 10_000
COLUMNS = (
    "source_id", "batch_id", "request_id", "occurred_at", "gateway_key", "customer_id", "model_name",
    "model_id", "upstream_account", "prompt_tokens", "cache_read_tokens", "cache_write_tokens",
    "cache_write_1h_tokens", "completion_tokens", "reasoning_tokens", "is_batch", "succeeded",
    "gateway_cost", "gateway_cost_currency", "metadata", "rating_state", "unrated_reason", "sell_plan",
    "sell_amount", "sell_currency", "cost_amount", "cost_currency", "rated_in_id", "ingested_at",
)  # fmt: skip
# COPY sends the event's own columns first (formatted once, while parsing), the rating's after them and the
# batch's last: the producer takes the chunk's batch id from its sequence before the batch row exists.
HEAD_COLUMNS = (
    "source_id", "request_id", "occurred_at", "gateway_key", "model_name", "upstream_account",
    "prompt_tokens", "cache_read_tokens", "cache_write_tokens", "cache_write_1h_tokens", "completion_tokens",
    "reasoning_tokens", "is_batch", "succeeded", "gateway_cost", "gateway_cost_currency", "metadata",
)  # fmt: skip
TAIL_COLUMNS = (
    "customer_id", "model_id", "rating_state", "unrated_reason", "sell_plan", "sell_amount", "sell_currency",
    "cost_amount", "cost_currency", "ingested_at",
)  # fmt: skip
BATCH_COLUMNS = ("batch_id", "rated_in_id")
COPY_COLUMNS = HEAD_COLUMNS + TAIL_COLUMNS + BATCH_COLUMNS
assert sorted(COPY_COLUMNS) == sorted(COLUMNS)
# What the writer rewrites in a line whose sale a token allowance changed (indices into COPY_COLUMNS).
SELL_FIELDS = tuple(COPY_COLUMNS.index(c) for c in ("sell_plan", "sell_amount", "sell_currency"))
# The narrow copy of each event that deduplication, allowances, rollups and posting sums work on, in a
# temporary table: the wide rows (~1 KB each with gateway metadata) go once, straight into usage_event.
STAGE_COLUMNS = (
    "line", "request_id", "occurred_at", "customer_id", "model_id", "upstream_account", "rating_state",
    "prompt_tokens", "cache_read_tokens", "cache_write_tokens", "cache_write_1h_tokens", "completion_tokens",
    "reasoning_tokens", "is_batch", "sell_plan", "sell_amount", "sell_currency", "cost_amount",
    "cost_currency",
)  # fmt: skip
STAGE_TABLE = """
    CREATE TEMP TABLE IF NOT EXISTS usage_ingest_stage (
        line integer, request_id text COLLATE "C", occurred_at timestamptz, customer_id bigint,
        model_id bigint, upstream_account text, rating_state text, prompt_tokens bigint,
        cache_read_tokens bigint, cache_write_tokens bigint, cache_write_1h_tokens bigint,
        completion_tokens bigint, reasoning_tokens bigint, is_batch boolean, sell_plan text,
        sell_amount numeric(40, 24), sell_currency text, cost_amount numeric(40, 24), cost_currency text
    ) ON COMMIT DELETE ROWS
"""
STAGE_COPY = f"COPY usage_ingest_stage ({', '.join(STAGE_COLUMNS)}) FROM STDIN"
EVENT_COPY = f"COPY usage_event ({', '.join(COPY_COLUMNS)}) FROM STDIN"
# Events per slice: the producer validates, rates and formats this many at a time (memory: one slice
# of COPY text, ~1 KB per event with gateway metadata). Slices wait spooled to files (~10 MB each on
# disk, none in memory): those of the chunks in flight (WRITERS chunks) and at most QUEUED more, so the
# producer may run a chunk ahead of the writers (~300 MB of disk at most).
SLICE = 10_000
QUEUED = 10
# The writer sends a spooled slice to COPY this many bytes at a time.
BLOCK = 1 << 20
# Writers (threads, each with its own connection and transaction) working on consecutive chunks at once,
# and how long a chunk waits for the one before it to commit before it gives up (a chunk takes seconds).
WRITERS = 2
TURN_WAIT_S = 900
_INHERITED: list = []
NULL = "\\N"
RATED = RatingState.RATED.value
# One encoder for every row (json.dumps would build one per call); same output as json.dumps(default=str).
_encode_metadata = json.JSONEncoder(default=str).encode
_ORJSON_OPTIONS = (
    orjson.OPT_NON_STR_KEYS
    | orjson.OPT_PASSTHROUGH_DATETIME
    | orjson.OPT_PASSTHROUGH_SUBCLASS
    | orjson.OPT_PASSTHROUGH_DATACLASS
)
# An occurred_at already written as an offset (or Z) ISO time, to the microsecond at most, is sent to COPY as
# it came: PostgreSQL reads it as the same instant Python parsed, and formatting it again (isoformat) cost
# a fifth of checking a well-formed event. Any other form Python accepts is sent as isoformat() writes it.
_PLAIN_TIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,6})?(?:[+-][0-9]{2}:[0-9]{2}|Z)"
).fullmatch
_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
TOKENS = (
    "prompt_tokens", "cache_read_tokens", "cache_write_tokens", "cache_write_1h_tokens", "completion_tokens",
    "reasoning_tokens",
)  # fmt: skip
# The stage is summed once, into quarter hours (every time zone's offset is a multiple of 15 minutes, so a
# quarter hour lies within one local hour and one local day); hours, days and posting sums add those up.
QUARTER_SUMS = ", ".join(
    ["count(*) AS requests", *(f"sum({c}) AS {c}" for c in TOKENS), "sum(sell_amount) AS sell_amount",
     "sum(cost_amount) AS cost_amount"]
)  # fmt: skip
ROLLUP_SUMS = ", ".join(
    ["sum(requests)", *(f"sum({c})" for c in TOKENS), "sum(sell_amount)", "coalesce(sum(cost_amount), 0)"]
)
ROLLUP_COLUMNS = (
    "customer_id, model_id, upstream_account, sell_currency, cost_currency, requests, prompt_tokens, "
    "cache_read_tokens, cache_write_tokens, cache_write_1h_tokens, completion_tokens, reasoning_tokens, "
    "sell_amount, cost_amount"
)
KEYS = "customer_id, model_id, upstream_account, sell_currency, cost_currency"
# Rollup rows are locked in the order rollups.rollups_add writes them (strings by code point), so a bulk
# chunk and a concurrent per-batch ingest queue on shared rows instead of deadlocking.
ROLLUP_ORDER = (
    '1, customer_id, model_id, upstream_account COLLATE "C", sell_currency COLLATE "C", '
    'cost_currency COLLATE "C"'
)
ADD = ", ".join(
    f"{c} = {{t}}.{c} + excluded.{c}"
    for c in (
        "requests", "prompt_tokens", "cache_read_tokens", "cache_write_tokens", "cache_write_1h_tokens",
        "completion_tokens", "reasoning_tokens", "sell_amount", "cost_amount",
    )
)  # fmt: skip


# Keys another batch already holds (committed) are duplicates: dropped from the stage (so no allowance
# draw, rollup or posting sees them) and returned by line number, so their wide lines are never sent. Each
# staged key is probed once against the unique index (LATERAL … LIMIT 1: a nested loop of index probes,
# never a scan of all the source's keys). Only reads: the chunk waits for no one here.
PROBE_SQL = """
    WITH taken AS MATERIALIZED (
        SELECT s.line FROM usage_ingest_stage s
        JOIN LATERAL (
            SELECT 1 FROM usage_request_key k
            WHERE k.source_id = %(source)s AND k.request_id = s.request_id LIMIT 1
        ) k ON true
    )
    DELETE FROM usage_ingest_stage s USING taken t WHERE t.line = s.line
    RETURNING s.line
"""
# In the chunk's turn the probed-new keys are claimed by a plain INSERT (ON CONFLICT's speculative
# insertion costs about twice as much per row). A key committed since the probe, or inserted by another
# ingest still running, makes it fail (once that one ends): the claim is then made the waiting way, and
# the keys it could not claim are returned (line, request id) as late duplicates.
CLAIM_SQL = """
    INSERT INTO usage_request_key (source_id, request_id, occurred_at)
    SELECT %(source)s, request_id, occurred_at FROM usage_ingest_stage
"""
CLAIM_WAITING_SQL = """
    WITH won AS (
        INSERT INTO usage_request_key (source_id, request_id, occurred_at)
        SELECT %(source)s, request_id, occurred_at FROM usage_ingest_stage
        ON CONFLICT (source_id, request_id) DO NOTHING RETURNING request_id
    )
    DELETE FROM usage_ingest_stage s WHERE NOT EXISTS (SELECT 1 FROM won WHERE won.request_id = s.request_id)
    RETURNING s.line, s.request_id, s.occurred_at
"""
# A late duplicate's wide row may already be in usage_event (copied before the turn): it goes again.
# Bounded by time too, so only the partitions holding them are touched.
LATE_DELETE_SQL = """
    DELETE FROM usage_event
    WHERE batch_id = %(batch)s AND source_id = %(source)s AND request_id = ANY(%(ids)s)
      AND occurred_at BETWEEN %(first)s AND %(last)s
"""


# One statement over the (claimed) stage: upsert both rollups, return the sums to post. Parameter: the
# operator's time zone.
ROLLUPS_SQL = f"""
    WITH quarter AS MATERIALIZED (
        SELECT date_bin('15 minutes', occurred_at, TIMESTAMPTZ '2000-01-01 00:00:00+00') AS at, {KEYS},
               rating_state, {QUARTER_SUMS}
        FROM usage_ingest_stage GROUP BY 1, {KEYS}, rating_state
    ), hourly AS (
        INSERT INTO usage_hourly (hour, {ROLLUP_COLUMNS})
        SELECT date_trunc('hour', at), {KEYS}, {ROLLUP_SUMS}
        FROM quarter WHERE rating_state = 'rated' GROUP BY 1, {KEYS} ORDER BY {ROLLUP_ORDER}
        ON CONFLICT (hour, {KEYS}) DO UPDATE SET {ADD.format(t="usage_hourly")}
        RETURNING 1
    ), hours AS (
        SELECT count(*) AS n FROM hourly
    ), daily AS (
        -- Reading ``hours`` makes the hourly upsert finish before the daily one starts (lock order).
        INSERT INTO usage_daily (day, {ROLLUP_COLUMNS})
        SELECT (at AT TIME ZONE %s)::date, {KEYS}, {ROLLUP_SUMS}
        FROM quarter, hours WHERE rating_state = 'rated' GROUP BY 1, {KEYS} ORDER BY {ROLLUP_ORDER}
        ON CONFLICT (day, {KEYS}) DO UPDATE SET {ADD.format(t="usage_daily")}
        RETURNING 1
    )
    SELECT q.customer_id, q.sell_currency, m.vendor_id, q.cost_currency, q.rating_state,
           sum(q.requests)::bigint, sum(q.sell_amount), sum(q.cost_amount),
           (SELECT n FROM hours), (SELECT count(*) FROM daily)
    FROM quarter q LEFT JOIN catalog_aimodel m ON m.id = q.model_id
    GROUP BY 1, 2, 3, 4, 5
"""


class _Lookups:
    """Keys and models resolved once per run and extended as new names appear (plain dicts)."""

    def __init__(self, source: GatewaySource):
        self.source = source
        self.keys: dict[str, int | None] = {}
        self.models: dict[str, object] = {}
        self.customers: dict[int, object] = {}
        self.pricer: BatchPricer | None = None

    def update(self, keys: set[str], model_names: set[str]) -> None:
        new_keys = keys - self.keys.keys()
        if new_keys:
            found = keys_resolve(source=self.source, keys=new_keys)
            self.keys.update({k: found.get(k) for k in new_keys})
            self.customers.update(customers_load(set(found.values()) - self.customers.keys()))
        new_models = {n.lower() for n in model_names} - self.models.keys()
        if new_models:
            found = models_resolve(new_models)
            self.models.update({n: found.get(n) for n in new_models})


def _esc(value: str) -> str:
    """``value`` escaped for COPY text. Most values need nothing: four C-speed scans are far cheaper
    than ``str.translate`` with a mapping, which works character by character."""
    if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
        return value.translate(_ESCAPES)
    return value


def _event_head(event: CanonicalEvent, source_id: int) -> str:
    """The COPY text of an event's own columns (HEAD_COLUMNS), tab-terminated; the rating part follows."""
    cost = event.gateway_cost
    return (
        f"{source_id}\t{_esc(event.request_id)}\t{event.occurred_at.isoformat()}\t{_esc(event.key)}\t"
        f"{_esc(event.model)}\t{_esc(event.upstream_account)}\t{event.prompt_tokens}\t"
        f"{event.cache_read_tokens}\t{event.cache_write_tokens}\t{event.cache_write_1h_tokens}\t"
        f"{event.completion_tokens}\t{event.reasoning_tokens}\t{'t' if event.batch else 'f'}\t"
        f"{'t' if event.succeeded else 'f'}\t{NULL if cost is None else cost}\t"
        f"{_esc(event.gateway_cost_currency)}\t{_esc(_metadata_text(event.metadata))}\t"
    )


def _fast_event(raw, horizon: datetime, source_id: int) -> tuple | None:
    """The common, well-formed generic event as a compact tuple, or None to let ``event_validate`` decide.

    Accepts only what ``event_validate`` accepts unchanged (plain types, nothing to coerce), so the two
    agree on every row this takes; anything else (errors, coercions, odd types, text beyond ASCII, metadata
    holding an escaped NUL) goes the slow way. Nothing this takes can fail in COPY.
    Tuple: (request_id, occurred_at, key, model, counts, batch, succeeded, head, upstream account,
    occurred_at as COPY text).
    """
    if type(raw) is not dict:
        return None
    get = raw.get
    request_id, key, model, upstream = get("request_id"), get("key"), get("model"), get("upstream_account")
    if type(request_id) is not str or type(key) is not str or type(model) is not str:
        return None
    request_id, key, model = request_id.strip(), key.strip(), model.strip()
    if not (0 < len(request_id) <= MAX_ID and 0 < len(key) <= MAX_ID and 0 < len(model) <= MAX_ID):
        return None
    # ASCII without NUL is text PostgreSQL takes as is (isascii reads a flag: no scan).
    if not (request_id.isascii() and key.isascii() and model.isascii()) or (
        "\x00" in request_id or "\x00" in key or "\x00" in model
    ):
        return None
    if upstream is None:
        upstream = ""
    elif type(upstream) is str:
        upstream = upstream.strip()
        if len(upstream) > MAX_UPSTREAM or not upstream.isascii() or "\x00" in upstream:
            return None
    else:
        return None
    at_text = get("occurred_at")
    if type(at_text) is not str or "T" not in at_text:
        return None
    try:
        at = datetime.fromisoformat(at_text)
    except ValueError:
        return None
    if at.tzinfo is None or at > horizon or at < EARLIEST:
        return None
    if _PLAIN_TIME(at_text):
        # Its offset is the text's last six characters (±HH:MM) or Z: PostgreSQL takes hours up to 15 and
        # minutes up to 59 (Python reads +05:75 as +06:15; COPY would refuse it, and the whole chunk).
        if at_text[-1] != "Z" and (at_text[-5:-3] > "15" or at_text[-2] > "5"):
            return None
    else:
        offset = at.utcoffset()
        if not -MAX_UTC_OFFSET < offset < MAX_UTC_OFFSET or offset.microseconds:
            return None
        if offset_text_problem(at_text) is not None:
            return None
        at_text = at.isoformat()
    prompt, cache_read, cache_write, cache_write_1h, completion, reasoning = counts = (
        get("prompt_tokens", 0),
        get("cache_read_tokens", 0),
        get("cache_write_tokens", 0),
        get("cache_write_1h_tokens", 0),
        get("completion_tokens", 0),
        get("reasoning_tokens", 0),
    )
    if (
        type(prompt) is not int
        or type(cache_read) is not int
        or type(cache_write) is not int
        or type(cache_write_1h) is not int
        or type(completion) is not int
        or type(reasoning) is not int
        or cache_read < 0
        or cache_write < 0
        or cache_write_1h < 0
        or reasoning < 0
        or cache_read + cache_write + cache_write_1h > prompt
        or reasoning > completion
        or prompt > MAX_TOKENS
        or completion > MAX_TOKENS
    ):
        return None
    status = get("status")
    if not status or status == "success":
        succeeded = True
    elif status == "failed":
        succeeded = False
    else:
        return None
    batch = get("batch", False)
    if batch is not True and batch is not False:
        return None
    cost = get("gateway_cost")
    if cost is None or cost == "":
        cost_text = NULL
    elif type(cost) is int and 0 <= cost < COST_LIMIT:
        cost_text = str(cost)
    elif type(cost) is Decimal and cost.is_finite() and 0 <= cost < COST_LIMIT:
        # More than 24 places are rounded, the slow way. Counted on the text (written anyway) unless it
        # has an exponent: as_tuple costs as much as the rest of this check.
        cost_text = str(cost)
        if "E" in cost_text:
            if cost.as_tuple().exponent < -24:
                return None
        elif "." in cost_text and len(cost_text) - cost_text.index(".") > 25:
            return None
    else:
        return None
    currency = get("gateway_cost_currency") or ""
    if currency and not (
        type(currency) is str and len(currency) == 3 and currency.isascii() and currency.isalpha()
        and currency.isupper()
    ):  # fmt: skip
        return None
    metadata = get("metadata") or {}
    if type(metadata) is not dict:
        return None
    if metadata:
        try:
            metadata_text = orjson.dumps(metadata, default=str, option=_ORJSON_OPTIONS).decode()
        except (TypeError, orjson.JSONEncodeError):  # a lone surrogate, nesting too deep, an int too large
            return None
        if "\\u0000" in metadata_text:  # an escaped NUL, refused the slow way (a C-speed scan of the text)
            return None
    else:
        metadata_text = "{}"
    head = (
        f"{source_id}\t{_esc(request_id)}\t{at_text}\t{_esc(key)}\t{_esc(model)}\t{_esc(upstream)}\t"
        f"{prompt}\t{cache_read}\t{cache_write}\t{cache_write_1h}\t{completion}\t{reasoning}\t"
        f"{'t' if batch else 'f'}\t{'t' if succeeded else 'f'}\t{cost_text}\t"
        f"{_esc(currency) if cost_text != NULL else ''}\t{_esc(metadata_text)}\t"
    )
    return (request_id, at, key, model, counts, batch, succeeded, head, upstream, at_text)


def _metadata_text(metadata: dict) -> str:
    if not metadata:
        return "{}"
    try:
        # Same JSON value as the reference encoder (the spacing differs; the value is what is kept):
        # datetimes, str/int subclasses and dataclasses go through default=str as they do there.
        return orjson.dumps(metadata, default=str, option=_ORJSON_OPTIONS).decode()
    except (TypeError, orjson.JSONEncodeError):
        return _encode_metadata(metadata)


@dataclass
class _ChunkEnd:
    """What the producer says after a chunk's last slice: counts, bad rows, who and when."""

    received: int
    valid: int
    errors: list[tuple]  # RowError fields (index within the chunk, field, reason)
    customer_ids: set[int]
    start: datetime | None
    end: datetime | None
    batch_id: int


@dataclass
class _Slice:
    """Up to SLICE rated events as COPY text: ``wide`` for usage_event, ``narrow`` for the stage
    (STAGE_COLUMNS, each line numbered by its place in the chunk); where each wide line ends and whose
    it is."""

    wide: bytes
    narrow: bytes
    lines: "_Lines"
    customer_ids: set[int]
    start: datetime
    end: datetime
    batch_id: int


@dataclass
class _Lines:
    """What the writer needs to know of a slice's wide lines, in line order (compact: arrays of ints)."""

    ends: array  # offset just past each line's newline
    customers: array  # the line's customer id, 0 for none

    def span(self, i: int) -> tuple[int, int]:
        return (self.ends[i - 1] if i else 0), self.ends[i]


@dataclass
class _Spooled:
    """A slice on disk: the wide text in one file; the narrow text and its ``_Lines`` pickled in another."""

    wide_path: str
    narrow_path: str
    batch_id: int

    @classmethod
    def write(cls, piece: _Slice, spool: str, n: int) -> "_Spooled":
        spooled = cls(os.path.join(spool, f"{n}.wide"), os.path.join(spool, f"{n}.narrow"), piece.batch_id)
        with open(spooled.wide_path, "wb") as handle:
            handle.write(piece.wide)
        with open(spooled.narrow_path, "wb") as handle:
            pickle.dump((piece.narrow, piece.lines), handle, protocol=pickle.HIGHEST_PROTOCOL)
        return spooled

    def narrow(self) -> "tuple[bytes, _Lines]":
        with open(self.narrow_path, "rb") as handle:
            loaded = pickle.load(handle)  # our own file, written by _Spooled.write
        os.unlink(self.narrow_path)
        return loaded

    def wide(self) -> bytes:
        with open(self.wide_path, "rb") as handle:
            text = handle.read()
        os.unlink(self.wide_path)
        return text

    def discard(self) -> None:
        """Remove the slice's files unread (its chunk was written by another run)."""
        os.unlink(self.wide_path)
        os.unlink(self.narrow_path)


@dataclass
class _Replayed:
    """A chunk whose batch was committed by an earlier run: its first answer."""

    result: dict


def _slice_parse(
    records,
    *,
    size: int,
    fmt: str,
    source,
    now: datetime,
    offset: int,
    seen: set,
    earlier: set,
    errors: list,
):
    """Validate up to ``size`` records; return (events as tuples, rows read). First occurrence wins:
    a request id already ``seen`` in this chunk, or in the ``earlier`` chunk, is a repeat (None)."""
    to_canonical = None if fmt == "generic" else connector_for(fmt)
    horizon = now + FUTURE_TOLERANCE
    source_id = source.pk
    events = []
    read = 0
    for index, record in enumerate(islice(records, size), start=offset):
        read += 1
        raw = record
        if to_canonical is not None:
            try:
                raw = to_canonical(record, source=source)
            except ConnectorError as exc:
                errors.append((index, exc.field, exc.reason))
                continue
        row = _fast_event(raw, horizon, source_id)
        if row is None:
            result = event_validate(raw, index, now=now)
            if isinstance(result, list):
                errors.extend((e.index, e.field, e.reason) for e in result)
                continue
            e = result
            counts = (
                e.prompt_tokens,
                e.cache_read_tokens,
                e.cache_write_tokens,
                e.cache_write_1h_tokens,
                e.completion_tokens,
                e.reasoning_tokens,
            )
            row = (
                e.request_id,
                e.occurred_at,
                e.key,
                e.model,
                counts,
                e.batch,
                e.succeeded,
                _event_head(e, source_id),
                e.upstream_account,
                e.occurred_at.isoformat(),
            )
        seen_before = len(seen)
        seen.add(row[0])
        if len(seen) != seen_before and row[0] not in earlier:
            events.append(row)
        else:
            events.append(None)  # a repeat (in this chunk or the previous one): counted as valid, stored once
    return events, read


def _slice_copy_text(events: list, lookups: _Lookups, stamp: str, batch_id: int, first_line: int) -> "_Slice":
    """Rate the slice's events (queries allowed: prices load here) and return their COPY text, the narrow
    lines numbered from ``first_line``."""
    fresh = [e for e in events if e is not None]
    lookups.update({e[2] for e in fresh}, {e[3] for e in fresh})
    models = {m.pk: m for m in lookups.models.values() if m is not None}
    times = [e[1] for e in fresh]
    start, end = min(times), max(times)
    pricer = lookups.pricer
    # One pricer for the run, widened slice by slice: prices are looked up once per plan × model ×
    # segment, not again for every slice. New customers or models (rare after the first slice) rebuild it.
    if pricer is not None and pricer.covers(customer_ids=lookups.customers.keys(), model_ids=models):
        pricer.extend(start=start, end=end)
        pricer.forget_before(start)
    else:
        pricer = BatchPricer(customers=dict(lookups.customers), models=models, start=start, end=end)
        lookups.pricer = pricer
    keys, by_name = lookups.keys, lookups.models
    wide, narrow, owners = [], [], array("q")
    customers = set()
    for line, (rid, at, key, model, counts, batch, succeeded, head, upstream, at_text) in enumerate(
        fresh, start=first_line
    ):
        customer_id, model_id, state, reason, plan, sell, sell_ccy, cost, cost_ccy = row_rate(
            key=key,
            model_name=model,
            customer_id=keys.get(key),
            model=by_name.get(model.lower()),
            pricer=pricer,
            at=at,
            counts=counts,
            batch=batch,
            succeeded=succeeded,
        )
        if customer_id is not None:
            customers.add(customer_id)
        owners.append(customer_id or 0)
        ids = f"{NULL if customer_id is None else customer_id}\t{NULL if model_id is None else model_id}\t"
        sale = (
            f"{_esc(plan)}\t{NULL if sell is None else sell}\t{sell_ccy}\t{NULL if cost is None else cost}\t"
            f"{cost_ccy}"
        )
        wide.append(
            f"{head}{ids}{state}\t{_esc(reason[:300])}\t{sale}\t{stamp}\t{batch_id}\t"
            f"{batch_id if state == RATED else NULL}\n".encode()
        )
        narrow.append(
            f"{line}\t{_esc(rid)}\t{at_text}\t{ids}{_esc(upstream)}\t{state}\t{counts[0]}\t{counts[1]}\t"
            f"{counts[2]}\t{counts[3]}\t{counts[4]}\t{counts[5]}\t{'t' if batch else 'f'}\t{sale}\n"
        )
    return _Slice(
        wide=b"".join(wide),
        narrow="".join(narrow).encode(),
        lines=_Lines(array("q", accumulate(map(len, wide))), owners),
        customer_ids=customers,
        start=start,
        end=end,
        batch_id=batch_id,
    )


def _batch_id_take() -> int:
    """The id the chunk's usage batch will have, taken from its sequence now so the COPY text can carry it.

    Sequences are not transactional: the id is ours whatever else runs, and a chunk that fails or turns out
    empty leaves a gap, as any failed insert does.
    """
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence('usage_batch', 'id'))")
        return cursor.fetchone()[0]


def _chunk_start(n: int, chunk: int) -> int:
    """How many records come before chunk ``n``: the first is at most FIRST_CHUNK long, the rest ``chunk``.

    A function of ``n`` and ``chunk`` only, so a re-run cuts the input exactly as the first run did.
    """
    return 0 if n == 0 else min(chunk, FIRST_CHUNK) + (n - 1) * chunk


def _produce(*, source, records, fmt: str, chunk: int, key_prefix: str) -> Iterator:
    """Yield, chunk after chunk: its slices (``_Slice``) then a ``_ChunkEnd``, or one ``_Replayed``.

    Runs in the producer process (or in-process); reads the database (keys, models, prices, done
    batches), takes each chunk's batch id from its sequence and creates monthly partitions, but writes
    nothing else.
    """
    lookups = _Lookups(source)
    iterator = iter(records)
    # The previous chunk's request ids: a repeat of one is settled here, because that chunk may not have
    # committed yet when this one probes its keys (two writers): the probe would miss it, and the claim
    # would find it late (the slower way, and the event's row copied for nothing).
    earlier: set[str] = set()
    for n in range(10**9):
        size = _chunk_start(n + 1, chunk) - _chunk_start(n, chunk)
        done = UsageBatch.objects.filter(source=source, idempotency_key=f"{key_prefix}:{n}").first()
        if done is not None:
            # Replayed: skip its records without parsing them and answer as the first run did.
            if sum(1 for _ in islice(iterator, size)) == 0:
                return
            yield _Replayed({**done.response, "batch_id": done.pk})
            earlier = set()  # committed: the claim sees its keys
            continue
        batch_id = _batch_id_take()
        now = timezone.now()
        stamp = now.isoformat()
        seen: set[str] = set()
        errors: list[tuple] = []
        received = valid = lines = 0
        customers: set[int] = set()
        first = last = None
        while received < size:
            events, read = _slice_parse(
                iterator,
                size=min(SLICE, size - received),
                fmt=fmt,
                source=source,
                now=now,
                offset=received,
                seen=seen,
                earlier=earlier,
                errors=errors,
            )
            received += read
            valid += len(events)
            if any(e is not None for e in events):
                partitions_ensure(months={month_start(e[1]) for e in events if e is not None})
                piece = _slice_copy_text(events, lookups, stamp, batch_id, lines)
                lines += len(piece.lines.ends)
                customers |= piece.customer_ids
                first, last = min(piece.start, first or piece.start), max(piece.end, last or piece.end)
                yield piece
            if read < SLICE:
                break
        if received == 0:
            return
        yield _ChunkEnd(received, valid, errors, customers, first, last, batch_id)
        earlier = seen


def _produce_into(queue, spool: str, *, source, records, fmt: str, chunk: int, key_prefix: str) -> None:
    """The producer process: run ``_produce``, spool each slice to files in ``spool`` and put them (or the
    chunk's end) on ``queue``; None when finished.

    Files, not the queue, carry the text so the producer can run a chunk or two ahead of the writer —
    while the writer's statements run — without either process holding more than one slice in memory.
    """
    from django.db import connections

    # The parent's connection was inherited through fork: never use (or close) it here; open our own.
    # The old connection objects are kept referenced so no finaliser ever says goodbye on the parent's
    # socket (the process ends with os._exit, without running them).
    for conn in connections.all(initialized_only=True):
        _INHERITED.append(conn.connection)
        conn.connection = None
    try:
        for item in _spooled(
            _produce(source=source, records=records, fmt=fmt, chunk=chunk, key_prefix=key_prefix), spool
        ):
            queue.put(item)
        queue.put(None)
    except BaseException:
        queue.put(("error", traceback.format_exc()))
        raise
    finally:
        connections.close_all()


def _from_queue(queue, process) -> Iterator:
    while True:
        try:
            item = queue.get(timeout=5)
        except Empty:
            if not process.is_alive():
                raise RuntimeError("The bulk ingest producer stopped without a word.") from None
            continue
        if item is None:
            return
        if type(item) is tuple:
            raise RuntimeError(f"The bulk ingest producer failed:\n{item[1]}")
        yield item


def _spooled(items: Iterator, spool: str) -> Iterator:
    """The producer's items with each slice written to files (memory: one slice, however large the chunk)."""
    for n, item in enumerate(items):
        yield _Spooled.write(item, spool, n) if type(item) is _Slice else item


def _runs(lines: _Lines, skip: list[int]) -> list[tuple[int, int]]:
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


def _lines_only(text: bytes, lines: _Lines, only: list[int], sales: dict[int, tuple], base: int) -> bytes:
    """The lines at ``only`` (ascending) of a slice's wide COPY text, each with the sale a token allowance
    gave it (``sales`` by line number in the chunk, the slice's first being ``base``: plan, amount,
    currency as stored in the stage)."""
    kept = []
    for i in only:
        first, after = lines.span(i)
        line = text[first:after]
        sale = sales.get(base + i)
        if sale is not None:
            plan, amount, currency = sale
            fields = line[:-1].split(b"\t")
            for field, value in zip(
                SELL_FIELDS, (_esc(plan), NULL if amount is None else amount, currency), strict=True
            ):
                fields[field] = str(value).encode()
            line = b"\t".join(fields) + b"\n"
        kept.append(line)
    return b"".join(kept)


def _stage_probe(cursor, source_id: int) -> list[int]:
    """Drop the staged keys already taken from the stage; return their line numbers, ascending."""
    cursor.execute(PROBE_SQL, {"source": source_id})
    return sorted(row[0] for row in cursor.fetchall())


def _stage_claim(cursor, source_id: int) -> dict[int, tuple[str, datetime]]:
    """Claim the stage's keys for this chunk's batch; return those taken meanwhile (late duplicates: they
    have left the stage), (request id, occurred at) by line number."""
    try:
        with transaction.atomic():
            cursor.execute(CLAIM_SQL, {"source": source_id})
            return {}
    except IntegrityError:
        cursor.execute(CLAIM_WAITING_SQL, {"source": source_id})
        return {line: (request_id, at) for line, request_id, at in cursor.fetchall()}


class _KeyTaken(Exception):
    """A chunk's usage batch key was committed by another run of the same input."""


class _Writer:
    """The writing half: one usage batch and transaction per chunk, from the producer's COPY text."""

    def __init__(self, source: GatewaySource, fmt: str):
        self.source = source
        self.fmt = fmt
        self.customers: dict[int, object] = {}
        self.vendors: dict[int, object] = {}
        self._block = bytearray(BLOCK)

    def chunk_write(
        self, *, key: str, items: Iterator, wait_turn: Callable[[], None] = lambda: None
    ) -> BatchResult | None:
        """Write the next chunk from ``items`` (slices then a ``_ChunkEnd``); None when there is none.

        First what writes only rows of its own, so that nothing the previous chunk needs waits for this
        one while it waits for its turn: stage the narrow rows, probe their keys (those taken leave the
        stage), COPY the wide rows of the new events of customers holding no token allowance straight into
        usage_event. Then, once ``wait_turn`` returns (the previous chunk has committed, when two writers
        run), what takes shared rows: claim the keys (a key taken since the probe is a late duplicate,
        whose wide row goes again), draw allowances and COPY the holders' wide rows, roll up and sum from
        the stage, post.

        Another run of the same input (a second ``manage.py ingest`` of the file) may be writing the same
        chunk: creating its batch then waits for that run's transaction, and if it commits, this chunk
        answers as that run did (replayed), in its turn, having written nothing.
        """
        first = next(items, None)
        if first is None:
            return None
        if isinstance(first, _Replayed):
            return BatchResult(**first.result, replayed=True)
        try:
            return self._chunk_write(first, key=key, items=items, wait_turn=wait_turn)
        except _KeyTaken:
            return self._chunk_replay(first, key=key, items=items, wait_turn=wait_turn)

    def _chunk_replay(
        self, first, *, key: str, items: Iterator, wait_turn: Callable[[], None]
    ) -> BatchResult:
        """Skip the rest of a chunk another run committed; answer as that run did, in this chunk's turn."""
        item = first
        while not isinstance(item, _ChunkEnd):
            item.discard()
            item = next(items)
        done = UsageBatch.objects.get(source=self.source, idempotency_key=key)
        wait_turn()
        return BatchResult(**{**done.response, "batch_id": done.pk}, replayed=True)

    def _chunk_write(
        self, first: "_Spooled | _ChunkEnd", *, key: str, items: Iterator, wait_turn: Callable[[], None]
    ) -> BatchResult:
        with transaction.atomic():
            try:
                with transaction.atomic():
                    batch = UsageBatch.objects.create(
                        pk=first.batch_id,
                        source=self.source,
                        idempotency_key=key,
                        request_hash=key,
                        fmt=self.fmt,
                        received=0,
                    )
            except IntegrityError:
                # The key is taken: committed by another run while this one waited for it (a committed
                # chunk is skipped before it is read, in _produce).
                raise _KeyTaken from None
            with connection.cursor() as cursor:
                # Session-local planner settings for this transaction only: JIT compiling costs more than
                # the statements save here, and the rollup aggregates want memory.
                cursor.execute("SET LOCAL jit = off")
                cursor.execute("SET LOCAL work_mem = '128MB'")
                cursor.execute(STAGE_TABLE)
                # Empty already after a commit; inside a caller's transaction the last chunk's rows remain.
                cursor.execute("TRUNCATE usage_ingest_stage")
                slices: list[tuple[_Spooled, _Lines]] = []
                end = first
                while not isinstance(end, _ChunkEnd):
                    narrow, lines = end.narrow()
                    with cursor.copy(STAGE_COPY) as copy:
                        copy.write(narrow)
                    slices.append((end, lines))
                    end = next(items)
                duplicates = iter(_stage_probe(cursor, self.source.pk))
                holders = (
                    allowance_holders(customer_ids=end.customer_ids, start=end.start, end=end.end)
                    if end.customer_ids
                    else set()
                )
                # Holders' lines wait for their sales: (slice, its first line number, its holders' new lines).
                held: list[tuple[_Spooled, _Lines, int, list[int]]] = []
                base, duplicate = 0, next(duplicates, None)
                for spooled, lines in slices:
                    count = len(lines.ends)
                    skip = []
                    while duplicate is not None and duplicate < base + count:
                        skip.append(duplicate - base)
                        duplicate = next(duplicates, None)
                    mine = [i for i, c in enumerate(lines.customers) if c in holders] if holders else []
                    if mine:
                        gone = set(skip)
                        held.append((spooled, lines, base, [i for i in mine if i not in gone]))
                        skip = sorted({*skip, *mine})
                    with cursor.copy(EVENT_COPY) as copy:
                        self._file_send(copy, spooled.wide_path, _runs(lines, skip))
                    if not mine:
                        os.unlink(spooled.wide_path)
                    base += count
                wait_turn()
                late = _stage_claim(cursor, self.source.pk)
                if late:
                    times = [at for _rid, at in late.values()]
                    cursor.execute(
                        LATE_DELETE_SQL,
                        {
                            "batch": batch.pk,
                            "source": self.source.pk,
                            "ids": [rid for rid, _at in late.values()],
                            "first": min(times),
                            "last": max(times),
                        },
                    )
                sales = self._allowances_draw(cursor, batch, end, holders)
                for spooled, lines, first_line, only in held:
                    only = [i for i in only if first_line + i not in late]
                    with cursor.copy(EVENT_COPY) as copy:
                        copy.write(_lines_only(spooled.wide(), lines, only, sales, first_line))
                cursor.execute(ROLLUPS_SQL, [settings.TIME_ZONE])
                sums = cursor.fetchall()
            result = self._post(batch, end, sums)
            # As the per-batch path does: the gateway status of the chunk's customers is read afresh.
            customer_ids = set(end.customer_ids)
            transaction.on_commit(lambda: after_commit(customer_ids), robust=True)
        return result

    def _file_send(self, copy, path: str, runs: list[tuple[int, int]]) -> None:
        """COPY these byte ranges of a spooled wide text, a block at a time (memory: one block, not the
        ~10 MB slice)."""
        view = memoryview(self._block)
        with open(path, "rb") as handle:
            for start, stop in runs:
                handle.seek(start)
                while start < stop:
                    read = handle.readinto(view[: min(len(view), stop - start)])
                    if not read:
                        raise RuntimeError(f"The bulk ingest spool file {path} ended early.")
                    copy.write(view[:read])  # libpq copies it before write returns: the block is reused
                    start += read

    def _allowances_draw(
        self, cursor, batch: UsageBatch, end: "_ChunkEnd", holders: set[int]
    ) -> dict[int, tuple]:
        """Draw token allowances for the chunk's ``holders``; return the changed sales by line number (sell
        plan, amount, currency as stored in the stage), for the wide lines to say the same."""
        if not holders:
            return {}
        cursor.execute(
            "SELECT line, customer_id, model_id, occurred_at, prompt_tokens, cache_read_tokens, "
            "cache_write_tokens, cache_write_1h_tokens, completion_tokens, reasoning_tokens, is_batch, "
            "sell_amount FROM usage_ingest_stage WHERE rating_state = 'rated' AND customer_id = ANY(%s) "
            "ORDER BY occurred_at, request_id",
            [sorted(holders)],
        )
        rows = cursor.fetchall()
        if not rows:
            return {}
        balances = balances_load(customer_ids=holders, start=end.start, end=end.end)
        draws = [
            Draw(ref=r, customer_id=r[1], model_id=r[2], at=r[3], tokens=event_tokens(r[4], r[8]), sell=r[11])
            for r in rows
        ]
        pricer = _LazyPricer(customers_load(holders), {r[2] for r in rows}, end.start, end.end)
        overage_price, notes = overage_pricer(pricer, lambda d: (d.ref[4:10], d.ref[10]))
        changed = allowances_draw(draws=draws, balances=balances, overage_price=overage_price)
        sales = {}
        if changed:
            cursor.execute(
                "UPDATE usage_ingest_stage s SET sell_amount = v.sell, "
                "sell_plan = coalesce(v.plan, s.sell_plan), sell_currency = coalesce(v.ccy, s.sell_currency) "
                "FROM unnest(%s::integer[], %s::numeric[], %s::text[], %s::text[]) "
                "AS v(line, sell, plan, ccy) "
                "WHERE s.line = v.line "
                "RETURNING s.line, s.sell_plan, s.sell_amount, s.sell_currency",
                [
                    [d.ref[0] for d in changed],
                    [d.charged for d in changed],
                    [notes.get(id(d), (None, None))[0] for d in changed],
                    [notes.get(id(d), (None, None))[1] for d in changed],
                ],
            )
            sales = {line: sale for line, *sale in cursor.fetchall()}
        draws_record(batch=batch, balances=balances)
        return sales

    def _post(self, batch: UsageBatch, end: "_ChunkEnd", sums: list) -> BatchResult:
        sell: dict = defaultdict(Decimal)
        cost: dict = defaultdict(Decimal)
        accepted = unrated = 0
        for customer_id, sell_ccy, vendor_id, cost_ccy, state, count, sell_sum, cost_sum, _h, _d in sums:
            accepted += count
            unrated += count if state == "unrated" else 0
            if state == "rated":
                sell[(customer_id, sell_ccy)] += sell_sum
                if cost_sum is not None:
                    cost[(customer_id, vendor_id, cost_ccy)] += cost_sum
        new_customers = {c for c, _ in sell} - self.customers.keys()
        if new_customers:
            self.customers.update(customers_load(new_customers))
        new_vendors = {v for _c, v, _ccy in cost} - self.vendors.keys()
        if new_vendors:
            self.vendors.update(Vendor.objects.in_bulk(new_vendors))
        sums_post(batch=batch, sell=sell, cost=cost, customers=self.customers, vendors=self.vendors)
        errors = [RowError(*e) for e in end.errors]
        result = BatchResult(
            batch_id=batch.pk,
            accepted=accepted,
            duplicates=end.valid - accepted,
            rejected=len({e.index for e in errors}),
            unrated=unrated,
            errors=[e.as_dict() for e in errors[:MAX_REPORTED_ERRORS]],
        )
        UsageBatch.objects.filter(pk=batch.pk).update(
            received=end.received,
            accepted=result.accepted,
            duplicates=result.duplicates,
            rejected=result.rejected,
            unrated=result.unrated,
            response={k: v for k, v in result.as_dict().items() if k != "batch_id"},
        )
        return result


class _LazyPricer:
    """A ``BatchPricer`` built on first use: most chunks never price an overage."""

    def __init__(self, customers, model_ids, start, end):
        self._args = (customers, model_ids, start, end)
        self._pricer = None

    def plan_prices(self, plan_id, model_id, at):
        if self._pricer is None:
            customers, model_ids, start, end = self._args
            models = {m.pk: m for m in AIModel.objects.filter(pk__in=model_ids).select_related("vendor")}
            self._pricer = BatchPricer(customers=customers, models=models, start=start, end=end)
        return self._pricer.plan_prices(plan_id, model_id, at)


class _Abandoned(Exception):
    """A chunk given up because an earlier one (or the reading of the input) failed: it rolls back."""


class _Turns:
    """The order chunks commit in: chunk ``n`` takes its locks only once chunk ``n - 1`` is done.

    So the chunks of a run commit in input order (a re-run replays a prefix and writes the rest), the two
    writers never wait for each other's rows, and allowances are drawn in input order.
    """

    def __init__(self):
        self._cond = threading.Condition()
        self._done = -1
        self._failed: int | None = None  # the first chunk that failed

    def wait(self, n: int) -> None:
        with self._cond:
            if not self._cond.wait_for(lambda: self._done >= n - 1 or self._failed_before(n), TURN_WAIT_S):
                # The previous chunk is stuck (a lock held elsewhere for this long): fail rather than hang.
                raise RuntimeError(
                    f"Bulk ingest chunk {n} waited {TURN_WAIT_S // 60} minutes for chunk {n - 1} to commit."
                )
            if self._failed_before(n):
                raise _Abandoned

    def _failed_before(self, n: int) -> bool:
        return self._failed is not None and self._failed < n

    def done(self, n: int) -> None:
        with self._cond:
            self._done = n
            self._cond.notify_all()

    def fail(self, n: int) -> None:
        with self._cond:
            self._failed = n if self._failed is None else min(n, self._failed)
            self._cond.notify_all()


_ABORT = object()  # put on a chunk's feed when its input will never come


def _fed(feed: "queue.SimpleQueue") -> Iterator:
    while (item := feed.get()) is not _ABORT:
        yield item
    raise _Abandoned


def _writer_thread(source: GatewaySource, fmt: str, jobs, turns: _Turns, finished) -> None:
    """One writer with its own connection: write each chunk given on ``jobs`` (None: stop) in its turn."""
    writer = _Writer(source, fmt)
    try:
        while (job := jobs.get()) is not None:
            n, key, feed = job
            try:
                result = writer.chunk_write(key=key, items=_fed(feed), wait_turn=lambda n=n: turns.wait(n))
            except BaseException as exc:  # reported to the reading thread, which raises it
                turns.fail(n)
                finished.put((n, exc))
            else:
                turns.done(n)
                finished.put((n, result))
    finally:
        connection.close()


def _write_in_turns(*, source: GatewaySource, fmt: str, items: Iterator, key_prefix: str, deliver) -> None:
    """Write the chunks in ``items`` with ``WRITERS`` writers (threads, one connection each); call
    ``deliver(n, result)`` for each chunk in input order.

    Each chunk is still one transaction. A writer COPYs while the other rolls up and posts (or COPYs
    too), so PostgreSQL works on two chunks at once; ``_Turns`` keeps the commits in input order. On a
    failure the chunks before the failed one (or, if reading the input failed, the chunks read whole)
    commit and are delivered, the later ones roll back, and the failed chunk's own error is raised (an
    interrupt is raised as it came).
    """
    turns = _Turns()
    jobs: queue.SimpleQueue = queue.SimpleQueue()
    finished: queue.SimpleQueue = queue.SimpleQueue()
    threads = [
        threading.Thread(target=_writer_thread, args=(source, fmt, jobs, turns, finished), daemon=True)
        for _ in range(WRITERS)
    ]
    for thread in threads:
        thread.start()

    def stop() -> None:
        for _ in threads:
            jobs.put(None)
        for thread in threads:
            thread.join()

    outcomes: dict[int, object] = {}  # finished, not yet delivered
    delivered = in_flight = 0

    def deliver_ready() -> BaseException | None:
        """Deliver, in order, every finished chunk that is next; return the failure that stops it (kept)."""
        nonlocal delivered
        while delivered in outcomes:
            if isinstance(outcomes[delivered], BaseException):
                return outcomes[delivered]
            deliver(delivered, outcomes.pop(delivered))
            delivered += 1
        return None

    def collect(*, block: bool) -> None:
        """Take what the writers finished (waiting for one if ``block``), then deliver what is ready."""
        nonlocal in_flight
        while True:
            try:
                n, outcome = finished.get(block=block)
            except Empty:
                break
            block = False
            outcomes[n] = outcome
            in_flight -= 1
        if (failure := deliver_ready()) is not None:
            raise failure

    n, feed = 0, None
    try:
        for n in range(10**9):
            while in_flight >= WRITERS:
                collect(block=True)
            first = next(items, None)
            if first is None:
                break
            in_flight += 1
            if isinstance(first, _Replayed):
                turns.wait(n)
                turns.done(n)
                finished.put((n, BatchResult(**first.result, replayed=True)))
                continue
            feed = queue.SimpleQueue()
            jobs.put((n, f"{key_prefix}:{n}", feed))
            item = first
            feed.put(item)
            while not isinstance(item, _ChunkEnd):
                item = next(items)
                feed.put(item)
            feed = None
            collect(block=False)
        while in_flight:
            collect(block=True)
    except BaseException as exc:
        turns.fail(n)
        if feed is not None:
            feed.put(_ABORT)
        stop()
        while not finished.empty():
            done, outcome = finished.get()
            outcomes[done] = outcome
        deliver_ready()  # the chunks that committed are reported, as they would have been
        if not isinstance(exc, Exception):
            raise  # an interrupt or exit, as it came
        failures = [
            outcomes[k]
            for k in sorted(outcomes)
            if isinstance(outcomes[k], Exception) and not isinstance(outcomes[k], _Abandoned)
        ]
        if not failures or failures[0] is exc:
            raise
        raise failures[0] from exc  # the first chunk's own failure, not what followed it
    stop()


def bulk_ingest(
    *,
    source: GatewaySource,
    records: Iterable,
    fmt: str = "generic",
    key_prefix: str,
    chunk: int = CHUNK,
    parallel: bool | None = None,
    progress: Callable[[int, BatchResult], None] | None = None,
) -> BatchResult:
    """Ingest ``records`` (any iterable, e.g. ``files.records_iter``) in chunks; return summed counts.

    ``parallel`` (default: when not inside a transaction nor a daemonic process, and ``fork`` is available)
    parses and rates in a forked producer process while ``WRITERS`` threads of this one write; the
    results are the same.
    ``progress(n, total)`` is called after each chunk ``n`` commits, with the counts so far.
    """
    if connection.vendor != "postgresql":
        raise RuntimeError("The bulk path needs PostgreSQL (COPY); use files.file_ingest elsewhere.")
    if parallel is None:
        # Not inside a transaction (the producer could not see its rows), and not in a daemonic process
        # such as a Celery prefork worker's child, which may not start processes of its own.
        parallel = (
            not connection.in_atomic_block
            and not multiprocessing.current_process().daemon
            and "fork" in multiprocessing.get_all_start_methods()
        )
    produce = {"source": source, "records": records, "fmt": fmt, "chunk": chunk, "key_prefix": key_prefix}
    process = None
    spool = tempfile.TemporaryDirectory(prefix="usage-bulk-")
    if parallel:
        context = multiprocessing.get_context("fork")
        handoff = context.Queue(maxsize=QUEUED)
        process = context.Process(
            target=_produce_into, args=(handoff, spool.name), kwargs=produce, daemon=True
        )
        process.start()
        items = _from_queue(handoff, process)
    else:
        items = _spooled(_produce(**produce), spool.name)
    total = BatchResult(batch_id=None)

    def deliver(n: int, result: BatchResult) -> None:
        total.add(result, offset=_chunk_start(n, chunk))
        if progress is not None:
            progress(n, total)

    try:
        if parallel:
            _write_in_turns(source=source, fmt=fmt, items=items, key_prefix=key_prefix, deliver=deliver)
        else:
            writer = _Writer(source, fmt)
            for n in range(10**9):
                result = writer.chunk_write(key=f"{key_prefix}:{n}", items=items)
                if result is None:
                    break
                deliver(n, result)
        GatewaySource.objects.filter(pk=source.pk).update(last_used_at=timezone.now())
    finally:
        if process is not None:
            if process.is_alive():
                process.terminate()
            process.join()
        spool.cleanup()
    return total
