"""new-api rows are keyed by their instance (the gateway source) and their real id in the ``logs`` table.

The admin's export (``GET /api/log/``, ``controller.GetAllLogs``, or the table itself) has real ids, above
1,024 as soon as the instance has logged that many rows. The user log API (``GET /api/log/self``,
``controller.GetUserLogs``) passes rows through ``model.formatUserLogs``: ``Id % 1024`` and
``channel_name`` blanked (newer releases answer ``userLogDTO``, without the user, channel and token
columns). Such an export is refused whole, before anything is stored: its rows would collide."""

import csv
import io
import json

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from billing.usage.connectors import newapi, registry
from billing.usage.files import UnreadableFile, file_ingest, records_iter
from billing.usage.models import RatingState, UsageBatch, UsageEvent
from billing.usage.services import usage_batch_ingest
from tests.billing.usage.factories import source_make
from tests.billing.usage.test_connectors_newapi_real import ERROR, REFUND, log_row

pytestmark = pytest.mark.django_db


@pytest.fixture
def instance():
    """One new-api instance: one gateway source."""
    source, token = source_make(name="newapi-prod", kind="newapi")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return source, client


def row(row_id: int, **columns) -> dict:
    """A consume row of the ``logs`` table (as the admin export has it) for customer key-a."""
    return log_row(
        row_id, model="deepseek-chat", quota=3000, other={}, prompt=1000, completion=500, **columns
    )


def user_api_row(real_id: int) -> dict:
    """``row(real_id)`` as the user log API answers it: ``formatUserLogs`` blanks the channel name, drops
    ``admin_info`` and answers ``Id % 1024``."""
    return {**row(real_id), "id": real_id % 1024, "channel_name": ""}


def user_dto_row(position: int, real_id: int) -> dict:
    """The same row as newer new-api's user log API answers it (``buildUserLogDTOs``): no user, channel or
    token columns, and the id its position on the page."""
    full = row(real_id)
    kept = ("created_at", "type", "content", "token_name", "model_name", "quota", "prompt_tokens")
    return {"id": position, "channel_name": "", **{name: full[name] for name in kept}}


def post(client, rows, **headers):
    body = json.dumps(list(rows)).encode()
    return client.generic(
        "POST", "/api/v1/usage/batches?connector=newapi", body, content_type="application/json", **headers
    )


def csv_file(rows) -> io.BytesIO:
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    return io.BytesIO(text.getvalue().encode())


def test_an_admin_export_with_ids_above_1024_is_ingested_whole(instance, prepaid):
    """Ids 5, 1029 and 2053 are one id modulo 1024, and three rows: each is kept and charged."""
    _, client = instance
    ids = [2053, 1029, 1024, 1023, 5]  # newest first, as GetAllLogs orders them

    data = post(client, [row(i) for i in ids]).json()

    assert (data["accepted"], data["duplicates"], data["rejected"]) == (5, 0, 0)
    events = UsageEvent.objects.filter(rating_state=RatingState.RATED)
    assert sorted(events.values_list("request_id", flat=True)) == sorted(f"log-{i}" for i in ids)


def test_a_logs_table_dump_counting_up_from_1_is_read_ahead_and_ingested_whole(instance, prepaid):
    """The first 1,023 rows cannot tell a young table from the user log API's ids; they are held until row
    1,024 shows the ids are real, then every row is ingested, in order."""
    source, _ = instance
    rows = [row(i) for i in range(1, 1101)]

    result = file_ingest(source=source, records=records_iter(csv_file(rows)), fmt="newapi", key_prefix="dump")

    assert (result.accepted, result.duplicates, result.rejected) == (1100, 0, 0)
    assert UsageEvent.objects.filter(request_id__in=["log-1", "log-1024", "log-1100"]).count() == 3


def test_the_user_log_apis_modulo_ids_are_refused_whole_naming_the_admin_export(instance, prepaid):
    """Real rows 5 and 1029 both come back as id 5: the batch is refused, none of it stored (row 7, which
    collides with nothing here, would collide with row 1031 of the next export)."""
    _, client = instance

    response = post(client, [user_api_row(7), user_api_row(5), user_api_row(1029)])

    assert response.status_code == 400
    detail = response.json()["detail"]
    assert "user log API (/api/log/self)" in detail and "modulo 1024" in detail
    assert "index 1 and 2 are different rows that both say id 5" in detail
    assert "admin log API (/api/log/) or new-api's logs table" in detail
    assert not UsageEvent.objects.exists() and not UsageBatch.objects.exists()


def test_the_newer_user_log_api_is_refused_by_its_columns_even_without_a_repeat(instance, prepaid):
    _, client = instance

    response = post(client, [user_dto_row(1, 2053), user_dto_row(2, 1029)])

    assert response.status_code == 400
    detail = response.json()["detail"]
    assert "the row at index 0 has a channel_name but no user, channel or token columns" in detail
    assert "admin log API (/api/log/)" in detail
    assert not UsageEvent.objects.exists()


def test_a_file_of_modulo_ids_is_refused_before_anything_is_ingested(instance, prepaid, tmp_path):
    source, _ = instance
    rows = [user_api_row(i) for i in range(3000, 3000 + 1100)]  # a long export: ids wrap at 1,024

    with pytest.raises(UnreadableFile) as refused:
        file_ingest(source=source, records=records_iter(csv_file(rows)), fmt="newapi", key_prefix="up")
    assert refused.value.stored == {
        "key": "usage.newapi.user_log_ids",
        "params": {"id": 952, "first": 0, "second": 1024},
    }
    path = tmp_path / "mine.csv"
    path.write_bytes(csv_file(rows).getvalue())
    with pytest.raises(CommandError, match=r"user log API \(/api/log/self\)"):
        call_command("ingest", str(path), "--format", "newapi", "--source", "newapi-prod")
    assert not UsageEvent.objects.exists()


