"""One bad row never sinks its batch: values PostgreSQL would refuse (NUL, lone surrogates, offsets beyond
±15:59, counts beyond bigint, costs beyond numeric(40, 24), metadata too deep) are row errors with index
and field on every way in — the API, the bulk file path, staff uploads — and the good rows beside them are
rated, stored and posted; a replay with the same key answers the same."""

import io
import json
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db.models import Sum
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.models import StaffRole
from billing.usage.bulk.ingest import bulk_ingest
from billing.usage.events import MAX_METADATA_DEPTH
from billing.usage.files import file_ingest, records_iter
from billing.usage.models import RatingState, UsageEvent, UsageUpload
from billing.usage.services import usage_batch_ingest
from billing.usage.uploads import usage_upload_process
from billing.wallets.models import Wallet
from billing.wallets.selectors import wallet_balance
from tests.billing.factories import staff
from tests.billing.usage.conftest import top_up
from tests.billing.usage.factories import AT, event, source_make

pytestmark = pytest.mark.django_db


def nested(depth: int) -> dict:
    """Metadata of ``depth`` nested containers (itself the first)."""
    value: object = "leaf"
    for _ in range(depth - 1):
        value = [value]
    return {"m": value}


def good_rows() -> list[dict]:
    """Valid events, some at the edges of what is accepted."""
    return [
        event("g-plain"),
        {**event("g-east"), "occurred_at": "2026-05-04T23:59:00+15:59"},
        {**event("g-west"), "occurred_at": "2026-05-04T00:00:00-15:59:59"},
        event("g-max", prompt=10**10, completion=10**10),
        event("g-cost", gateway_cost=Decimal("999999999999999.5"), gateway_cost_currency="USD"),
        event("g-tiny", gateway_cost=Decimal("1.00000000000000000000000049"), gateway_cost_currency="USD"),
        event("g-nan", metadata={"latency": float("nan"), "limit": float("inf")}),
        event("g-deep", metadata=nested(MAX_METADATA_DEPTH)),
        event("g-text", metadata={"ua": "中文 é", "quoted": "\\u0000 as text"}),
    ]


# (field named in the error, record)
BAD = [
    ("request_id", event("b-nul\x00")),
    ("key", event("b-key", key="key-a\x00")),
    ("model", event("b-model", model="deepseek-chat\x00")),
    ("upstream_account", event("b-up", upstream_account="up\x00")),
    ("request_id", event("b-surrogate\ud800")),
    ("occurred_at", {**event("b-offset"), "occurred_at": "2026-05-04T10:00:00+20:50"}),
    ("occurred_at", {**event("b-offset-16"), "occurred_at": "2026-05-04T10:00:00-16:00"}),
    ("occurred_at", {**event("b-offset-fraction"), "occurred_at": "2026-05-04T10:00:00+05:30:00.5"}),
    ("occurred_at", {**event("b-epoch"), "occurred_at": 0}),
    # Python reads offset minutes of 60 and more as a carry (+05:75 as +06:15); PostgreSQL refuses them.
    ("occurred_at", {**event("b-offset-min60"), "occurred_at": "2026-05-04T10:00:00+05:60"}),
    ("occurred_at", {**event("b-offset-min75"), "occurred_at": "2026-05-04T10:00:00+05:75"}),
    ("occurred_at", {**event("b-offset-min99"), "occurred_at": "2026-05-04T10:00:00-03:99"}),
    ("occurred_at", {**event("b-offset-compact"), "occurred_at": "2026-05-04T10:00:00+0575"}),
    ("occurred_at", {**event("b-offset-sec75"), "occurred_at": "2026-05-04T10:00:00+05:00:75"}),
    ("prompt_tokens", event("b-bigint", prompt=2**63)),
    ("completion_tokens", event("b-u64", completion=2**64)),
    ("prompt_tokens", event("b-over", prompt=10**10 + 1)),
    ("cache_read_tokens", event("b-negative", cache_read_tokens=-1)),
    ("reasoning_tokens", event("b-digits", reasoning_tokens="9" * 30)),
    ("gateway_cost", event("b-cost", gateway_cost=Decimal("1e16"), gateway_cost_currency="USD")),
    (
        "gateway_cost",
        event("b-cost-rounds", gateway_cost=Decimal("9999999999999999.9999999999999999999999995")),
    ),
    ("gateway_cost", event("b-cost-int", gateway_cost=10**16)),
    ("gateway_cost_currency", event("b-ccy", gateway_cost=1, gateway_cost_currency="U\x00S")),
    ("metadata", event("b-meta-nul", metadata={"ua": "x\x00y"})),
    ("metadata", event("b-meta-key", metadata={"k\x00": 1})),
    ("metadata", event("b-meta-surrogate", metadata={"ua": "\udce9"})),
    ("metadata", event("b-meta-deep", metadata=nested(MAX_METADATA_DEPTH + 1))),
]


