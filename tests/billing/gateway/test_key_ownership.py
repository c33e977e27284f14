"""A gateway key that means one customer cannot be mapped to another in an overlapping scope (every source vs
one source, either way, or the same source): a source's own mapping beats a global one when usage is
resolved, so such a mapping would charge one customer's traffic to another. Moving a key on purpose is done
by disabling the old mapping first (Key mappings page)."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from accounts.models import StaffRole
from billing.gateway.services import gateway_key_create, gateway_key_set_active
from billing.usage.models import GatewayKey
from billing.usage.resolve import keys_resolve
from tests.billing.factories import staff
from tests.billing.usage.factories import source_make
from tests.factories import CustomerFactory, StaffFactory

pytestmark = pytest.mark.django_db

TAKEN = "This key already belongs to another customer"


@pytest.fixture
def victim():
    return CustomerFactory(name="Victim")


@pytest.fixture
def other():
    return CustomerFactory(name="Other")


@pytest.fixture
def source():
    return source_make("newapi-prod")[0]


def _sales(client):
    client.force_login(StaffFactory(staff_role=StaffRole.SALES))


def _add_on_customer_page(client, customer, key, source=None):
    data = {"key": key, "note": ""} | ({"source": source.pk} if source else {})
    return client.post(reverse("staff-customer-key-add", args=[customer.pk]), data)


def _add_on_keys_page(client, customer, key, source=None):
    data = {"key": key, "customer": customer.pk, "note": ""} | ({"source": source.pk} if source else {})
    return client.post(reverse("staff-gateway-key-create"), data)


def test_sales_cannot_take_over_a_key_mapped_for_every_source(client, victim, other, source):
    gateway_key_create(key="sk-victim-001", customer=victim)
    _sales(client)

    response = _add_on_customer_page(client, other, "sk-victim-001", source)

    assert response.status_code == 400
    errors = response.context["key_form"].errors["key"]
    assert any(TAKEN in e for e in errors) and not any("Victim" in e for e in errors)
    assert TAKEN in response.content.decode()
    assert keys_resolve(source=source, keys={"sk-victim-001"}) == {"sk-victim-001": victim.pk}
    assert GatewayKey.objects.filter(key="sk-victim-001").count() == 1


def test_admin_cannot_take_over_a_key_on_the_keys_page(client, victim, other, source):
    gateway_key_create(key="sk-victim-001", customer=victim)
    client.force_login(staff(StaffRole.ADMIN))

    response = _add_on_keys_page(client, other, "sk-victim-001", source)

    assert response.status_code == 400
    assert any(TAKEN in e for e in response.context["form"].errors["key"])
    assert keys_resolve(source=source, keys={"sk-victim-001"}) == {"sk-victim-001": victim.pk}


@pytest.mark.parametrize(
    ("old_for_source", "new_for_source"),
    [(False, True), (True, False), (True, True), (False, False)],
    ids=["global-then-source", "source-then-global", "same-source", "both-global"],
)
def test_every_overlapping_scope_is_refused_on_the_key_field(
    victim, other, source, old_for_source, new_for_source
):
    gateway_key_create(key="sk-v", customer=victim, source=source if old_for_source else None)

    with pytest.raises(ValidationError) as refused:
        gateway_key_create(key=" sk-v ", customer=other, source=source if new_for_source else None)

    assert TAKEN in " ".join(refused.value.message_dict["key"])
    assert list(GatewayKey.objects.values_list("customer", flat=True)) == [victim.pk]


@pytest.mark.parametrize("page", ["customer", "keys"])
def test_both_pages_refuse_a_global_takeover_on_the_field_not_as_a_constraint(client, victim, other, page):
    gateway_key_create(key="sk-v", customer=victim)
    client.force_login(staff(StaffRole.FINANCE))

    if page == "customer":
        response = _add_on_customer_page(client, other, "sk-v")
        form = response.context["key_form"]
    else:
        response = _add_on_keys_page(client, other, "sk-v")
        form = response.context["form"]

    assert response.status_code == 400
    assert any(TAKEN in e for e in form.errors["key"])
    assert "Constraint" not in response.content.decode()


def test_a_key_mapped_for_another_source_is_free_for_this_one(victim, other, source):
    elsewhere = source_make("litellm-prod")[0]
    gateway_key_create(key="sk-v", customer=victim, source=elsewhere)

    gateway_key_create(key="sk-v", customer=other, source=source)

    assert keys_resolve(source=source, keys={"sk-v"}) == {"sk-v": other.pk}
    assert keys_resolve(source=elsewhere, keys={"sk-v"}) == {"sk-v": victim.pk}


def test_the_same_customer_may_add_a_source_mapping_beside_its_global_one(client, victim, source):
    gateway_key_create(key="sk-v", customer=victim)
    _sales(client)

    response = _add_on_customer_page(client, victim, "sk-v", source)

    assert response.status_code == 302
    assert GatewayKey.objects.filter(key="sk-v", customer=victim).count() == 2


@pytest.mark.parametrize("for_source", [False, True], ids=["global", "source"])
def test_the_same_customer_mapping_the_same_key_twice_is_told_on_the_field(
    client, victim, source, for_source
):
    scope = source if for_source else None
    gateway_key_create(key="sk-v", customer=victim, source=scope)
    _sales(client)

    response = _add_on_customer_page(client, victim, "sk-v", scope)

    assert response.status_code == 400
    assert any("already mapped" in e for e in response.context["key_form"].errors["key"])
    assert TAKEN not in response.content.decode()
    assert GatewayKey.objects.filter(key="sk-v").count() == 1


def test_after_the_old_mapping_is_disabled_the_key_can_move(client, victim, other, source):
    """Moving a key on purpose: finance disables the old mapping on the keys page, sales maps it again."""
    old = gateway_key_create(key="sk-v", customer=victim)
    client.force_login(staff(StaffRole.FINANCE))
    assert client.post(reverse("staff-gateway-key-toggle", args=[old.pk])).status_code == 302
    _sales(client)

    response = _add_on_customer_page(client, other, "sk-v", source)

    assert response.status_code == 302
    assert keys_resolve(source=source, keys={"sk-v"}) == {"sk-v": other.pk}


def test_a_disabled_mapping_in_the_same_scope_still_blocks_with_a_clear_field_error(client, victim, other):
    """A scope holds one mapping per key (the database says so): the old one is disabled, not replaced."""
    old = gateway_key_create(key="sk-v", customer=victim)
    gateway_key_set_active(mapping=old, active=False)
    client.force_login(staff(StaffRole.ADMIN))

    response = _add_on_keys_page(client, other, "sk-v")

    assert response.status_code == 400
    assert any("already mapped" in e for e in response.context["form"].errors["key"])


def test_enabling_an_old_mapping_is_refused_while_another_customer_holds_the_key(
    client, victim, other, source
):
    old = gateway_key_create(key="sk-v", customer=victim)
    gateway_key_set_active(mapping=old, active=False)
    gateway_key_create(key="sk-v", customer=other, source=source)
    client.force_login(staff(StaffRole.ADMIN))

    response = client.post(reverse("staff-gateway-key-toggle", args=[old.pk]))

    assert response.status_code == 400
    assert "Key sk-v now belongs to another customer" in response.content.decode()
    old.refresh_from_db()
    assert not old.is_active
    assert keys_resolve(source=source, keys={"sk-v"}) == {"sk-v": other.pk}
    with pytest.raises(ValidationError):
        gateway_key_set_active(mapping=old, active=True)


def test_the_refusal_reads_in_chinese(client, victim, other, source):
    gateway_key_create(key="sk-v", customer=victim)
    _sales(client)
    client.cookies["django_language"] = "zh-hans"

    response = _add_on_customer_page(client, other, "sk-v", source)

    assert response.status_code == 400
    body = response.content.decode()
    assert TAKEN not in body and "此密钥已属于另一客户" in body
