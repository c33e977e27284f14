"""Gateway pages: sources (token shown once, hash stored), key mappings, manual holds, role rules."""

import pytest
from django.core.cache import cache
from django.urls import reverse

from accounts.models import StaffRole
from billing.gateway.models import GatewayHold
from billing.gateway.status import key_cache_key
from billing.usage.models import GatewayKey, GatewaySource, token_hash
from tests.billing.factories import staff
from tests.billing.usage.factories import customer_make

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _clear_cache():
    cache.clear()


def _create_source(client, name="litellm-prod"):
    return client.post(
        reverse("staff-gateway-source-create"),
        {"name": name, "kind": "litellm", "cost_currency": "usd", "webhook_url": "", "webhook_secret": ""},
    )


def test_source_creation_shows_the_token_once_and_stores_only_its_hash(client):
    client.force_login(staff(StaffRole.ADMIN))

    response = _create_source(client)

    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    token = response.context["token"]
    assert token.startswith("gws_") and token in response.content.decode()
    source = GatewaySource.objects.get(name="litellm-prod")
    assert source.token_hash == token_hash(token) and source.cost_currency == "USD"
    assert token not in {getattr(source, f.attname) for f in GatewaySource._meta.fields}
    listing = client.get(reverse("staff-gateway-sources")).content.decode()
    assert "litellm-prod" in listing and token not in listing and source.token_prefix in listing


def test_rotating_a_token_replaces_the_hash(client):
    client.force_login(staff(StaffRole.FINANCE))
    _create_source(client)
    source = GatewaySource.objects.get()
    old = source.token_hash

    response = client.post(reverse("staff-gateway-source-rotate", args=[source.pk]))

    source.refresh_from_db()
    assert source.token_hash != old and source.token_hash == token_hash(response.context["token"])


def test_duplicate_source_name_is_refused_with_the_form(client):
    client.force_login(staff(StaffRole.ADMIN))
    _create_source(client)
    response = _create_source(client)
    assert response.status_code == 400 and GatewaySource.objects.count() == 1


def test_sales_cannot_create_sources_and_auditors_cannot_post(client):
    for role in (StaffRole.SALES, StaffRole.SUPPORT, StaffRole.AUDITOR):
        client.force_login(staff(role))
        page = client.get(reverse("staff-gateway-sources"))
        assert page.status_code == 200 and b"source-form" not in page.content
        assert _create_source(client).status_code == 403
    assert not GatewaySource.objects.exists()


def test_anonymous_is_redirected_to_sign_in(client):
    for name in ("staff-gateway-sources", "staff-gateway-keys", "staff-gateway-holds"):
        response = client.get(reverse(name))
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_key_mapping_create_and_disable(client, source, model, django_capture_on_commit_callbacks):
    customer = customer_make(key="existing")
    client.force_login(staff(StaffRole.FINANCE))
    # the status endpoint cached "unknown key"
    cache.set(key_cache_key(source_id=source.pk, key="sk-hash-1"), 0)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("staff-gateway-key-create"),
            {"key": "sk-hash-1", "customer": customer.pk, "note": "prod key"},
        )

    assert response.status_code == 302
    assert cache.get(key_cache_key(source_id=source.pk, key="sk-hash-1")) is None
    mapping = GatewayKey.objects.get(key="sk-hash-1")
    assert mapping.customer == customer and mapping.source is None and mapping.is_active
    page = client.get(reverse("staff-gateway-keys")).content.decode()
    assert "sk-hash-1" in page and customer.name in page
    # a duplicate global key is refused
    again = client.post(reverse("staff-gateway-key-create"), {"key": "sk-hash-1", "customer": customer.pk})
    assert again.status_code == 400 and GatewayKey.objects.filter(key="sk-hash-1").count() == 1

    client.post(reverse("staff-gateway-key-toggle", args=[mapping.pk]))

    mapping.refresh_from_db()
    assert not mapping.is_active


def test_sales_cannot_map_keys(client, model):
    customer = customer_make(key="existing")
    client.force_login(staff(StaffRole.SALES))
    response = client.post(reverse("staff-gateway-key-create"), {"key": "k2", "customer": customer.pk})
    assert response.status_code == 403 and not GatewayKey.objects.filter(key="k2").exists()


def test_hold_place_and_lift(client, model):
    customer = customer_make(key="held-key")
    client.force_login(staff(StaffRole.ADMIN))

    client.post(reverse("staff-gateway-hold-place"), {"customer": customer.pk, "reason": "fraud check"})

    hold = GatewayHold.objects.get()
    assert hold.ended_at is None and hold.reason == "fraud check"
    assert "fraud check" in client.get(reverse("staff-gateway-holds")).content.decode()
    assert (
        client.post(reverse("staff-gateway-hold-place"), {"customer": customer.pk, "reason": " "}).status_code
        == 400
    )

    client.post(reverse("staff-gateway-hold-lift", args=[hold.pk]))

    hold.refresh_from_db()
    assert hold.ended_at is not None


def test_navigation_has_a_usage_section_for_every_staff_role(client):
    for role in StaffRole.values:
        client.force_login(staff(role))
        page = client.get(reverse("staff-usage")).content.decode()
        for name in ("staff-usage", "staff-usage-unrated", "staff-usage-uploads", "staff-gateway-sources"):
            assert f'href="{reverse(name)}"' in page