def mixed() -> tuple[list[dict], set[tuple[int, str]]]:
    """Good and bad rows interleaved; the (index, field) each bad row must be reported with."""
    good, records, expected = good_rows(), [], set()
    for i, (field, record) in enumerate(BAD):
        if i < len(good):
            records.append(good[i])
        expected.add((len(records), field))
        records.append(record)
    return records, expected


def ndjson(records: list) -> bytes:
    """The file a gateway's log makes of ``records`` (Decimals written as text, NaN as Python writes it)."""
    return "\n".join(json.dumps(r, default=str) for r in records).encode()


def reported(result) -> set[tuple[int, str]]:
    return {(e["index"], e["field"]) for e in result.errors}


def assert_good_rows_charged(source, prepaid) -> None:
    """Every good row stored once and rated, and the wallet debited exactly their sales."""
    events = UsageEvent.objects.filter(source=source)
    assert sorted(events.values_list("request_id", flat=True)) == sorted(r["request_id"] for r in good_rows())
    assert not events.exclude(rating_state=RatingState.RATED).exists()
    sold = events.aggregate(s=Sum("sell_amount"))["s"]
    assert sold > 0
    assert wallet_balance(wallet=Wallet.objects.get(customer=prepaid)).available == Decimal("10000000") - sold
    stored = dict(events.values_list("request_id", "gateway_cost"))
    assert stored["g-tiny"] == Decimal("1.000000000000000000000000")  # rounded to the column's 24 places
    assert events.get(request_id="g-nan").metadata == {"latency": None, "limit": None}


@pytest.fixture
def funded(prepaid):
    top_up(prepaid, Decimal("10000000"))
    return prepaid


def test_per_batch_path_keeps_good_rows_and_reports_each_bad_one(source, funded):
    records, expected = mixed()

    result = usage_batch_ingest(source=source, records=records, idempotency_key="k1")
    again = usage_batch_ingest(source=source, records=records, idempotency_key="k1")

    assert (result.accepted, result.rejected) == (len(good_rows()), len(BAD))
    assert reported(result) == expected
    assert again.replayed and again.as_dict() == result.as_dict()
    assert_good_rows_charged(source, funded)


def post(client, body: bytes, path: str = "/api/v1/usage/batches", **headers):
    return client.generic("POST", path, body, content_type="application/json", **headers)


def test_api_answers_bad_rows_as_row_errors_and_a_retry_the_same(funded):
    source, token = source_make(name="edge")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    records, expected = mixed()
    # The JSON a gateway sends: NUL and surrogates escaped, NaN and Infinity as Python writes them.
    body = json.dumps(records, default=str).encode()

    first = post(client, body, HTTP_IDEMPOTENCY_KEY="batch-7")
    retry = post(client, body, HTTP_IDEMPOTENCY_KEY="batch-7")

    assert first.status_code == retry.status_code == 200
    data = first.json()
    assert (data["accepted"], data["rejected"]) == (len(good_rows()), len(BAD))
    assert {(e["index"], e["field"]) for e in data["errors"]} == expected
    assert retry.json() == data
    assert_good_rows_charged(source, funded)


