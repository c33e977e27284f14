"""A killed or stopped ``manage.py ingest`` leaves nothing behind: no producer, no database session, no
open stdout, no spool folder; and the sweep removes the spool folders killed runs left, and only those.

Real processes on PostgreSQL, each run with a temporary directory of its own (``TMPDIR``), so its spool
folder is the only one there; its processes are found through /proc (Linux)."""

import json
import os
import signal
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import pytest
from django.db import connection

from billing.usage.bulk import spool_dirs
from billing.usage.bulk.ingest import bulk_ingest
from billing.usage.bulk.spool_dirs import owner_mark, spools_sweep
from billing.usage.models import UsageBatch, UsageEvent
from tests.billing.usage.conftest import top_up
from tests.billing.usage.factories import customer_make, event, source_make

ROOT = Path(__file__).resolve().parents[3]
# The first chunk (10,000 events) commits while the producer reads and rates the next (100,000): more
# slices than its queue holds (QUEUED), so a producer left alone would wait forever for a reader.
EVENTS = 150_000
DEADLINE_S = 60

linux_only = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads processes from /proc")


def database_url() -> str:
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db["PASSWORD"] else ""
    return f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def ingest(path: Path, tmpdir: Path) -> subprocess.Popen:
    """``manage.py ingest`` as a child of this test, on the test database, with its own temporary directory.
    stderr goes to a file: a pipe nobody reads could fill and stall the run."""
    tmpdir.mkdir(exist_ok=True)
    with (tmpdir.parent / "stderr.txt").open("w") as stderr:
        return subprocess.Popen(
            [sys.executable, "manage.py", "ingest", str(path), "--source", "nightly"],
            cwd=ROOT,
            env={**os.environ, "DATABASE_URL": database_url(), "TMPDIR": str(tmpdir)},
            stdout=subprocess.PIPE,
            stderr=stderr,
        )


def until(condition, what: str):
    """Poll ``condition`` until it returns something true; return that, or fail saying ``what`` never came."""
    deadline = time.monotonic() + DEADLINE_S
    while not (found := condition()):
        assert time.monotonic() < deadline, f"{what} did not happen within {DEADLINE_S} s"
        time.sleep(0.02)
    return found


def spools(tmpdir: Path) -> list[Path]:
    return sorted(tmpdir.glob(f"{spool_dirs.PREFIX}*"))


def running(pid: int) -> bool:
    """Whether ``pid`` still runs (a zombie waiting to be reaped does not: it holds nothing)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return False


def descendants(pid: int) -> set[int]:
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            found |= {int(child)} | descendants(int(child))
    return found


def other_sessions() -> int:
    """Sessions on the test database besides this test's own."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0]


def stdout_closed(run: subprocess.Popen) -> bool:
    """Whether every process holding the run's stdout has let go of it (it reads to its end)."""
    fd = run.stdout.fileno()
    os.set_blocking(fd, False)
    try:
        while os.read(fd, 65536):
            continue
    except BlockingIOError:
        return False  # still open somewhere, nothing to read yet
    return True


@pytest.fixture
def leftovers():
    """``leftovers(pids)`` notes processes of the test: any still running at its end is killed, so a failing
    test leaves none (the same processes: a pid since given to another has another start time)."""
    noted: dict[int, str | None] = {}
    yield lambda pids: noted.update({pid: spool_dirs._started(pid) for pid in pids})
    for pid, started in noted.items():
        if started is not None and spool_dirs._started(pid) == started:
            os.kill(pid, signal.SIGKILL)


@linux_only
@pytest.mark.parametrize(("platform", "watch_s"), [("linux", 3600), ("darwin", 0.05)])
def test_the_producer_ends_with_its_parent_by_signal_or_by_watching_it(
    tmp_path, leftovers, platform, watch_s
):
    """The parent-death signal alone (the watch asleep for an hour), and the watch alone (no prctl)."""
    script = f"""
import multiprocessing, os, sys, time, types
import django
django.setup()
from billing.usage.bulk import producer
from billing.usage.bulk.spool_dirs import SpoolDir, owner_mark

def child(parent, spool):
    producer.sys = types.SimpleNamespace(platform={platform!r})
    producer.PARENT_WATCH_S = {watch_s}
    producer._orphan_guard(parent, spool)
    owner_mark(spool)
    time.sleep(3600)

spool = SpoolDir()
multiprocessing.get_context("fork").Process(target=child, args=(os.getpid(), spool.path)).start()
time.sleep(3600)
"""
    env = {**os.environ, "TMPDIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "distributor.settings"}
    parent = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, env=env)
    try:
        (spool,) = until(
            lambda: [s for s in spools(tmp_path) if len(list(s.glob("owner-*"))) == 2], "the fork"
        )
        (child,) = descendants(parent.pid)
        leftovers({child})
    finally:
        parent.kill()
        parent.wait(DEADLINE_S)

    until(lambda: not running(child), "the child's end")
    until(lambda: not spool.exists(), "the spool folder's removal")


