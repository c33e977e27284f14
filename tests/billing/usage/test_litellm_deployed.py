"""LiteLLM as deployed (issue #22): the real package's generic API logger with its DEFAULT settings (batches
of up to 512 payloads; the 5-second flush is not waited for, the queue is flushed at the end as the
logger does on shutdown), 300 completions answered offline (an httpx mock transport), and the bodies it
POSTs sent to ``/api/v1/usage/litellm``.

Two kinds of traffic, as a proxy and an application calling the SDK send them: 200 requests with a proxy's
key metadata (its key hash, always sent; the key's alias; its team) and 100 SDK requests naming their end
user with ``user=``. Both go to one api base, an upstream account a channel's alias names.
"""

import asyncio
import copy
import json
import re
from datetime import date
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlparse

import httpx
import litellm
import openai
import pytest
import yaml
from litellm.integrations.generic_api.generic_api_callback import GenericAPILogger
from litellm.litellm_core_utils import logging_callback_manager as callback_manager
from litellm.litellm_core_utils.logging_callback_manager import LoggingCallbackManager
from litellm.secret_managers.main import get_secret
from rest_framework.test import APIClient

from billing.usage.connectors import litellm as connector
from billing.usage.events import event_validate
from billing.usage.models import RatingState, UsageEvent
from billing.wallets.models import Wallet
from billing.wallets.selectors import wallet_balance
from catalog.models import AIModel, BookKind, PriceBook, PriceEntry, PriceTier, Settlement, Vendor
from catalog.services.contracts import channel_create, contract_create
from common.stored_text import stored_render
from tests.billing.usage.connector_catalog import gateway_catalog, per_million
from tests.billing.usage.factories import AT, T0, customer_make, source_make
from tests.billing.usage.litellm_logging import deliver, logged

ENDPOINT = "http://distributor.test/api/v1/usage/litellm"
API_BASE = "https://eu.openai.example/v1"
# A proxy logs the SHA-256 of the virtual key it was called with: always sent, mapped by nobody here unless
# a test maps it.
KEY_HASH = "88dc28d0f030c55ed4ab77ed8faf098196cb1c05df778539800c9f1243fe6b4b"
PROXY_KEYS = {
    "user_api_key_hash": KEY_HASH,
    "user_api_key_alias": "acme-prod",
    "user_api_key_team_id": "team-7",
}
END_USER = "acme-app-user"
PROXIED, SDK = 200, 100
ANSWER = {
    "id": "chatcmpl-1",
    "object": "chat.completion",
    "created": 1796600000,
    "model": "gpt-4o-2024-08-06",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 1000, "completion_tokens": 100, "total_tokens": 1100},
}
# A short conversation: LiteLLM's payload of such a request is ~15 KB, so the 300 make ~4.5 MB.
MESSAGES = [{"role": "user", "content": f"question {n}: " + "lorem ipsum " * 60} for n in range(2)]
SELL = per_million((1000, "2.5"), (100, "10"))  # connector_catalog's gpt-4o sell prices
CHANNEL_COST = per_million((1000, "0.2"), (100, "0.8"))  # the channel's contract book


class Capture:
    """Stands in for the logger's HTTP client: keeps each body it POSTs, with its headers."""

    def __init__(self):
        self.posts: list[tuple[dict, str]] = []

    async def post(self, url, headers=None, data=None, timeout=None, **_):
        self.posts.append((dict(headers or {}), data))
        return httpx.Response(200, json={}, request=httpx.Request("POST", url))


def _client(number: int) -> openai.AsyncOpenAI:
    answer = {**copy.deepcopy(ANSWER), "id": f"chatcmpl-deployed-{number}"}
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json=answer))
    return openai.AsyncOpenAI(
        api_key="sk-test", base_url=API_BASE, http_client=httpx.AsyncClient(transport=transport)
    )


async def _traffic() -> None:
    for number in range(PROXIED + SDK):
        extra = {"metadata": dict(PROXY_KEYS)} if number < PROXIED else {"user": END_USER}
        await litellm.acompletion(model="gpt-4o", messages=MESSAGES, client=_client(number), **extra)


