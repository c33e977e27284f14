"""The bulk path's writers take turns: chunks commit in input order, a failure takes the later chunks with it
and reports what committed, no transaction waits for a chunk waiting for its turn; partitions are made
without blocking writers."""

from decimal import Decimal

import pytest
from django.db.models import Sum

from billing.usage.bulk.ingest import bulk_ingest
from billing.usage.models import UsageBatch, UsageDaily, UsageEvent
from billing.wallets.models import Wallet
from billing.wallets.selectors import wallet_balance
from tests.billing.usage.conftest import top_up
from tests.billing.usage.factories import customer_make, event, source_make

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


@pytest.mark.django_db(transaction=True)
def test_producer_failure_rolls_back_its_chunk_and_a_rerun_completes_once(model, monkeypatch):
    """The forked producer dies mid-chunk: the chunks before it stay (and are reported), its chunk leaves
    nothing, the re-run replays the committed chunks and ingests the rest exactly once."""
    prepaid = customer_make(key="key-a")
    top_up(prepaid, Decimal("100"))
    records = [event(f"r{i}", prompt=100 + i) for i in range(25)]
    source = source_make("dies")[0]

    def dying():
        yield from records[:15]
        raise OSError("disk gone")

    post_slowly(monkeypatch, key=None, seconds=0.5)  # chunk 0 still commits when the producer dies
    reported = []
    with pytest.raises(RuntimeError, match="disk gone"):
        bulk_ingest(
            source=source,
            records=dying(),
            key_prefix="f",
            chunk=10,
            parallel=True,
            progress=lambda n, total: reported.append((n, total.accepted)),
        )

    assert UsageEvent.objects.filter(source=source).count() == 10  # chunk 0 committed, chunk 1 not
    assert reported == [(0, 10)]  # and it was reported
    again = bulk_ingest(source=source, records=iter(records), key_prefix="f", chunk=10, parallel=True)

    assert again.accepted == 25 and UsageEvent.objects.filter(source=source).count() == 25
    total = UsageEvent.objects.aggregate(s=Sum("sell_amount"))["s"]
    assert wallet_balance(wallet=Wallet.objects.get(customer=prepaid)).available == Decimal("100") - total


@pytest.mark.django_db(transaction=True)
def test_chunks_commit_in_input_order_and_a_failed_one_takes_the_later_ones_with_it(model, monkeypatch):
    """Two writers: chunk 2 fails slowly while chunk 3, on the other writer, is ready to commit. Chunk 3
    waits for its turn and rolls back: what stays is a prefix (chunks 0 and 1), the error raised is chunk
    2's own, and the re-run replays the prefix and ingests the rest exactly once."""
    prepaid = customer_make(key="key-a")
    top_up(prepaid, Decimal("100"))
    records = [event(f"r{i}", prompt=100 + i) for i in range(30)]
    source = source_make("turns")[0]
    # Meanwhile chunk 3 is staged, probed and copied, and waits for its turn.
    post_slowly(monkeypatch, key="t:2", seconds=1, error=RuntimeError("ledger gone"))
    with pytest.raises(RuntimeError, match="ledger gone"):
        bulk_ingest(source=source, records=iter(records), key_prefix="t", chunk=5, parallel=True)

    assert sorted(UsageBatch.objects.filter(source=source).values_list("idempotency_key", flat=True)) == [
        "t:0",
        "t:1",
    ]
    assert UsageEvent.objects.filter(source=source).count() == 10
    monkeypatch.undo()
    again = bulk_ingest(source=source, records=iter(records), key_prefix="t", chunk=5, parallel=True)

    assert (again.accepted, again.duplicates) == (30, 0)
    assert UsageEvent.objects.filter(source=source).count() == 30
    assert UsageBatch.objects.filter(source=source).count() == 6
    total = UsageEvent.objects.aggregate(s=Sum("sell_amount"))["s"]
    assert UsageDaily.objects.aggregate(s=Sum("sell_amount"))["s"] == total
    assert wallet_balance(wallet=Wallet.objects.get(customer=prepaid)).available == Decimal("100") - total


