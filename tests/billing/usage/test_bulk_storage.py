"""What the bulk path stores, byte for byte: COPY-looking values, lines numbered in the chunk, indices in the
whole input, operator-day rollups, dedupe keys, metadata as JSON text, the slices' byte ranges."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db.models import Sum

from billing.usage.bulk.ingest import bulk_ingest
from billing.usage.models import RatingState, UsageBatch, UsageDaily, UsageEvent, UsageHourly
from billing.usage.services import usage_batch_ingest
from billing.wallets.models import Wallet
from billing.wallets.selectors import wallet_balance
from tests.billing.usage.conftest import top_up
from tests.billing.usage.factories import AT, customer_make, event, source_make

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


def test_values_that_look_like_copy_syntax_are_stored_as_sent(model, prepaid):
    """Request ids, accounts, models and metadata holding tabs, newlines, backslashes and "@" survive the
    COPY text; the batch ids the producer wrote are the batch's."""
    top_up(prepaid, Decimal("100"))
    records = [
        event("@", upstream_account="@", metadata={"x": "\t@\t@\n", "y": "@\t\\N\n"}),
        event("@\t@", model="@"),  # an unknown model: unrated, so rated_in stays empty
    ]

    result = bulk_ingest(source=source_make("at")[0], records=records, key_prefix="at", chunk=10)

    assert (result.accepted, result.unrated) == (2, 1)
    rows = {e.request_id: e for e in UsageEvent.objects.all()}
    assert set(rows) == {"@", "@\t@"}
    rated, unrated = rows["@"], rows["@\t@"]
    assert rated.upstream_account == "@" and rated.metadata == {"x": "\t@\t@\n", "y": "@\t\\N\n"}
    assert rated.rated_in_id == rated.batch_id and rated.rating_state == RatingState.RATED
    assert unrated.model_name == "@" and unrated.rated_in_id is None and unrated.batch_id == rated.batch_id


def test_the_producer_settles_repeats_of_the_previous_chunk_and_numbers_lines_in_the_chunk(model, prepaid):
    """Chunks of 3: a repeat of the previous chunk's key is settled as a repeat before any claim (that
    chunk may still be uncommitted); one from further back is left to the claim, which sees it committed.
    Each chunk's stage lines are numbered from 0, as the writer finds its wide lines by them."""
    from billing.usage.bulk.producer import produce
    from billing.usage.bulk.spool import ChunkEnd, Slice

    ids = ["r0", "r1", "r2", "r3", "r1", "r4", "r5", "r3", "r0"]
    items = list(
        produce(
            source=source_make("s")[0],
            records=[event(i) for i in ids],
            fmt="generic",
            chunk=3,
            key_prefix="k",
        )
    )

    staged, ends = [], [item for item in items if isinstance(item, ChunkEnd)]
    for item in items:
        if isinstance(item, Slice):
            rows = [line.split("\t") for line in item.narrow.decode().splitlines()]
            staged.append([(int(row[0]), row[1]) for row in rows])
    assert staged == [[(0, "r0"), (1, "r1"), (2, "r2")], [(0, "r3"), (1, "r4")], [(0, "r5"), (1, "r0")]]
    assert [(end.received, end.valid) for end in ends] == [(3, 3), (3, 3), (3, 3)]


