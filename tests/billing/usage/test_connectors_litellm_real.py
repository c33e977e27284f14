"""The LiteLLM connector reads what the real LiteLLM package sends: its SDK answers offline from each
provider's response body (an httpx mock transport stands in for the network, so LiteLLM's own provider
transformations shape the usage), its generic API logger builds and batches the StandardLoggingPayloads,
and the POST it would make is captured and sent to ``/api/v1/usage/litellm``."""

import asyncio
import copy
import io
import json
from dataclasses import dataclass, field
from decimal import Decimal

import httpx
import litellm
import openai
import pytest
from litellm.integrations.generic_api.generic_api_callback import GenericAPILogger
from litellm.llms.custom_httpx.http_handler import AsyncHTTPHandler

from billing.usage.connectors import litellm as connector
from billing.usage.connectors.base import ConnectorError
from billing.usage.events import event_validate
from billing.usage.models import RatingState, UsageEvent
from billing.wallets.models import Wallet
from billing.wallets.selectors import wallet_balance
from tests.billing.usage.connector_catalog import counts, gateway_catalog, per_million
from tests.billing.usage.factories import AT
from tests.billing.usage.litellm_logging import deliver, logged

ENDPOINT = "http://distributor.test/api/v1/usage/litellm"
# The logger's batch size: 300 requests arrive in several POSTs, as a busy proxy sends them.
BATCH = 100


@dataclass(frozen=True)
class Scenario:
    """``count`` requests to ``model`` (as the caller names it to LiteLLM), each answered with ``answer``
    (the provider's response body) and tagged by the key alias ``name`` in LiteLLM's metadata."""

    name: str
    count: int
    call: str
    model: str
    answer: dict
    params: dict = field(default_factory=dict)


def openai_chat(model: str, usage: dict, service_tier: str = "default") -> dict:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1796600000,
        "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}],
        "usage": usage,
        "service_tier": service_tier,
    }


