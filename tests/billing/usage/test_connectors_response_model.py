"""Each gateway connector keeps the model the upstream answered with as ``metadata.response_model``."""

import json

import pytest

from billing.usage.connectors import litellm, newapi, openrouter
from billing.usage.models import UsageEvent
from billing.usage.services import usage_batch_ingest
from tests.billing.usage.test_connectors import LITELLM, NEWAPI, OPENROUTER, canonical

pytestmark = pytest.mark.django_db


def test_litellm_keeps_the_providers_response_model():
    record = {**LITELLM, "response": {"id": "chatcmpl-123", "model": "deepseek-chat-v3-0324", "choices": []}}
    event = canonical(litellm, record)
    assert event.model == "deepseek-chat"  # still rated as the model group the caller asked for
    assert event.metadata["response_model"] == "deepseek-chat-v3-0324"
    assert event.metadata["model"] == "deepseek/deepseek-chat"  # the deployment's configured model


@pytest.mark.parametrize(
    "response",
    [None, "redacted-by-litellm", {"choices": []}, {"model": ""}, {"model": "   "}, {"model": ["x"]}],
)
def test_litellm_without_a_response_model_records_none(response):
    event = canonical(litellm, {**LITELLM, "response": response})
    assert "response_model" not in event.metadata


def test_newapi_keeps_the_mapped_upstream_model():
    other = {"cache_tokens": 100, "is_model_mapped": True, "upstream_model_name": "deepseek-v3"}
    event = canonical(newapi, {**NEWAPI, "other": json.dumps(other)})
    assert event.model == "deepseek-chat"
    assert event.metadata["response_model"] == "deepseek-v3"
    assert "response_model" not in canonical(newapi, NEWAPI).metadata
    assert "response_model" not in canonical(newapi, {**NEWAPI, "other": "not json"}).metadata


def test_openrouter_keeps_the_permaslug_of_the_attempt_that_answered():
    data = {
        **OPENROUTER["data"],
        "provider_responses": [
            {"status": 429, "provider_name": "Other", "model_permaslug": "deepseek/deepseek-chat-v3-0324"},
            {"status": 200, "provider_name": "DeepSeek", "model_permaslug": "deepseek/deepseek-chat-v3.1"},
        ],
    }
    event = canonical(openrouter, {"data": data})
    assert event.model == "deepseek/deepseek-chat"
    assert event.metadata["response_model"] == "deepseek/deepseek-chat-v3.1"


def test_openrouter_falls_back_to_the_records_permaslug_and_ignores_junk_attempts():
    data = {
        **OPENROUTER["data"],
        "provider_responses": [{"status": "200", "model_permaslug": "x"}, "junk", {"status": 500}],
        "model_permaslug": "deepseek/deepseek-chat-2025-03-24",
    }
    assert canonical(openrouter, data).metadata["response_model"] == "deepseek/deepseek-chat-2025-03-24"
    assert "response_model" not in canonical(openrouter, OPENROUTER).metadata


def test_response_model_is_stored_with_the_event(source, prepaid, model):
    record = {**LITELLM, "response": {"model": "deepseek-chat-0324"}}
    result = usage_batch_ingest(source=source, records=[record], fmt="litellm", idempotency_key="rm")
    assert result.accepted == 1
    stored = UsageEvent.objects.get(request_id="chatcmpl-123")
    assert stored.metadata["response_model"] == "deepseek-chat-0324"