@pytest.fixture(scope="session")
def bodies() -> list[str]:
    """What LiteLLM's generic API logger, with its default batch size and flush interval, POSTs for the
    300 requests."""
    capture = Capture()

    async def run():
        logger = GenericAPILogger(endpoint=ENDPOINT, async_httpx_client=capture)
        assert logger.batch_size == litellm.DEFAULT_BATCH_SIZE == 512  # the defaults, untouched
        await logged(logger, _traffic)

    asyncio.run(run())
    return [data for _headers, data in capture.posts]


def test_the_default_logger_sends_every_request_once_in_bodies_of_megabytes(bodies):
    payloads = [p for body in bodies for p in json.loads(body)]
    assert len(payloads) == 300 and len({p["id"] for p in payloads}) == 300
    assert all(len(json.loads(body)) <= 512 for body in bodies)
    # ~15 KB a payload: the default batch of a busy proxy is megabytes. The 300 requests take a few seconds,
    # less than the 5-second flush: they make one body of ~4.5 MB, the size the issue saw refused.
    assert max(len(body.encode()) for body in bodies) > 1_000_000
    assert sum(len(body.encode()) for body in bodies) > 4_000_000


def channel_on_api_base() -> None:
    """A CNY contract whose channel's alias is the api base: its book, not the best cost book, prices the
    cost of every event whose upstream account is that api base."""
    model = AIModel.objects.get(name="gpt-4o")
    book = PriceBook.objects.create(name="eu-openai", kind=BookKind.COST, currency="CNY")
    entry = PriceEntry.objects.create(book=book, model=model, effective_from=T0)
    PriceTier.objects.create(entry=entry, lo=0, input=Decimal("0.2"), output=Decimal("0.8"))
    contract = contract_create(
        vendor=Vendor.objects.get(slug="openai"),
        name="OpenAI EU",
        currency="CNY",
        valid_from=date(2026, 1, 1),
        cost_book=book,
        settlement=Settlement.POSTPAID,
    )
    channel_create(contract=contract, name="openai-eu", aliases=[API_BASE])


def ingest(litellm_gateway, bodies) -> list[UsageEvent]:
    answers = [deliver(litellm_gateway, body) for body in bodies]
    sizes = [len(json.loads(body)) for body in bodies]
    assert [(a["accepted"], a["duplicates"], a["rejected"], a["unrated"]) for a in answers] == [
        (n, 0, 0, 0) for n in sizes
    ]
    return list(UsageEvent.objects.order_by("request_id"))


def is_proxied(event: UsageEvent) -> bool:
    return int(event.request_id.rsplit("-", 1)[1]) < PROXIED


@pytest.mark.django_db
def test_alias_and_end_user_mappings_rate_all_300_once_on_the_api_base_channel(litellm_gateway, bodies):
    """The proxy's key hash is mapped by nobody: its alias names the customer. SDK traffic's ``user=`` is
    the end user."""
    # given
    gateway_catalog()
    channel_on_api_base()
    proxied_customer = customer_make(key="acme-prod")
    sdk_customer = customer_make(key=END_USER)
    # when
    events = ingest(litellm_gateway, bodies)
    # then
    assert len(events) == 300 and len({e.request_id for e in events}) == 300
    for event in events:
        customer, key = (proxied_customer, "acme-prod") if is_proxied(event) else (sdk_customer, END_USER)
        assert (event.customer_id, event.gateway_key) == (customer.pk, key), event.request_id
        assert event.rating_state == RatingState.RATED
        assert event.upstream_account == API_BASE
        assert (event.sell_amount, event.cost_amount, event.cost_currency) == (SELL, CHANNEL_COST, "CNY")
    balances = {
        c: wallet_balance(wallet=Wallet.objects.get(customer=c)) for c in (proxied_customer, sdk_customer)
    }

    # A replay of the same POSTs answers as the first time and charges nothing.
    replays = [deliver(litellm_gateway, body) for body in bodies]

    assert [(r["accepted"], r["duplicates"]) for r in replays] == [(len(json.loads(b)), 0) for b in bodies]
    assert UsageEvent.objects.count() == 300
    assert {c: wallet_balance(wallet=Wallet.objects.get(customer=c)) for c in balances} == balances