def test_api_litellm_payloads_with_bad_values_are_row_errors(funded):
    _source, token = source_make(name="litellm", kind="litellm")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    payload = {
        "id": "chatcmpl-1",
        "startTime": AT.timestamp(),
        "model_group": "deepseek-chat",
        "prompt_tokens": 1000,
        "completion_tokens": 500,
        "metadata": {"user_api_key_hash": "key-a"},
    }
    body = json.dumps([
        payload,
        {**payload, "id": "chatcmpl-2", "prompt_tokens": 2**63},
        {**payload, "id": "chatcmpl-3", "model_group": "deepseek\x00"},
        {**payload, "id": "chatcmpl-4", "startTime": float("nan")},
        {**payload, "id": "chatcmpl-5", "completion_tokens": "lots"},
        {**payload, "id": "chatcmpl-6", "metadata": ["not", "an", "object"], "call_type": 7},
    ]).encode()  # fmt: skip

    response = post(client, body, "/api/v1/usage/litellm")

    assert response.status_code == 200
    data = response.json()
    assert {(e["index"], e["field"]) for e in data["errors"]} == {
        (1, "prompt_tokens"),
        (2, "model"),
        (2, "upstream_account"),  # the model group is its upstream account too (no deployment, no api base)
        (3, "occurred_at"),
        (4, "completion_tokens"),
        (5, "key"),
    }
    assert data["accepted"] == 1 and UsageEvent.objects.get().request_id == "chatcmpl-1"


@pytest.mark.postgres
def test_bulk_file_path_keeps_good_rows_and_reports_each_bad_one(source, funded):
    """NDJSON through ``file_ingest``, which is the COPY path on PostgreSQL: a bad value reaching COPY
    would abort the whole chunk. Chunks of 7: bad rows in every chunk; the replay answers the same."""
    records, expected = mixed()
    body = ndjson(records)

    def run():
        return file_ingest(
            source=source, records=records_iter(io.BytesIO(body)), fmt="generic", key_prefix="file:1"
        )

    result = run()
    again = run()

    assert (result.accepted, result.rejected) == (len(good_rows()), len(BAD))
    assert reported(result) == expected
    assert again.replayed and again.as_dict() | {"batch_id": None} == result.as_dict() | {"batch_id": None}
    assert_good_rows_charged(source, funded)


@pytest.mark.postgres
def test_bulk_path_stores_what_the_per_batch_path_stores_for_edge_values(model, funded):
    """The same records through both paths: same errors, same stored values (metadata NaN as null, a cost
    rounded to 24 places, offsets at the edge), whichever way each row was validated."""
    records, _expected = mixed()
    batch_source, bulk_source = source_make("per-batch")[0], source_make("bulk")[0]

    reference = usage_batch_ingest(source=batch_source, records=records)
    result = bulk_ingest(source=bulk_source, records=iter(records), key_prefix="b", chunk=5)

    assert sorted(result.errors, key=lambda e: (e["index"], e["field"])) == sorted(
        reference.errors, key=lambda e: (e["index"], e["field"])
    )
    columns = ("request_id", "occurred_at", "prompt_tokens", "gateway_cost", "metadata", "sell_amount")

    def stored(source):
        return sorted(UsageEvent.objects.filter(source=source).values_list(*columns))

    assert stored(bulk_source) == stored(batch_source)


def upload_post(client, source, name: str, body: bytes):
    return client.post(
        reverse("staff-usage-upload-create"),
        {"source": source.pk, "fmt": "generic", "file": SimpleUploadedFile(name, body)},
    )


def test_staff_upload_keeps_good_rows_and_reports_each_bad_one(
    client, source, funded, settings, tmp_path, eager_celery, django_capture_on_commit_callbacks
):
    settings.MEDIA_ROOT = tmp_path
    records, expected = mixed()
    body = ndjson(records)
    client.force_login(staff(StaffRole.FINANCE))

    with django_capture_on_commit_callbacks(execute=True):
        response = upload_post(client, source, "usage.ndjson", body)

    upload = UsageUpload.objects.get()
    assert response.status_code == 302
    assert (upload.state, upload.accepted, upload.rejected) == ("done", len(good_rows()), len(BAD))
    assert {(e["index"], e["field"]) for e in upload.errors} == expected
    assert_good_rows_charged(source, funded)
    # A re-run of the task (a redelivery) replays the upload's batches: nothing is charged twice.
    UsageUpload.objects.filter(pk=upload.pk).update(state=UsageUpload.State.RUNNING)
    usage_upload_process(upload_id=upload.pk)
    assert_good_rows_charged(source, funded)