def anthropic_message(usage: dict) -> dict:
    return {
        "id": "msg_01",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-5-20250929",
        "content": [{"type": "text", "text": "ok"}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {"service_tier": "standard", **usage},
    }


SCENARIOS = (
    # OpenAI's usage names cache writes prompt_tokens_details.cache_write_tokens, inside the prompt.
    Scenario(
        "openai-cache-write",
        20,
        "chat",
        "gpt-4o",
        openai_chat(
            "gpt-4o-2024-08-06",
            {
                "prompt_tokens": 2000,
                "completion_tokens": 300,
                "total_tokens": 2300,
                "prompt_tokens_details": {"cached_tokens": 1200, "cache_write_tokens": 400},
            },
        ),
    ),
    # Anthropic's raw usage: input_tokens beside the cache, cache_creation split by lifetime.
    Scenario(
        "anthropic-1h",
        9,
        "chat",
        "anthropic/claude-sonnet-4-5",
        anthropic_message(
            {
                "input_tokens": 50,
                "output_tokens": 200,
                "cache_read_input_tokens": 1000,
                "cache_creation_input_tokens": 700,
                "cache_creation": {"ephemeral_5m_input_tokens": 300, "ephemeral_1h_input_tokens": 400},
            }
        ),
    ),
    Scenario(
        "anthropic-5m",
        21,
        "chat",
        "anthropic/claude-sonnet-4-5",
        anthropic_message(
            {
                "input_tokens": 100,
                "output_tokens": 50,
                "cache_creation_input_tokens": 600,
                "cache_creation": {"ephemeral_5m_input_tokens": 600, "ephemeral_1h_input_tokens": 0},
            }
        ),
    ),
    Scenario(
        "audio",
        10,
        "chat",
        "openai/gpt-4o-audio-preview-2024-12-17",
        openai_chat(
            "gpt-4o-audio-preview-2024-12-17",
            {
                "prompt_tokens": 500,
                "completion_tokens": 300,
                "total_tokens": 800,
                "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 200},
                "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 250},
            },
        ),
    ),
    Scenario(
        "image",
        5,
        "image",
        "openai/dall-e-3",
        {
            "created": 1796600000,
            "data": [{"url": "https://img.test/1.png"}, {"url": "https://img.test/2.png"}],
        },
        {"n": 2},
    ),
    Scenario(
        "transcription",
        5,
        "transcription",
        "openai/whisper-1",
        {"text": "hello", "task": "transcribe", "language": "english", "duration": 12.345},
    ),
    Scenario(
        "flex",
        10,
        "chat",
        "o4-mini",
        openai_chat(
            "o4-mini-2025-04-16",
            {
                "prompt_tokens": 1000,
                "completion_tokens": 300,
                "total_tokens": 1300,
                "completion_tokens_details": {"reasoning_tokens": 100},
            },
            service_tier="flex",
        ),
        {"service_tier": "flex"},
    ),
    Scenario(
        "plain",
        220,
        "chat",
        "gpt-4o",
        openai_chat(
            "gpt-4o-2024-08-06", {"prompt_tokens": 1000, "completion_tokens": 100, "total_tokens": 1100}
        ),
    ),
)


class Capture:
    """Stands in for the generic API logger's HTTP client: keeps each body it POSTs."""

    def __init__(self):
        self.bodies: list[str] = []

    async def post(self, url, headers=None, data=None, timeout=None, **_):
        self.bodies.append(data)
        return httpx.Response(200, json={}, request=httpx.Request("POST", url))


def _answering(body: dict) -> httpx.MockTransport:
    return httpx.MockTransport(lambda request: httpx.Response(200, json=body))


async def _send(scenario: Scenario, number: int) -> None:
    answer = copy.deepcopy(scenario.answer)
    if "id" in answer:
        answer["id"] = f"{answer['id']}-{scenario.name}-{number}"
    tagged = {"metadata": {"user_api_key_hash": "key-a", "user_api_key_alias": scenario.name}}
    if scenario.model.startswith("anthropic/"):
        client = AsyncHTTPHandler(transport=_answering(answer))
        messages = [{"role": "user", "content": "hi"}]
        await litellm.acompletion(
            model=scenario.model, messages=messages, api_key="sk-test", client=client, **tagged
        )
        return
    client = openai.AsyncOpenAI(
        api_key="sk-test", http_client=httpx.AsyncClient(transport=_answering(answer))
    )
    kwargs = {"model": scenario.model, "client": client, **scenario.params, **tagged}
    if scenario.call == "image":
        await litellm.aimage_generation(prompt="a cat", **kwargs)
    elif scenario.call == "transcription":
        audio = io.BytesIO(b"RIFF\x00\x00\x00\x00WAVE")
        audio.name = "hello.wav"
        await litellm.atranscription(file=audio, response_format="verbose_json", **kwargs)
    else:
        await litellm.acompletion(messages=[{"role": "user", "content": "hi"}], **kwargs)


async def _run(capture: Capture) -> None:
    logger = GenericAPILogger(endpoint=ENDPOINT, async_httpx_client=capture, batch_size=BATCH)

    async def traffic():
        for scenario in SCENARIOS:
            for number in range(scenario.count):
                await _send(scenario, number)

    await logged(logger, traffic)


@pytest.fixture(scope="session")
def bodies() -> list[str]:
    """The JSON bodies LiteLLM's generic API logger POSTs for the scenarios' 300 requests."""
    capture = Capture()
    asyncio.run(_run(capture))
    return capture.bodies


@pytest.fixture(scope="session")
def payloads(bodies) -> dict[str, list[dict]]:
    """The StandardLoggingPayloads by scenario."""
    by_name: dict[str, list[dict]] = {}
    for body in bodies:
        for payload in json.loads(body):
            by_name.setdefault(payload["metadata"]["user_api_key_alias"], []).append(payload)
    return by_name


def canonical(payload: dict):
    event = event_validate(connector.to_canonical(payload), 0, now=AT.replace(year=2100))
    assert not isinstance(event, list), event
    return event


def test_the_logger_sends_every_request_once_in_batches(bodies, payloads):
    sizes = [len(json.loads(body)) for body in bodies]
    assert sum(sizes) == 300 and len(sizes) >= 3 and max(sizes) <= BATCH
    assert {name: len(found) for name, found in payloads.items()} == {s.name: s.count for s in SCENARIOS}
    assert len({p["id"] for found in payloads.values() for p in found}) == 300


EXPECTED = {
    # OpenAI's cache writes, inside its prompt: no longer dropped.
    "openai-cache-write": {
        "prompt_tokens": 2000,
        "cache_read_tokens": 1200,
        "cache_write_tokens": 400,
        "completion_tokens": 300,
    },
    # Anthropic's 1-hour writes are 1-hour writes, not folded into the 5-minute ones.
    "anthropic-1h": {
        "prompt_tokens": 1750,
        "cache_read_tokens": 1000,
        "cache_write_tokens": 300,
        "cache_write_1h_tokens": 400,
        "completion_tokens": 200,
    },
    "anthropic-5m": {"prompt_tokens": 700, "cache_write_tokens": 600, "completion_tokens": 50},
    "audio": {
        "prompt_tokens": 500,
        "audio_prompt_tokens": 200,
        "completion_tokens": 300,
        "audio_completion_tokens": 250,
    },
    "image": {"images": 2},
    "transcription": {"audio_ms": 12345},
    "flex": {"prompt_tokens": 1000, "completion_tokens": 300, "reasoning_tokens": 100},
    "plain": {"prompt_tokens": 1000, "completion_tokens": 100},
}


@pytest.mark.parametrize("name", EXPECTED)
def test_each_token_class_and_unit_litellm_reports_is_read(payloads, name):
    for payload in payloads[name]:
        event = canonical(payload)
        assert counts(event) == EXPECTED[name]
        assert event.key == "key-a" and event.succeeded and not event.batch
        assert event.service_tier == ("flex" if name == "flex" else "")


def test_the_service_tier_is_the_one_litellm_priced():
    """LiteLLM's cost breakdown names the tier it priced (blank: standard); without a breakdown the tier the
    provider answered with is read."""
    payload = {
        "id": "x",
        "startTime": AT.timestamp(),
        "model": "gpt-4o",
        "metadata": {"user_api_key_hash": "k"},
    }
    standard = {"cost_breakdown": {"service_tier": None}, "response": {"service_tier": "default"}}
    assert canonical({**payload, **standard}).service_tier == ""
    assert canonical({**payload, "response": {"service_tier": "priority"}}).service_tier == "priority"
    breakdown = {"cost_breakdown": {"service_tier": "priority"}, "response": {"service_tier": "default"}}
    assert canonical({**payload, **breakdown}).service_tier == "priority"
    assert canonical({**payload, "cost_breakdown": {"service_tier": None}}).service_tier == ""


def test_images_without_a_count_in_the_usage_are_counted_from_the_response(payloads):
    payload = copy.deepcopy(payloads["image"][0])
    del payload["metadata"]["usage_object"]["output_image_count"]
    assert canonical(payload).images == 2
    payload["response"] = "redacted-by-litellm"  # turn_off_message_logging: the n asked for, as LiteLLM bills
    assert canonical(payload).images == 2
    payload["status"] = "failure"
    assert canonical(payload).images == 0


def test_an_unreadable_transcription_duration_is_an_error_naming_it(payloads):
    payload = copy.deepcopy(payloads["transcription"][0])
    payload["response"]["duration"] = "long"
    with pytest.raises(ConnectorError) as caught:
        connector.to_canonical(payload)
    assert caught.value.field == "response.duration"
    payload["response"]["duration"] = 0.0004  # under half a millisecond
    assert canonical(payload).audio_ms == 0
    payload["hidden_params"]["audio_transcription_duration"] = 61.5  # LiteLLM's measured duration first
    assert canonical(payload).audio_ms == 61500


# What the default plan sells each scenario's request for (connector_catalog's prices, per million tokens
# unless said), computed by hand from the provider's usage.
SELL = {
    "openai-cache-write": per_million((400, "2.5"), (1200, "1.25"), (400, "3.125"), (300, "10")),
    # 1-hour writes at 6 (2× input), not at the 5-minute 3.75 (1.25×).
    "anthropic-1h": per_million((50, "3"), (1000, "0.3"), (300, "3.75"), (400, "6"), (200, "15")),
    "anthropic-5m": per_million((100, "3"), (600, "3.75"), (50, "15")),
    "audio": per_million((300, "2.5"), (200, "40"), (50, "10"), (250, "80")),
    "image": 2 * Decimal("0.3"),
    "transcription": Decimal("12.345") * Decimal("0.0001"),
    "flex": per_million((1000, "0.55"), (300, "2.2")),
    "plain": per_million((1000, "2.5"), (100, "10")),
}


@pytest.mark.django_db
def test_300_requests_are_rated_once_by_class_and_a_replay_charges_nothing(litellm_gateway, bodies, payloads):
    # given
    gateway_catalog()
    scenario_of = {p["id"]: name for name, found in payloads.items() for p in found}
    # when
    answers = [deliver(litellm_gateway, body) for body in bodies]
    # then
    sizes = [len(json.loads(body)) for body in bodies]
    assert [(a["accepted"], a["duplicates"], a["rejected"]) for a in answers] == [(n, 0, 0) for n in sizes]
    events = list(UsageEvent.objects.all())
    assert len(events) == 300 and {e.request_id for e in events} == set(scenario_of)
    for event in events:
        name = scenario_of[event.request_id]
        assert event.rating_state == RatingState.RATED, (name, event.unrated_reason)
        assert counts(event) == EXPECTED[name], name
        assert event.service_tier == ("flex" if name == "flex" else ""), name
        assert (event.sell_amount, event.cost_amount) == (SELL[name], SELL[name] / 2), name
        assert event.gateway_cost_currency == "USD" and event.gateway_cost is not None
    wallet = Wallet.objects.get(customer=events[0].customer)
    charged = wallet_balance(wallet=wallet)

    # The same POSTs again answer as the first time; the same payloads batched otherwise are duplicates.
    replays = [deliver(litellm_gateway, body) for body in bodies]
    rebatched = deliver(litellm_gateway, json.dumps([p for found in payloads.values() for p in found]))

    assert replays == answers
    assert (rebatched["accepted"], rebatched["duplicates"], rebatched["rejected"]) == (0, 300, 0)
    assert UsageEvent.objects.count() == 300
    assert wallet_balance(wallet=wallet) == charged
