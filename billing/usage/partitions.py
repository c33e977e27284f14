"""Monthly partitions of ``usage_event`` on PostgreSQL: create ahead, drop past the retention horizon.

Why partitions: raw events are by far the largest table; dropping a month is instant where DELETE would
bloat, and month-bounded queries touch one partition. Why a DEFAULT partition as well: an event from an
unexpected month is stored rather than refused (DESIGN §4.8, nothing dropped); the ingest path creates the
month's partition *before* inserting, so the default partition normally stays empty.
On SQLite none of this applies: ``usage_event`` is a plain table and retention deletes rows.
"""

import time
from datetime import date, datetime
from itertools import count

from django.db import IntegrityError, OperationalError, ProgrammingError, connection, transaction

PARENT = "usage_event"
_known: set[str] = set()
# How long creating a partition may queue for its lock on the parent before it lets go and tries again,
# and after how long in all it gives up with an error.
LOCK_WAIT = "200ms"
GIVE_UP_S = 600


def month_start(value: date | datetime) -> date:
    return date(value.year, value.month, 1)


def month_add(value: date, months: int) -> date:
    index = value.year * 12 + value.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def partition_name(month: date) -> str:
    return f"{PARENT}_{month:%Y%m}"


def is_partitioned() -> bool:
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT 1 FROM pg_partitioned_table p JOIN pg_class c ON c.oid = p.partrelid "
            "WHERE c.relname = %s",
            [PARENT],
        )
        return cursor.fetchone() is not None


def partitions_ensure(*, months: set[date]) -> list[str]:
    """Create the monthly partitions holding ``months`` (first days) if missing; return those created.

    Best run outside a batch's transaction (the bulk path's producer has its own connection): creating a
    partition locks the parent table until the transaction that created it ends.
    """
    if connection.vendor != "postgresql":
        return []
    created = []
    for month in sorted(months):
        name = partition_name(month)
        if name in _known:
            continue
        with connection.cursor() as cursor:
            cursor.execute("SELECT to_regclass(%s)", [name])
            if cursor.fetchone()[0] is None and _partition_create(cursor, name, month):
                created.append(name)
        # Remember only what is committed: a partition created inside a transaction that rolls back is gone.
        if not connection.in_atomic_block:
            _known.add(name)
    return created


def _partition_create(cursor, name: str, month: date) -> bool:
    """Create one partition, letting go of the lock queue every ``LOCK_WAIT`` until it gets its turn;
    return False if another process created it meanwhile.

    Creating a partition needs the parent to itself, so it waits for every transaction writing events;
    while it waits, PostgreSQL queues every later writer behind it. A bulk ingest writer holding its rows
    may be waiting for an earlier chunk that is queued so: waiting without end would hang them all.
    """
    deadline = time.monotonic() + GIVE_UP_S
    for attempt in count(1):
        try:
            with transaction.atomic():
                cursor.execute("SELECT current_setting('lock_timeout')")
                caller_timeout = cursor.fetchone()[0]
                cursor.execute("SELECT set_config('lock_timeout', %s, true)", [LOCK_WAIT])
                cursor.execute(
                    f'CREATE TABLE IF NOT EXISTS "{name}" PARTITION OF "{PARENT}" '
                    "FOR VALUES FROM (%s) TO (%s)",
                    [month.isoformat(), month_add(month, 1).isoformat()],
                )
                cursor.execute("SELECT set_config('lock_timeout', %s, true)", [caller_timeout])
            return True
        except (ProgrammingError, IntegrityError) as exc:
            # Created by another process (two ingests at once) after this one found it missing: done. The
            # name is checked before the parent is locked, so both may try; the second fails on the name.
            if getattr(exc.__cause__, "sqlstate", None) not in ("42P07", "23505"):  # duplicate_table, unique
                raise
            return False
        except OperationalError as exc:
            if getattr(exc.__cause__, "sqlstate", None) != "55P03":  # lock_not_available
                raise
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"Could not create the usage partition {name}: other transactions kept {PARENT} in use "
                    f"for {GIVE_UP_S // 60} minutes."
                ) from exc
            time.sleep(min(0.05 * attempt, 1.0))


def partitions_list() -> list[tuple[str, date]]:
    """Return the monthly partitions (name, month) that exist, oldest first."""
    if connection.vendor != "postgresql":
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = %s ORDER BY c.relname",
            [PARENT],
        )
        names = [row[0] for row in cursor.fetchall()]
    found = []
    for name in names:
        suffix = name.removeprefix(PARENT + "_")
        if len(suffix) == 6 and suffix.isdigit():
            found.append((name, date(int(suffix[:4]), int(suffix[4:]), 1)))
    return found


def partitions_drop_before(*, month: date) -> list[str]:
    """Drop every monthly partition entirely before ``month`` (and older rows of the default one)."""
    with connection.cursor() as cursor:
        cursor.execute(f'DELETE FROM "{PARENT}_default" WHERE occurred_at < %s', [month.isoformat()])
    dropped = []
    for name, start in partitions_list():
        if start < month:
            with connection.cursor() as cursor:
                cursor.execute(f'DROP TABLE "{name}"')
            _known.discard(name)
            dropped.append(name)
    return dropped
