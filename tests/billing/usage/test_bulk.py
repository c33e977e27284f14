"""The PostgreSQL bulk path gives the same money as the per-batch path, and re-runs exactly once."""

import io
import json
from collections import defaultdict
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db.models import F, Sum

from billing.ledger.models import JournalEntry
from billing.terms.models import BillingTerms
from billing.usage.bulk.ingest import bulk_ingest
from billing.usage.events import UnreadableRecord
from billing.usage.files import file_ingest, ndjson_records, records_iter
from billing.usage.models import RatingState, UsageBatch, UsageDaily, UsageEvent, UsageHourly
from billing.usage.services import usage_batch_ingest
from billing.wallets.models import Wallet
from billing.wallets.selectors import wallet_balance
from tests.billing.usage.conftest import top_up
from tests.billing.usage.factories import AT, customer_make, event, source_make

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


def test_bulk_ingest_dedupes_rates_rolls_up_and_posts(source, prepaid):
    top_up(prepaid, Decimal("100"))
    records = [event(f"r{i}", prompt=100 + i, cache_read_tokens=i % 7) for i in range(250)]
    records += [event("r3"), event("x", model="unknown-model"), {"request_id": "bad"}]

    result = bulk_ingest(source=source, records=records, key_prefix="file-1", chunk=100)
    again = bulk_ingest(source=source, records=records, key_prefix="file-1", chunk=100)

    assert (result.accepted, result.duplicates, result.rejected, result.unrated) == (251, 1, 1, 1)
    assert again.accepted == 251  # replayed answers, nothing new
    assert UsageEvent.objects.count() == 251
    rated = UsageEvent.objects.filter(rating_state=RatingState.RATED)
    total = rated.aggregate(s=Sum("sell_amount"), c=Sum("cost_amount"), p=Sum("prompt_tokens"))
    for rollup in (UsageHourly, UsageDaily):
        sums = rollup.objects.aggregate(s=Sum("sell_amount"), c=Sum("cost_amount"), p=Sum("prompt_tokens"))
        assert sums == total
    assert (
        wallet_balance(wallet=Wallet.objects.get(customer=prepaid)).available == Decimal("100") - total["s"]
    )


STORED = (
    "request_id", "occurred_at", "gateway_key", "customer_id", "model_name", "model_id", "upstream_account",
    "prompt_tokens", "cache_read_tokens", "cache_write_tokens", "cache_write_1h_tokens", "completion_tokens",
    "reasoning_tokens", "is_batch", "succeeded", "gateway_cost", "gateway_cost_currency", "metadata",
    "rating_state", "unrated_reason", "sell_plan", "sell_amount", "sell_currency", "cost_amount",
    "cost_currency",
)  # fmt: skip


def awkward_records() -> list:
    """Well-formed rows (the fast path) and every kind of row the slow validator must decide."""
    at = AT.isoformat()
    return [
        event("plain", prompt=12_345, completion=678, upstream_account="up-1", metadata={"ua": "x\ty\\z\n"}),
        event("cached", prompt=9_000, cache_read_tokens=3_000, cache_write_tokens=1_000, reasoning_tokens=9),
        event("hour", prompt=500, cache_write_1h_tokens=400, completion=0, batch=True),
        event("failed", status="failed"),
        event("costed", gateway_cost=Decimal("0.0012"), gateway_cost_currency="USD", metadata={"p": [1]}),
        event("int-cost", gateway_cost=3, gateway_cost_currency="CNY"),
        event("nokey", key="nobody"),
        event("nomodel", model="gpt-nothing"),
        event("  padded\t ", key=" key-a ", model="DeepSeek-Chat"),
        {"request_id": "digits", "occurred_at": "1777890600", "key": "key-a", "model": "deepseek-chat",
         "prompt_tokens": "250", "completion_tokens": 7},
        {"request_id": "spaced", "occurred_at": "2026-05-04 10:30:00+08:00", "key": "key-a",
         "model": "deepseek-chat", "prompt_tokens": 1, "completion_tokens": None, "status": ""},
        {"request_id": 12345, "occurred_at": 1777890600.5, "key": "key-a", "model": "deepseek-chat"},
        event("bad-cache", prompt=10, cache_read_tokens=11),
        event("bad-batch", batch="yes"),
        event("bad-time", at=AT.replace(year=2099)),
        {"request_id": "naive", "occurred_at": "2026-05-04T10:30:00", "key": "key-a", "model": "gpt"},
        event("bad-cost", gateway_cost="-1"),
        event("bad-ccy", gateway_cost="1", gateway_cost_currency="usd"),
        event("bad-meta", metadata=[1]),
        event("neg", prompt=-1),
        "not json",
        event("plain"),  # a repeat inside the input: a duplicate
        {"request_id": "x" * 201, "occurred_at": at, "key": "key-a", "model": "deepseek-chat"},
        # Times sent to COPY as they came, and forms that are formatted again first.
        *(
            {"request_id": f"time-{i}", "occurred_at": text, "key": "key-a", "model": "deepseek-chat"}
            for i, text in enumerate([
                "2026-05-04T10:30:00Z", "2026-05-04T10:30:00.5+05:30", "2026-05-04T02:30:00.123456-08:00",
                "2026-05-04T10:30:00.000000+00:00", "2026-05-04T10:30:00.1234567+00:00",
                "2026-05-04T16:00:15+05:30:15", "2026-05-04T10:30Z", "20260504T103000Z",
            ])
        ),
    ]  # fmt: skip


