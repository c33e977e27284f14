"""The bulk path's producing half: read records, validate and rate them on plain data (prices loaded per
slice), and turn each slice into COPY text for the writers. Runs in a forked process (``produce_into``)
or in-process; it reads the database but writes nothing but partitions."""

import ctypes
import os
import signal
import sys
import threading
import time
import traceback
from array import array
from collections.abc import Iterator
from itertools import accumulate, islice
from queue import Empty

from django.db import connection
from django.utils import timezone

from billing.money import copy_escape
from billing.usage.bulk.copytext import NULL, Lines, message_text
from billing.usage.bulk.spool import ChunkEnd, Replayed, Slice, spooled
from billing.usage.bulk.spool_dirs import owner_mark, remove
from billing.usage.bulk.sql import derived_line
from billing.usage.bulk.validate import slice_parse
from billing.usage.models import GatewaySource, UsageBatch
from billing.usage.partitions import month_start, partitions_ensure
from billing.usage.pricing import BatchPricer
from billing.usage.rating import RATED, event_rate
from billing.usage.resolve import (
    KEY_DISABLED,
    channels_load,
    customers_load,
    key_pick,
    keys_resolve,
    models_resolve,
)

# The unit counts (UNIT_COLUMNS) of an event that has none, as stage COPY text.
_NO_UNITS = "0\t0\t0\t0\t"
CHUNK = 100_000
# The first chunk is small so the writer starts as soon as the producer has a slice, not a whole chunk,
# ready (filling the pipeline took ~4 s of a 1M-event file); later chunks are CHUNK long.
FIRST_CHUNK = 10_000
# Events per slice: the producer validates, rates and formats this many at a time (memory: one slice
# of COPY text, ~1 KB per event with gateway metadata). Slices wait spooled to files (~10 MB each on
# disk, none in memory): those of the chunks in flight (WRITERS chunks) and at most QUEUED more, so the
# producer may run a chunk ahead of the writers (~300 MB of disk at most).
SLICE = 10_000
QUEUED = 10
_INHERITED: list = []
# How often the producer looks whether the run's process is still there (where no parent-death signal
# tells it at once), and prctl's option asking for that signal.
PARENT_WATCH_S = 0.5
_PR_SET_PDEATHSIG = 1


class _Lookups:
    """Keys, models and channels resolved once per run and extended as new names appear (plain dicts;
    channels by upstream account exactly as sent, None for one no channel names)."""

    def __init__(self, source: GatewaySource):
        self.source = source
        self.keys: dict[str, int | None] = {}
        self.models: dict[str, object] = {}
        self.channels: dict[str, object] = {}
        self.customers: dict[int, object] = {}
        self.pricer: BatchPricer | None = None

    def update(self, keys: set[str], model_names: set[str], accounts: set[str]) -> None:
        new_accounts = accounts - self.channels.keys()
        if new_accounts:
            found = channels_load(new_accounts)
            self.channels.update({a: found.get(a) for a in new_accounts})
        new_keys = keys - self.keys.keys()
        if new_keys:
            found = keys_resolve(source=self.source, keys=new_keys)
            self.keys.update({k: found.get(k) for k in new_keys})
            named = set(found.values()) - {KEY_DISABLED} - self.customers.keys()
            self.customers.update(customers_load(named))
        new_models = {n.lower() for n in model_names} - self.models.keys()
        if new_models:
            found = models_resolve(new_models)
            self.models.update({n: found.get(n) for n in new_models})


