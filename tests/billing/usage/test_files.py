"""Usage files are read as a stream whatever their layout: a JSON array item by item (bounded memory),
rows that cannot be read kept in place as bad rows, and files that are not UTF-8 text refused clearly."""

import csv
import io
import json
import tracemalloc
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from billing.usage import files
from billing.usage.events import UnreadableRecord, event_validate
from billing.usage.files import MAX_STREAM_DEPTH, UnreadableFile, _JsonGuard, records_iter
from tests.billing.usage.factories import AT, event

NOW = AT + timedelta(hours=1)


def read(body: bytes) -> list:
    return list(records_iter(io.BytesIO(body)))


def test_a_json_array_gives_the_records_ndjson_gives_numbered_alike():
    rows = [event(f"r{i}", gateway_cost="0.0012", metadata={"n": [1, 2.5], "s": 'a"b\\c'}) for i in range(3)]
    rows[1]["gateway_cost"] = 0.0012  # a JSON number: a Decimal, as NDJSON reads it
    ndjson = "\n".join(json.dumps(r) for r in rows).encode()
    array = json.dumps(rows, indent=2).encode()
    wrapped = json.dumps({"events": rows}, indent=2).encode()

    assert read(array) == read(ndjson) == read(wrapped) == read(b"\xef\xbb\xbf" + array)
    assert str(read(array)[1]["gateway_cost"]) == "0.0012"


def test_a_json_array_is_streamed_in_bounded_memory(tmp_path):
    """A 14 MB array (the upload that took the server to 383 MB): peak allocation while reading it stays a
    small fraction of the file, since items are read one at a time."""
    pad = "x" * 900
    path = tmp_path / "usage.json"
    with path.open("w") as handle:
        handle.write("[")
        for i in range(14_000):
            handle.write(("," if i else "") + json.dumps(event(f"r{i}", metadata={"ua": pad})))
        handle.write("]")
    size = path.stat().st_size
    assert size > 14_000_000

    with path.open("rb") as handle:
        tracemalloc.start()
        try:
            count = sum(1 for _ in records_iter(handle))
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    assert count == 14_000
    assert peak < size // 20, f"peak {peak:,} bytes reading a {size:,}-byte array"


