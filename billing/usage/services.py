"""Ingest a batch of usage events end to end, and re-rate unrated events once their cause is fixed.

parse → validate → deduplicate → resolve → rate → store → roll up → post, as plain functions over plain
data. Everything from deduplication to posting runs in ONE database transaction: a worker killed
mid-batch leaves nothing behind, and the redelivered batch is processed from scratch exactly once.
"""

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from billing.usage.allowance_use import rows_draw
from billing.usage.connectors import ConnectorError, connector_for
from billing.usage.events import CanonicalEvent, RowError, event_validate
from billing.usage.models import GatewaySource, RatingState, UsageBatch, UsageEvent
from billing.usage.partitions import month_start, partitions_ensure
from billing.usage.postings import batch_post
from billing.usage.pricing import BatchPricer
from billing.usage.rating import event_rate
from billing.usage.resolve import customers_load, keys_resolve, models_resolve
from billing.usage.rollups import rollups_add

MAX_BATCH_EVENTS = 10_000
# Rejected rows reported per batch: enough to fix a feed, bounded so a garbage file cannot bloat a row.
MAX_REPORTED_ERRORS = 1_000


class BatchConflict(Exception):
    """The idempotency key was used before for a different body."""


class BatchTooLarge(Exception):
    """A batch holds more events than one request may carry."""


@dataclass
class BatchResult:
    batch_id: int | None
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    unrated: int = 0
    errors: list[dict] = field(default_factory=list)
    replayed: bool = False
    parts: int = 0  # batches or chunks counted into this total by ``add``

    def add(self, part: "BatchResult", *, offset: int) -> None:
        """Count ``part`` (a batch or chunk of a larger input starting at record ``offset``) into this
        total; its bad rows' indices become indices within the whole input, up to MAX_REPORTED_ERRORS.
        The total is replayed when every part was (the whole input had been ingested before)."""
        self.replayed = part.replayed and (self.replayed or not self.parts)
        self.parts += 1
        self.accepted += part.accepted
        self.duplicates += part.duplicates
        self.rejected += part.rejected
        self.unrated += part.unrated
        room = max(0, MAX_REPORTED_ERRORS - len(self.errors))
        self.errors += [{**e, "index": e["index"] + offset} for e in part.errors[:room]]

    def as_dict(self) -> dict:
        return {
            "batch_id": self.batch_id,
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "rejected": self.rejected,
            "unrated": self.unrated,
            "errors": self.errors,
        }


def _tagged(value) -> object:
    """How ``body_hash`` writes what JSON has no type for: a Decimal (a JSON number) tagged, so that it
    never hashes like the string of the same digits."""
    return {"$dec": str(value)} if isinstance(value, Decimal) else str(value)


def body_hash(records: list) -> str:
    """SHA-256 of the body, in upper-case hex: what tells it from the hashes stored before Decimals were
    tagged (lower case, ``_legacy_body_hash``), which a replay of those batches must still match."""
    text = json.dumps(records, sort_keys=True, separators=(",", ":"), default=_tagged)
    return hashlib.sha256(text.encode()).hexdigest().upper()


