"""Ingest a batch of usage events end to end (the per-batch path: the API, small files, the demo).

parse → validate → deduplicate within the batch → resolve → price → rate (``events_rate``, which
re-rating shares) → charge (``charging.usage_charge``: claim → draw → store → roll up → post → finish), as
plain functions over plain data. Everything after parsing runs in ONE database transaction: a worker
killed mid-batch leaves nothing behind, and the redelivered batch is processed from scratch exactly once.
"""

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from billing.usage.allowance_use import rows_draw
from billing.usage.charging import (
    MAX_REPORTED_ERRORS,
    BatchResult,
    Charged,
    row_groups,
    usage_batch_finish,
    usage_charge,
)
from billing.usage.connectors.base import ConnectorError
from billing.usage.connectors.registry import connector_for
from billing.usage.events import CanonicalEvent, RowError, event_validate
from billing.usage.models import TOKEN_COLUMNS, UNIT_COLUMNS, GatewaySource, UsageBatch, UsageEvent
from billing.usage.partitions import month_start, partitions_ensure
from billing.usage.postings import sums_post
from billing.usage.pricing import BatchPricer
from billing.usage.rating import RATED, Rated, event_rate
from billing.usage.resolve import (
    channels_load,
    channels_lock_shared,
    customers_load,
    key_pick,
    keys_resolve,
    models_resolve,
)
from billing.usage.rollups import rollups_add
from billing.usage.timeline import Timeline

MAX_BATCH_EVENTS = 10_000


class BatchConflict(Exception):
    """The idempotency key was used before for a different body."""


class BatchTooLarge(Exception):
    """A batch holds more events than one request may carry."""


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


def _keys_claim(*, source_id: int, rows: list[UsageEvent]) -> set[str]:
    """Insert the rows' (source, request id) keys; return the ids this batch won (new ones).

    The unique key is the arbiter between concurrent batches: a loser waits for the winner's commit and
    then sees a conflict, so an event is charged by exactly one batch.
    """
    won: set[str] = set()
    with connection.cursor() as cursor:
        for start in range(0, len(rows), 1000):
            chunk = rows[start : start + 1000]
            values = ", ".join(["(%s, %s, %s)"] * len(chunk))
            params = [p for e in chunk for p in (source_id, e.request_id, e.occurred_at)]
            cursor.execute(
                f"INSERT INTO usage_request_key (source_id, request_id, occurred_at) VALUES {values} "
                "ON CONFLICT (source_id, request_id) DO NOTHING RETURNING request_id",
                params,
            )
            won.update(row[0] for row in cursor.fetchall())
    return won


@dataclass
class RatedEvents:
    """Events of one source rated (``rated`` in their order) with what rated them, for the later steps
    (``channels``: the events' channels by upstream account as sent, for the cost postings; ``keys``: each
    event's gateway key as stored, the candidate that named its customer, else its first)."""

    rated: list[Rated]
    customers: dict
    models: dict
    pricer: BatchPricer | None
    channels: dict
    keys: list[str]


def events_rate(*, events: list[CanonicalEvent], source: GatewaySource | None) -> RatedEvents:
    """Resolve the events' keys, models and channels, load their prices once and rate each
    (``event_rate``). Inside the charging transaction: the channels are read under the mapping lock."""
    key_map = keys_resolve(source=source, keys={k for e in events for k in e.keys})
    picked = [key_pick(e.keys, key_map) for e in events]
    model_map = models_resolve({e.model for e in events})
    channels_lock_shared()
    channels = channels_load({e.upstream_account for e in events})
    customers = customers_load({p.customer_id for p in picked if p.customer_id is not None})
    models = {m.pk: m for m in model_map.values()}
    pricer = None
    if events:
        times = [e.occurred_at for e in events]
        pricer = BatchPricer(customers=customers, models=models, start=min(times), end=max(times))
    rated = [
        event_rate(
            key=pick.key,
            model_name=e.model,
            customer_id=pick.customer_id,
            model=model_map.get(e.model.lower()),
            pricer=pricer,
            at=e.occurred_at,
            counts=e.counts,
            batch=e.batch,
            succeeded=e.succeeded,
            channel=channels.get(e.upstream_account),
            units=e.units,
            service_tier=e.service_tier,
            tried=e.keys,
            disabled=pick.disabled,
        )
        for e, pick in zip(events, picked, strict=True)
    ]
    # The pricer's customers include every hop's buyer, which the later steps post for too.
    keys = [pick.key for pick in picked]
    return RatedEvents(rated, pricer.customers if pricer else customers, models, pricer, channels, keys)


