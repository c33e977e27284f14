"""The bulk path's entry point: ``bulk_ingest`` starts the producer and the writers and sums their chunks."""

import multiprocessing
import os
from collections.abc import Callable, Iterable

from django.db import connection
from django.utils import timezone

from billing.usage.bulk.producer import CHUNK, QUEUED, chunk_start, from_queue, produce, produce_into
from billing.usage.bulk.spool import spooled
from billing.usage.bulk.spool_dirs import SpoolDir, spools_sweep
from billing.usage.bulk.turns import write_in_turns
from billing.usage.bulk.writer import Writer
from billing.usage.charging import BatchResult
from billing.usage.models import GatewaySource


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
    The run's spool folder (``spool_dirs.SpoolDir``) is removed however it ends; the producer ends with
    the calling process even when that is killed outright; and the run begins by sweeping away the spool
    folders of killed runs.
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
    produce_args = {
        "source": source,
        "records": records,
        "fmt": fmt,
        "chunk": chunk,
        "key_prefix": key_prefix,
    }
    total = BatchResult(batch_id=None)

    def deliver(n: int, result: BatchResult) -> None:
        total.add(result, offset=chunk_start(n, chunk))
        if progress is not None:
            progress(n, total)

    process = None
    # Each run first removes what killed runs left (a Celery worker's child killed at its time limit, a
    # command killed with its producer): folders of up to ~300 MB each, else kept until a worker restarts.
    spools_sweep()
    spool = SpoolDir()
    try:
        if parallel:
            context = multiprocessing.get_context("fork")
            handoff = context.Queue(maxsize=QUEUED)
            # The producer ends with this process (``producer._orphan_guard``) — on Linux with the thread
            # that forks it: this one, which waits for it below.
            process = context.Process(
                target=produce_into, args=(handoff, spool.path, os.getpid()), kwargs=produce_args, daemon=True
            )
            process.start()
            items = from_queue(handoff, process)
            write_in_turns(source=source, fmt=fmt, items=items, key_prefix=key_prefix, deliver=deliver)
        else:
            items = spooled(produce(**produce_args), spool.path)
            writer = Writer(source, fmt)
            for n in range(10**9):
                result = writer.chunk_write(key=f"{key_prefix}:{n}", items=items)
                if result is None:
                    break
                deliver(n, result)
        GatewaySource.objects.filter(pk=source.pk).update(last_used_at=timezone.now())
    finally:
        # The spool goes however this ends: a failure, or a SIGTERM/SIGINT arriving even in here.
        try:
            if process is not None:
                if process.is_alive():
                    process.terminate()
                process.join()
        finally:
            spool.remove()
    return total