def _legacy_body_hash(records: list) -> str:
    """The body hash stored before Decimals were tagged (the number 1.5 and the string "1.5" alike)."""
    text = json.dumps(records, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def events_parse(
    *, records: list, fmt: str, source, now: datetime
) -> tuple[list[CanonicalEvent], list[RowError]]:
    """Convert and validate every record; return the good events and every bad row's errors."""
    to_canonical = connector_for(fmt)
    events, errors = [], []
    for index, record in enumerate(records):
        try:
            canonical = to_canonical(record, source=source)
        except ConnectorError as exc:
            errors.append(RowError(index, exc.field, exc.reason))
            continue
        result = event_validate(canonical, index, now=now)
        if isinstance(result, list):
            errors.extend(result)
        else:
            events.append(result)
    return events, errors


def _keys_claim(*, source_id: int, events: list[CanonicalEvent]) -> set[str]:
    """Insert the events' (source, request id) keys; return the ids this batch won (new ones).

    The unique key is the arbiter between concurrent batches: a loser waits for the winner's commit and
    then sees a conflict, so an event is charged by exactly one batch.
    """
    won: set[str] = set()
    with connection.cursor() as cursor:
        for start in range(0, len(events), 1000):
            chunk = events[start : start + 1000]
            values = ", ".join(["(%s, %s, %s)"] * len(chunk))
            params = [p for e in chunk for p in (source_id, e.request_id, e.occurred_at)]
            cursor.execute(
                f"INSERT INTO usage_request_key (source_id, request_id, occurred_at) VALUES {values} "
                "ON CONFLICT (source_id, request_id) DO NOTHING RETURNING request_id",
                params,
            )
            won.update(row[0] for row in cursor.fetchall())
    return won


def _event_row(event: CanonicalEvent, rated, *, source_id, batch_id) -> UsageEvent:
    return UsageEvent(
        source_id=source_id,
        batch_id=batch_id,
        request_id=event.request_id,
        occurred_at=event.occurred_at,
        gateway_key=event.key,
        customer_id=rated.customer_id,
        model_name=event.model,
        model_id=rated.model_id,
        upstream_account=event.upstream_account,
        prompt_tokens=event.prompt_tokens,
        cache_read_tokens=event.cache_read_tokens,
        cache_write_tokens=event.cache_write_tokens,
        cache_write_1h_tokens=event.cache_write_1h_tokens,
        completion_tokens=event.completion_tokens,
        reasoning_tokens=event.reasoning_tokens,
        is_batch=event.batch,
        succeeded=event.succeeded,
        gateway_cost=event.gateway_cost,
        gateway_cost_currency=event.gateway_cost_currency,
        metadata=event.metadata,
        rating_state=rated.state,
        unrated_reason=rated.reason[:300],
        sell_plan=rated.plan,
        sell_amount=rated.sell_amount,
        sell_currency=rated.sell_currency,
        cost_amount=rated.cost_amount,
        cost_currency=rated.cost_currency,
        rated_in_id=batch_id if rated.state == RatingState.RATED else None,
    )


def events_rate_store(
    *, events: list[CanonicalEvent], source: GatewaySource | None, batch: UsageBatch
) -> list[UsageEvent]:
    """Resolve, rate, draw allowances, store, roll up and post ``events`` (already deduplicated)."""
    key_map = keys_resolve(source=source, keys={e.key for e in events})
    model_map = models_resolve({e.model for e in events})
    customers = customers_load(set(key_map.values()))
    models = {m.pk: m for m in model_map.values()}
    pricer = None
    if events:
        times = [e.occurred_at for e in events]
        pricer = BatchPricer(customers=customers, models=models, start=min(times), end=max(times))
    rows = []
    for event in events:
        rated = event_rate(
            event, customer_id=key_map.get(event.key), model=model_map.get(event.model.lower()), pricer=pricer
        )
        rows.append(_event_row(event, rated, source_id=source.pk if source else None, batch_id=batch.pk))
    rows_draw(batch=batch, rows=rows, pricer=pricer)
    UsageEvent.objects.bulk_create(rows, batch_size=2000)
    rollups_add(events=rows)
    batch_post(batch=batch, events=rows, customers=customers, models=models)
    return rows


def _replay(batch: UsageBatch, request_hash: str, records: list) -> BatchResult:
    # A batch stored before Decimals were tagged holds the lower-case legacy hash, which no hash written
    # since can equal: only its own body (or one it could not tell from it then) matches it.
    if batch.request_hash != request_hash and batch.request_hash != _legacy_body_hash(records):
        raise BatchConflict(
            f"Idempotency key {batch.idempotency_key!r} was already used for a different batch "
            f"(batch {batch.pk}); nothing was ingested. Use a new key for new events."
        )
    return BatchResult(**{**batch.response, "batch_id": batch.pk}, replayed=True)


def usage_batch_ingest(
    *,
    source: GatewaySource,
    records: list,
    fmt: str = "generic",
    idempotency_key: str = "",
    request_hash: str = "",
    now: datetime | None = None,
) -> BatchResult:
    """Ingest one batch of ``records`` from ``source``; replaying its key returns the first answer.

    Raises ``BatchConflict`` when the key was used for a different body and ``BatchTooLarge`` beyond
    ``MAX_BATCH_EVENTS``. Rejected rows are reported (index, field, reason) and the rest are kept.
    """
    if len(records) > MAX_BATCH_EVENTS:
        raise BatchTooLarge(f"A batch holds at most {MAX_BATCH_EVENTS} events, not {len(records)}.")
    request_hash = request_hash or body_hash(records)
    # In lower case, as keys were derived before body hashes changed case: a retry of an earlier batch
    # without a key finds it.
    idempotency_key = idempotency_key or f"sha256:{request_hash.lower()}"
    existing = UsageBatch.objects.filter(source=source, idempotency_key=idempotency_key).first()
    if existing is not None:
        return _replay(existing, request_hash, records)
    now = now or timezone.now()
    events, errors = events_parse(records=records, fmt=fmt, source=source, now=now)
    unique: dict[str, CanonicalEvent] = {}
    for event in events:
        unique.setdefault(event.request_id, event)  # a repeat inside the batch is a duplicate too
    partitions_ensure(months={month_start(e.occurred_at) for e in unique.values()})
    rejected_rows = len({e.index for e in errors})
    try:
        with transaction.atomic():
            batch = UsageBatch.objects.create(
                source=source,
                idempotency_key=idempotency_key,
                request_hash=request_hash,
                fmt=fmt,
                received=len(records),
            )
            won = _keys_claim(source_id=source.pk, events=list(unique.values()))
            fresh = [e for e in unique.values() if e.request_id in won]
            rows = events_rate_store(events=fresh, source=source, batch=batch)
            result = BatchResult(
                batch_id=batch.pk,
                accepted=len(fresh),
                duplicates=len(events) - len(fresh),
                rejected=rejected_rows,
                unrated=sum(1 for r in rows if r.rating_state == RatingState.UNRATED),
                errors=[e.as_dict() for e in errors[:MAX_REPORTED_ERRORS]],
            )
            UsageBatch.objects.filter(pk=batch.pk).update(
                accepted=result.accepted,
                duplicates=result.duplicates,
                rejected=result.rejected,
                unrated=result.unrated,
                response={k: v for k, v in result.as_dict().items() if k != "batch_id"},
            )
            customer_ids = {r.customer_id for r in rows if r.customer_id}
            transaction.on_commit(lambda: after_commit(customer_ids), robust=True)
    except IntegrityError:
        # Another worker committed the same key while we worked: answer as it did.
        existing = UsageBatch.objects.filter(source=source, idempotency_key=idempotency_key).first()
        if existing is None:
            raise
        return _replay(existing, request_hash, records)
    GatewaySource.objects.filter(pk=source.pk).update(last_used_at=now)
    return result


def after_commit(customer_ids: set[int]) -> None:
    """Read the gateway status of these customers afresh. Registered with ``on_commit(robust=True)``: the
    usage has committed, so a cache that cannot be reached is logged (the status is then at most its
    cache lifetime stale), never reported as a failed batch."""
    from billing.gateway.status import status_invalidate

    status_invalidate(customer_ids=customer_ids)
