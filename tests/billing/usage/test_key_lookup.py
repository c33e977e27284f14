"""The customer key lookup (issue #22): the key candidates each connector sends, in order, and the order
staff see per gateway source."""

import pytest
from django.urls import reverse
from django.utils import translation
from drf_spectacular.generators import SchemaGenerator

from accounts.models import StaffRole
from billing.usage.connectors import litellm, newapi
from billing.usage.events import MAX_KEY_FALLBACKS, event_validate
from billing.usage.models import GatewaySource, RatingState, UsageEvent
from billing.usage.rerate import usage_rerate
from billing.usage.services import usage_batch_ingest
from tests.billing.factories import staff
from tests.billing.usage.factories import AT, customer_make, source_make

PROXY = {
    "id": "req-1",
    "startTime": AT.timestamp(),
    "model": "deepseek-chat",
    "metadata": {
        "user_api_key_hash": "hash-1",
        "user_api_key_alias": "alias-1",
        "user_api_key_team_id": "team-1",
        "user_api_key_team_alias": "team-alias-1",
        "user_api_key_end_user_id": "end-user-1",
    },
}


def keys(connector, record, source=None) -> tuple:
    event = event_validate(connector.to_canonical(record, source=source), 0, now=AT)
    assert not isinstance(event, list), event
    return event.keys


def test_litellm_tries_the_key_hash_alias_team_and_end_user_in_that_order():
    assert keys(litellm, PROXY) == ("hash-1", "alias-1", "team-1", "team-alias-1", "end-user-1")
    # The SDK's completion(user=…) lands in model_parameters.user (LiteLLM fills end_user on the proxy only).
    sdk = {**PROXY, "metadata": {"user_api_key_hash": None}, "model_parameters": {"user": " app-user "}}
    assert keys(litellm, sdk) == ("app-user",)
    proxy_end_user = {**sdk, "end_user": "end-user-2"}
    assert keys(litellm, proxy_end_user) == ("end-user-2",)
    # Older payloads name the team as team_id / team_alias; what is no key (an object, true) is skipped.
    older = {**PROXY, "metadata": {"user_api_key_hash": {"x": 1}, "team_id": "t", "team_alias": True}}
    assert keys(litellm, older) == ("t",)
    # Nothing at all: the key is required, as before.
    nothing = litellm.to_canonical({**PROXY, "metadata": {}})
    assert [(e.field, e.reason) for e in event_validate(nothing, 0, now=AT)] == [("key", "is required")]


def test_newapi_falls_back_from_the_token_name_to_the_user_name():
    source = GatewaySource(name="n", kind="newapi")
    row = {"id": 1, "type": 2, "created_at": int(AT.timestamp()), "model_name": "deepseek-chat"}
    assert keys(newapi, {**row, "token_name": "tok", "username": "acme"}, source) == ("tok", "acme")
    assert keys(newapi, {**row, "token_name": "", "username": "acme"}, source) == ("acme",)
    assert keys(newapi, {**row, "token_name": "tok", "username": 7}, source) == ("tok",)


@pytest.mark.django_db
def test_the_first_mapped_candidate_is_the_customer_and_a_source_mapping_beats_a_global_one(model):
    source, _token = source_make(kind="litellm")
    global_alias = customer_make(key="alias-1")
    own_team = customer_make(key="team-1", source=source)
    customer_make(key="team-1")  # a global mapping of the same team: the source's own wins
    records = [
        PROXY,
        {**PROXY, "id": "req-2", "metadata": {**PROXY["metadata"], "user_api_key_alias": "unmapped"}},
    ]

    result = usage_batch_ingest(source=source, records=records, fmt="litellm")

    assert (result.accepted, result.unrated) == (2, 0)
    stored = {e.request_id: (e.gateway_key, e.customer_id) for e in UsageEvent.objects.all()}
    assert stored == {"req-1": ("alias-1", global_alias.pk), "req-2": ("team-1", own_team.pk)}
    assert set(UsageEvent.objects.values_list("rating_state", flat=True)) == {RatingState.RATED}


@pytest.mark.django_db
def test_staff_see_each_sources_key_lookup_order_in_english_and_chinese(client):
    for name, kind in (("proxy", "litellm"), ("oneapi", "newapi"), ("inhouse", "generic")):
        source_make(name=name, kind=kind)
    client.force_login(staff(StaffRole.SUPPORT))

    with translation.override("en"):
        english = client.get(reverse("staff-gateway-sources")).content.decode()
        chinese = client.get(
            reverse("staff-gateway-sources"), HTTP_ACCEPT_LANGUAGE="zh-hans"
        ).content.decode()

    assert "Customer key lookup: 1. key hash 2. key alias 3. team 4. end user" in english
    assert "Customer key lookup: 1. token name 2. user name" in english
    assert "Customer key lookup: 1. key</div>" in english
    assert "客户密钥查找顺序： 1. 密钥哈希 2. 密钥别名 3. 团队 4. 终端用户" in chinese
    assert "客户密钥查找顺序： 1. 令牌名称 2. 用户名" in chinese


@pytest.mark.django_db
def test_the_openapi_schema_documents_key_fallbacks():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    field = schema["components"]["schemas"]["CanonicalEvent"]["properties"]["key_fallbacks"]
    assert field["type"] == "array" and field["maxItems"] == MAX_KEY_FALLBACKS
    assert field["items"] == {"type": "string", "maxLength": 200}
    assert "tried in order" in field["description"]


@pytest.mark.django_db
def test_rerating_tries_the_kept_fallbacks_once_a_mapping_names_one(model):
    source, _token = source_make(kind="litellm")
    usage_batch_ingest(source=source, records=[PROXY], fmt="litellm")
    event = UsageEvent.objects.get()
    assert (event.rating_state, event.gateway_key) == (RatingState.UNRATED, "hash-1")
    assert event.metadata["key_fallbacks"] == ["alias-1", "team-1", "team-alias-1", "end-user-1"]
    customer = customer_make(key="team-1")

    result = usage_rerate()

    event.refresh_from_db()
    assert (result.accepted, result.unrated) == (1, 0)
    assert (event.rating_state, event.customer_id, event.gateway_key) == (
        RatingState.RATED,
        customer.pk,
        "team-1",
    )
