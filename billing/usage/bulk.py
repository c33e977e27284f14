"""The bulk path (PostgreSQL): stream a large NDJSON/CSV file through the pipeline at COPY speed.

Same steps and same guarantees as ``services.usage_batch_ingest``, organised for throughput: Python
parses, validates and rates a chunk on plain data (prices loaded once per chunk), ``COPY`` loads it into a
temporary staging table, and ONE set-based statement deduplicates (``INSERT … ON CONFLICT DO NOTHING
RETURNING`` into the key table), inserts the new events, upserts the hourly and daily rollups and returns
the sums to post. Each chunk is one usage batch and one database transaction (events, rollups and ledger
postings commit together); its idempotency key is ``<key_prefix>:<n>``, so a re-run after a crash replays
the chunks already committed and completes the rest exactly once. Memory is bounded by one chunk.
"""

import json
from collections import defaultdict
from collections.abc import Iterable, Iterator
from datetime import datetime
from decimal import Decimal
from itertools import islice

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from billing.usage.connectors import ConnectorError, connector_for
from billing.usage.events import FUTURE_TOLERANCE, MAX_ID, CanonicalEvent, RowError, event_validate
from billing.usage.models import GatewaySource, UsageBatch
from billing.usage.partitions import month_start, partitions_ensure
from billing.usage.postings import sums_post
from billing.usage.pricing import BatchPricer
from billing.usage.rating import _RATED, row_rate
from billing.usage.resolve import customers_load, keys_resolve, models_resolve
from billing.usage.services import MAX_REPORTED_ERRORS, BatchResult

# Postings are per chunk × customer, so bigger chunks post less often; memory grows with the chunk.
CHUNK = 100_000
COLUMNS = (
    "source_id", "batch_id", "request_id", "occurred_at", "gateway_key", "customer_id", "model_name",
    "model_id", "upstream_account", "prompt_tokens", "cache_read_tokens", "cache_write_tokens",
    "cache_write_1h_tokens", "completion_tokens", "reasoning_tokens", "is_batch", "succeeded",
    "gateway_cost", "gateway_cost_currency", "metadata", "rating_state", "unrated_reason", "sell_plan",
    "sell_amount", "sell_currency", "cost_amount", "cost_currency", "rated_in_id", "ingested_at",
)  # fmt: skip
# COPY sends the event's own columns first (formatted once, while parsing) and the rating's after them;
# the batch id comes last because it is known only inside the chunk's transaction.
HEAD_COLUMNS = (
    "source_id", "request_id", "occurred_at", "gateway_key", "model_name", "upstream_account",
    "prompt_tokens", "cache_read_tokens", "cache_write_tokens", "cache_write_1h_tokens", "completion_tokens",
    "reasoning_tokens", "is_batch", "succeeded", "gateway_cost", "gateway_cost_currency", "metadata",
)  # fmt: skip
TAIL_COLUMNS = (
    "customer_id", "model_id", "rating_state", "unrated_reason", "sell_plan", "sell_amount", "sell_currency",
    "cost_amount", "cost_currency", "ingested_at", "batch_id", "rated_in_id",
)  # fmt: skip
COPY_COLUMNS = HEAD_COLUMNS + TAIL_COLUMNS
assert sorted(COPY_COLUMNS) == sorted(COLUMNS)
COPY_SLICE = 10_000
NULL = "\\N"
# One encoder for every row (json.dumps would build one per call); same output as json.dumps(default=str).
_encode_metadata = json.JSONEncoder(default=str).encode
_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
ROLLUP_SUMS = (
    "count(*), sum(prompt_tokens), sum(cache_read_tokens), sum(cache_write_tokens), "
    "sum(cache_write_1h_tokens), sum(completion_tokens), sum(reasoning_tokens), "
    "sum(sell_amount), coalesce(sum(cost_amount), 0)"
)
ROLLUP_COLUMNS = (
    "customer_id, model_id, upstream_account, sell_currency, cost_currency, requests, prompt_tokens, "
    "cache_read_tokens, cache_write_tokens, cache_write_1h_tokens, completion_tokens, reasoning_tokens, "
    "sell_amount, cost_amount"
)
KEYS = "customer_id, model_id, upstream_account, sell_currency, cost_currency"
ADD = ", ".join(
    f"{c} = {{t}}.{c} + excluded.{c}"
    for c in (
        "requests", "prompt_tokens", "cache_read_tokens", "cache_write_tokens", "cache_write_1h_tokens",
        "completion_tokens", "reasoning_tokens", "sell_amount", "cost_amount",
    )
)  # fmt: skip