def test_a_later_failure_does_not_let_a_chunk_take_its_turn_early():
    """Chunk 1 is still running when chunk 3 fails: chunk 2 keeps waiting for chunk 1, which then
    commits, and takes its turn; chunk 4 never does."""
    import threading

    from billing.usage.bulk.turns import Abandoned, Turns

    turns, took = Turns(), []

    def wait(n):
        try:
            turns.wait(n)
            took.append(n)
        except Abandoned:
            took.append(-n)

    turns.done(0)
    waiters = [threading.Thread(target=wait, args=(n,)) for n in (2, 4)]
    for waiter in waiters:
        waiter.start()
    turns.fail(3)
    waiters[1].join(5)
    assert took == [-4]
    turns.done(1)
    waiters[0].join(5)
    assert took == [-4, 2]


def test_a_chunk_gives_up_waiting_for_a_stuck_one():
    """Chunk 1 never commits (stuck on a lock held elsewhere): chunk 2 fails after TURN_WAIT_S rather
    than hang."""
    from billing.usage.bulk import turns as module

    turns = module.Turns()
    turns.done(0)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(module, "TURN_WAIT_S", 0.2)
        with pytest.raises(RuntimeError, match="chunk 2 waited"):
            turns.wait(2)


def post_slowly(monkeypatch, *, key: str | None, seconds: float, error: Exception | None = None) -> None:
    """Make the posting of the chunk keyed ``key`` (of every chunk, for None) take ``seconds`` longer,
    then fail with ``error`` if one is given."""
    import time

    from billing.usage.bulk import writer

    post = writer.Writer._post

    def slow(self, batch, end, sums):
        if key is None or batch.idempotency_key == key:
            time.sleep(seconds)
            if error is not None:
                raise error
        return post(self, batch, end, sums)

    monkeypatch.setattr(writer.Writer, "_post", slow)


def chunk_key_is(cursor, key: str) -> bool:
    """Whether the transaction on ``cursor`` is writing the chunk keyed ``key`` (its batch row is visible
    only there until it commits)."""
    cursor.execute("SELECT count(*) FROM usage_batch WHERE idempotency_key = %s", [key])
    return cursor.fetchone()[0] == 1


@pytest.mark.django_db(transaction=True)
def test_the_first_failed_chunks_own_error_is_raised_and_what_committed_is_reported(model, monkeypatch):
    """Chunk 1 fails slowly in its turn; chunk 2 fails before its turn, with an error of its own. The
    error raised is chunk 1's; chunk 0, committed, was reported to ``progress``."""
    from billing.usage.bulk import writer

    prepaid = customer_make(key="key-a")
    top_up(prepaid, Decimal("100"))
    records = [event(f"r{i}", prompt=100 + i) for i in range(20)]
    probe = writer._stage_probe

    def probe_failing_in_chunk_2(cursor, source_id):
        if chunk_key_is(cursor, "e:2"):
            raise ValueError("chunk 2: its own error")
        return probe(cursor, source_id)

    post_slowly(monkeypatch, key="e:1", seconds=1, error=RuntimeError("chunk 1: ledger gone"))
    monkeypatch.setattr(writer, "_stage_probe", probe_failing_in_chunk_2)
    reported = []
    with pytest.raises(RuntimeError, match="chunk 1: ledger gone"):
        bulk_ingest(
            source=source_make("e")[0],
            records=iter(records),
            key_prefix="e",
            chunk=5,
            parallel=True,
            progress=lambda n, total: reported.append((n, total.accepted)),
        )

    assert list(UsageBatch.objects.values_list("idempotency_key", flat=True)) == ["e:0"]
    assert reported == [(0, 5)]


@pytest.mark.django_db(transaction=True)
def test_a_chunks_failure_is_raised_even_when_reading_the_input_fails_after_it(model, monkeypatch):
    """Chunk 1 fails (slowly) in its turn, and meanwhile the producer dies while chunk 2 is read: the error
    raised is chunk 1's, not the reading's."""
    prepaid = customer_make(key="key-a")
    top_up(prepaid, Decimal("100"))
    records = [event(f"r{i}", prompt=100 + i) for i in range(12)]

    def dying():
        yield from records
        raise OSError("disk gone")

    post_slowly(monkeypatch, key="d:1", seconds=1, error=RuntimeError("chunk 1: ledger gone"))
    with pytest.raises(RuntimeError, match="chunk 1: ledger gone"):
        bulk_ingest(source=source_make("d")[0], records=dying(), key_prefix="d", chunk=5, parallel=True)

    assert list(UsageBatch.objects.values_list("idempotency_key", flat=True)) == ["d:0"]