def test_bulk_path_stores_exactly_what_the_batch_path_stores(model, prepaid):
    """Fast validation and rating (``fast_event``, ``rate_total``) against the reference per-batch path."""
    top_up(prepaid, Decimal("100"))
    credit = customer_make(key="key-b", mode=BillingTerms.Mode.MONTHLY)
    records = awkward_records() + [
        event(f"b{i}", key="key-b", prompt=10 + i, batch=i % 2 == 0) for i in range(5)
    ]
    reference_source = source_make("reference")[0]
    bulk_source = source_make("bulk")[0]

    reference = usage_batch_ingest(source=reference_source, records=records, idempotency_key="ref")
    result = bulk_ingest(source=bulk_source, records=iter(records), key_prefix="bulk", chunk=7)

    assert (result.accepted, result.duplicates, result.rejected, result.unrated) == (
        reference.accepted,
        reference.duplicates,
        reference.rejected,
        reference.unrated,
    )
    assert sorted(result.errors, key=lambda e: (e["index"], e["field"])) == sorted(
        reference.errors, key=lambda e: (e["index"], e["field"])
    )

    def stored(source):
        rows = UsageEvent.objects.filter(source=source).values_list(*STORED)
        return {row[0]: row for row in rows}

    expected, got = stored(reference_source), stored(bulk_source)
    assert set(got) == set(expected)
    for request_id, row in expected.items():
        assert got[request_id] == row, request_id
        assert [str(v) for v in got[request_id]] == [str(v) for v in row], request_id
    assert (
        UsageEvent.objects.filter(source=bulk_source, rating_state=RatingState.RATED)
        .exclude(rated_in_id=F("batch_id"))
        .count()
        == 0
    )
    assert (
        UsageEvent.objects.filter(source=bulk_source)
        .exclude(rating_state=RatingState.RATED)
        .filter(rated_in_id__isnull=False)
        .count()
        == 0
    )
    for customer in (prepaid, credit):
        ref_total = UsageEvent.objects.filter(source=reference_source, customer=customer).aggregate(
            s=Sum("sell_amount")
        )
        bulk_total = UsageEvent.objects.filter(source=bulk_source, customer=customer).aggregate(
            s=Sum("sell_amount")
        )
        assert ref_total == bulk_total

    def ledger(source) -> dict:
        """What the source's batches posted, summed per account (sale, cost, wallet, unbilled)."""
        batches = [
            f"usage_batch:{pk}"
            for pk in UsageBatch.objects.filter(source=source).values_list("pk", flat=True)
        ]
        totals: dict = defaultdict(Decimal)
        for code, amount in JournalEntry.objects.filter(transaction__source__in=batches).values_list(
            "account__code", "amount"
        ):
            totals[code] += amount
        return dict(totals)

    posted = ledger(bulk_source)
    kinds = {code.split(":")[0] for code in posted}
    assert {"wallet_paid", "unbilled_receivable", "revenue_usage", "cost_of_tokens"} <= kinds
    assert posted == ledger(reference_source)
    assert (
        wallet_balance(wallet=Wallet.objects.get(customer=prepaid)).available
        == Decimal("100")
        - 2
        * (
            UsageEvent.objects.filter(source=bulk_source, customer=prepaid).aggregate(s=Sum("sell_amount"))[
                "s"
            ]
        )
    )


