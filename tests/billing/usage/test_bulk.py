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
    """Fast validation and rating (``row_rate``/``rate_total``) against the reference per-batch path."""
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
        UnreadableRecord("is not valid JSON (Expecting value at column 1)"),
        {"d": 2},
        {"e": 3},
        UnreadableRecord("holds a number too long or too large to read"),
        UnreadableRecord("is nested too deeply to read"),
        UnreadableRecord("is not UTF-8 text"),
        UnreadableRecord("holds a number too long or too large to read"),
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
    documents it."""
    from billing.usage.files import json_decode

    for line in body.splitlines():
        try:
            text = line.decode()
        except UnicodeDecodeError:
            yield UnreadableRecord("is not UTF-8 text")
            continue
        if text.strip():
            yield json_decode(text)


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
    only = lines_only(text, spans, [0, 2, 3], {12: ("over\tplan", None, "USD"), 11: ("x", 1, "CNY")}, 10)

    out = only.split(b"\n")
    assert len(out) == 4 and out[-1] == b"" and out[0] + b"\n" == lines[0] and out[2] + b"\n" == lines[3]
    changed = out[1].split(b"\t")
    assert [changed[f] for f in SELL_FIELDS] == [b"over\\tplan", b"\\N", b"USD"]
    assert [v for f, v in enumerate(changed) if f not in SELL_FIELDS] == [
        v for f, v in enumerate(lines[2][:-1].split(b"\t")) if f not in SELL_FIELDS
    ]
