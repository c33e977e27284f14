"""The bulk path's writing half: one usage batch and one database transaction per chunk, charged from the
producer's COPY text in the order every path charges in (``charging.usage_charge``)."""

import os
from collections.abc import Callable, Iterator
from datetime import datetime

from django.conf import settings
from django.db import IntegrityError, connection, transaction

from billing.allowances.drawdown import (
    Draw,
    allowance_holders,
    allowances_draw,
    balances_load,
    draws_record,
    event_tokens,
)
from billing.usage.allowance_use import overage_pricer, sale_units
from billing.usage.bulk.copytext import Lines, lines_only, runs
from billing.usage.bulk.spool import ChunkEnd, Replayed, Spooled
from billing.usage.bulk.sql import (
    CLAIM_SQL,
    CLAIM_WAITING_SQL,
    DERIVED_SQL,
    EVENT_COPY,
    EVENT_COST_SQL,
    HOP_COST_SQL,
    LATE_DELETE_SQL,
    PROBE_SQL,
    ROLLUPS_SQL,
    SEGMENT_SQL,
    STAGE_COPY,
    STAGE_TABLE,
)
from billing.usage.charging import (
    MAX_REPORTED_ERRORS,
    BatchResult,
    Charged,
    Group,
    usage_batch_finish,
    usage_charge,
)
from billing.usage.events import RowError
from billing.usage.models import GatewaySource, UsageBatch
from billing.usage.postings import sums_post
from billing.usage.pricing import BatchPricer
from billing.usage.resolve import channels_load, channels_lock_shared, customers_load
from billing.usage.timeline import Timeline
from catalog.models import AIModel, Channel, Vendor

# The writer sends a spooled slice to COPY this many bytes at a time.
BLOCK = 1 << 20


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


class ChannelsChanged(Exception):
    """An upstream account of a chunk was mapped to a channel (or remapped) after the producer rated the
    chunk's events at the old mapping: the chunk is not written."""


def _channels_check(end: ChunkEnd) -> None:
    """Refuse the chunk if, under the mapping lock, an upstream account now resolves otherwise than when
    its events were rated (their cost would be owed on the wrong account)."""
    accounts = {a for a in end.channels if a}
    if not accounts:
        return
    now = channels_load(accounts)
    changed = sorted(
        a for a in accounts if (None if a not in now else now[a].pk) != (end.channels[a] or (None,))[0]
    )
    if changed:
        raise ChannelsChanged(
            f"Upstream account(s) {', '.join(map(repr, changed[:5]))} were mapped to a channel while this "
            f"chunk (usage batch {end.batch_id}) was being rated; nothing of it was written. Run the ingest "
            "again: the chunks already written are skipped, and the rest are rated on the new mapping."
        )


class _KeyTaken(Exception):
    """A chunk's usage batch key was committed by another run of the same input."""