def test_bulk_replay_after_partial_run_completes_exactly_once(source, prepaid):
    """A run that stopped after some chunks: the re-run skips them and ingests the rest once."""
    top_up(prepaid, Decimal("100"))
    records = [event(f"r{i}", prompt=100 + i) for i in range(30)]
    first = bulk_ingest(source=source, records=records[:20], key_prefix="f", chunk=10)
    again = bulk_ingest(source=source, records=records, key_prefix="f", chunk=10)
    assert (first.accepted, again.accepted) == (20, 30)
    assert UsageEvent.objects.filter(source=source).count() == 30
    total = UsageEvent.objects.aggregate(s=Sum("sell_amount"))["s"]
    assert wallet_balance(wallet=Wallet.objects.get(customer=prepaid)).available == Decimal("100") - total


def test_records_iter_reads_ndjson_lines_and_keeps_bad_ones_in_place():
    """A BOM, blank lines, lines ended by \\n, \\r\\n or a lone \\r (as text mode reads them), floats as
    Decimal; a line that is not JSON, not UTF-8 or beyond the decoders' limits (a 5,000-digit int, an
    exponent beyond Decimal's, deep nesting) is an unreadable row saying why (a bad row), never a crash."""
    body = '\ufeff{"a": 1.50, "b": [1, 2]}\n\n  \n{"c": "\\u00e9t\\u00e9"}\r\nnot json\n'.encode()
    body += b'{"d": 2}\r{"e": 3}\r'

    body += b'{"n": ' + b"9" * 5000 + b"}\n" + b"[" * 5000 + b"]" * 5000 + b"\n\xff\xfe\n"
    body += b'{"x": 1e9999999999999999999999}\n{"f": 4}'

    records = list(records_iter(io.BytesIO(body)))

    assert records == [
        {"a": Decimal("1.50"), "b": [1, 2]},
        {"c": "\u00e9t\u00e9"},
        UnreadableRecord("line 5: is not valid JSON (Expecting value at column 1)"),
        {"d": 2},
        {"e": 3},
        UnreadableRecord("line 8: holds a number too long or too large to read"),
        UnreadableRecord("line 9: is nested too deeply to read"),
        UnreadableRecord("line 10: is not UTF-8 text"),
        UnreadableRecord("line 11: holds a number too long or too large to read"),
        {"f": 4},
    ]
    assert str(records[0]["a"]) == "1.50"


def test_lines_cut_by_a_block_end_are_read_whole(monkeypatch):
    """Lines longer than a read block, and \\r\\n split across two blocks, read as in one piece."""
    monkeypatch.setattr("billing.usage.files._BLOCK", 7)
    body = b'{"request_id": "a-long-one"}\r\n{"b": 1}\r\n\r\n{"c": 2}\r'

    assert list(records_iter(io.BytesIO(body))) == [{"request_id": "a-long-one"}, {"b": 1}, {"c": 2}]


def test_files_go_through_the_bulk_path_with_progress_after_each_chunk(monkeypatch, source, prepaid):
    """On PostgreSQL ``file_ingest`` (the upload task's and ``manage.py ingest``'s path) is the bulk path,
    keyed apart from per-batch keys (its chunks are cut differently); progress follows each chunk."""
    monkeypatch.setattr("billing.usage.bulk.producer.FIRST_CHUNK", 3)
    top_up(prepaid, Decimal("100"))
    body = "\n".join(json.dumps(event(f"f{i}", prompt=100 + i)) for i in range(8)).encode()
    seen = []

    result = file_ingest(
        source=source,
        records=records_iter(io.BytesIO(body)),
        fmt="generic",
        key_prefix="upload:7",
        progress=lambda n, total: seen.append((n, total.accepted)),
    )

    assert result.accepted == 8 and seen == [(0, 3), (1, 8)]
    keys = UsageBatch.objects.filter(source=source).order_by("pk").values_list("idempotency_key", flat=True)
    assert list(keys) == ["upload:7:bulk:0", "upload:7:bulk:1"]
    total = UsageEvent.objects.aggregate(s=Sum("sell_amount"))["s"]
    assert wallet_balance(wallet=Wallet.objects.get(customer=prepaid)).available == Decimal("100") - total