def _slice_copy_text(events: list, lookups: _Lookups, stamp: str, batch_id: int, first_line: int) -> "Slice":
    """Rate the slice's events (queries allowed: prices load here) and return their COPY text, the narrow
    lines numbered from ``first_line``."""
    fresh = [e for e in events if e is not None]
    accounts = {e[8] for e in fresh}
    lookups.update({k for e in fresh for k in e[2]}, {e[3] for e in fresh}, accounts)
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
    keys, by_name, channels = lookups.keys, lookups.models, lookups.channels
    wide, narrow, owners = [], [], array("q")
    customers = set()
    line, derived = first_line, 0
    tail = f"{stamp}\t{batch_id}\t"
    for rid, at, candidates, model, counts, batch, succeeded, head, upstream, at_text, units, tier in fresh:
        key, customer_id, disabled = key_pick(candidates, keys)
        customer_id, model_id, state, reason, plan, sell, sell_ccy, cost, cost_ccy, hops, window, message = (
            event_rate(
                key=key,
                model_name=model,
                customer_id=customer_id,
                model=by_name.get(model.lower()),
                pricer=pricer,
                at=at,
                counts=counts,
                batch=batch,
                succeeded=succeeded,
                channel=channels[upstream],
                units=units,
                service_tier=tier,
                tried=candidates,
                disabled=disabled,
            )
        )
        if customer_id is not None:
            customers.add(customer_id)
        owners.append(customer_id or 0)
        ids = f"{NULL if customer_id is None else customer_id}\t{NULL if model_id is None else model_id}\t"
        sale = (
            f"{copy_escape(plan)}\t{NULL if sell is None else sell}\t{sell_ccy}\t"
            f"{NULL if cost is None else cost}\t{cost_ccy}"
        )
        window = copy_escape(window) if window else ""
        # The reason, as written and as stored text (common.stored_text): an unrated event's alone.
        reason = f"{copy_escape(reason)}\t{message_text(message)}" if message is not None else f"\t{NULL}"
        wide.append(
            f"{head}{copy_escape(key)}\t{ids}{state}\t{reason}\t{sale}\t{window}\t{tail}"
            f"{batch_id if state == RATED else NULL}\n".encode()
        )
        request = f"\t{copy_escape(rid)}\t{at_text}\t"
        account = copy_escape(upstream)
        tokens = (
            f"{counts[0]}\t{counts[1]}\t{counts[2]}\t{counts[3]}\t{counts[4]}\t{counts[5]}\t"
            f"{'t' if batch else 'f'}\t"
            + (_NO_UNITS if units is None else f"{units[0]}\t{units[1]}\t{units[2]}\t{units[3]}\t")
        )
        # The tier too (an allowance's overage plan rates the line with it); key and model are a derived
        # row's alone.
        narrow.append(
            f"{line}{request}{ids}{account}\t{state}\t{tokens}{window}\t{sale}\t0\t{NULL}\t{NULL}\t{NULL}\t"
            f"{copy_escape(tier)}\n"
        )
        if hops:
            # Staged only (sql.DERIVED_SQL inserts them): each hop's customer, sale and window, with what
            # its row needs beyond the narrow columns.
            names = f"\t{copy_escape(key)}\t{copy_escape(model)}\t{copy_escape(tier)}\n"
            for k, h in enumerate(hops):
                sale = (
                    f"{copy_escape(h.plan)}\t{h.sell_amount}\t{h.sell_currency}\t"
                    f"{NULL if h.cost_amount is None else h.cost_amount}\t{h.cost_currency}"
                )
                narrow.append(
                    f"{derived_line(line, k)}{request}{h.customer_id}\t{model_id}\t{account}\t{h.state}\t"
                    f"{tokens}{copy_escape(h.window)}\t{sale}\t{h.hop}\t{h.buyer_id or customer_id}{names}"
                )
                customers.add(h.customer_id)
            derived += len(hops)
        line += 1
    return Slice(
        wide=b"".join(wide),
        narrow="".join(narrow).encode(),
        lines=Lines(array("q", accumulate(map(len, wide))), owners),
        customer_ids=customers,
        start=start,
        end=end,
        batch_id=batch_id,
        derived=derived,
        # What each upstream account resolved to (channel and its contract's vendor, or None), for the
        # writer's cost sums and its check that the mapping still holds.
        channels={a: _channel_ids(channels[a]) for a in accounts},
    )


def _channel_ids(channel) -> tuple[int, int] | None:
    return None if channel is None else (channel.pk, channel.contract.vendor_id)


def _batch_id_take() -> int:
    """The id the chunk's usage batch will have, taken from its sequence now so the COPY text can carry it.

    Sequences are not transactional: the id is ours whatever else runs, and a chunk that fails or turns out
    empty leaves a gap, as any failed insert does.
    """
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence('usage_batch', 'id'))")
        return cursor.fetchone()[0]


