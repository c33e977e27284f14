"""The customer key lookup (issue #22): the key candidates each connector sends, in order, and the order
staff see per gateway source."""

import pytest
from django.urls import reverse
from django.utils import translation
from drf_spectacular.generators import SchemaGenerator

from accounts.models import StaffRole
from billing.gateway.services import gateway_key_set_active
from billing.usage.bulk.ingest import bulk_ingest
from billing.usage.connectors import litellm, newapi
from billing.usage.events import MAX_KEY_FALLBACKS, event_validate
from billing.usage.models import GatewayKey, GatewaySource, RatingState, UsageEvent
from billing.usage.rerate import usage_rerate
from billing.usage.resolve import KEY_DISABLED, keys_resolve
from billing.usage.services import usage_batch_ingest
from common.stored_text import stored_render
from tests.billing.factories import staff
from tests.billing.usage.factories import AT, customer_make, event, source_make

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


def test_litellm_tries_the_key_hash_alias_and_team_in_that_order_and_the_end_user_only_without_a_hash():
    # Behind a proxy the end user (the caller's own ``user``) is never a candidate, in any of its fields.
    assert keys(litellm, PROXY) == ("hash-1", "alias-1", "team-1", "team-alias-1")
    caller_chosen = {**PROXY, "end_user": "victim", "model_parameters": {"user": "victim"}}
    assert keys(litellm, caller_chosen) == ("hash-1", "alias-1", "team-1", "team-alias-1")
    # The SDK's completion(user=…) lands in model_parameters.user (LiteLLM fills end_user on the proxy only).
    sdk = {**PROXY, "metadata": {"user_api_key_hash": None}, "model_parameters": {"user": " app-user "}}
    assert keys(litellm, sdk) == ("app-user",)
    assert keys(litellm, {**sdk, "metadata": {"user_api_key_hash": "  "}}) == ("app-user",)
    proxy_end_user = {**sdk, "end_user": "end-user-2"}
    assert keys(litellm, proxy_end_user) == ("end-user-2",)
    # Older payloads name the team as team_id / team_alias; what is no key (an object, true) is skipped,
    # but a hash field holding anything at all is a proxy's: its end user is still not tried.
    older = {
        **PROXY,
        "metadata": {"user_api_key_hash": {"x": 1}, "team_id": "t", "team_alias": True},
        "end_user": "victim",
    }
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

    assert (
        "Customer key lookup: 1. key hash 2. key alias 3. team 4. end user (only for traffic without a proxy "
        "key)"
    ) in english
    assert "Customer key lookup: 1. token name 2. user name" in english
    assert "Customer key lookup: 1. key</div>" in english
    assert (
        "客户密钥查找顺序： 1. 密钥哈希 2. 密钥别名 3. 团队 4. 终端用户（仅限不带代理密钥的流量）" in chinese
    )
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
    assert event.metadata["key_fallbacks"] == ["alias-1", "team-1", "team-alias-1"]
    customer = customer_make(key="team-1")

    result = usage_rerate()

    event.refresh_from_db()
    assert (result.accepted, result.unrated) == (1, 0)
    assert (event.rating_state, event.customer_id, event.gateway_key) == (
        RatingState.RATED,
        customer.pk,
        "team-1",
    )


def _new_virtual_key(request_id: str, **fields) -> dict:
    """A proxy payload of a virtual key nobody mapped yet (its hash only: no alias, no team)."""
    return {
        "id": request_id,
        "startTime": AT.timestamp(),
        "model": "deepseek-chat",
        "prompt_tokens": 1000,
        "completion_tokens": 500,
        "metadata": {"user_api_key_hash": "hash-new"},
        **fields,
    }


def _ingest(path: str, source, records: list, fmt: str = "litellm"):
    if path == "per-batch":
        return usage_batch_ingest(source=source, records=records, fmt=fmt)
    return bulk_ingest(source=source, records=records, fmt=fmt, key_prefix="file-1")