def test_id_0_is_an_id(instance, prepaid):
    """new-api's user log API answered id 0 for row 1024; in the logs table 0 is as good an id as any."""
    _, client = instance

    data = post(client, [row(0), {**row(1), "id": None}]).json()

    assert (data["accepted"], data["rejected"]) == (1, 1)
    assert data["errors"] == [{"index": 1, "field": "id", "reason": "is required"}]
    assert UsageEvent.objects.get().request_id == "log-0"


def failed_attempt(row_id: int, request_id: str) -> dict:
    """The error row ``RecordErrorLog`` writes for a channel new-api retried: the request's id, no usage."""
    return (
        row(row_id, type=ERROR)
        | {"quota": 0, "prompt_tokens": 0, "completion_tokens": 0}
        | {"request_id": request_id}
    )


def test_a_shared_request_id_does_not_merge_a_request_with_its_failed_attempt(instance, prepaid):
    """Newer new-api writes the request's id on the error row of each channel it retried, on the consume
    row, and may on a task's settlement and refund: only the consume row is keyed by it, the others by
    their log id, so the charge is never taken for a duplicate, whichever row comes first. Sent again, the
    export is all duplicates."""
    _, client = instance
    charged = row(41) | {"request_id": "req-1"}
    settled = log_row(42, model="deepseek-chat", quota=-500, other={"quota_delta": -500}) | {
        "request_id": "req-1"
    }
    refund = log_row(43, kind=REFUND, model="deepseek-chat", quota=500, other={}) | {"request_id": "req-1"}
    rows = [failed_attempt(40, "req-1"), charged, settled, refund]

    data = post(client, rows).json()

    assert (data["accepted"], data["duplicates"], data["rejected"]) == (4, 0, 0)
    events = {e.request_id: e for e in UsageEvent.objects.all()}
    assert sorted(events) == ["log-40", "log-42", "log-43", "req-1"]
    assert events["req-1"].rating_state == RatingState.RATED and events["req-1"].sell_amount
    assert not events["log-40"].succeeded and events["log-40"].sell_amount is None
    assert {events[key].rating_state for key in ("log-42", "log-43")} == {RatingState.NOT_CHARGED}
    assert {e.metadata["gateway_request_id"] for e in events.values()} == {"req-1"}
    again = post(client, rows, HTTP_IDEMPOTENCY_KEY="the same export again").json()
    assert (again["accepted"], again["duplicates"]) == (0, 4)
    assert UsageEvent.objects.filter(rating_state=RatingState.RATED).count() == 1


def test_an_export_ingested_before_log_id_keys_is_all_duplicates_when_it_overlaps(
    instance, prepaid, monkeypatch
):
    """Consume rows with a request_id were keyed by it before error rows got ``log-<id>`` keys; they still
    are, so the next export, which repeats them, charges nothing twice."""
    source, _ = instance
    rows = [row(i) | {"request_id": f"20251207abc{i}"} for i in (3001, 3002)]

    def before(record, *, source=None):  # the keys the connector gave every row before: request_id first
        return newapi.to_canonical(record, source=source) | {"request_id": record["request_id"]}

    monkeypatch.setitem(registry.CONNECTORS, "newapi", before)
    usage_batch_ingest(source=source, records=rows, fmt="newapi", idempotency_key="before")
    monkeypatch.undo()
    after = usage_batch_ingest(source=source, records=rows, fmt="newapi", idempotency_key="after")

    assert (after.accepted, after.duplicates) == (0, 2)
    assert UsageEvent.objects.filter(rating_state=RatingState.RATED).count() == 2


def test_a_row_without_an_id_is_keyed_by_its_request_id_only_if_it_is_the_charge(instance, prepaid):
    """An error row or an adjustment shares its request_id with the charge: without its log id it has no
    key of its own and is refused; a consume row without an id is keyed by its request_id."""
    _, client = instance
    refund = log_row(9, kind=REFUND, model="sora-2", quota=500, other={}) | {"request_id": "req-2"}
    rows = [failed_attempt(8, "req-2"), refund, row(10) | {"request_id": "req-2"}]

    data = post(client, [r | {"id": None} for r in rows]).json()

    assert (data["accepted"], data["rejected"]) == (1, 2)
    reason = "is required on an error row or an adjustment (the request_id keys the charge)"
    assert data["errors"] == [{"index": i, "field": "id", "reason": reason} for i in (0, 1)]
    assert UsageEvent.objects.get().request_id == "req-2"
    assert newapi.to_canonical({"request_id": "req-9", "created_at": 1})["request_id"] == "req-9"


def test_the_same_row_sent_twice_is_a_duplicate_not_a_collision(instance, prepaid):
    _, client = instance

    data = post(client, [row(5), row(5), row(6)]).json()

    assert (data["accepted"], data["duplicates"], data["rejected"]) == (2, 1, 0)


def test_the_read_ahead_is_bounded_and_keeps_every_record_in_order(monkeypatch):
    """Rows that never decide (the same rows over and over) are let through after LOOKAHEAD of them."""
    monkeypatch.setattr(newapi, "LOOKAHEAD", 4)
    records = [row(1), row(2)] * 3 + [row(1), {"not": "a log row"}]
    assert list(newapi.user_log_export_check(iter(records))) == records
    assert list(newapi.user_log_export_check([])) == []
