"""Two ``manage.py ingest`` runs of the same file at once: the second waits for the first and replays it
(no IntegrityError traceback), and nothing is charged twice. Real processes on PostgreSQL, each forking
its producer and writing with two threads, as operators run them; and what they race for first (the
month's partition), on its own."""

import json
import os
import subprocess
import sys
import threading
import time
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from django.db import connection, connections, transaction
from django.db.models import Sum

from billing.usage import partitions
from billing.usage.models import GatewaySource, UsageBatch, UsageEvent
from billing.wallets.models import Wallet
from billing.wallets.selectors import wallet_balance
from tests.billing.usage.conftest import top_up
from tests.billing.usage.factories import customer_make, event

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[3]
EVENTS = 12_000  # two chunks: the first is 10,000 long


def ingest(path: Path) -> subprocess.Popen:
    """``manage.py ingest`` in its own process, on the test database."""
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db["PASSWORD"] else ""
    url = f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    return subprocess.Popen(
        [sys.executable, "manage.py", "ingest", str(path), "--source", "nightly"],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": url},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def waiting_on(cursor, table: str) -> int:
    """How many transactions wait for a lock on ``table``."""
    cursor.execute("SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = %s::regclass", [table])
    return cursor.fetchone()[0]


def partition_drop(month: date) -> str:
    name = partitions.partition_name(month)
    with connection.cursor() as cursor:
        cursor.execute(f'DROP TABLE IF EXISTS "{name}"')
    partitions._known.discard(name)
    return name


def test_two_processes_creating_one_partition_at_once_both_go_on(monkeypatch):
    """Both find the month's partition missing and queue for the parent; the second to get it fails on
    the name the first created, and takes the partition as made, not as an error."""
    month = date(2031, 7, 1)
    name = partition_drop(month)
    monkeypatch.setattr(partitions, "LOCK_WAIT", "20s")  # both surely queued when the holder lets go
    holder = connections.create_connection("default")
    outcomes = []

    def create():
        try:
            outcomes.append(partitions.partitions_ensure(months={month}))
        except Exception as exc:  # the test's assertion shows it
            outcomes.append(exc)
        finally:
            connection.close()

    try:
        holder.set_autocommit(False)
        with holder.cursor() as cursor:
            cursor.execute("LOCK TABLE usage_event IN ROW EXCLUSIVE MODE")
            creators = [threading.Thread(target=create) for _ in range(2)]
            for creator in creators:
                creator.start()
            deadline = time.monotonic() + 30
            while waiting_on(cursor, "usage_event") < 2:
                assert time.monotonic() < deadline
                time.sleep(0.05)
        holder.commit()
        for creator in creators:
            creator.join(30)

        assert len(outcomes) == 2 and [] in outcomes and [name] in outcomes, outcomes  # one created it
    finally:
        holder.close()
        partition_drop(month)


def test_two_runs_of_one_file_at_once_charge_it_once_and_both_answer_it(model, tmp_path):
    prepaid = customer_make(key="key-a")
    top_up(prepaid, Decimal("1000"))
    path = tmp_path / "usage.ndjson"
    rows = [event(f"r{i}", prompt=100 + i % 50, completion=10) for i in range(EVENTS)]
    rows.insert(5, {**event("bad"), "occurred_at": "2026-05-04T10:00:00+20:50"})
    path.write_text("\n".join(json.dumps(r) for r in rows))
    partition_drop(date(2026, 5, 1))  # so that both runs also find it missing and create it

    # Hold both runs at their first batch until both are there, so they surely race for the same chunks
    # (the source is created by them too, at the same moment).
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("LOCK TABLE usage_batch IN SHARE ROW EXCLUSIVE MODE")
        runs = [ingest(path), ingest(path)]
        deadline = time.monotonic() + 120
        while waiting_on(cursor, "usage_batch") < 2:
            assert time.monotonic() < deadline, [run.poll() for run in runs]
            assert all(run.poll() is None for run in runs), [run.communicate() for run in runs]
            time.sleep(0.1)
    outputs = [run.communicate(timeout=300) for run in runs]

    for run, (out, err) in zip(runs, outputs, strict=True):
        assert run.returncode == 0, err
        assert "Traceback" not in err and "IntegrityError" not in err
        answer = json.loads(out)
        assert (answer["accepted"], answer["rejected"]) == (EVENTS, 1)
        assert answer["errors"] == [
            {
                "index": 5,
                "field": "occurred_at",
                "reason": "has a UTC offset beyond ±15:59, which PostgreSQL cannot store",
            }
        ]
    source = GatewaySource.objects.get(name="nightly")
    assert UsageBatch.objects.filter(source=source).count() == 2  # each chunk written once
    assert UsageEvent.objects.filter(source=source).count() == EVENTS
    sold = UsageEvent.objects.aggregate(s=Sum("sell_amount"))["s"]
    assert wallet_balance(wallet=Wallet.objects.get(customer=prepaid)).available == Decimal("1000") - sold

    # A third run, afterwards, replays at once and says so.
    out, err = ingest(path).communicate(timeout=300)
    assert json.loads(out)["accepted"] == EVENTS and "Already ingested" in err
    assert UsageEvent.objects.filter(source=source).count() == EVENTS