def _chunk_sql() -> str:
    """One statement: dedupe, insert the new events, upsert both rollups, return the sums to post."""
    columns = ", ".join(COLUMNS)
    return f"""
    WITH won AS (
        INSERT INTO usage_request_key (source_id, request_id, occurred_at)
        SELECT source_id, request_id, occurred_at FROM usage_stage
        ON CONFLICT (source_id, request_id) DO NOTHING RETURNING request_id
    ), ins AS (
        INSERT INTO usage_event ({columns})
        SELECT {", ".join("s." + c for c in COLUMNS)} FROM usage_stage s JOIN won USING (request_id)
        RETURNING {KEYS}, occurred_at, rating_state, prompt_tokens, cache_read_tokens, cache_write_tokens,
                  cache_write_1h_tokens, completion_tokens, reasoning_tokens, sell_amount, cost_amount
    ), hourly AS (
        INSERT INTO usage_hourly (hour, {ROLLUP_COLUMNS})
        SELECT date_trunc('hour', occurred_at), {KEYS}, {ROLLUP_SUMS}
        FROM ins WHERE rating_state = 'rated' GROUP BY 1, {KEYS}
        ON CONFLICT (hour, {KEYS}) DO UPDATE SET {ADD.format(t="usage_hourly")}
        RETURNING 1
    ), daily AS (
        INSERT INTO usage_daily (day, {ROLLUP_COLUMNS})
        SELECT (occurred_at AT TIME ZONE %s)::date, {KEYS}, {ROLLUP_SUMS}
        FROM ins WHERE rating_state = 'rated' GROUP BY 1, {KEYS}
        ON CONFLICT (day, {KEYS}) DO UPDATE SET {ADD.format(t="usage_daily")}
        RETURNING 1
    )
    SELECT ins.customer_id, ins.sell_currency, m.vendor_id, ins.cost_currency, ins.rating_state,
           count(*), sum(ins.sell_amount), sum(ins.cost_amount),
           (SELECT count(*) FROM hourly), (SELECT count(*) FROM daily)
    FROM ins LEFT JOIN catalog_aimodel m ON m.id = ins.model_id
    GROUP BY 1, 2, 3, 4, 5
    """


_DECODER = json.JSONDecoder(parse_float=Decimal)


def ndjson_records(binary) -> Iterator:
    """Yield the records of an NDJSON file (binary) one line at a time, as ``files.records_iter`` does.

    The same records for the same lines — one reused decoder, floats as Decimal, blank lines skipped, a
    line that is not JSON yielded as its text so it is reported as a bad row, never dropped — without
    the text layer; a line that is not UTF-8 is yielded as text too (``records_iter`` stops on it).
    Memory: one line at a time.
    """
    decode = _DECODER.decode
    first = True
    for line in binary:
        if first:
            first = False
            if line.startswith(b"\xef\xbb\xbf"):
                line = line[3:]
        try:
            text = line.decode()
        except UnicodeDecodeError:
            yield line.decode(errors="replace")
            continue
        if not text.strip():
            continue
        try:
            yield decode(text)
        except json.JSONDecodeError:
            yield text