def test_a_csv_upload_with_latin1_rows_and_nul_cells_keeps_its_good_rows(
    client, source, funded, settings, tmp_path, eager_celery, django_capture_on_commit_callbacks
):
    settings.MEDIA_ROOT = tmp_path
    at = AT.isoformat()
    body = (
        "request_id,occurred_at,key,model,prompt_tokens,completion_tokens,metadata\n"
        f"c1,{at},key-a,deepseek-chat,100,10,\n".encode()
        + f"c2,{at},key-\xe9,deepseek-chat,100,10,\n".encode("latin-1")
        + f'c3,{at},key-a,deepseek-chat,100,10,"{{""ua"": ""caf\xe9""}}"\n'.encode("latin-1")
        + f"c4,{at},key-a\x00,deepseek-chat,100,10,\n".encode()
        + f"c5,{at},key-a,deepseek-chat,\u00b2,10,\n".encode()
        + f"c6,2026-05-04T10:00:00+20:50,key-a,deepseek-chat,{2**63},10,\n".encode()
        + f'c7,{at},key-a,deepseek-chat,100,10,{{"ua": "caf\u00e9"}}\n'.encode()
    )
    client.force_login(staff(StaffRole.FINANCE))

    with django_capture_on_commit_callbacks(execute=True):
        response = upload_post(client, source, "usage.csv", body)

    upload = UsageUpload.objects.get()
    assert response.status_code == 302
    assert (upload.state, upload.accepted, upload.rejected) == ("done", 2, 5)
    assert {(e["index"], e["field"]) for e in upload.errors} == {
        (1, "key"),
        (2, "metadata"),
        (3, "key"),
        (4, "prompt_tokens"),
        (5, "occurred_at"),
        (5, "prompt_tokens"),
    }
    assert {e["reason"] for e in upload.errors if e["index"] in (1, 2)} == {
        "is not valid UTF-8 text (it holds a lone surrogate, or bytes that are not UTF-8)"
    }
    assert set(UsageEvent.objects.values_list("request_id", flat=True)) == {"c1", "c7"}


@pytest.mark.parametrize(
    ("name", "body", "says"),
    [
        ("utf16.ndjson", json.dumps(event("u1")).encode("utf-16"), "UTF-16"),
        ("utf16-no-bom.csv", "request_id,key\nr1,key-a\n".encode("utf-16-le"), "UTF-16"),
        ("utf32.json", json.dumps([event("u1")]).encode("utf-32"), "UTF-32"),
        ("usage.xlsx", b"PK\x03\x04" + b"\x00" * 40, "zip"),
        ("usage.ndjson.gz", b"\x1f\x8b\x08\x00" + b"\x00" * 40, "gzip"),
    ],
    ids=["utf16", "utf16-no-bom", "utf32", "zip", "gzip"],
)
def test_an_upload_that_is_not_utf8_text_fails_with_a_clear_reason_not_a_500(
    client, source, settings, tmp_path, eager_celery, django_capture_on_commit_callbacks, name, body, says
):
    settings.MEDIA_ROOT = tmp_path
    client.force_login(staff(StaffRole.FINANCE))

    with django_capture_on_commit_callbacks(execute=True):
        response = upload_post(client, source, name, body)

    upload = UsageUpload.objects.get()
    assert response.status_code == 302
    assert upload.state == UsageUpload.State.FAILED and says in upload.error
    page = client.get(reverse("staff-usage-upload", args=[upload.pk]))
    assert page.status_code == 200 and says in page.content.decode()
    assert not UsageEvent.objects.exists()