def test_a_short_first_chunk_reports_indices_in_the_whole_input_and_replays_exactly(monkeypatch, model):
    """Chunks of 3, then 7, 7 …: bad rows are reported at their index in the input, and a re-run replays
    the same cuts (nothing skipped, nothing charged twice)."""
    monkeypatch.setattr("billing.usage.bulk.producer.FIRST_CHUNK", 3)
    prepaid = customer_make(key="key-a")
    top_up(prepaid, Decimal("100"))
    records = [event(f"r{i}", prompt=100 + i) for i in range(20)]
    records[1] = {"request_id": "bad-1"}  # in the first chunk
    records[12] = {"request_id": "bad-12"}  # in the third (records 10–16)
    source = source_make("ramp")[0]

    first = bulk_ingest(source=source, records=records[:10], key_prefix="ramp", chunk=7)
    again = bulk_ingest(source=source, records=records, key_prefix="ramp", chunk=7)

    assert {e["index"] for e in first.errors} == {1}
    assert {e["index"] for e in again.errors} == {1, 12}
    batches = UsageBatch.objects.filter(source=source).order_by("pk")
    assert [(b.idempotency_key, b.received) for b in batches] == [
        ("ramp:0", 3),
        ("ramp:1", 7),
        ("ramp:2", 7),
        ("ramp:3", 3),
    ]
    assert (again.accepted, again.duplicates, again.rejected) == (18, 0, 2)
    assert UsageEvent.objects.filter(source=source).count() == 18
    total = UsageEvent.objects.aggregate(s=Sum("sell_amount"))["s"]
    assert wallet_balance(wallet=Wallet.objects.get(customer=prepaid)).available == Decimal("100") - total


def test_daily_rollups_follow_the_operator_day_in_a_half_hour_time_zone(settings, model, prepaid):
    """Asia/Kolkata is UTC+05:30: 18:29:59Z and 18:30:00Z share a UTC hour but not a local day."""
    settings.TIME_ZONE = "Asia/Kolkata"
    top_up(prepaid, Decimal("100"))
    before, after = AT.replace(hour=18, minute=29, second=59), AT.replace(hour=18, minute=30, second=0)

    bulk_ingest(
        source=source_make("kolkata")[0],
        records=[event("b", at=before), event("a", at=after)],
        key_prefix="k",
    )

    assert list(UsageHourly.objects.values_list("hour", "requests")) == [(AT.replace(hour=18, minute=0), 2)]
    days = UsageDaily.objects.order_by("day").values_list("day", "requests")
    assert [(str(day), n) for day, n in days] == [
        (str(AT.date()), 1),
        (str(AT.date() + timedelta(days=1)), 1),
    ]


def test_dedupe_keys_compare_bytes():
    """Migration 0014 (not visible to Django's model state): request ids collate as "C", which the claim's
    speed relies on; an AlterField of the column would silently drop it."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.collname FROM pg_attribute a JOIN pg_collation c ON c.oid = a.attcollation "
            "WHERE a.attrelid = 'usage_request_key'::regclass AND a.attname = 'request_id'"
        )
        assert cursor.fetchone() == ("C",)


def test_dedupe_key_is_the_primary_key():
    """Migration 0016 (written by hand: Django leaves a composite key out of the database): the key pair
    is the table's primary key, with no surrogate id or second index for each claim to write."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexdef FROM pg_indexes WHERE tablename = 'usage_request_key' ORDER BY indexname"
        )
        assert [row[0].split(" USING ")[1] for row in cursor.fetchall()] == ["btree (source_id, request_id)"]
        cursor.execute(
            "SELECT attname FROM pg_attribute WHERE attrelid = 'usage_request_key'::regclass AND attnum > 0 "
            "AND NOT attisdropped ORDER BY attnum"
        )
        assert [row[0] for row in cursor.fetchall()] == ["source_id", "request_id", "occurred_at"]


def test_events_of_a_batch_are_found_through_its_brin_index(source, prepaid):
    """Migration 0015 (PostgreSQL only, invisible to the model state): a batch's events are found through
    the BRIN index on batch_id, not a scan of every event, and exactly (unsummarised ranges included)."""
    from django.db import connection

    first = bulk_ingest(source=source, records=[event(f"a{i}") for i in range(30)], key_prefix="a")
    bulk_ingest(source=source, records=[event(f"b{i}") for i in range(20)], key_prefix="b")
    batch = UsageBatch.objects.get(source=source, idempotency_key="a:0")

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexdef FROM pg_indexes WHERE tablename = 'usage_event' AND indexdef LIKE '%%batch_id%%'"
        )
        assert [row[0].split(" USING ")[1] for row in cursor.fetchall()] == [
            "brin (batch_id) WITH (autosummarize='on')"
        ]
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN SELECT id FROM usage_event WHERE batch_id = %s", [batch.pk])
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "usage_event_batch_brin" in plan or "batch_id_idx" in plan, plan
    assert "Bitmap Index Scan" in plan, plan
    assert first.accepted == 30
    assert UsageEvent.objects.filter(batch_id=batch.pk).count() == 30


