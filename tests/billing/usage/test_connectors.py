"""Each connector parses samples built from its gateway's public field list; files go through the CLI."""

import hashlib
import json
from decimal import Decimal

import pytest
from django.core.management import call_command

from billing.usage.connectors import litellm, newapi, openrouter
from billing.usage.events import event_validate
from billing.usage.models import GatewaySource, RatingState, UsageBatch, UsageEvent
from billing.usage.services import usage_batch_ingest
from tests.billing.usage.factories import AT, alias_add, event

pytestmark = pytest.mark.django_db

LITELLM = {
    "id": "chatcmpl-123",
    "trace_id": "t-1",
    "call_type": "acompletion",
    "status": "success",
    "model": "deepseek/deepseek-chat",
    "model_group": "deepseek-chat",
    "model_id": "deploy-7",
    "custom_llm_provider": "deepseek",
    "api_base": "https://api.deepseek.com",
    "prompt_tokens": 1000,
    "completion_tokens": 500,
    "total_tokens": 1500,
    "startTime": AT.timestamp(),
    "endTime": AT.timestamp() + 2.5,
    "response_cost": 0.00042,
    "metadata": {
        "user_api_key_hash": "key-a",
        "user_api_key_alias": "acme-prod",
        "usage_object": {
            "prompt_tokens": 1000,
            "completion_tokens": 500,
            "prompt_tokens_details": {"cached_tokens": 200},
            "completion_tokens_details": {"reasoning_tokens": 100},
        },
    },
    "hidden_params": {"model_id": "deploy-7", "batch_models": None},
    "cache_hit": False,
}

NEWAPI = {
    "id": 9001,
    "user_id": 3,
    "created_at": int(AT.timestamp()),
    "type": 2,
    "content": "模型倍率 1.00",
    "username": "acme",
    "token_name": "key-a",
    "model_name": "deepseek-chat",
    "quota": 3000,
    "prompt_tokens": 1000,
    "completion_tokens": 500,
    "use_time": 3,
    "is_stream": True,
    "channel": 4,
    "token_id": 12,
    "group": "default",
    "other": json.dumps({"cache_tokens": 100, "model_ratio": 1}),
}

OPENROUTER = {
    "data": {
        "id": "gen-3bhGkxlo4XFrqiabUM7NDtwDzWwG",
        "upstream_id": "chatcmpl-791bcf62",
        "total_cost": 0.0015,
        "created_at": AT.isoformat(),
        "model": "deepseek/deepseek-chat",
        "streamed": True,
        "cancelled": False,
        "provider_name": "DeepSeek",
        "tokens_prompt": 1000,
        "tokens_completion": 500,
        "native_tokens_prompt": 1000,
        "native_tokens_completion": 500,
        "native_tokens_reasoning": 50,
        "native_tokens_cached": 300,
        "external_user": "key-a",
        "finish_reason": "stop",
    }
}


def canonical(connector, record, source=None):
    event = event_validate(connector.to_canonical(record, source=source), 0, now=AT)
    assert not isinstance(event, list), event
    return event


def test_litellm_payload():
    event = canonical(litellm, LITELLM)
    assert (event.request_id, event.key, event.model, event.upstream_account) == (
        "chatcmpl-123",
        "key-a",
        "deepseek-chat",
        "deploy-7",
    )
    assert (
        event.prompt_tokens,
        event.cache_read_tokens,
        event.completion_tokens,
        event.reasoning_tokens,
    ) == (
        1000,
        200,
        500,
        100,
    )
    assert event.occurred_at == AT and event.succeeded and not event.batch
    assert event.gateway_cost == Decimal("0.00042") and event.gateway_cost_currency == "USD"


def test_litellm_anthropic_cache_counts_and_failure():
    record = {
        **LITELLM,
        "status": "failure",
        "prompt_tokens": 10,
        "metadata": {
            "user_api_key_hash": "k",
            "usage_object": {"cache_read_input_tokens": 500, "cache_creation_input_tokens": 20},
        },
    }
    event = canonical(litellm, record)
    assert (event.prompt_tokens, event.cache_read_tokens, event.cache_write_tokens) == (530, 500, 20)
    assert not event.succeeded


