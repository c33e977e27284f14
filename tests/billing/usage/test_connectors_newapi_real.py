"""The new-api connector reads rows shaped by new-api's own ``logs`` table and the ``other`` JSON its Go code
writes (QuantumNous/new-api; each builder below names the function it mirrors), through the API and the
``ingest`` command: Claude's cache beside the prompt however small, 5-minute and 1-hour writes apart,
audio tokens, image counts, and the asynchronous tasks' quota settlements and refunds recorded as
adjustments that charge nothing."""

import csv
import json
from decimal import Decimal

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from billing.usage.connectors import newapi
from billing.usage.events import event_validate
from billing.usage.models import GatewayKey, RatingState, UsageEvent
from billing.wallets.models import Wallet
from billing.wallets.selectors import wallet_balance
from tests.billing.usage.connector_catalog import counts, gateway_catalog, per_million, priced
from tests.billing.usage.factories import AT, source_make
from tests.catalog.factories import tier

# model/log.go, ``type Log``: the logs table's columns, in its order (``channel_name`` is read through a
# join of the channels table, never stored).
COLUMNS = (
    "id",
    "user_id",
    "created_at",
    "type",
    "content",
    "username",
    "token_name",
    "model_name",
    "quota",
    "prompt_tokens",
    "completion_tokens",
    "use_time",
    "is_stream",
    "channel_id",
    "token_id",
    "group",
    "ip",
    "other",
)
# model/log.go: LogTypeConsume, LogTypeError, LogTypeRefund.
CONSUME, ERROR, REFUND = 2, 5, 6
QUOTA_PER_USD = Decimal(500000)


def log_row(row_id: int, *, kind=CONSUME, model, quota, other, prompt=0, completion=0, **columns) -> dict:
    """One row as ``model.RecordConsumeLog`` (and its siblings) inserts it: ``other`` as JSON text."""
    row = {
        "id": row_id,
        "user_id": 7,
        "created_at": int(AT.timestamp()) + row_id,
        "type": kind,
        "content": "",
        "username": "acme",
        "token_name": "key-a",
        "model_name": model,
        "quota": quota,
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "use_time": 3,
        "is_stream": True,
        "channel_id": 4,
        "token_id": 12,
        "group": "default",
        "ip": "",
        "other": json.dumps(other, ensure_ascii=False),
    }
    row.update(columns)
    assert tuple(row) == COLUMNS
    return row


def text_other(cache_tokens=0) -> dict:
    """service/log_info_generate.go, ``GenerateTextOtherInfo``."""
    return {
        "model_ratio": 1.25,
        "group_ratio": 1,
        "completion_ratio": 4,
        "cache_tokens": cache_tokens,
        "cache_ratio": 0.5,
        "model_price": -1,
        "user_group_ratio": -1,
        "frt": 812.0,
        "admin_info": {"use_channel": ["4"]},
        "request_path": "/v1/chat/completions",
    }


def claude_other(cache_read: int, writes: int, five_minutes=0, one_hour=0, *, semantic=True) -> dict:
    """``GenerateClaudeOtherInfo`` (the 5m/1h counts only when not 0), with what ``PostTextConsumeQuota``
    (service/text_quota.go) adds for Anthropic usage; ``semantic=False``: the older
    ``PostClaudeConsumeQuota`` (service/quota.go), which adds nothing."""
    other = text_other(cache_read) | {
        "claude": True,
        "cache_creation_tokens": writes,
        "cache_creation_ratio": 1.25,
    }
    if five_minutes:
        other |= {"cache_creation_tokens_5m": five_minutes, "cache_creation_ratio_5m": 1.25}
    if one_hour:
        other |= {"cache_creation_tokens_1h": one_hour, "cache_creation_ratio_1h": 2}
    if semantic:
        other["usage_semantic"] = "anthropic"
        if max(writes, five_minutes + one_hour):
            other["cache_write_tokens"] = max(writes, five_minutes + one_hour)
    return other


def audio_other(audio_in: int, audio_out: int, text_in: int, text_out: int) -> dict:
    """``GenerateAudioOtherInfo``."""
    return text_other() | {
        "audio": True,
        "audio_input": audio_in,
        "audio_output": audio_out,
        "text_input": text_in,
        "text_output": text_out,
        "audio_ratio": 16,
        "audio_completion_ratio": 2,
    }


