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
from collections.abc import Iterable
from decimal import Decimal
from itertools import islice

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from billing.usage.events import CanonicalEvent
from billing.usage.models import GatewaySource, UsageBatch
from billing.usage.partitions import month_start, partitions_ensure
from billing.usage.postings import sums_post
from billing.usage.pricing import BatchPricer
from billing.usage.rating import event_rate
from billing.usage.resolve import customers_load, keys_resolve, models_resolve
from billing.usage.services import MAX_REPORTED_ERRORS, BatchResult, events_parse

# Postings are per chunk × customer, so bigger chunks post less often; memory grows with the chunk.
CHUNK = 100_000
COLUMNS = (
    "source_id", "batch_id", "request_id", "occurred_at", "gateway_key", "customer_id", "model_name",
    "model_id", "upstream_account", "prompt_tokens", "cache_read_tokens", "cache_write_tokens",
    "cache_write_1h_tokens", "completion_tokens", "reasoning_tokens", "is_batch", "succeeded",
    "gateway_cost", "gateway_cost_currency", "metadata", "rating_state", "unrated_reason", "sell_plan",
    "sell_amount", "sell_currency", "cost_amount", "cost_currency", "rated_in_id", "ingested_at",
)  # fmt: skip
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


def _text(value) -> str:
    if value is None:
        return "\\N"
    if value is True:
        return "t"
    if value is False:
        return "f"
    if isinstance(value, str):
        return value.translate(_ESCAPES)
    return str(value)


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


class _Lookups:
    """Keys and models resolved once per run and extended as new names appear (plain dicts)."""

    def __init__(self, source: GatewaySource):
        self.source = source
        self.keys: dict[str, int | None] = {}
        self.models: dict[str, object] = {}
        self.customers: dict[int, object] = {}

    def update(self, events: list[CanonicalEvent]) -> None:
        new_keys = {e.key for e in events} - self.keys.keys()
        if new_keys:
            found = keys_resolve(source=self.source, keys=new_keys)
            self.keys.update({k: found.get(k) for k in new_keys})
            self.customers.update(customers_load(set(found.values()) - self.customers.keys()))
        new_models = {e.model.lower() for e in events} - self.models.keys()
        if new_models:
            found = models_resolve(new_models)
            self.models.update({n: found.get(n) for n in new_models})


def _rows_text(events, ratings, source, batch, stamp: str) -> str:
    """Return rated ``events`` as COPY text lines (one per event, newline-terminated); no queries."""
    lines = []
    for e, r in zip(events, ratings, strict=True):
        values = (
            source.pk, batch.pk, e.request_id, e.occurred_at.isoformat(), e.key, r.customer_id, e.model,
            r.model_id, e.upstream_account, e.prompt_tokens, e.cache_read_tokens, e.cache_write_tokens,
            e.cache_write_1h_tokens, e.completion_tokens, e.reasoning_tokens, e.batch, e.succeeded,
            e.gateway_cost, e.gateway_cost_currency, json.dumps(e.metadata, default=str), r.state,
            r.reason[:300], r.plan, r.sell_amount, r.sell_currency, r.cost_amount, r.cost_currency,
            batch.pk if r.state == "rated" else None, stamp,
        )  # fmt: skip
        lines.append("\t".join(map(_text, values)))
    return "\n".join(lines) + "\n" if lines else ""


def _chunk_ingest(*, source, records: list, fmt: str, key: str, lookups: _Lookups) -> BatchResult:
    now = timezone.now()
    if UsageBatch.objects.filter(source=source, idempotency_key=key).exists():
        done = UsageBatch.objects.get(source=source, idempotency_key=key)
        return BatchResult(**{**done.response, "batch_id": done.pk}, replayed=True)
    events, errors = events_parse(records=records, fmt=fmt, source=source, now=now)
    received = len(records)
    records.clear()  # the parsed events are all that is needed from here on
    unique: dict[str, CanonicalEvent] = {}
    for event in events:
        unique.setdefault(event.request_id, event)
    fresh = list(unique.values())
    lookups.update(fresh)
    models = {m.pk: m for m in lookups.models.values() if m is not None}
    pricer = None
    if fresh:
        pricer = BatchPricer(
            customers=lookups.customers,
            models=models,
            start=min(e.occurred_at for e in fresh),
            end=max(e.occurred_at for e in fresh),
        )
    # Rate everything BEFORE the COPY starts: pricing may query (plans, FX), and a connection in COPY
    # mode cannot run another statement — interleaving them would hang the connection.
    ratings = [
        event_rate(
            e, customer_id=lookups.keys.get(e.key), model=lookups.models.get(e.model.lower()), pricer=pricer
        )
        for e in fresh
    ]
    partitions_ensure(months={month_start(e.occurred_at) for e in fresh})
    with transaction.atomic():
        batch = UsageBatch.objects.create(
            source=source, idempotency_key=key, request_hash=key, fmt=fmt, received=received
        )
        stamp = now.isoformat()
        with connection.cursor() as cursor:
            cursor.execute(
                "CREATE TEMP TABLE IF NOT EXISTS usage_stage ON COMMIT DELETE ROWS AS "
                f"SELECT {', '.join(COLUMNS)} FROM usage_event WITH NO DATA"
            )
            with cursor.copy(f"COPY usage_stage ({', '.join(COLUMNS)}) FROM STDIN") as copy:
                for start in range(0, len(fresh), 10_000):
                    # Written in slices so the COPY text never holds the whole chunk at once.
                    part = slice(start, start + 10_000)
                    copy.write(_rows_text(fresh[part], ratings[part], source, batch, stamp).encode())
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
            duplicates=len(events) - accepted,
            rejected=len({e.index for e in errors}),
            unrated=unrated,
            errors=[e.as_dict() for e in errors[:MAX_REPORTED_ERRORS]],
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
        part = list(islice(iterator, chunk))
        if not part:
            break
        result = _chunk_ingest(source=source, records=part, fmt=fmt, key=f"{key_prefix}:{n}", lookups=lookups)
        del part
        total.accepted += result.accepted
        total.duplicates += result.duplicates
        total.rejected += result.rejected
        total.unrated += result.unrated
        total.errors += result.errors[: max(0, MAX_REPORTED_ERRORS - len(total.errors))]
    return total
