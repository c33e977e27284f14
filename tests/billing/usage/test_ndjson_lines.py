"""An NDJSON line that cannot be read is that row's error naming its true line (blank lines counted), in an
API batch as in a file, and the batch's other lines are kept; only a body of nothing readable is refused."""

import io
import json

import pytest
from rest_framework.test import APIClient

from billing.usage.events import UnreadableRecord
from billing.usage.files import ndjson_records
from billing.usage.models import UsageEvent
from billing.usage.row_errors import row_reason_stored
from tests.billing.usage.factories import event, source_make

pytestmark = pytest.mark.django_db


@pytest.fixture
def client():
    _, token = source_make(name="edge")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def post(client, body: bytes):
    return client.generic("POST", "/api/v1/usage/batches", body, content_type="application/x-ndjson")


def line(request_id: str) -> bytes:
    return json.dumps(event(request_id)).encode()


def test_a_bad_second_line_is_its_row_error_and_the_other_lines_are_kept(client, prepaid):
    body = b"\n".join([line("r1"), b'{"request_id": "r2", "prompt_tokens": 1', line("r3")])

    response = post(client, body)

    assert response.status_code == 200
    data = response.json()
    assert (data["accepted"], data["rejected"]) == (2, 1)
    assert data["errors"] == [
        {
            "index": 1,
            "field": "non_field_errors",
            "reason": "line 2: is not valid JSON (Expecting ',' delimiter at column 40)",
        }
    ]
    assert set(UsageEvent.objects.values_list("request_id", flat=True)) == {"r1", "r3"}


def test_blank_lines_count_in_the_line_named_but_not_in_the_index(client, prepaid):
    """The index is the row's place among the rows; the line is where an editor shows it."""
    body = (
        b"\n".join([b"", line("r1"), b"   ", b"", line("r2"), b"not json", b"\xff\xfe", line("r3")]) + b"\n"
    )

    data = post(client, body).json()

    assert (data["accepted"], data["rejected"]) == (3, 2)
    assert [(e["index"], e["reason"]) for e in data["errors"]] == [
        (2, "line 6: is not valid JSON (Expecting value at column 1)"),
        (3, "line 7: is not UTF-8 text"),
    ]


def test_a_body_with_no_readable_line_is_refused_naming_the_first(client, prepaid):
    response = post(client, b"\nnot json\n{broken")

    assert response.status_code == 400
    assert response.json()["detail"] == (
        "The body is neither a JSON array nor NDJSON: "
        "line 2: is not valid JSON (Expecting value at column 1)."
    )
    assert not UsageEvent.objects.exists()


def test_the_refusal_of_a_body_with_no_readable_line_is_in_the_readers_language(client, prepaid):
    response = client.generic(
        "POST",
        "/api/v1/usage/batches",
        b"\nnot json\n{broken",
        content_type="application/x-ndjson",
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    )

    assert response.status_code == 400
    detail = response.json()["detail"]
    assert "第 2 行" in detail and "line 2" not in detail, detail


def test_a_broken_json_array_is_still_refused_whole(client, prepaid):
    """An array is one document: it cannot be read on past what breaks it."""
    response = post(client, b"[" + line("r1") + b",\n" + line("r2") + b",\n{oops}]")

    assert response.status_code == 400
    assert response.json()["detail"] == (
        "The body is neither a JSON array nor NDJSON: line 3, column 2: "
        "Expecting property name enclosed in double quotes."
    )
    assert not UsageEvent.objects.exists()


def pretty(document) -> bytes:
    return json.dumps(document, indent=2).encode()


@pytest.mark.parametrize("shape", ["array", "events"])
def test_a_pretty_printed_document_after_a_byte_order_mark_is_read_whole(client, prepaid, shape):
    """The mark is not the document's first character: the body is one array (or object), not NDJSON."""
    events = [event("a1"), event("a2"), event("a3")]

    response = post(client, b"\xef\xbb\xbf" + pretty(events if shape == "array" else {"events": events}))

    assert response.status_code == 200 and response.json()["accepted"] == 3
    assert UsageEvent.objects.count() == 3


def test_ndjson_after_a_byte_order_mark_is_read_a_line_at_a_time(client, prepaid):
    data = post(client, b"\xef\xbb\xbf" + line("r1") + b"\nnot json\n" + line("r2")).json()

    assert (data["accepted"], data["rejected"]) == (2, 1)
    assert data["errors"][0]["reason"] == "line 2: is not valid JSON (Expecting value at column 1)"


@pytest.mark.parametrize(
    "body",
    [
        # Pretty-printed and cut short: its first line is no JSON value, so it is not NDJSON.
        pretty({"events": [event("r1"), event("r2")]}).rsplit(b"]", 1)[0].rstrip(),
        # On one line, cut after its first event.
        b'{"events": [' + line("r1") + b", ",
        # Two objects on one line are not NDJSON either.
        line("r1") + line("r2"),
    ],
    ids=["pretty", "one-line", "two-on-a-line"],
)
def test_an_object_that_is_not_ndjson_and_does_not_parse_is_refused_whole(client, prepaid, body):
    """Refused at its last line (where it breaks), as a broken array is, not read line by line."""
    response = post(client, body)

    assert response.status_code == 400
    detail = response.json()["detail"]
    last = body.count(b"\n") + 1
    assert detail.startswith(f"The body is neither a JSON array nor NDJSON: line {last}, column ")
    assert not UsageEvent.objects.exists()


def test_file_lines_are_numbered_through_crlf_cut_by_a_block_end(monkeypatch):
    """A \\r\\n cut in two by the reader's block is one line end, not an extra (blank) line."""
    monkeypatch.setattr("billing.usage.files._BLOCK", 5)
    body = b'{"a":1}\r\n{"b":2}\r\n\r\nbad\r\n{"c":3}\rworse'

    records = list(ndjson_records(io.BytesIO(body)))

    assert records == [
        {"a": 1},
        {"b": 2},
        UnreadableRecord("line 4: is not valid JSON (Expecting value at column 1)"),
        {"c": 3},
        UnreadableRecord("line 6: is not valid JSON (Expecting value at column 1)"),
    ]


def test_an_uploads_line_reason_reads_back_as_stored_text():
    """The upload page shows the reason in the reader's language: the line, and the problem's own text."""
    assert row_reason_stored("line 12: is not UTF-8 text") == {
        "key": "usage.row.line",
        "params": {"line": "12", "problem": {"key": "usage.row.not_utf8", "params": {}}},
    }