@pytest.mark.django_db
def test_the_proxy_key_hash_goes_first_when_it_is_mapped(litellm_gateway, bodies):
    # given: the hash and the alias name different customers; the hash is tried first
    gateway_catalog()
    by_hash = customer_make(key=KEY_HASH)
    customer_make(key="acme-prod")
    sdk_customer = customer_make(key=END_USER)
    # when
    events = ingest(litellm_gateway, bodies)
    # then
    proxied = [e for e in events if is_proxied(e)]
    assert len(proxied) == PROXIED
    assert {(e.customer_id, e.gateway_key) for e in proxied} == {(by_hash.pk, KEY_HASH)}
    assert {e.customer_id for e in events if not is_proxied(e)} == {sdk_customer.pk}
    # No channel names the api base: the best cost book (half the sell price) prices the cost.
    assert {(e.upstream_account, e.cost_amount) for e in events} == {(API_BASE, SELL / 2)}


@pytest.mark.django_db
def test_an_event_none_of_whose_keys_is_mapped_is_unrated_naming_each_key_tried(litellm_gateway, bodies):
    gateway_catalog()
    answers = [deliver(litellm_gateway, body) for body in bodies]
    assert sum(a["unrated"] for a in answers) == 300
    proxied = UsageEvent.objects.get(request_id=f"chatcmpl-deployed-{PROXIED - 1}")
    assert proxied.gateway_key == KEY_HASH and proxied.customer_id is None
    tried = f"'{KEY_HASH}', 'acme-prod', 'team-7'"
    assert proxied.unrated_reason == (
        f"unknown_key: no customer has any of the keys {tried} (tried in this order)"
    )
    assert stored_render(proxied.unrated_message, language="zh-hans") == (
        f"未知密钥：没有客户使用以下任一密钥：{tried}（按此顺序尝试）"
    )
    sdk = UsageEvent.objects.get(request_id=f"chatcmpl-deployed-{PROXIED}")
    assert sdk.unrated_reason == f"unknown_key: no customer has key '{END_USER}'"


def test_the_upstream_account_is_the_deployment_then_the_api_base_then_the_model_group(bodies):
    """The order of the module docstring: the deployment id of proxied traffic keeps mapping as before."""
    payload = json.loads(bodies[0])[0]

    def upstream(**changes) -> str:
        record = copy.deepcopy(payload)
        for name, value in changes.items():
            if name.startswith("hidden_"):
                record["hidden_params"][name.removeprefix("hidden_")] = value
            else:
                record[name] = value
        event = event_validate(connector.to_canonical(record), 0, now=AT.replace(year=2100))
        assert not isinstance(event, list), event
        return event.upstream_account

    assert payload["api_base"] == API_BASE and not payload["model_id"]
    assert upstream() == API_BASE
    assert upstream(model_id="deploy-1", hidden_model_id="deploy-2") == "deploy-1"
    assert upstream(hidden_model_id="deploy-2") == "deploy-2"
    # SDK traffic whose payload leaves the api base out at the top: LiteLLM's hidden params carry it.
    assert upstream(api_base="", hidden_api_base="https://api.openai.com") == "https://api.openai.com"
    assert upstream(api_base="", hidden_api_base=None, model_group="gpt-4o-eu") == "gpt-4o-eu"


README_BLOCK = re.compile(r"<!-- litellm-config -->\s*```yaml\n(.*?)```", re.DOTALL)


