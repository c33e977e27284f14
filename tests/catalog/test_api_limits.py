"""POST /api/v1/quotes reads at most MAX_QUOTE_BYTES; bodies beyond what JSON decoders read are a 400."""

import json

import pytest

from catalog.api import MAX_QUOTE_BYTES

pytestmark = pytest.mark.django_db

QUOTES = "/api/v1/quotes"


def post_raw(client, body, content_type="application/json", **extra):
    return client.generic("POST", QUOTES, body, content_type=content_type, **extra)


def test_a_body_over_the_limit_is_413_saying_it(staff_client):
    padded = json.dumps({"model": "deepseek-chat", "plan": "Standard"}).encode()
    over = padded[:-1] + b" " * (MAX_QUOTE_BYTES - len(padded) + 1) + b"}"

    response = post_raw(staff_client, over)

    assert len(over) == MAX_QUOTE_BYTES + 1
    assert response.status_code == 413
    body = response.json()
    assert body["limit_bytes"] == MAX_QUOTE_BYTES and str(MAX_QUOTE_BYTES) in body["detail"]


def test_a_declared_length_over_the_limit_is_refused_before_reading(staff_client):
    response = post_raw(staff_client, b"{}", CONTENT_LENGTH=str(MAX_QUOTE_BYTES + 1))

    assert response.status_code == 413


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (b"[" * 5000 + b"]" * 5000, "nested too deeply"),
        (b'{"model": "m", "prompt_tokens": 1e9999999999999999999999}', "too large"),
        (b'{"model": "m", "prompt_tokens": ' + b"9" * 5000 + b"}", "JSON parse error"),
        (b'{"model": "\xff"}', "JSON parse error"),
    ],
    ids=["deep", "huge-exponent", "huge-int", "not-utf8"],
)
def test_json_beyond_the_decoders_limits_is_a_400(staff_client, body, says):
    response = post_raw(staff_client, body)

    assert response.status_code == 400 and says in response.json()["detail"]


@pytest.mark.parametrize("model", ["deepseek\x00chat", "deepseek\x01", "  "], ids=["nul", "control", "blank"])
def test_a_model_name_with_control_characters_is_400_naming_model(staff_client, model):
    response = post_raw(staff_client, json.dumps({"plan": "Standard", "model": model}))

    assert response.status_code == 400 and response.json()["model"]


def test_a_form_body_is_415(staff_client):
    response = staff_client.post(QUOTES, {"model": "deepseek-chat"})

    assert response.status_code == 415