@linux_only
def test_a_producer_whose_parent_died_before_it_could_ask_for_the_signal_ends_at_once(tmp_path):
    """The parent-death signal comes only for a death after prctl: one before is seen by the parent pid."""
    import multiprocessing

    from billing.usage.bulk import producer

    spool = tmp_path / f"{spool_dirs.PREFIX}early"
    spool.mkdir()

    def child():
        producer._orphan_guard(0, str(spool))  # the parent recorded is no longer the parent
        time.sleep(DEADLINE_S)

    process = multiprocessing.get_context("fork").Process(target=child)
    process.start()
    process.join(DEADLINE_S)

    assert process.exitcode == 128 + signal.SIGTERM and not spool.exists()


@pytest.fixture
def big_file(tmp_path, model):
    customer = customer_make(key="key-a")
    top_up(customer, Decimal("100000"))
    path = tmp_path / "usage.ndjson"
    path.write_text(
        "\n".join(json.dumps(event(f"r{i}", prompt=100 + i % 50, completion=10)) for i in range(EVENTS))
    )
    return path


def midstream(run: subprocess.Popen, tmpdir: Path) -> tuple[Path, set[int]]:
    """Wait for the run to be mid-stream — its first chunk committed, its producer at the second — and
    return its spool folder and its processes (the owners marked in the folder)."""

    def ready():
        assert run.poll() is None, "the run ended before it could be interrupted"
        for spool in spools(tmpdir):
            pids = {int(p.name.removeprefix(spool_dirs.MARK)) for p in spool.glob(f"{spool_dirs.MARK}*")}
            if len(pids) == 2 and UsageBatch.objects.exists():
                return spool, pids
        return None

    return until(ready, "the first chunk's commit")


@linux_only
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_sigkilled_ingest_leaves_no_process_session_pipe_or_spool_behind(big_file, tmp_path, leftovers):
    tmpdir = tmp_path / "tmp"
    run = ingest(big_file, tmpdir)
    leftovers({run.pid})
    spool, pids = midstream(run, tmpdir)
    leftovers(pids)
    assert run.pid in pids and descendants(run.pid) == pids - {run.pid}  # the producer, and nothing else

    run.kill()
    run.wait(DEADLINE_S)

    until(lambda: not any(running(pid) for pid in pids), "the producer's end")
    until(lambda: not spool.exists() and not spools(tmpdir), "the spool folder's removal")
    until(lambda: other_sessions() == 0, "the end of the run's database sessions")
    until(lambda: stdout_closed(run), "the release of the command's stdout")
    run.stdout.close()
    # It was killed mid-stream: the second chunk never committed, and the first is whole.
    (batch,) = UsageBatch.objects.all()
    assert UsageEvent.objects.count() == batch.response["accepted"] == 10_000