@pytest.mark.django_db
def test_the_readme_proxy_configuration_makes_litellm_post_to_our_endpoint(monkeypatch):
    """The ``config.yaml`` block of the README, read by LiteLLM's own loader code (the part of the proxy's
    ``load_config`` that turns a ``callback_settings`` entry of ``callback_type: generic_api`` into a
    logger; ``os.environ/`` values are resolved with ``get_secret``, as the proxy resolves every one), builds
    a generic API logger that POSTs to ``/api/v1/usage/litellm`` with the source's bearer token: what it
    sends is ingested."""
    # given
    gateway_catalog()
    source, token = source_make(name="litellm-proxy", kind="litellm")
    block = README_BLOCK.search((Path(__file__).parents[3] / "README.md").read_text())
    assert block is not None, "README.md has no <!-- litellm-config --> yaml block"
    config = yaml.safe_load(block.group(1))
    monkeypatch.setenv("DISTRIBUTOR_USAGE_AUTHORIZATION", f"Bearer {token}")

    def resolved(value):
        if isinstance(value, dict):
            return {k: resolved(v) for k, v in value.items()}
        return get_secret(value) if isinstance(value, str) and value.startswith("os.environ/") else value

    settings = resolved(config["callback_settings"])
    monkeypatch.setattr(litellm, "callback_settings", settings)
    capture = Capture()

    async def run():
        (name,) = config["litellm_settings"]["callbacks"]
        logger = LoggingCallbackManager.add_custom_callback_generic_api_str(name)
        assert isinstance(logger, GenericAPILogger)
        assert urlparse(logger.endpoint).path == "/api/v1/usage/litellm"
        assert logger.headers["Authorization"] == f"Bearer {token}"
        # LiteLLM drops a batch whose POST failed: the README's block retries it (timeouts, 5xx).
        assert (logger.max_retries, logger.retry_delay, logger.timeout) == (5, 2.0, 60)
        logger.async_httpx_client = capture

        async def one_request():
            await litellm.acompletion(
                model="gpt-4o",
                messages=MESSAGES[:1],
                client=_client(9999),
                metadata={"user_api_key_alias": "key-a"},
            )

        try:
            await logged(logger, one_request)
        finally:
            callback_manager._generic_api_logger_cache.pop(name, None)  # built for this test only

    asyncio.run(run())
    # when: the POST LiteLLM made, with its own headers
    ((headers, body),) = capture.posts
    client = APIClient()
    response = client.generic(
        "POST",
        "/api/v1/usage/litellm",
        body.encode(),
        content_type=headers["Content-Type"],
        HTTP_AUTHORIZATION=headers["Authorization"],
    )
    # then
    assert response.status_code == 200, response.content
    assert (response.json()["accepted"], response.json()["unrated"]) == (1, 0)
    assert UsageEvent.objects.get().source_id == source.pk


@pytest.mark.django_db
def test_behind_a_proxy_the_callers_user_never_names_the_customer(litellm_gateway):
    """A caller whose new virtual key nobody mapped sends ``user=`` naming the end user another customer's
    SDK traffic is mapped by. What the real package logs for it carries the proxy's key hash, so the end user
    is no candidate: the usage stays unrated on the hash and nothing is charged to that customer."""
    gateway_catalog()
    sdk_customer = customer_make(key=END_USER)
    new_key = {"user_api_key_hash": "hash-of-a-new-key", "user_api_key_end_user_id": END_USER}
    capture = Capture()

    async def run():
        async def caller_names_the_end_user():
            await litellm.acompletion(
                model="gpt-4o", messages=MESSAGES[:1], client=_client(7001), metadata=new_key, user=END_USER
            )

        logger = GenericAPILogger(endpoint=ENDPOINT, async_httpx_client=capture)
        await logged(logger, caller_names_the_end_user)

    asyncio.run(run())
    ((_headers, body),) = capture.posts
    (payload,) = json.loads(body)
    assert payload["model_parameters"]["user"] == END_USER  # the caller's user= is in the payload

    answer = deliver(litellm_gateway, body)

    assert (answer["accepted"], answer["unrated"]) == (1, 1)
    event = UsageEvent.objects.get()
    assert (event.gateway_key, event.customer_id) == ("hash-of-a-new-key", None)
    assert event.unrated_reason == "unknown_key: no customer has key 'hash-of-a-new-key'"
    assert not UsageEvent.objects.filter(customer=sdk_customer).exists()