def test_newapi_consume_log_converts_quota_with_the_instance_ratio():
    source = GatewaySource(name="n", kind="newapi", quota_per_unit=Decimal(500000), cost_currency="USD")
    event = canonical(newapi, NEWAPI, source)
    assert (event.request_id, event.key, event.model, event.upstream_account) == (
        "log-9001",
        "key-a",
        "deepseek-chat",
        "channel:4",
    )
    assert (event.prompt_tokens, event.cache_read_tokens, event.completion_tokens) == (1000, 100, 500)
    assert event.gateway_cost == Decimal("0.006") and event.gateway_cost_currency == "USD"
    with pytest.raises(newapi.ConnectorError, match="not usage"):
        newapi.to_canonical({**NEWAPI, "type": 1})


def test_openrouter_generation_record():
    event = canonical(openrouter, OPENROUTER)
    assert (event.request_id, event.key, event.model, event.upstream_account) == (
        "gen-3bhGkxlo4XFrqiabUM7NDtwDzWwG",
        "key-a",
        "deepseek/deepseek-chat",
        "DeepSeek",
    )
    assert (event.prompt_tokens, event.cache_read_tokens, event.reasoning_tokens) == (1000, 300, 50)


@pytest.mark.parametrize("fmt,record", [("litellm", LITELLM), ("newapi", NEWAPI), ("openrouter", OPENROUTER)])
def test_each_connector_rates_end_to_end(fmt, record, source, prepaid, model):
    alias_add(model, "deepseek/deepseek-chat")
    result = usage_batch_ingest(source=source, records=[record], fmt=fmt)
    assert (result.accepted, result.unrated, result.rejected) == (1, 0, 0)
    assert UsageEvent.objects.get().rating_state == RatingState.RATED


def test_ingest_command_reads_newapi_csv_export(tmp_path, prepaid, capsys):
    path = tmp_path / "logs.csv"
    header = "id,created_at,type,username,token_name,model_name,quota,prompt_tokens,completion_tokens,"
    header += "channel,other\n"
    rows = [
        f"{i},{int(AT.timestamp())},2,acme,key-a,deepseek-chat,3000,1000,500,4,\n" for i in range(1, 4)
    ] + [f"99,{int(AT.timestamp())},1,acme,key-a,,0,0,0,,\n"]
    path.write_text(header + "".join(rows))

    call_command("ingest", str(path), "--format", "newapi", "--source", "newapi-prod")
    call_command("ingest", str(path), "--format", "newapi", "--source", "newapi-prod")

    out = capsys.readouterr().out
    assert out.count('"accepted": 3') == 2 and '"rejected": 1' in out and '"duplicates": 0' in out
    assert UsageEvent.objects.filter(rating_state=RatingState.RATED).count() == 3
    # Keyed by the file's content: the second run replayed the first one's batch and answer.
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:32]
    keys = UsageBatch.objects.filter(source__name="newapi-prod").values_list("idempotency_key", flat=True)
    assert [key.rsplit(":", 1)[0].removesuffix(":bulk") for key in keys] == [f"file:{digest}"]


def test_ingest_command_reads_a_pipe(tmp_path, prepaid, model, capsys):
    """A pipe (``<(zcat …)``, /dev/stdin) can be read once: the command copies it aside to hash it first,
    so the events are ingested, not an empty read after the hash."""
    import os
    import threading

    lines = "".join(json.dumps(event(f"p{i}", prompt=100, completion=10)) + "\n" for i in range(3))
    fifo = tmp_path / "usage.pipe"
    os.mkfifo(fifo)
    writer = threading.Thread(target=fifo.write_text, args=(lines,))
    writer.start()
    # Were the pipe opened a second time, that read would wait for a writer for ever: give it an empty
    # one after a while, so the test fails instead of hanging.
    release = threading.Timer(10, lambda: os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)))
    release.start()

    call_command("ingest", str(fifo), "--source", "piped")
    release.cancel()
    writer.join()

    assert '"accepted": 3' in capsys.readouterr().out
    assert UsageEvent.objects.filter(source__name="piped").count() == 3