@pytest.mark.django_db(transaction=True)
def test_a_cache_that_fails_after_a_chunk_committed_fails_nothing(model, monkeypatch):
    """The gateway status refresh runs after a chunk commits; Redis failing there is logged, and the run
    goes on: every chunk committed, every chunk reported."""
    from billing.usage import charging

    prepaid = customer_make(key="key-a")
    top_up(prepaid, Decimal("100"))
    refreshed = []

    def failing_once(customer_ids):
        refreshed.append(customer_ids)
        if len(refreshed) == 1:
            raise ConnectionError("redis gone")

    monkeypatch.setattr(charging, "after_commit", failing_once)
    reported = []
    result = bulk_ingest(
        source=source_make("c")[0],
        records=[event(f"r{i}") for i in range(15)],
        key_prefix="c",
        chunk=5,
        parallel=True,
        progress=lambda n, total: reported.append(n),
    )

    assert result.accepted == 15 and reported == [0, 1, 2] and len(refreshed) == 3
    assert UsageBatch.objects.count() == 3


@pytest.mark.django_db(transaction=True)
def test_an_interrupt_is_raised_as_it_came_and_what_committed_stays_a_prefix(model):
    """Ctrl-C while chunks are in flight (here from the progress callback, in the reading thread): the
    interrupt itself is raised, and the committed chunks are the first ones, in order."""
    prepaid = customer_make(key="key-a")
    top_up(prepaid, Decimal("100"))
    records = [event(f"r{i}", prompt=100 + i) for i in range(40)]

    def interrupt(n, total):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        bulk_ingest(
            source=source_make("i")[0],
            records=iter(records),
            key_prefix="i",
            chunk=5,
            parallel=True,
            progress=interrupt,
        )

    keys = sorted(UsageBatch.objects.values_list("idempotency_key", flat=True), key=lambda k: int(k[2:]))
    assert keys[:1] == ["i:0"] and keys == [f"i:{n}" for n in range(len(keys))] and len(keys) < 8
    assert UsageEvent.objects.count() == 5 * len(keys)


@pytest.mark.django_db(transaction=True)
def test_the_next_chunk_is_written_while_one_takes_its_turn(model, monkeypatch):
    """Two writers really overlap: chunk 0 posts only once chunk 1, on the other writer, has staged its
    rows and is probing its keys."""
    import threading

    from billing.usage.bulk import writer

    prepaid = customer_make(key="key-a")
    top_up(prepaid, Decimal("100"))
    post, probe = writer.Writer._post, writer._stage_probe
    chunk_1_copying = threading.Event()
    overlapped = []

    def probe_noting_chunk_1(cursor, source_id):
        if chunk_key_is(cursor, "o:1"):
            chunk_1_copying.set()
        return probe(cursor, source_id)

    def post_after_chunk_1_started(self, batch, end, sums):
        if batch.idempotency_key == "o:0":
            overlapped.append(chunk_1_copying.wait(10))
        return post(self, batch, end, sums)

    monkeypatch.setattr(writer, "_stage_probe", probe_noting_chunk_1)
    monkeypatch.setattr(writer.Writer, "_post", post_after_chunk_1_started)
    result = bulk_ingest(
        source=source_make("o")[0],
        records=[event(f"r{i}") for i in range(10)],
        key_prefix="o",
        chunk=5,
        parallel=True,
    )

    assert overlapped == [True] and result.accepted == 10