@pytest.mark.django_db(transaction=True)
def test_parallel_producer_stores_what_the_in_process_path_stores(model, monkeypatch):
    """Outside a transaction the producer runs in a forked process; same rows, counts and money (chunks
    of 11 events in slices of 4: several spooled slices per chunk)."""
    monkeypatch.setattr("billing.usage.bulk.producer.SLICE", 4)
    prepaid = customer_make(key="key-a")
    top_up(prepaid, Decimal("100"))
    customer_make(key="key-b", mode=BillingTerms.Mode.MONTHLY)
    records = awkward_records() + [event(f"b{i}", key="key-b", prompt=10 + i) for i in range(30)]
    one, two = source_make("in-process")[0], source_make("forked")[0]

    inline = bulk_ingest(source=one, records=iter(records), key_prefix="a", chunk=11, parallel=False)
    forked = bulk_ingest(source=two, records=iter(records), key_prefix="b", chunk=11, parallel=True)
    replay = bulk_ingest(source=two, records=iter(records), key_prefix="b", chunk=11, parallel=True)

    assert inline.as_dict() | {"batch_id": None} == forked.as_dict() | {"batch_id": None}
    assert (
        replay.accepted == forked.accepted
        and UsageEvent.objects.filter(source=two).count() == forked.accepted
    )

    def stored(source):
        return sorted(UsageEvent.objects.filter(source=source).values_list(*STORED))

    assert stored(one) == stored(two)
    assert (
        wallet_balance(wallet=Wallet.objects.get(customer=prepaid)).available
        == Decimal("100")
        - 2 * UsageEvent.objects.filter(source=one, customer=prepaid).aggregate(s=Sum("sell_amount"))["s"]
    )


def test_bulk_path_draws_allowances_like_the_batch_path(model, prepaid):
    from billing.allowances.models import AllowanceDraw, TokenAllowance
    from tests.billing.usage.test_allowances import pack_buy

    top_up(prepaid, Decimal("100"))
    pack_buy(prepaid, 4000)
    records = [event(f"r{i}", prompt=1000) for i in range(3)] + [event("r0")]  # r0 twice: a duplicate

    result = bulk_ingest(source=source_make("bulk")[0], records=records, key_prefix="p", chunk=2)

    assert (result.accepted, result.duplicates) == (3, 1)
    # 1500 tokens each: r0 and r1 covered, r2 covered for 1000 of 1500, the duplicate draws nothing.
    sells = dict(UsageEvent.objects.values_list("request_id", "sell_amount"))
    assert sells == {"r0": 0, "r1": 0, "r2": Decimal("0.002")}
    assert TokenAllowance.objects.get().remaining == 0
    assert sum(AllowanceDraw.objects.values_list("tokens", flat=True)) == 4000
    assert UsageDaily.objects.aggregate(s=Sum("sell_amount"))["s"] == Decimal("0.002")
    assert wallet_balance(wallet=Wallet.objects.get(customer=prepaid)).available == Decimal("100") - Decimal(
        "0.002"
    )


def test_fast_decoder_gives_exactly_the_reference_records():
    """The fast decoder (msgspec) gives the reference decoder's records, Decimal exponents and all; what it
    refuses (NaN, surrogates, bad UTF-8, beyond the reference's limits) goes the reference way, and what
    the reference refuses is kept as text (a bad row), never a crash."""
    lines = [
        '{"request_id": "a", "prompt_tokens": 5, "metadata": {"ua": "x"}}',
        '{"gateway_cost": 0.0012, "n": 1e3, "m": -2.5E-3}',
        '{"big": 123456789012345678901234567890, "ok": 123}',
        "[1.5, 2]",
        "1.25",
        '{"a": NaN}',
        '{"s": "\\ud800"}',
        '{"text": "ratio: 0.5, fine", "at": "2026-05-04T10:30:02.500000+00:00"}',
        '{"metadata": {"p": [1, {"q": 2.5}]}}',
        '{"a": 1, "a": 2}',
        '{"u": "\\u00e9t\\u00e9 中文"}',
        '{"trailing": 1} junk',
        "   ",
        '{"e": 1e400, "z": -0.0, "c": 1E2, "t": 0.1e-7}',
        '{"u64": 18446744073709551616, "i": -9223372036854775809}',
        "null",
        '{"tab": "a\tb"}',
        '{"huge": ' + "9" * 5000 + "}",
        "[" * 5000 + "]" * 5000,
        '{"x": 1e9999999999999999999999}',
    ]
    body = "\n".join(lines).encode() + b'\n\xff\xfe\n{"bad": "\xed\xa0\x80"}\n'

    got = list(ndjson_records(io.BytesIO(body)))
    expected = list(ndjson_records_reference(body))

    assert got == expected and repr(got) == repr(expected)
    assert isinstance(got[16], UnreadableRecord) and isinstance(got[17], UnreadableRecord)  # bad rows
    assert [type(v) for r in got if isinstance(r, dict) for v in r.values()] == [
        type(v) for r in expected if isinstance(r, dict) for v in r.values()
    ]
    assert got[1]["gateway_cost"] == Decimal("0.0012") and type(got[2]["big"]) is int
    assert got[8]["metadata"]["p"][1]["q"] == Decimal("2.5")