class Writer:
    """The writing half: one usage batch and transaction per chunk, from the producer's COPY text."""

    def __init__(self, source: GatewaySource, fmt: str):
        self.source = source
        self.fmt = fmt
        self.customers: dict[int, object] = {}
        self.vendors: dict[int, object] = {}
        self.channels: dict[int, object] = {}
        self._block = bytearray(BLOCK)

    def chunk_write(
        self, *, key: str, items: Iterator, wait_turn: Callable[[], None] = lambda: None
    ) -> BatchResult | None:
        """Write the next chunk from ``items`` (slices then a ``ChunkEnd``); None when there is none.

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
        if isinstance(first, Replayed):
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
        while not isinstance(item, ChunkEnd):
            item.discard()
            item = next(items)
        done = UsageBatch.objects.get(source=self.source, idempotency_key=key)
        wait_turn()
        return BatchResult(**{**done.response, "batch_id": done.pk}, replayed=True)

    def _chunk_write(
        self, first: "Spooled | ChunkEnd", *, key: str, items: Iterator, wait_turn: Callable[[], None]
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
                # chunk is skipped before it is read, in producer.produce).
                raise _KeyTaken from None
            with connection.cursor() as cursor:
                steps = _ChunkCharge(self, cursor, batch, first, items, wait_turn)
                steps.stage()
                charge = usage_charge(steps)
            end = steps.end
            errors = [RowError(*e) for e in end.errors]
            result = BatchResult(
                batch_id=batch.pk,
                accepted=charge.stored,
                duplicates=end.valid - charge.stored,
                rejected=len({e.index for e in errors}),
                unrated=charge.unrated,
                errors=[e.as_dict() for e in errors[:MAX_REPORTED_ERRORS]],
            )
            # As the per-batch path does: the gateway status of the chunk's customers is read afresh.
            usage_batch_finish(
                batch=batch, result=result, customer_ids=end.customer_ids, received=end.received
            )
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
        self, cursor, batch: UsageBatch, end: "ChunkEnd", holders: set[int]
    ) -> tuple[dict[int, tuple], list[tuple]]:
        """Draw token allowances for the chunk's ``holders``; return the changed sales by line number (sell
        plan, amount, currency and time-of-day window as stored in the stage), for the wide lines to say
        the same, and the new costs of events whose next hop's sale changed (request id, time, cost,
        currency)."""
        if not holders:
            return {}, []
        cursor.execute(
            "SELECT line, customer_id, model_id, occurred_at, prompt_tokens, cache_read_tokens, "
            "cache_write_tokens, cache_write_1h_tokens, completion_tokens, reasoning_tokens, is_batch, "
            "sell_amount, service_tier, audio_prompt_tokens, audio_completion_tokens, images, audio_ms "
            "FROM usage_ingest_stage WHERE rating_state = 'rated' AND customer_id = ANY(%s) "
            "ORDER BY occurred_at, request_id",
            [sorted(holders)],
        )
        rows = cursor.fetchall()
        if not rows:
            return {}, []
        balances = balances_load(customer_ids=holders, start=end.start, end=end.end)
        draws = [
            Draw(ref=r, customer_id=r[1], model_id=r[2], at=r[3], tokens=event_tokens(r[4], r[8]), sell=r[11])
            for r in rows
        ]
        pricer = _LazyPricer(customers_load(holders), {r[2] for r in rows}, end.start, end.end)
        for draw in draws:
            draw.units = sale_units(pricer, draw, _request_of)
        overage_price, notes = overage_pricer(pricer, _request_of)
        changed = allowances_draw(draws=draws, balances=balances, overage_price=overage_price)
        sales = {}
        if changed:
            cursor.execute(
                "UPDATE usage_ingest_stage s SET sell_amount = v.sell, "
                "sell_plan = coalesce(v.plan, s.sell_plan), "
                "sell_currency = coalesce(v.ccy, s.sell_currency), "
                "price_window = coalesce(v.price_window, s.price_window) "
                "FROM unnest(%s::integer[], %s::numeric[], %s::text[], %s::text[], %s::text[]) "
                "AS v(line, sell, plan, ccy, price_window) "
                "WHERE s.line = v.line "
                "RETURNING s.line, s.sell_plan, s.sell_amount, s.sell_currency, s.price_window",
                [
                    [d.ref[0] for d in changed],
                    [d.charged for d in changed],
                    *([notes.get(id(d), _NO_NOTE)[i] for d in changed] for i in range(3)),
                ],
            )
            sales = {line: sale for line, *sale in cursor.fetchall()}
        costs = []
        derived = [d.ref[0] for d in changed if d.ref[0] < 0]  # derived rows' lines are negative
        if derived:
            cursor.execute(HOP_COST_SQL, {"lines": derived})
            costs = [tuple(rest) for hop, *rest in cursor.fetchall() if hop == 0]
        draws_record(batch=batch, balances=balances)
        return sales, costs

    def _post(self, batch: UsageBatch, end: ChunkEnd, charge: Charged) -> None:
        """Post the chunk's sums (the customers and vendors they name loaded once per run)."""
        named = {c for c, _ccy, _segment in charge.sell} | {a for a, _ccy in charge.commission}
        new_customers = named - self.customers.keys()
        if new_customers:
            self.customers.update(customers_load(new_customers))
        new_vendors = {v for _c, v, _ccy, _channel in charge.cost} - self.vendors.keys()
        if new_vendors:
            self.vendors.update(Vendor.objects.in_bulk(new_vendors))
        new_channels = {ch for _c, _v, _ccy, ch in charge.cost if ch} - self.channels.keys()
        if new_channels:
            found = Channel.objects.select_related("contract__vendor").in_bulk(new_channels)
            self.channels.update(found)
        sums_post(
            batch=batch,
            sell=charge.sell,
            cost=charge.cost,
            timeline=charge.timeline,
            commission=charge.commission,
            customers=self.customers,
            vendors=self.vendors,
            channels=self.channels,
        )