@pytest.mark.parametrize(
    ("middle", "says"),
    [
        (b'{"request_id": "caf\xe9"}', "is not UTF-8 text"),
        (b'{"request_id": "r", "n": ' + b"9" * 5000 + b"}", "holds a number of more than 4300 digits"),
        (b'{"request_id": "r", "n": 1e9999999999999999999999}', "holds a number too long or too large"),
        (b'{"request_id": "r", "m": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "nested more than 512"),
    ],
    ids=["latin1", "long-int", "huge-exponent", "deep"],
)
def test_a_json_array_stops_at_what_it_cannot_read_and_keeps_the_rows_before(middle, says):
    """ijson cannot resume an array in the middle: the first unreadable item ends the file with one bad row
    saying why (a 5,000-digit int would crash ijson's C backend: it is never given one)."""
    body = b'[{"request_id": "a"}, ' + middle + b', {"request_id": "b"}]'

    records = read(body)

    assert records[0] == {"request_id": "a"}
    assert len(records) == 2 and isinstance(records[1], UnreadableRecord)
    assert says in records[1].reason and "nothing after this point was read" in records[1].reason


# Lone surrogate escapes (high, low, high then high, after an escaped backslash: a real escape), a valid
# pair, an escaped backslash before "ud800" (text, not an escape), and NaN / Infinity inside and outside
# strings: what yajl would change or stop at.
AWKWARD_ARRAY = (
    b'[{"request_id": "r1\\ud800", "metadata": {"latency": NaN}},'
    b' {"request_id": "a\\udce9b", "metadata": {"x": -Infinity, "s": "NaN Infinity -Infinity"}},'
    b' {"request_id": "h\\uD83D\\uD83D", "metadata": {"v": [Infinity, 1]}},'
    b' {"request_id": "e\\\\\\ud800"},'
    b' {"request_id": "ok\\ud83d\\ude00", "metadata": {"s": "\\\\ud800"}},'
    b' {"request_id": "z", "metadata": {"t": NaN}}]'
)
AWKWARD_RECORDS = [
    {"request_id": "r1\x00", "metadata": {"latency": None}},
    {"request_id": "a\x00b", "metadata": {"x": None, "s": "NaN Infinity -Infinity"}},
    {"request_id": "h\x00\x00", "metadata": {"v": [None, 1]}},
    {"request_id": "e\\\x00"},
    {"request_id": "ok\U0001f600", "metadata": {"s": "\\ud800"}},
    {"request_id": "z", "metadata": {"t": None}},
]


def test_a_json_array_reads_on_past_lone_surrogates_and_nan_as_ndjson_does():
    """yajl turns an escaped lone high surrogate into "?" (a changed request id) and stops at a low one or
    at NaN: the guard makes each lone one an escaped NUL, which validation refuses as the row's error (as
    the NDJSON path refuses the surrogate), and NaN / Infinity null, as metadata stores them."""
    records = read(AWKWARD_ARRAY)

    assert records == AWKWARD_RECORDS
    ndjson = read(b"\n".join(json.dumps(r).encode() for r in json.loads(AWKWARD_ARRAY.decode())))
    for index in range(4):
        refused = event_validate({**event("x"), **records[index]}, index, now=NOW)
        assert isinstance(refused, list) and [e.field for e in refused] == ["request_id"]
        refused = event_validate({**event("x"), **ndjson[index]}, index, now=NOW)
        assert isinstance(refused, list) and [e.field for e in refused] == ["request_id"]
    assert event_validate({**event("x"), **records[4]}, 4, now=NOW).request_id == "ok\U0001f600"


class ReadBlocks(io.RawIOBase):
    """``data`` read back in blocks of the given sizes, then whatever is asked (read(0) is ijson's probe)."""

    def __init__(self, data: bytes, sizes: list[int]):
        self.data, self.sizes, self.at = data, list(sizes), 0

    def read(self, size=-1):
        if size == 0:
            return b""
        size = self.sizes.pop(0) if self.sizes else size
        block = self.data[self.at : self.at + size]
        self.at += len(block)
        return block


@settings(max_examples=300, deadline=None)
@given(sizes=st.lists(st.integers(1, 13), max_size=120))
def test_the_guard_rewrites_the_same_wherever_blocks_are_cut(sizes):
    """An escape, a surrogate pair, a backslash run or NaN / Infinity cut by a block's end is read whole."""
    assert list(files.json_array_records(ReadBlocks(AWKWARD_ARRAY, sizes), "item")) == AWKWARD_RECORDS


def test_trailing_text_after_a_json_array_is_a_bad_row():
    records = read(b'[{"request_id": "a"}, {"request_id": "b"}] trailing')

    assert records[:2] == [{"request_id": "a"}, {"request_id": "b"}]
    assert len(records) == 3 and "is not valid JSON" in records[2].reason


# JSON values whose strings hold what confuses a naive bracket count: brackets, quotes, backslashes.
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.text(alphabet=st.sampled_from('[]{}"\\ a1é\n'), max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner, max_size=4),
    max_leaves=30,
)


def depth(value) -> int:
    if isinstance(value, dict | list):
        return 1 + max((depth(v) for v in (value.values() if isinstance(value, dict) else value)), default=0)
    return 0


class Blocks(io.RawIOBase):
    """``data`` read back in blocks of the given sizes (then whatever is asked)."""

    def __init__(self, data: bytes, sizes: list[int]):
        self.data, self.sizes, self.at = data, list(sizes), 0

    def read(self, size=-1):
        size = self.sizes.pop(0) if self.sizes else size
        block = self.data[self.at : self.at + size]
        self.at += len(block)
        return block