def test_metadata_is_stored_as_json_text_and_reads_back_as_sent(source, prepaid):
    """Migration 0017: metadata is ``json`` (checked, not rebuilt as jsonb); events from the bulk path and
    the per-batch path read back as the same values, whole or by key."""
    from django.db import connection

    metadata = {"ua": "curl/8", "tags": ["a", 1], "nested": {"latency_s": "0.25", "ok": True, "n": None}}
    bulk_ingest(source=source, records=[event("bulk", metadata=metadata)], key_prefix="meta")
    usage_batch_ingest(source=source, records=[event("api", metadata=metadata)], idempotency_key="api")

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT format_type(atttypid, atttypmod) FROM pg_attribute "
            "WHERE attname = 'metadata' AND attrelid::regclass::text LIKE 'usage_event%%'"
        )
        assert cursor.fetchall() == [("json",)]
    stored = dict(UsageEvent.objects.values_list("request_id", "metadata"))
    assert stored == {"bulk": metadata, "api": metadata}
    by_key = UsageEvent.objects.values_list("metadata__nested__latency_s", "metadata__ua")
    assert list(by_key) == [("0.25", "curl/8"), ("0.25", "curl/8")]


def test_runs_cover_every_line_but_those_skipped():
    """The first, two adjacent and the last line left out, as byte ranges of the spooled slice."""
    from array import array

    from billing.usage.bulk.copytext import Lines, runs

    lines = [f"r{i}\tv{i}\n".encode() for i in range(6)]
    text, ends = b"".join(lines), array("q", [sum(map(len, lines[: i + 1])) for i in range(6)])
    spans = Lines(ends, array("q", [0] * 6))

    assert b"".join(text[a:b] for a, b in runs(spans, [0, 2, 3, 5])) == lines[1] + lines[4]
    assert runs(spans, []) == [(0, len(text))]
    assert runs(spans, list(range(6))) == []


def test_lines_only_keeps_the_lines_asked_with_their_new_sales():
    """Only the lines asked for, in order; those an allowance changed carry the new sale in its columns."""
    from array import array

    from billing.usage.bulk.copytext import Lines, lines_only
    from billing.usage.bulk.sql import COPY_COLUMNS, SELL_FIELDS

    def line(i):
        return "\t".join(f"r{i}" if c == "request_id" else f"{c}{i}" for c in COPY_COLUMNS).encode() + b"\n"

    lines = [line(i) for i in range(4)]
    text, ends = b"".join(lines), array("q", [sum(map(len, lines[: i + 1])) for i in range(4)])
    spans = Lines(ends, array("q", [7] * 4))

    # The slice's first line is line 10 of its chunk: line 2 here is 12 there.
    sales = {12: ("over\tplan", None, "USD", "Off-peak"), 11: ("x", 1, "CNY", "")}
    only = lines_only(text, spans, [0, 2, 3], sales, 10)

    out = only.split(b"\n")
    assert len(out) == 4 and out[-1] == b"" and out[0] + b"\n" == lines[0] and out[2] + b"\n" == lines[3]
    changed = out[1].split(b"\t")
    assert [changed[f] for f in SELL_FIELDS] == [b"over\\tplan", b"\\N", b"USD", b"Off-peak"]
    assert [v for f, v in enumerate(changed) if f not in SELL_FIELDS] == [
        v for f, v in enumerate(lines[2][:-1].split(b"\t")) if f not in SELL_FIELDS
    ]