@linux_only
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("stop", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_stopped_ingest_cleans_up_says_so_and_exits_with_the_signals_code(
    big_file, tmp_path, leftovers, stop, code
):
    tmpdir = tmp_path / "tmp"
    run = ingest(big_file, tmpdir)
    leftovers({run.pid})
    spool, pids = midstream(run, tmpdir)
    leftovers(pids)

    run.send_signal(stop)

    assert run.wait(DEADLINE_S) == code
    err = (tmp_path / "stderr.txt").read_text()
    assert f"Stopped by {stop.name}" in err and "Run the same file again" in err and "Traceback" not in err
    assert not spool.exists() and not spools(tmpdir)  # removed before the command exited
    until(lambda: not any(running(pid) for pid in pids), "the producer's end")
    until(lambda: other_sessions() == 0, "the end of the run's database sessions")
    assert run.stdout.read() == b""  # no answer printed: the run did not finish
    run.stdout.close()
    # Whole chunks only: the first committed, the second rolled back.
    (batch,) = UsageBatch.objects.all()
    assert UsageEvent.objects.count() == batch.response["accepted"] == 10_000


def owner_dead_mark(spool: Path) -> None:
    """Mark ``spool`` as owned by a process that has since ended (run, marked, exited, reaped)."""
    script = "import sys; from billing.usage.bulk.spool_dirs import owner_mark; owner_mark(sys.argv[1])"
    subprocess.run([sys.executable, "-c", script, str(spool)], cwd=ROOT, check=True)


def folders(root: Path) -> dict[str, Path]:
    """A killed run's folder, a live one, one whose owner's pid is now another process's, one left without
    an owner long ago, one just made (not marked yet), and two that are not spool folders."""
    made = {name: root / f"{spool_dirs.PREFIX}{name}" for name in ("dead", "live", "recycled", "old", "new")}
    made |= {"other": root / "other-dir", "file": root / f"{spool_dirs.PREFIX}file"}
    for name, path in made.items():
        if name != "file":
            path.mkdir()
            (path / "0.wide").write_bytes(b"x" * 1000)
    made["file"].write_text("not a folder")
    owner_dead_mark(made["dead"])
    owner_dead_mark(made["other"])
    owner_mark(str(made["live"]))
    owner_mark(str(made["recycled"]))
    marker = made["recycled"] / f"{spool_dirs.MARK}{os.getpid()}"
    marker.write_text(json.dumps(json.loads(marker.read_text()) | {"started": "1"}))  # same pid, not us
    long_ago = time.time() - spool_dirs.UNMARKED_GRACE_S - 60
    os.utime(made["old"], (long_ago, long_ago))
    return made


def kept_and_gone(made: dict[str, Path]) -> tuple[set[str], set[str]]:
    return {n for n, p in made.items() if p.exists()}, {n for n, p in made.items() if not p.exists()}


@linux_only
def test_the_sweep_removes_folders_no_running_process_owns_and_only_those(tmp_path):
    made = folders(tmp_path)

    removed = spools_sweep(str(tmp_path))

    assert kept_and_gone(made) == ({"live", "new", "other", "file"}, {"dead", "recycled", "old"})
    assert sorted(removed) == sorted(str(made[n]) for n in ("dead", "recycled", "old"))
    assert spools_sweep(str(tmp_path)) == []


@linux_only
def test_a_starting_celery_worker_sweeps_the_temporary_directory(tmp_path, monkeypatch):
    from celery.signals import worker_ready

    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    made = folders(tmp_path)

    worker_ready.send(sender=None)

    assert kept_and_gone(made)[1] == {"dead", "recycled", "old"}


@linux_only
@pytest.mark.redis
def test_a_real_worker_sweeps_when_it_is_ready(tmp_path):
    """The receiver is connected by the time a real worker says it is ready (``AppConfig.ready``)."""
    made = folders(tmp_path)
    worker = subprocess.Popen(
        [
            *(sys.executable, "-m", "celery", "-A", "distributor", "worker", "--pool=solo"),
            *("--without-gossip", "--without-mingle", "--loglevel=WARNING", "-Q", "ingest"),
        ],
        cwd=ROOT,
        env={**os.environ, "TMPDIR": str(tmp_path)},
    )
    try:
        until(lambda: not made["dead"].exists(), "the worker's sweep")
        assert kept_and_gone(made)[1] == {"dead", "recycled", "old"}
    finally:
        worker.terminate()
        worker.wait(DEADLINE_S)


@linux_only
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_ingest_sweeps_at_start_and_a_finished_run_leaves_nothing(tmp_path, model):
    customer_make(key="key-a")
    path = tmp_path / "usage.ndjson"
    path.write_text("\n".join(json.dumps(event(f"r{i}")) for i in range(30)))
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    made = folders(tmpdir)

    run = ingest(path, tmpdir)
    out, _ = run.communicate(timeout=300)

    assert run.returncode == 0 and json.loads(out)["accepted"] == 30
    assert kept_and_gone(made)[1] == {"dead", "recycled", "old"}
    assert {p.name for p in spools(tmpdir)} == {
        made[n].name for n in ("live", "new", "file")
    }  # none of its own
    assert (
        "left by a run that was killed" in (tmp_path / "stderr.txt").read_text()
    )  # the sweep says what it did


@linux_only
@pytest.mark.postgres
@pytest.mark.django_db
def test_an_in_process_run_sweeps_too(tmp_path, monkeypatch, source, prepaid):
    """As an upload runs in a Celery worker's child: the folder its killed predecessor left goes."""
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    made = folders(tmp_path)

    result = bulk_ingest(source=source, records=[event("r1")], key_prefix="k", parallel=False)

    assert result.accepted == 1
    assert kept_and_gone(made)[1] == {"dead", "recycled", "old"}


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("parallel", [True, False])
def test_a_failing_run_removes_its_spool_and_ends_its_producer(tmp_path, monkeypatch, model, parallel):
    import multiprocessing

    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    customer_make(key="key-a")

    def records():
        for i in range(25):
            yield event(f"r{i}")
        raise OSError("the disk went away")

    with pytest.raises((OSError, RuntimeError), match="the disk went away"):
        bulk_ingest(source=source_make()[0], records=records(), key_prefix="k", chunk=10, parallel=parallel)

    assert list(tmp_path.iterdir()) == []
    assert multiprocessing.active_children() == []