@settings(max_examples=300, deadline=None)
@given(value=JSON_VALUES, sizes=st.lists(st.integers(1, 9), max_size=200), indent=st.sampled_from([None, 1]))
def test_the_guard_follows_nesting_exactly_across_blocks(value, sizes, indent):
    """Wherever blocks are cut (inside strings, escapes, after backslashes), the guard ends a document at
    depth 0 outside any string, and stops exactly where nesting passes the limit."""
    text = json.dumps([value], indent=indent, ensure_ascii=False).encode()
    guard = _JsonGuard(Blocks(text, sizes))
    read_back = b""
    while block := guard.read(7):
        read_back += block
    assert read_back == text and (guard.depth, guard.in_string) == (0, False)

    deep = b"[" * (MAX_STREAM_DEPTH - depth(value)) + text + b"]" * (MAX_STREAM_DEPTH - depth(value))
    guard = _JsonGuard(Blocks(deep, sizes))
    read_back = b""
    with pytest.raises(files._StopReading, match="nested more than 512"):
        while block := guard.read(7):
            read_back += block
    # Everything up to the first bracket that passes the limit was given, and nothing after it.
    assert read_back == deep[: len(read_back)] and deep[len(read_back) : len(read_back) + 1] in (b"[", b"{")


def test_csv_rows_that_cannot_be_read_are_kept_in_place():
    """A row over the CSV reader's field limit is a bad row, and the rows after it are read; bytes that are
    not UTF-8 are kept (as surrogates) for validation to refuse, naming the field."""
    limit = csv.field_size_limit(100)
    try:
        body = (
            "request_id,prompt_tokens,key\n"
            "r1,12,key-a\n\n"
            f"r2,{'1' * 200},key-a\n"
            "r3,\u00b2,key-a\n"
            "0042,7,key-\udce9\n"
        ).encode(errors="surrogateescape")
        records = read(body)
    finally:
        csv.field_size_limit(limit)

    assert records[0] == {"request_id": "r1", "prompt_tokens": 12, "key": "key-a"}
    assert isinstance(records[1], UnreadableRecord) and "field larger than field limit" in records[1].reason
    assert records[2] == {"request_id": "r3", "prompt_tokens": "\u00b2", "key": "key-a"}
    assert records[3]["request_id"] == "0042" and records[3]["key"] == "key-\udce9"  # refused when validated


def test_csv_ids_and_names_stay_text_and_only_token_counts_become_ints():
    records = read(
        b"request_id,key,model,prompt_tokens,completion_tokens,batch,status\n"
        b"0012,007,true,100,10,true,success\n"
        b"12,7,4,100,10,false,failed\n"
    )

    assert records == [
        {"request_id": "0012", "key": "007", "model": "true", "prompt_tokens": 100, "completion_tokens": 10,
         "batch": True, "status": "success"},
        {"request_id": "12", "key": "7", "model": "4", "prompt_tokens": 100, "completion_tokens": 10,
         "batch": False, "status": "failed"},
    ]  # fmt: skip


def test_long_digit_cells_stay_text():
    records = read(b"request_id,prompt_tokens\n" + b"0" * 30 + b"1,12\n")

    assert records == [{"request_id": "0" * 30 + "1", "prompt_tokens": 12}]


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ('{"request_id": "r"}\n'.encode("utf-16"), "UTF-16"),
        ('{"request_id": "r"}\n'.encode("utf-16-be"), "UTF-16"),
        ("[]".encode("utf-32"), "UTF-32"),
        (b"PK\x03\x04rest", "zip"),
        (b"\x1f\x8b\x08\x00rest", "gzip"),
    ],
)
def test_a_file_that_is_not_utf8_text_is_refused_before_anything_is_read(body, says):
    with pytest.raises(UnreadableFile, match=says):
        records_iter(io.BytesIO(body))


def test_a_nul_or_two_in_utf8_text_are_the_rows_problem_not_the_files():
    records = read(b'{"request_id": "a\\u0000"}\n{"request_id": "b"}\n')

    assert records == [{"request_id": "a\x00"}, {"request_id": "b"}]