def test_deeply_nested_upload_rows_are_bad_rows_not_a_crash(
    client, source, funded, settings, tmp_path, eager_celery, django_capture_on_commit_callbacks
):
    """Nesting beyond what the decoders read is a bad row of an NDJSON file, and the file is read on; a
    JSON array (streamed) reads on past metadata nested beyond its limit, and stops at nesting beyond
    what it streams, at once (not after hours) and keeping the rows before."""
    settings.MEDIA_ROOT = tmp_path

    def row(request_id: str, depth: int | None = None) -> bytes:
        if depth is None:
            return json.dumps(event(request_id)).encode()
        metadata = b'{"a": ' * depth + b"1" + b"}" * depth
        return json.dumps(event(request_id))[:-1].encode() + b', "metadata": ' + metadata + b"}"

    files = {
        "deep.ndjson": b"\n".join([row("n1"), row("n-deep", 100_000), row("n2")]),
        "deeper-than-metadata.json": b"[" + b",".join([row("a1"), row("a-deep", 300), row("a2")]) + b"]",
        "deeper-than-streamed.json": b"[" + b",".join([row("s1"), row("s-deep", 100_000), row("s2")]) + b"]",
    }
    client.force_login(staff(StaffRole.FINANCE))

    with django_capture_on_commit_callbacks(execute=True):
        for name, body in files.items():
            upload_post(client, source, name, body)

    # Each error keeps its English reason and, where a template reads it, the reason as stored text.
    messages = {
        upload.file.name.rsplit("/", 1)[-1]: [e.get("message") for e in upload.errors]
        for upload in UsageUpload.objects.all()
    }
    assert messages["deep.ndjson"] == [
        {
            "key": "usage.row.line",
            "params": {"line": "2", "problem": {"key": "usage.row.too_deep", "params": {}}},
        }
    ]
    got = {
        upload.file.name.rsplit("/", 1)[-1]: (
            upload.state,
            upload.accepted,
            upload.rejected,
            [{k: v for k, v in e.items() if k != "message"} for e in upload.errors],
        )
        for upload in UsageUpload.objects.all()
    }
    assert got["deep.ndjson"] == (
        "done",
        2,
        1,
        [{"index": 1, "field": "non_field_errors", "reason": "line 2: is nested too deeply to read"}],
    )
    assert got["deeper-than-metadata.json"] == (
        "done",
        2,
        1,
        [{"index": 1, "field": "metadata", "reason": "is nested more than 254 levels deep"}],
    )
    state, accepted, rejected, errors = got["deeper-than-streamed.json"]
    assert (state, accepted, rejected) == ("done", 1, 1)
    assert [(e["index"], e["field"]) for e in errors] == [(1, "non_field_errors")]
    assert "nested more than 512 levels deep" in errors[0]["reason"]
    assert set(UsageEvent.objects.values_list("request_id", flat=True)) == {"n1", "n2", "a1", "a2", "s1"}


def test_the_ingest_command_says_a_file_is_not_utf8_text_instead_of_a_traceback(tmp_path, funded):
    from django.core.management import CommandError, call_command

    path = tmp_path / "usage.ndjson"
    path.write_bytes(json.dumps(event("u1")).encode("utf-16"))

    with pytest.raises(CommandError, match="The file is UTF-16 text, not UTF-8"):
        call_command("ingest", str(path), "--source", "nightly")
    assert not UsageEvent.objects.exists()


@pytest.mark.postgres
def test_a_json_array_file_with_lone_surrogates_and_nan_keeps_its_good_rows(source, funded):
    """A JSON array as Python's encoder writes it (lone surrogates escaped, NaN and Infinity bare) through
    the bulk path: each bad row reported with its index and field, every other row stored, the file read
    to its end (yajl alone would change a high surrogate to "?" and stop at a low one or at NaN)."""
    records = [
        event("j1"),
        event("j-high\ud800"),
        event("j2", metadata={"latency": float("nan")}),
        event("j-low\udce9"),
        {**event("j-offset"), "occurred_at": "2026-05-04T10:00:00+05:75"},
        event("j3", metadata={"limit": float("inf"), "floor": float("-inf")}),
    ]
    body = json.dumps(records, default=str).encode()

    result = file_ingest(source=source, records=records_iter(io.BytesIO(body)), fmt="generic", key_prefix="a")

    assert (result.accepted, result.rejected) == (3, 3)
    assert reported(result) == {(1, "request_id"), (3, "request_id"), (4, "occurred_at")}
    stored = dict(UsageEvent.objects.filter(source=source).values_list("request_id", "metadata"))
    assert stored == {"j1": {}, "j2": {"latency": None}, "j3": {"limit": None, "floor": None}}


@pytest.mark.postgres
def test_csv_request_ids_keep_their_leading_zeros(source, funded):
    """ "0012" and "12" are two requests, both stored as sent (not one int and a duplicate)."""
    at = AT.isoformat()
    body = (
        "request_id,occurred_at,key,model,prompt_tokens,completion_tokens\n"
        f"0012,{at},key-a,deepseek-chat,100,10\n"
        f"12,{at},key-a,deepseek-chat,100,10\n"
    ).encode()

    result = file_ingest(source=source, records=records_iter(io.BytesIO(body)), fmt="generic", key_prefix="c")

    assert (result.accepted, result.duplicates) == (2, 0)
    assert set(UsageEvent.objects.values_list("request_id", flat=True)) == {"0012", "12"}
