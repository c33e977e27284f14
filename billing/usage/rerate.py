"""Re-rate unrated events once their cause is fixed (a new key mapping, alias, plan or price).

Be careful: this is the one place raw events change after they are stored, and only from *unrated* to
*rated*/*not charged*; the update is guarded by that state, so an event is charged exactly once.
"""

import uuid

from django.db import connection, transaction

from billing.usage.allowance_use import rows_draw
from billing.usage.events import CanonicalEvent
from billing.usage.models import GatewaySource, RatingState, UsageBatch, UsageEvent
from billing.usage.postings import batch_post
from billing.usage.pricing import BatchPricer
from billing.usage.rating import event_rate
from billing.usage.resolve import customers_load, keys_resolve, models_resolve
from billing.usage.rollups import rollups_add
from billing.usage.services import BatchResult, after_commit


def _as_event(index: int, row: UsageEvent) -> CanonicalEvent:
    return CanonicalEvent(
        index=index,
        request_id=row.request_id,
        occurred_at=row.occurred_at,
        key=row.gateway_key,
        model=row.model_name,
        upstream_account=row.upstream_account,
        prompt_tokens=row.prompt_tokens,
        cache_read_tokens=row.cache_read_tokens,
        cache_write_tokens=row.cache_write_tokens,
        cache_write_1h_tokens=row.cache_write_1h_tokens,
        completion_tokens=row.completion_tokens,
        reasoning_tokens=row.reasoning_tokens,
        batch=row.is_batch,
        succeeded=row.succeeded,
    )


def _rerate_group(
    *, rows: list[UsageEvent], source: GatewaySource | None, batch: UsageBatch
) -> tuple[list[UsageEvent], dict, dict]:
    """Re-rate rows of one source (keys map to customers per source) and update those that now rate;
    return them with the customers and models they refer to. The caller rolls up and posts."""
    events = [_as_event(i, row) for i, row in enumerate(rows)]
    key_map = keys_resolve(source=source, keys={e.key for e in events})
    model_map = models_resolve({e.model for e in events})
    customers = customers_load(set(key_map.values()))
    models = {m.pk: m for m in model_map.values()}
    times = [e.occurred_at for e in events]
    pricer = BatchPricer(customers=customers, models=models, start=min(times), end=max(times))
    outcomes = []
    for row, event in zip(rows, events, strict=True):
        rated = event_rate(
            event, customer_id=key_map.get(event.key), model=model_map.get(event.model.lower()), pricer=pricer
        )
        changes = {
            "customer_id": rated.customer_id,
            "model_id": rated.model_id,
            "rating_state": rated.state,
            "unrated_reason": rated.reason[:300],
            "sell_plan": rated.plan,
            "sell_amount": rated.sell_amount,
            "sell_currency": rated.sell_currency,
            "cost_amount": rated.cost_amount,
            "cost_currency": rated.cost_currency,
        }
        if rated.state == RatingState.RATED:
            changes["rated_in_id"] = batch.pk
        for name, value in changes.items():
            setattr(row, name, value)
        outcomes.append((row, list(changes)))
    # Allowances are drawn as for a new batch: the rows are locked (SKIP LOCKED), so the update below holds.
    rows_draw(batch=batch, rows=rows, pricer=pricer)
    done = []
    for row, names in outcomes:
        updated = UsageEvent.objects.filter(
            pk=row.pk, occurred_at=row.occurred_at, rating_state=RatingState.UNRATED
        ).update(**{name: getattr(row, name) for name in names})
        if updated and row.rating_state != RatingState.UNRATED:
            done.append(row)
    return done, customers, models


def usage_rerate(*, event_ids: list[int] | None = None, limit: int = 5000) -> BatchResult:
    """Re-rate up to ``limit`` unrated events (all, or those in ``event_ids``), oldest first.

    The ones that now rate are charged under a new *re-rating* batch (its own ledger idempotency keys);
    the others keep a refreshed reason. Rows are locked (SKIP LOCKED) so concurrent runs split the work.
    """
    with transaction.atomic():
        queryset = UsageEvent.objects.filter(rating_state=RatingState.UNRATED).order_by("occurred_at", "id")
        if event_ids is not None:
            queryset = queryset.filter(pk__in=event_ids)
        if connection.features.has_select_for_update_skip_locked:
            queryset = queryset.select_for_update(skip_locked=True)
        rows = list(queryset[:limit])
        if not rows:
            return BatchResult(batch_id=None)
        batch = UsageBatch.objects.create(
            source=None,
            idempotency_key=f"rerate:{uuid.uuid4()}",
            request_hash="",
            fmt="rerate",
            received=len(rows),
        )
        by_source: dict[int | None, list[UsageEvent]] = {}
        for row in rows:
            by_source.setdefault(row.source_id, []).append(row)
        done, customers, models = [], {}, {}
        for source_id, group in by_source.items():
            source = GatewaySource.objects.filter(pk=source_id).first() if source_id else None
            rated, group_customers, group_models = _rerate_group(rows=group, source=source, batch=batch)
            done += rated
            customers |= group_customers
            models |= group_models
        # One posting per customer for the whole run: a customer's events may come through several
        # sources, and per-source postings under one batch would share (and so replay) their keys.
        rollups_add(events=done)
        batch_post(batch=batch, events=done, customers=customers, models=models)
        unrated = sum(1 for r in rows if r.rating_state == RatingState.UNRATED)
        result = BatchResult(batch_id=batch.pk, accepted=len(done), unrated=unrated)
        UsageBatch.objects.filter(pk=batch.pk).update(
            accepted=len(done), unrated=unrated, response={**result.as_dict(), "batch_id": None}
        )
        customer_ids = {r.customer_id for r in done}
        transaction.on_commit(lambda: after_commit(customer_ids), robust=True)
    return result