USAGE_ROWS = {
    # Claude, 1-hour and 5-minute writes split (the 1-hour fold: 140 rows of the export).
    "claude-1h": log_row(
        101,
        model="claude-sonnet-4-5",
        quota=3487,
        prompt=50,
        completion=200,
        other=claude_other(1000, 700, 300, 400),
    ),
    # Claude, a small cache beside a large prompt (the small-cache misread: 156 rows).
    "claude-5m-small": log_row(
        102,
        model="claude-sonnet-4-5",
        quota=8842,
        prompt=5000,
        completion=100,
        other=claude_other(200, 300, 300),
    ),
    "claude-older": log_row(
        103,
        model="claude-sonnet-4-5",
        quota=1650,
        prompt=100,
        completion=50,
        other=claude_other(0, 600, semantic=False),
    ),
    # OpenAI's usage: the cached tokens inside the prompt.
    "openai-cached": log_row(
        104, model="gpt-4o", quota=3250, prompt=2000, completion=300, other=text_other(1200)
    ),
    "audio": log_row(
        105,
        model="gpt-4o-audio-preview-2024-12-17",
        quota=14625,
        prompt=500,
        completion=300,
        other=audio_other(200, 250, 300, 50),
    ),
    # relay/image_handler.go, ``ImageHelper``: prompt_tokens 1 when the upstream reports none.
    "image": log_row(
        106,
        model="dall-e-3",
        quota=40000,
        prompt=1,
        content="大小 1024x1024, 品质 standard, 生成数量 2",
        other=text_other(),
    ),
    # model/log.go, ``RecordErrorLog``.
    "error": log_row(
        107, kind=ERROR, model="gpt-4o", quota=0, content="status_code=500, upstream error", other={}
    ),
}

EXPECTED = {
    "claude-1h": {
        "prompt_tokens": 1750,
        "cache_read_tokens": 1000,
        "cache_write_tokens": 300,
        "cache_write_1h_tokens": 400,
        "completion_tokens": 200,
    },
    "claude-5m-small": {
        "prompt_tokens": 5500,
        "cache_read_tokens": 200,
        "cache_write_tokens": 300,
        "completion_tokens": 100,
    },
    "claude-older": {"prompt_tokens": 700, "cache_write_tokens": 600, "completion_tokens": 50},
    "openai-cached": {"prompt_tokens": 2000, "cache_read_tokens": 1200, "completion_tokens": 300},
    "audio": {
        "prompt_tokens": 500,
        "audio_prompt_tokens": 200,
        "completion_tokens": 300,
        "audio_completion_tokens": 250,
    },
    "image": {"prompt_tokens": 1, "images": 2},
    "error": {},
}

SELL = {
    # 1-hour writes at 6 (2× input), not at the 5-minute 3.75.
    "claude-1h": per_million((50, "3"), (1000, "0.3"), (300, "3.75"), (400, "6"), (200, "15")),
    # All 5,000 input tokens, not 4,500: Claude's cache is beside its prompt.
    "claude-5m-small": per_million((5000, "3"), (200, "0.3"), (300, "3.75"), (100, "15")),
    "claude-older": per_million((100, "3"), (600, "3.75"), (50, "15")),
    "openai-cached": per_million((800, "2.5"), (1200, "1.25"), (300, "10")),
    "audio": per_million((300, "2.5"), (200, "40"), (50, "10"), (250, "80")),
    "image": 2 * Decimal("0.3"),
}

# Asynchronous tasks' settlements: no tokens, the quota difference (or the refund) as the gateway's cost.
ADJUSTMENT_ROWS = {
    # model/log.go, ``RecordReConsumeLog``: type 2 with the quota difference, negative when quota went back;
    # no token name.
    "reconsume-back": log_row(
        201,
        model="sora-2",
        quota=-25000,
        content="视频任务 task_8f2 退还额度",
        token_name="",
        is_stream=False,
        token_id=0,
        other={
            "task_id": "task_8f2",
            "model_ratio": 0,
            "group_ratio": 1,
            "total_tokens": 0,
            "pre_consumed": 75000,
            "actual_quota": 50000,
            "quota_delta": -25000,
        },
    ),
    # service/task_billing.go, ``RecalculateTaskQuota``: more charged (type 2, the positive difference) …
    "recalculate-more": log_row(
        202,
        model="sora-2",
        quota=5000,
        content="token重算：tokens=1200, modelRatio=2.00, groupRatio=1.00, otherMultiplier=1.0000",
        is_stream=False,
        other={
            "model_price": 0,
            "model_ratio": 2,
            "group_ratio": 1,
            "task_id": "task_9a1",
            "pre_consumed_quota": 20000,
            "actual_quota": 25000,
        },
    ),
    # … and ``RefundTaskQuota``: a failed task's quota given back (type 6, positive).
    "refund": log_row(
        203,
        kind=REFUND,
        model="sora-2",
        quota=30000,
        is_stream=False,
        other={"model_price": 0.06, "group_ratio": 1, "task_id": "task_7c3", "reason": "任务失败"},
    ),
}
# quota ÷ 500,000 per USD, signed as the gateway's quota moved: a refund is a negative cost.
ADJUSTMENT_COST = {
    "reconsume-back": Decimal("-0.05"),
    "recalculate-more": Decimal("0.01"),
    "refund": Decimal("-0.06"),
}