def chunk_start(n: int, chunk: int) -> int:
    """How many records come before chunk ``n``: the first is at most FIRST_CHUNK long, the rest ``chunk``.

    A function of ``n`` and ``chunk`` only, so a re-run cuts the input exactly as the first run did.
    """
    return 0 if n == 0 else min(chunk, FIRST_CHUNK) + (n - 1) * chunk


def produce(*, source, records, fmt: str, chunk: int, key_prefix: str) -> Iterator:
    """Yield, chunk after chunk: its slices (``Slice``) then a ``ChunkEnd``, or one ``Replayed``.

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
        size = chunk_start(n + 1, chunk) - chunk_start(n, chunk)
        done = UsageBatch.objects.filter(source=source, idempotency_key=f"{key_prefix}:{n}").first()
        if done is not None:
            # Replayed: skip its records without parsing them and answer as the first run did.
            if sum(1 for _ in islice(iterator, size)) == 0:
                return
            yield Replayed({**done.response, "batch_id": done.pk})
            earlier = set()  # committed: the claim sees its keys
            continue
        batch_id = _batch_id_take()
        now = timezone.now()
        stamp = now.isoformat()
        seen: set[str] = set()
        errors: list[tuple] = []
        received = valid = lines = 0
        customers: set[int] = set()
        channels: dict[str, tuple[int, int] | None] = {}
        derived = 0
        first = last = None
        while received < size:
            events, read = slice_parse(
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
                channels |= piece.channels
                derived += piece.derived
                first, last = min(piece.start, first or piece.start), max(piece.end, last or piece.end)
                yield piece
            if read < SLICE:
                break
        if received == 0:
            return
        yield ChunkEnd(received, valid, errors, customers, first, last, batch_id, derived, channels)
        earlier = seen


def _orphan_guard(parent: int, spool: str) -> None:
    """Make the producer end with the run's process ``parent``, removing the spool on its way out.

    Killed outright (SIGKILL, out of memory), the run cannot stop its producer, which would otherwise go on
    alone — holding its memory, its database sessions and the command's stdout — until the input ran out,
    then wait forever on a queue nobody reads. On Linux the kernel sends it SIGTERM when the parent dies;
    elsewhere (and should that signal be missed) a thread notices the parent gone within PARENT_WATCH_S.
    Either way the producer removes the spool and exits at once (its sessions end with it): what it was
    making is worthless without the writers, and a re-run replays the committed chunks.
    """

    def orphaned(*_) -> None:
        remove(spool)
        os._exit(128 + signal.SIGTERM)

    # SIGTERM also comes from the run itself (``Process.terminate`` when it stops early). Ctrl-C reaches
    # the whole process group: the run handles it and stops the producer, so the producer ignores it.
    signal.signal(signal.SIGTERM, orphaned)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if sys.platform == "linux":
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    if os.getppid() != parent:
        orphaned()  # the parent died before the signal was asked for: it will never come

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_WATCH_S)
        orphaned()

    threading.Thread(target=watch, name="bulk-producer-parent-watch", daemon=True).start()


def produce_into(
    queue, spool: str, parent: int, *, source, records, fmt: str, chunk: int, key_prefix: str
) -> None:
    """The producer process: run ``produce``, spool each slice to files in ``spool`` and put them (or the
    chunk's end) on ``queue``; None when finished. It ends with ``parent``, the run's process.

    Files, not the queue, carry the text so the producer can run a chunk or two ahead of the writer —
    while the writer's statements run — without either process holding more than one slice in memory.
    """
    from django.db import connections

    _orphan_guard(parent, spool)
    owner_mark(spool)
    # The command's answer is its stdout: a reader waiting for its end must never wait on the producer,
    # which writes nothing there.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.close(devnull)

    # The parent's connection was inherited through fork: never use (or close) it here; open our own.
    # The old connection objects are kept referenced so no finaliser ever says goodbye on the parent's
    # socket (the process ends with os._exit, without running them).
    for conn in connections.all(initialized_only=True):
        _INHERITED.append(conn.connection)
        conn.connection = None
    try:
        for item in spooled(
            produce(source=source, records=records, fmt=fmt, chunk=chunk, key_prefix=key_prefix), spool
        ):
            queue.put(item)
        queue.put(None)
    except BaseException:
        queue.put(("error", traceback.format_exc()))
        raise
    finally:
        connections.close_all()


def from_queue(queue, process) -> Iterator:
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