def ndjson_records_reference(body: bytes):
    """The reference decoder alone (Decimal floats and constants), line by line, as ndjson_records
    documents it: an unreadable line names its line number."""
    from billing.usage.files import json_decode

    for number, line in enumerate(body.splitlines(), 1):
        try:
            text = line.decode()
        except UnicodeDecodeError:
            yield UnreadableRecord(f"line {number}: is not UTF-8 text")
            continue
        if text.strip():
            record = json_decode(text)
            yield (
                UnreadableRecord(f"line {number}: {record.reason}")
                if isinstance(record, UnreadableRecord)
                else record
            )


def test_metadata_text_is_the_same_json_value_as_the_reference_encoder():
    import json
    from datetime import UTC, datetime

    from billing.usage.bulk.copytext import _encode_metadata, metadata_text

    metadata = {
        "d": Decimal("1.50"),
        "t": datetime(2026, 5, 4, tzinfo=UTC),
        7: "int key",
        "nested": [{"x": None}],
    }

    assert json.loads(metadata_text(metadata)) == json.loads(_encode_metadata(metadata))


def test_allowances_drawn_across_slices_and_chunks_like_the_batch_path(monkeypatch, model):
    """Slices of 3, chunks of 7. A pack bought 25 minutes in: the holder's events before it draw nothing,
    the later ones draw it oldest first across slices and chunks; a duplicate of the previous chunk draws
    nothing. Sales, draws, rollups and wallets equal the per-batch path's on a twin pair."""
    allowances_twins_compare(monkeypatch, parallel=False)


@pytest.mark.django_db(transaction=True)
def test_two_writers_draw_allowances_in_input_order_like_the_batch_path(monkeypatch, model):
    """The same with the forked producer and two writers: chunks in flight together still draw the pack
    in input order (the holder's lines wait for their turn), and the repeat of the previous chunk's key
    (still uncommitted when its chunk claims) is a duplicate, charged once."""
    allowances_twins_compare(monkeypatch, parallel=True)


def allowances_twins_compare(monkeypatch, *, parallel: bool) -> None:
    from billing.allowances.models import AllowanceDraw, TokenAllowance
    from tests.billing.usage.test_allowances import pack_buy

    monkeypatch.setattr("billing.usage.bulk.producer.SLICE", 3)
    pairs = []
    for holder, other in (("key-a", "key-b"), ("ref-a", "ref-b")):
        customers = customer_make(key=holder), customer_make(key=other, mode=BillingTerms.Mode.MONTHLY)
        top_up(customers[0], Decimal("100"))
        pack_buy(customers[0], 4000, purchased_at=AT + timedelta(minutes=25))
        pairs.append(customers)

    def records(holder, other):
        rows = []
        for i in range(10):
            at = AT + timedelta(minutes=10 * i)
            rows += [event(f"h{i}", key=holder, at=at), event(f"o{i}", key=other, at=at)]
        return [*rows, event("h4", key=holder, at=AT + timedelta(minutes=40))]

    result = bulk_ingest(
        source=source_make("bulk")[0],
        records=records("key-a", "key-b"),
        key_prefix="k",
        chunk=7,
        parallel=parallel,
    )
    reference = usage_batch_ingest(
        source=source_make("ref")[0], records=records("ref-a", "ref-b"), idempotency_key="ref"
    )

    assert (result.accepted, result.duplicates) == (reference.accepted, reference.duplicates) == (20, 1)

    def sells(customers):
        return dict(
            UsageEvent.objects.filter(customer__in=customers).values_list("request_id", "sell_amount")
        )

    got, expected = sells(pairs[0]), sells(pairs[1])
    assert got == expected
    assert [got[f"h{i}"] for i in range(3, 5)] == [0, 0] and 0 < got["h5"] < got["h6"] == got["h0"]
    for (holder, _), allowance in zip(pairs, TokenAllowance.objects.order_by("customer_id"), strict=True):
        assert allowance.customer_id == holder.pk and allowance.remaining == 0
        assert AllowanceDraw.objects.filter(allowance=allowance).aggregate(t=Sum("tokens"))["t"] == 4000
    for customers in pairs:
        raw = UsageEvent.objects.filter(customer__in=customers).aggregate(s=Sum("sell_amount"))["s"]
        rolled = UsageHourly.objects.filter(customer__in=customers).aggregate(s=Sum("sell_amount"))["s"]
        assert rolled == raw
    balances = [wallet_balance(wallet=Wallet.objects.get(customer=c[0])).available for c in pairs]
    assert balances[0] == balances[1] == Decimal("100") - sum(v for k, v in got.items() if k[0] == "h")