def _event_row(event: CanonicalEvent, rated: Rated, *, key: str, source_id, batch_id) -> UsageEvent:
    return UsageEvent(
        source_id=source_id,
        batch_id=batch_id,
        request_id=event.request_id,
        occurred_at=event.occurred_at,
        gateway_key=key,
        customer_id=rated.customer_id,
        model_name=event.model,
        model_id=rated.model_id,
        upstream_account=event.upstream_account,
        **dict(zip(TOKEN_COLUMNS, event.counts, strict=True)),
        **{c: getattr(event, c) for c in UNIT_COLUMNS},
        service_tier=event.service_tier,
        price_window=rated.window,
        is_batch=event.batch,
        succeeded=event.succeeded,
        gateway_cost=event.gateway_cost,
        gateway_cost_currency=event.gateway_cost_currency,
        metadata=event.metadata,
        rating_state=rated.state,
        unrated_reason=rated.reason,
        unrated_message=rated.message,
        sell_plan=rated.plan,
        sell_amount=rated.sell_amount,
        sell_currency=rated.sell_currency,
        cost_amount=rated.cost_amount,
        cost_currency=rated.cost_currency,
        rated_in_id=batch_id if rated.state == RATED else None,
    )


def hop_rows(row: UsageEvent, hops, *, rated_in_id) -> list[UsageEvent]:
    """The derived rows of hop-0 ``row`` (``rating.Hop``s): the same request (its token and unit counts,
    its service tier), rated one hop up the chain, each purchase with its own plan's time-of-day window.
    The gateway's evidence (its cost, metadata) stays on the hop-0 row alone."""
    return [
        UsageEvent(
            source_id=row.source_id,
            batch_id=row.batch_id,
            request_id=row.request_id,
            occurred_at=row.occurred_at,
            gateway_key=row.gateway_key,
            customer_id=h.customer_id,
            model_name=row.model_name,
            model_id=row.model_id,
            upstream_account=row.upstream_account,
            **{c: getattr(row, c) for c in (*TOKEN_COLUMNS, *UNIT_COLUMNS)},
            service_tier=row.service_tier,
            price_window=h.window,
            is_batch=row.is_batch,
            succeeded=row.succeeded,
            rating_state=h.state,
            sell_plan=h.plan,
            sell_amount=h.sell_amount,
            sell_currency=h.sell_currency,
            cost_amount=h.cost_amount,
            cost_currency=h.cost_currency,
            hop=h.hop,
            end_customer_id=h.buyer_id or row.customer_id,
            rated_in_id=rated_in_id,
        )
        for h in hops
    ]


class _BatchCharge:
    """The per-batch path's charging steps (``charging.usage_charge``): model instances, the ORM."""

    def __init__(
        self, *, batch: UsageBatch, source: GatewaySource, rows: list[UsageEvent], rating: RatedEvents
    ):
        self.batch, self.source, self.rows, self.rating = batch, source, rows, rating

    def claim(self) -> None:
        # Only gateway events claim keys; their derived rows go (or stay) with them.
        won = _keys_claim(source_id=self.source.pk, rows=[r for r in self.rows if not r.hop])
        self.rows = [r for r in self.rows if r.request_id in won]

    def draw(self) -> None:
        rows_draw(batch=self.batch, rows=self.rows, pricer=self.rating.pricer)

    def store(self) -> None:
        UsageEvent.objects.bulk_create(self.rows, batch_size=2000)

    def customers(self) -> set[int]:
        return {r.customer_id for r in self.rows if r.customer_id is not None}

    def roll_up(self, timeline: Timeline):
        rollups_add(events=self.rows)
        return row_groups(self.rows, self.rating.models, timeline, self.rating.channels)

    def post(self, charge: Charged) -> None:
        vendors = {m.vendor_id: m.vendor for m in self.rating.models.values()}
        sums_post(
            batch=self.batch,
            sell=charge.sell,
            cost=charge.cost,
            timeline=charge.timeline,
            commission=charge.commission,
            customers=self.rating.customers,
            vendors=vendors,
            channels={c.pk: c for c in self.rating.channels.values()},
        )


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
            candidates = list(unique.values())
            rating = events_rate(events=candidates, source=source)
            rows = []
            for e, rated, key in zip(candidates, rating.rated, rating.keys, strict=True):
                rows.append(_event_row(e, rated, key=key, source_id=source.pk, batch_id=batch.pk))
                rows += hop_rows(rows[-1], rated.hops, rated_in_id=batch.pk)
            charge = usage_charge(_BatchCharge(batch=batch, source=source, rows=rows, rating=rating))
            result = BatchResult(
                batch_id=batch.pk,
                accepted=charge.stored,
                duplicates=len(events) - charge.stored,
                rejected=rejected_rows,
                unrated=charge.unrated,
                errors=[e.as_dict() for e in errors[:MAX_REPORTED_ERRORS]],
            )
            usage_batch_finish(batch=batch, result=result, customer_ids=charge.customer_ids)
    except IntegrityError:
        # Another worker committed the same key while we worked: answer as it did.
        existing = UsageBatch.objects.filter(source=source, idempotency_key=idempotency_key).first()
        if existing is None:
            raise
        return _replay(existing, request_hash, records)
    GatewaySource.objects.filter(pk=source.pk).update(last_used_at=now)
    return result