@pytest.mark.django_db
@pytest.mark.postgres
@pytest.mark.parametrize("path", ["per-batch", "bulk"])
def test_a_proxy_caller_cannot_bill_another_customer_by_naming_its_end_user(model, path):
    """A caller holding a new, unmapped virtual key sends ``user="acme-prod"`` (ACME's SDK traffic is mapped
    by that end user): in each field LiteLLM may carry it, it is not tried, and the usage stays unrated."""
    source, _token = source_make(kind="litellm")
    acme = customer_make(key="acme-prod")
    records = [
        _new_virtual_key("end-user", end_user="acme-prod"),
        _new_virtual_key(
            "end-user-id", metadata={"user_api_key_hash": "hash-new", "user_api_key_end_user_id": "acme-prod"}
        ),
        _new_virtual_key("body-user", model_parameters={"user": "acme-prod"}),
        # ACME's own SDK traffic (no proxy, so no key hash) is still its own.
        _new_virtual_key("sdk", metadata={}, model_parameters={"user": "acme-prod"}),
    ]

    result = _ingest(path, source, records)

    assert (result.accepted, result.unrated) == (4, 3)
    stored = {
        e.request_id: (e.gateway_key, e.customer_id, e.unrated_reason) for e in UsageEvent.objects.all()
    }
    unknown = ("hash-new", None, "unknown_key: no customer has key 'hash-new'")
    assert stored == {
        "end-user": unknown,
        "end-user-id": unknown,
        "body-user": unknown,
        "sdk": ("acme-prod", acme.pk, ""),
    }
    # Nor does re-rating try it: the end user was never kept as a fallback.
    assert usage_rerate().unrated == 3
    assert list(UsageEvent.objects.filter(customer=acme).values_list("request_id", flat=True)) == ["sdk"]


@pytest.mark.django_db
@pytest.mark.postgres
@pytest.mark.parametrize("path", ["per-batch", "bulk"])
def test_a_disabled_key_ends_the_lookup_instead_of_billing_the_next_candidates_customer(model, path):
    """An offboarded customer's key hash is disabled; its team is mapped to another customer. The usage is
    unrated, saying the key is disabled, through ingest and re-rating, until the key is enabled again."""
    source, _token = source_make(kind="litellm")
    offboarded = customer_make(key="hash-b")
    gateway_key_set_active(mapping=GatewayKey.objects.get(key="hash-b"), active=False)
    team = customer_make(key="shared-team")
    metadata = {"user_api_key_hash": "hash-b", "user_api_key_team_id": "shared-team"}
    records = [_new_virtual_key("r1", metadata=metadata)]

    result = _ingest(path, source, records)

    assert (result.accepted, result.unrated) == (1, 1)
    event = UsageEvent.objects.get()
    disabled = (RatingState.UNRATED, None, "hash-b", "unknown_key: the gateway key 'hash-b' is disabled")
    assert (event.rating_state, event.customer_id, event.gateway_key, event.unrated_reason) == disabled
    assert stored_render(event.unrated_message, language="zh-hans") == "未知密钥：网关密钥 'hash-b' 已停用"
    assert event.metadata["key_fallbacks"] == ["shared-team"]

    assert usage_rerate().unrated == 1
    event.refresh_from_db()
    assert (event.rating_state, event.customer_id, event.gateway_key, event.unrated_reason) == disabled
    assert not UsageEvent.objects.filter(customer=team).exists()

    gateway_key_set_active(mapping=GatewayKey.objects.get(key="hash-b"), active=True)
    assert usage_rerate().unrated == 0
    event.refresh_from_db()
    assert (event.rating_state, event.customer_id, event.gateway_key) == (
        RatingState.RATED,
        offboarded.pk,
        "hash-b",
    )


@pytest.mark.django_db
def test_a_single_disabled_key_is_unrated_unknown_key_saying_it_is_disabled(model):
    source, _token = source_make()
    customer_make(key="gone")
    GatewayKey.objects.filter(key="gone").update(is_active=False)

    usage_batch_ingest(source=source, records=[event("r1", key="gone")])

    stored = UsageEvent.objects.get()
    assert (stored.gateway_key, stored.customer_id) == ("gone", None)
    assert stored.unrated_reason == "unknown_key: the gateway key 'gone' is disabled"
    assert stored.unrated_message["params"]["detail"]["key"] == "usage.unrated.disabled_key"


@pytest.mark.django_db
def test_an_active_mapping_in_the_other_scope_beats_a_disabled_one():
    """Moving a key is disabling its old mapping and mapping it again, in either scope: the new one names the
    customer. Only a key with no active mapping where the source looks is disabled."""
    source, _token = source_make()
    old = customer_make(key="moved-to-source")
    new = customer_make(key="moved-to-source", source=source)
    was = customer_make(key="moved-to-global", source=source)
    newer = customer_make(key="moved-to-global")
    GatewayKey.objects.filter(customer__in=[old, was]).update(is_active=False)
    customer_make(key="gone", source=source)
    GatewayKey.objects.filter(key="gone").update(is_active=False)

    found = keys_resolve(source=source, keys={"moved-to-source", "moved-to-global", "gone", "never"})

    assert found == {"moved-to-source": new.pk, "moved-to-global": newer.pk, "gone": KEY_DISABLED}
    assert keys_resolve(source=None, keys={"gone", "moved-to-source"}) == {"moved-to-source": KEY_DISABLED}