@pytest.mark.parametrize("holder", [False, True], ids=["copied-before-the-turn", "allowance-holder"])
def test_a_key_taken_since_the_probe_is_a_late_duplicate_stored_and_charged_once(monkeypatch, model, holder):
    """The probe misses a committed key (simulated: a probe that finds nothing), so the event's row is
    copied before the turn (or, for an allowance holder, held for it); the claim then fails, is made
    again the waiting way, and the late duplicate's row goes: stored once, charged once, drawn once.
    Slices of 2: the late one is line 3 of its chunk, line 1 of its slice."""
    from billing.allowances.models import AllowanceDraw
    from billing.usage.bulk import producer, writer
    from tests.billing.usage.test_allowances import pack_buy

    prepaid = customer_make(key="key-a")
    top_up(prepaid, Decimal("100"))
    if holder:
        pack_buy(prepaid, 1_000_000)  # covers every event: all sales 0, all tokens drawn
    source = source_make("s")[0]
    bulk_ingest(source=source, records=[event("r1"), event("r2")], key_prefix="first")
    monkeypatch.setattr(writer, "PROBE_SQL", writer.PROBE_SQL.replace("LIMIT 1", "AND false LIMIT 1"))
    monkeypatch.setattr(producer, "SLICE", 2)

    again = bulk_ingest(
        source=source, records=[event(i) for i in ("r3", "r4", "r5", "r2", "r6")], key_prefix="second"
    )

    assert (again.accepted, again.duplicates) == (4, 1)
    stored = sorted(UsageEvent.objects.values_list("request_id", "batch__idempotency_key"))
    assert stored == [("r1", "first:0"), ("r2", "first:0")] + [(f"r{i}", "second:0") for i in range(3, 7)]
    total = UsageEvent.objects.aggregate(s=Sum("sell_amount"))["s"]
    assert UsageDaily.objects.aggregate(s=Sum("sell_amount"))["s"] == total
    assert wallet_balance(wallet=Wallet.objects.get(customer=prepaid)).available == Decimal("100") - total
    if holder:
        assert total == 0 and sum(AllowanceDraw.objects.values_list("tokens", flat=True)) == 6 * 1500


def test_chunks_of_several_slices_in_process(monkeypatch, model):
    """A chunk made of several producer slices (slices of 3 events, chunks of 7) stores every event once;
    the duplicate of an earlier chunk (r4) is claimed by it, so its line is left out of the COPY."""
    monkeypatch.setattr("billing.usage.bulk.producer.SLICE", 3)
    prepaid = customer_make(key="key-a")
    top_up(prepaid, Decimal("100"))
    records = [event(f"r{i}", prompt=100 + i) for i in range(20)] + [event("r4"), {"request_id": "bad"}]

    result = bulk_ingest(source=source_make("s")[0], records=records, key_prefix="k", chunk=7, parallel=False)

    assert (result.accepted, result.duplicates, result.rejected) == (20, 1, 1)
    assert UsageEvent.objects.count() == 20
    total = UsageEvent.objects.aggregate(s=Sum("sell_amount"))["s"]
    assert UsageDaily.objects.aggregate(s=Sum("sell_amount"))["s"] == total
    assert wallet_balance(wallet=Wallet.objects.get(customer=prepaid)).available == Decimal("100") - total