@pytest.mark.django_db(transaction=True)
def test_no_transaction_waits_for_a_chunk_waiting_for_its_turn(model, monkeypatch):
    """Another ingest T holds a key of chunk 1, so chunk 1's claim waits for T; T then inserts a key of
    chunk 2, which is written meanwhile and waits for chunk 1's turn. T must not wait for chunk 2 (a cycle
    PostgreSQL cannot see: one wait is the writers' own): chunk 2 claims its keys only in its turn."""
    import threading

    from django.db import connection, connections

    from billing.usage.bulk.turns import Turns

    prepaid = customer_make(key="key-a")
    top_up(prepaid, Decimal("100"))
    source = source_make("t")[0]
    chunk_2_waits, wait = threading.Event(), Turns.wait

    def noting_wait(turns, n):
        if n == 2:
            chunk_2_waits.set()
        wait(turns, n)

    monkeypatch.setattr(Turns, "wait", noting_wait)
    ids = (
        [f"a{i}" for i in range(5)]
        + ["x1"]
        + [f"b{i}" for i in range(4)]
        + ["y2"]
        + [f"c{i}" for i in range(4)]
    )
    other = connections.create_connection("default")
    other.set_autocommit(False)
    insert = "INSERT INTO usage_request_key (source_id, request_id, occurred_at) VALUES (%s, %s, now())"
    box = {}

    def run():
        try:
            box["result"] = bulk_ingest(
                source=source, records=[event(i) for i in ids], key_prefix="h", chunk=5, parallel=True
            )
        finally:
            connection.close()

    try:
        with other.cursor() as cursor:
            cursor.execute("SET LOCAL lock_timeout = '5s'")
            cursor.execute(insert, [source.pk, "x1"])
            cursor.execute("SELECT pg_backend_pid()")
            pid = cursor.fetchone()[0]
            runner = threading.Thread(target=run)
            runner.start()
            blocked = False
            for _ in range(300):  # until chunk 1's claim waits for T
                cursor.execute("SELECT pg_stat_clear_snapshot()")  # else T sees its first view throughout
                cursor.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE %s = ANY(pg_blocking_pids(pid))", [pid]
                )
                blocked = cursor.fetchone()[0] > 0
                if blocked:
                    break
                runner.join(0.1)
            assert blocked
            assert chunk_2_waits.wait(30)  # chunk 2 is staged, probed and copied, and waits for its turn
            cursor.execute(insert, [source.pk, "y2"])  # with the old order: a lock timeout here
        other.commit()
        runner.join(30)

        assert not runner.is_alive()
        result = box["result"]
        assert (result.accepted, result.duplicates) == (len(ids) - 2, 2)
        stored = set(UsageEvent.objects.values_list("request_id", flat=True))
        assert stored == set(ids) - {"x1", "y2"}
    finally:
        other.close()


@pytest.mark.django_db(transaction=True)
def test_creating_a_partition_lets_later_writers_pass_while_it_waits():
    """A transaction writing events holds the parent; creating a partition must wait for it. While it
    waits, another writer still gets its lock (PostgreSQL would queue it behind the creation, and a bulk
    writer waiting so for an earlier chunk would hang both); the partition comes once the holder ends."""
    import threading
    from datetime import date

    from django.db import connection, connections

    from billing.usage import partitions

    month = date(2031, 3, 1)
    name = partitions.partition_name(month)
    holder, passer = connections.create_connection("default"), connections.create_connection("default")
    created = []

    def create():
        try:
            created.extend(partitions.partitions_ensure(months={month}))
        finally:
            connection.close()

    try:
        holder.set_autocommit(False)
        holder.cursor().execute("LOCK TABLE usage_event IN ROW EXCLUSIVE MODE")
        creator = threading.Thread(target=create)
        creator.start()
        creator.join(0.5)
        assert creator.is_alive()  # waiting for the holder
        passer.set_autocommit(False)
        with passer.cursor() as cursor:
            cursor.execute("SET LOCAL lock_timeout = '3s'")
            cursor.execute("LOCK TABLE usage_event IN ROW EXCLUSIVE MODE")  # not queued behind it
        passer.commit()
        assert creator.is_alive()
        holder.commit()
        creator.join(10)

        assert not creator.is_alive() and created == [name]
    finally:
        holder.close()  # rolls back what it holds, if a failed assertion left it open
        passer.close()
        with connection.cursor() as cursor:
            cursor.execute(f'DROP TABLE IF EXISTS "{name}"')
        partitions._known.discard(name)


@pytest.mark.django_db(transaction=True)
def test_creating_a_partition_gives_up_with_an_error_when_the_parent_stays_busy(monkeypatch):
    from datetime import date

    from django.db import connections

    from billing.usage import partitions

    monkeypatch.setattr(partitions, "GIVE_UP_S", 0.5)
    holder = connections.create_connection("default")
    try:
        holder.set_autocommit(False)
        holder.cursor().execute("LOCK TABLE usage_event IN ROW EXCLUSIVE MODE")
        with pytest.raises(RuntimeError, match="usage_event_203104"):
            partitions.partitions_ensure(months={date(2031, 4, 1)})
    finally:
        holder.close()
    assert "usage_event_203104" not in {name for name, _month in partitions.partitions_list()}


def test_creating_a_partition_keeps_the_callers_lock_timeout():
    from datetime import date

    from django.db import connection

    from billing.usage import partitions

    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL lock_timeout = '1234ms'")
        assert partitions.partitions_ensure(months={date(2031, 5, 1)}) == ["usage_event_203105"]
        cursor.execute("SHOW lock_timeout")
        assert cursor.fetchone()[0] == "1234ms"