class _Lookups:
    """Keys and models resolved once per run and extended as new names appear (plain dicts)."""

    def __init__(self, source: GatewaySource):
        self.source = source
        self.keys: dict[str, int | None] = {}
        self.models: dict[str, object] = {}
        self.customers: dict[int, object] = {}

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
    return value.translate(_ESCAPES)


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
    agree on every row this takes; anything else (errors, coercions, odd types) goes the slow way.
    Tuple: (request_id, occurred_at, key, model, counts, batch, succeeded, head).
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
    if upstream is None:
        upstream = ""
    elif type(upstream) is str:
        upstream = upstream.strip()
        if len(upstream) > 120:
            return None
    else:
        return None
    at = get("occurred_at")
    if type(at) is not str or "T" not in at:
        return None
    try:
        at = datetime.fromisoformat(at)
    except ValueError:
        return None
    if at.tzinfo is None or at > horizon:
        return None
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
        cost = None
    elif type(cost) is int and cost >= 0:
        cost = Decimal(cost)
    elif not (type(cost) is Decimal and cost.is_finite() and cost >= 0):
        return None
    currency = get("gateway_cost_currency") or ""
    if currency and not (type(currency) is str and len(currency) == 3 and currency.isupper()):
        return None
    metadata = get("metadata") or {}
    if type(metadata) is not dict:
        return None
    head = (
        f"{source_id}\t{_esc(request_id)}\t{at.isoformat()}\t{_esc(key)}\t{_esc(model)}\t{_esc(upstream)}\t"
        f"{prompt}\t{cache_read}\t{cache_write}\t{cache_write_1h}\t{completion}\t{reasoning}\t"
        f"{'t' if batch else 'f'}\t{'t' if succeeded else 'f'}\t{NULL if cost is None else cost}\t"
        f"{_esc(currency) if cost is not None else ''}\t{_esc(_metadata_text(metadata))}\t"
    )
    return (request_id, at, key, model, counts, batch, succeeded, head)


def _metadata_text(metadata: dict) -> str:
    return _encode_metadata(metadata) if metadata else "{}"


class _Chunk:
    """One chunk parsed and validated: unique events as compact tuples, bad rows, counts."""

    def __init__(self):
        self.events: dict[str, tuple] = {}  # request_id → event tuple, first occurrence wins
        self.valid = 0  # valid rows, duplicates inside the chunk included
        self.received = 0
        self.errors: list[RowError] = []


def _chunk_parse(records, *, size: int, fmt: str, source, now: datetime) -> _Chunk:
    """Read up to ``size`` records from the iterator and validate them one by one (bounded memory)."""
    to_canonical = None if fmt == "generic" else connector_for(fmt)
    horizon = now + FUTURE_TOLERANCE
    chunk = _Chunk()
    events, errors = chunk.events, chunk.errors
    source_id = source.pk
    index = -1
    for index, record in enumerate(islice(records, size)):
        raw = record
        if to_canonical is not None:
            try:
                raw = to_canonical(record, source=source)
            except ConnectorError as exc:
                errors.append(RowError(index, exc.field, exc.reason))
                continue
        row = _fast_event(raw, horizon, source_id)
        if row is None:
            result = event_validate(raw, index, now=now)
            if isinstance(result, list):
                errors.extend(result)
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
            )
        chunk.valid += 1
        if row[0] not in events:
            events[row[0]] = row
    chunk.received = index + 1
    return chunk


def _chunk_rate(chunk: _Chunk, lookups: _Lookups, stamp: str) -> tuple[list[str], list[bool], dict]:
    """Rate every unique event (queries allowed: prices load here); return COPY tails and the models.

    A tail is the rest of the COPY line after the head (TAIL_COLUMNS up to the batch id, known later);
    ``rated`` says whether the event is rated (then ``rated_in`` is the batch).
    """
    fresh = chunk.events.values()
    lookups.update({e[2] for e in fresh}, {e[3] for e in fresh})
    models = {m.pk: m for m in lookups.models.values() if m is not None}
    pricer = None
    if fresh:
        times = [e[1] for e in fresh]
        pricer = BatchPricer(customers=lookups.customers, models=models, start=min(times), end=max(times))
    keys, by_name = lookups.keys, lookups.models
    tails, rated = [], []
    for _rid, at, key, model, counts, batch, succeeded, _head in fresh:
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
        tails.append(
            f"{NULL if customer_id is None else customer_id}\t{NULL if model_id is None else model_id}\t"
            f"{state}\t{_esc(reason[:300])}\t{_esc(plan)}\t{NULL if sell is None else sell}\t{sell_ccy}\t"
            f"{NULL if cost is None else cost}\t{cost_ccy}\t{stamp}\t"
        )
        rated.append(state == _RATED)
    return tails, rated, models