def canonical(row: dict):
    event = event_validate(newapi.to_canonical(row), 0, now=AT)
    assert not isinstance(event, list), event
    return event


@pytest.mark.parametrize("name", USAGE_ROWS)
def test_each_class_new_api_logs_is_read(name):
    event = canonical(USAGE_ROWS[name])
    assert counts(event) == EXPECTED[name]
    assert event.succeeded is (name != "error") and "adjustment" not in event.metadata
    assert event.upstream_account == "channel:4"


@pytest.mark.parametrize("name", ADJUSTMENT_ROWS)
def test_task_settlements_and_refunds_are_adjustments_with_the_signed_quota(name):
    event = canonical(ADJUSTMENT_ROWS[name])
    assert event.metadata["adjustment"] is True and not event.succeeded and counts(event) == {}
    assert (event.gateway_cost, event.gateway_cost_currency) == (ADJUSTMENT_COST[name], "USD")
    assert event.metadata["task_id"] == json.loads(ADJUSTMENT_ROWS[name]["other"])["task_id"]


def test_a_negative_quota_with_tokens_is_no_adjustment_but_an_error():
    row = {**USAGE_ROWS["openai-cached"], "quota": -100}
    assert [e.field for e in event_validate(newapi.to_canonical(row), 0, now=AT)] == ["gateway_cost"]


def test_a_consume_row_without_tokens_or_a_task_settlement_stays_usage():
    """A task's first charge (``LogTaskConsumption``: tokens 0, positive quota) is the request itself."""
    row = log_row(301, model="sora-2", quota=20000, other={"is_task": True, "model_price": 0.04})
    event = canonical(row)
    assert event.succeeded and "adjustment" not in event.metadata and event.gateway_cost == Decimal("0.04")


@pytest.fixture
def newapi_source():
    source, token = source_make(
        name="newapi-prod", kind="newapi", quota_per_unit=QUOTA_PER_USD, cost_currency="USD"
    )
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return source, client


@pytest.fixture
def catalog():
    gateway_catalog()
    priced("sora-2", tier(input="0", output="0"), vendor="OpenAI")
    customer = GatewayKey.objects.get(key="key-a").customer
    # RecordReConsumeLog leaves token_name blank: the connector keys such a row by username.
    GatewayKey.objects.create(key="acme", customer=customer)
    return customer


def deliver(client, rows) -> dict:
    body = json.dumps(list(rows)).encode()
    response = client.generic(
        "POST", "/api/v1/usage/batches?connector=newapi", body, content_type="application/json"
    )
    assert response.status_code == 200, response.content
    return response.json()


def stored(rows: dict) -> dict:
    return {name: UsageEvent.objects.get(request_id=f"log-{row['id']}") for name, row in rows.items()}


@pytest.mark.django_db
def test_rows_are_rated_by_class_and_adjustments_are_kept_and_charge_nothing(newapi_source, catalog):
    _, client = newapi_source
    usage = deliver(client, USAGE_ROWS.values())
    assert (usage["accepted"], usage["rejected"]) == (len(USAGE_ROWS), 0)
    for name, event in stored(USAGE_ROWS).items():
        assert counts(event) == EXPECTED[name], name
        if name != "error":
            assert event.rating_state == RatingState.RATED, (name, event.unrated_reason)
            assert (event.sell_amount, event.cost_amount) == (SELL[name], SELL[name] / 2), name
        assert event.gateway_cost == Decimal(USAGE_ROWS[name]["quota"]) / QUOTA_PER_USD
    wallet = Wallet.objects.get(customer=catalog)
    charged = wallet_balance(wallet=wallet)

    adjustments = deliver(client, ADJUSTMENT_ROWS.values())

    assert (adjustments["accepted"], adjustments["rejected"], adjustments["errors"]) == (3, 0, [])
    for name, event in stored(ADJUSTMENT_ROWS).items():
        assert not event.succeeded and event.metadata["adjustment"] is True and counts(event) == {}
        assert event.gateway_cost == ADJUSTMENT_COST[name]
        assert not event.sell_amount
    assert wallet_balance(wallet=wallet) == charged


@pytest.mark.django_db
def test_a_csv_export_of_the_logs_table_is_ingested_with_its_adjustments(
    newapi_source, catalog, tmp_path, capsys
):
    path = tmp_path / "logs.csv"
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows([*USAGE_ROWS.values(), *ADJUSTMENT_ROWS.values()])

    call_command("ingest", str(path), "--format", "newapi", "--source", "newapi-prod")

    result = json.loads(capsys.readouterr().out)
    assert (result["accepted"], result["rejected"]) == (len(USAGE_ROWS) + len(ADJUSTMENT_ROWS), 0)
    for name, event in stored(USAGE_ROWS).items():
        assert counts(event) == EXPECTED[name], name
    assert {name: e.gateway_cost for name, e in stored(ADJUSTMENT_ROWS).items()} == ADJUSTMENT_COST
