"""Channels of five vendors (zones and key ids as their exports need) and models with the aliases vendors
report, made through the catalog services; sample files are under ``samples/``."""

from datetime import date
from pathlib import Path

import pytest
from django.utils import translation

from catalog.models import CostBasis, ModelAlias, Settlement
from catalog.services.contracts import channel_create, contract_create
from tests.catalog.factories import AIModelFactory, VendorFactory

SAMPLES = Path(__file__).parent / "samples"


def sample(name: str) -> bytes:
    return (SAMPLES / name).read_bytes()


@pytest.fixture(autouse=True)
def _english_and_media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    with translation.override("en"):
        yield


def _contract(vendor, name, currency):
    return contract_create(
        vendor=vendor,
        name=name,
        currency=currency,
        valid_from=date(2026, 1, 1),
        cost_basis=CostBasis.LIST_DISCOUNT,
        settlement=Settlement.POSTPAID,
    )


def _model(vendor, name, *aliases):
    model = AIModelFactory(vendor=vendor, name=name)
    for alias in aliases:
        ModelAlias.objects.create(model=model, alias=alias)
    return model


@pytest.fixture
def world(db):
    """Channels: openai-main (key_AbC123) and openai-eu (key_Eu999), anthropic-main (its api key id),
    openrouter, kimi-main and deepseek (alias ds-prod) in Asia/Shanghai."""
    openai = VendorFactory(name="OpenAI", slug="openai")
    anthropic = VendorFactory(name="Anthropic", slug="anthropic")
    openrouter = VendorFactory(name="OpenRouter", slug="openrouter")
    moonshot = VendorFactory(name="Moonshot", slug="moonshot")
    deepseek = VendorFactory(name="DeepSeek", slug="deepseek")
    models = {
        "gpt-4o-mini": _model(openai, "gpt-4o-mini", "gpt-4o-mini-2024-07-18"),
        "gpt-4.1": _model(openai, "gpt-4.1", "gpt-4.1-2025-04-14"),
        "claude-sonnet-4": _model(anthropic, "claude-sonnet-4", "claude-sonnet-4-20250514"),
        "kimi-k2": _model(moonshot, "kimi-k2", "kimi-k2-0905-preview"),
        "deepseek-chat": _model(deepseek, "deepseek-chat"),
        "deepseek-reasoner": _model(deepseek, "deepseek-reasoner", "deepseek-r1"),
    }
    openai_contract = _contract(openai, "OpenAI direct", "USD")
    channels = {
        "openai-main": channel_create(
            contract=openai_contract, name="openai-main", vendor_key_id="key_AbC123", reporting_zone="UTC"
        ),
        "openai-eu": channel_create(contract=openai_contract, name="openai-eu", vendor_key_id="key_Eu999"),
        "anthropic-main": channel_create(
            contract=_contract(anthropic, "Anthropic direct", "USD"),
            name="anthropic-main",
            vendor_key_id="apikey_01Rj2N8SVvo6BePZj99NhmiT",
        ),
        "openrouter": channel_create(
            contract=_contract(openrouter, "OpenRouter", "USD"), name="openrouter", kind="openrouter"
        ),
        "kimi-main": channel_create(
            contract=_contract(moonshot, "Moonshot", "CNY"),
            name="kimi-main",
            reporting_zone="Asia/Shanghai",
            reporting_lag_hours=8,
        ),
        "deepseek": channel_create(
            contract=_contract(deepseek, "DeepSeek", "CNY"),
            name="deepseek",
            reporting_zone="Asia/Shanghai",
            aliases=["ds-prod"],
        ),
    }
    return {"models": models, "channels": channels}