# An allowance draw the overage plan did not price: the sale keeps its plan, currency and window.
_NO_NOTE = (None, None, None)


def _request_of(draw: Draw) -> tuple:
    """What the overage plan rates a staged line's draw on (``overage_pricer``): its six token counts, batch
    flag, service tier and unit counts (None when all are zero), as the stage holds them."""
    row = draw.ref
    units = row[13:17]
    return row[4:10], row[10], row[12] or "", units if any(units) else None


class _ChunkCharge:
    """The bulk writer's charging steps (``charging.usage_charge``) for one chunk: set-based, on the
    staged narrow rows, with the wide rows COPYed from the producer's spooled text.

    ``stage`` runs first and writes only rows of the chunk's own, so that nothing the previous chunk
    needs waits for this one while it waits for its turn: stage the narrow rows, probe their keys (those
    taken leave the stage), and store ahead the wide rows of the new events of customers holding no
    token allowance — the draw cannot change their sales. ``claim`` waits for the turn, then takes the
    keys (a key taken since the probe is a late duplicate: its row, if stored ahead, goes again)."""

    def __init__(self, writer: Writer, cursor, batch: UsageBatch, first, items: Iterator, wait_turn):
        self.writer, self.cursor, self.batch = writer, cursor, batch
        self.first, self.items, self.wait_turn = first, items, wait_turn
        self.source_id = writer.source.pk
        self.end: ChunkEnd | None = None
        self.holders: set[int] = set()
        # Holders' lines wait for their sales: (slice, its lines, its first line number, its new lines).
        self.held: list[tuple[Spooled, Lines, int, list[int]]] = []
        self.late: dict[int, tuple[str, datetime]] = {}
        self.sales: dict[int, tuple] = {}
        self.costs: list[tuple] = []

    def stage(self) -> None:
        cursor = self.cursor
        channels_lock_shared()  # before the check below: a mapping waits for this chunk to commit
        # Session-local planner settings for this transaction only: JIT compiling costs more than the
        # statements save here, and the rollup aggregates want memory.
        cursor.execute("SET LOCAL jit = off")
        cursor.execute("SET LOCAL work_mem = '128MB'")
        cursor.execute(STAGE_TABLE)
        # Empty already after a commit; inside a caller's transaction the last chunk's rows remain.
        cursor.execute("TRUNCATE usage_ingest_stage")
        slices: list[tuple[Spooled, Lines]] = []
        end = self.first
        while not isinstance(end, ChunkEnd):
            narrow, lines = end.narrow()
            with cursor.copy(STAGE_COPY) as copy:
                copy.write(narrow)
            slices.append((end, lines))
            end = next(self.items)
        self.end = end
        _channels_check(end)
        duplicates = iter(_stage_probe(cursor, self.source_id))
        holders = self.holders = (
            allowance_holders(customer_ids=end.customer_ids, start=end.start, end=end.end)
            if end.customer_ids
            else set()
        )
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
                self.held.append((spooled, lines, base, [i for i in mine if i not in gone]))
                skip = sorted({*skip, *mine})
            with cursor.copy(EVENT_COPY) as copy:
                self.writer._file_send(copy, spooled.wide_path, runs(lines, skip))
            if not mine:
                os.unlink(spooled.wide_path)
            base += count

    def claim(self) -> None:
        self.wait_turn()
        late = self.late = _stage_claim(self.cursor, self.source_id)
        if late:
            times = [at for _rid, at in late.values()]
            self.cursor.execute(
                LATE_DELETE_SQL,
                {
                    "batch": self.batch.pk,
                    "source": self.source_id,
                    "ids": [rid for rid, _at in late.values()],
                    "first": min(times),
                    "last": max(times),
                },
            )

    def draw(self) -> None:
        self.sales, self.costs = self.writer._allowances_draw(self.cursor, self.batch, self.end, self.holders)

    def store(self) -> None:
        """COPY the holders' wide rows, with the sales the draw gave them; insert the derived rows."""
        for spooled, lines, first_line, only in self.held:
            only = [i for i in only if first_line + i not in self.late]
            with self.cursor.copy(EVENT_COPY) as copy:
                copy.write(lines_only(spooled.wide(), lines, only, self.sales, first_line))
        if self.end.derived:
            self.cursor.execute(DERIVED_SQL, {"source": self.source_id, "batch": self.batch.pk})
        if self.costs:
            # Stored rows (ahead, or just above) whose next hop's sale the draw changed: their cost too.
            ids, times, costs, ccys = zip(*self.costs, strict=True)
            self.cursor.execute(
                EVENT_COST_SQL,
                {
                    "ids": list(ids),
                    "times": list(times),
                    "costs": list(costs),
                    "ccys": list(ccys),
                    "batch": self.batch.pk,
                    "source": self.source_id,
                    "first": min(times),
                    "last": max(times),
                },
            )

    def customers(self) -> set[int]:
        return self.end.customer_ids

    def roll_up(self, timeline: Timeline) -> list[Group]:
        """Mark the segments (set-based: only where a customer's timeline changes inside the chunk), then
        roll up and sum; a group's segment is its customer's segment at the chunk's start plus the one
        within the chunk."""
        end = self.end
        cuts = timeline.cuts_within(end.customer_ids, end.start, end.end) if end.start is not None else []
        if cuts:
            self.cursor.execute(
                SEGMENT_SQL, {"customers": [c for c, _at in cuts], "cuts": [at for _c, at in cuts]}
            )
        mapped = sorted((a, ids) for a, ids in end.channels.items() if ids is not None)
        self.cursor.execute(
            ROLLUPS_SQL,
            {
                "tz": settings.TIME_ZONE,
                "accounts": [a for a, _ids in mapped],
                "channels": [channel for _a, (channel, _vendor) in mapped],
                "vendors": [vendor for _a, (_channel, vendor) in mapped],
            },
        )
        return [
            Group(
                *row[:8],
                segment=timeline.segment(row[0], end.start) + row[8] if row[0] else 0,
                derived=row[11],
                channel_id=row[12],
            )
            for row in self.cursor.fetchall()
        ]

    def post(self, charge: Charged) -> None:
        self.writer._post(self.batch, self.end, charge)


class _LazyPricer:
    """A ``BatchPricer`` built on first use: most chunks never price an overage nor an image or audio
    second under an allowance."""

    def __init__(self, customers, model_ids, start, end):
        self._args = (customers, model_ids, start, end)
        self._pricer = None

    def _built(self) -> BatchPricer:
        if self._pricer is None:
            customers, model_ids, start, end = self._args
            models = {m.pk: m for m in AIModel.objects.filter(pk__in=model_ids).select_related("vendor")}
            self._pricer = BatchPricer(customers=customers, models=models, start=start, end=end)
        return self._pricer

    def prices(self, customer_id, model_id, at):
        return self._built().prices(customer_id, model_id, at)

    def plan_prices(self, plan_id, model_id, at):
        return self._built().plan_prices(plan_id, model_id, at)