def _chunk_ingest(*, source, records, size: int, fmt: str, key: str, lookups: _Lookups) -> BatchResult | None:
    """Ingest the next ``size`` records as one usage batch; None when the iterator is exhausted."""
    done = UsageBatch.objects.filter(source=source, idempotency_key=key).first()
    if done is not None:
        # Replayed: skip its records without parsing them and answer as the first run did.
        if sum(1 for _ in islice(records, size)) == 0:
            return None
        return BatchResult(**{**done.response, "batch_id": done.pk}, replayed=True)
    now = timezone.now()
    chunk = _chunk_parse(records, size=size, fmt=fmt, source=source, now=now)
    if chunk.received == 0:
        return None
    # Rate everything BEFORE the COPY starts: pricing may query (plans, FX), and a connection in COPY
    # mode cannot run another statement — interleaving them would hang the connection.
    tails, rated, models = _chunk_rate(chunk, lookups, now.isoformat())
    partitions_ensure(months={month_start(e[1]) for e in chunk.events.values()})
    with transaction.atomic():
        batch = UsageBatch.objects.create(
            source=source, idempotency_key=key, request_hash=key, fmt=fmt, received=chunk.received
        )
        end_rated, end_other = f"{batch.pk}\t{batch.pk}\n", f"{batch.pk}\t{NULL}\n"
        with connection.cursor() as cursor:
            # Session-local planner settings for this transaction only: JIT compiling costs more than the
            # statement saves here, and the dedupe join and rollup aggregates want memory, not temp files.
            cursor.execute("SET LOCAL jit = off")
            cursor.execute("SET LOCAL work_mem = '64MB'")
            cursor.execute(
                "CREATE TEMP TABLE IF NOT EXISTS usage_stage ON COMMIT DELETE ROWS AS "
                f"SELECT {', '.join(COLUMNS)} FROM usage_event WITH NO DATA"
            )
            with cursor.copy(f"COPY usage_stage ({', '.join(COPY_COLUMNS)}) FROM STDIN") as copy:
                heads = [e[7] for e in chunk.events.values()]
                for start in range(0, len(heads), COPY_SLICE):
                    # Written in slices so the COPY text never holds the whole chunk at once.
                    stop = start + COPY_SLICE
                    part = "".join(
                        head + tail + (end_rated if is_rated else end_other)
                        for head, tail, is_rated in zip(
                            heads[start:stop], tails[start:stop], rated[start:stop], strict=True
                        )
                    )
                    copy.write(part.encode())
                del heads
            tails.clear()
            rated.clear()
            cursor.execute(_chunk_sql(), [settings.TIME_ZONE])
            sums = cursor.fetchall()
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
        vendors = {m.vendor_id: m.vendor for m in models.values()}
        sums_post(batch=batch, sell=sell, cost=cost, customers=lookups.customers, vendors=vendors)
        result = BatchResult(
            batch_id=batch.pk,
            accepted=accepted,
            duplicates=chunk.valid - accepted,
            rejected=len({e.index for e in chunk.errors}),
            unrated=unrated,
            errors=[e.as_dict() for e in chunk.errors[:MAX_REPORTED_ERRORS]],
        )
        UsageBatch.objects.filter(pk=batch.pk).update(
            accepted=result.accepted,
            duplicates=result.duplicates,
            rejected=result.rejected,
            unrated=result.unrated,
            response={k: v for k, v in result.as_dict().items() if k != "batch_id"},
        )
    return result


def bulk_ingest(
    *, source: GatewaySource, records: Iterable, fmt: str = "generic", key_prefix: str, chunk: int = CHUNK
) -> BatchResult:
    """Ingest ``records`` (any iterable, e.g. ``files.records_iter``) in chunks; return summed counts."""
    if connection.vendor != "postgresql":
        raise RuntimeError("The bulk path needs PostgreSQL (COPY); use files.file_ingest elsewhere.")
    total = BatchResult(batch_id=None)
    lookups = _Lookups(source)
    iterator = iter(records)
    for n in range(10**9):
        result = _chunk_ingest(
            source=source, records=iterator, size=chunk, fmt=fmt, key=f"{key_prefix}:{n}", lookups=lookups
        )
        if result is None:
            break
        total.accepted += result.accepted
        total.duplicates += result.duplicates
        total.rejected += result.rejected
        total.unrated += result.unrated
        # A chunk reports indices within itself; the caller gets them within the whole input.
        room = max(0, MAX_REPORTED_ERRORS - len(total.errors))
        total.errors += [{**e, "index": e["index"] + n * chunk} for e in result.errors[:room]]
    return total
