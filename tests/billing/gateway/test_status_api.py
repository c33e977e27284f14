"""``GET /api/v1/gateway/status``: a key that cannot be one is a 400 naming ``key``, never a server error."""

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from billing.usage.models import GatewayKey, GatewaySource
from tests.billing.usage.factories import customer_make, source_make

pytestmark = pytest.mark.django_db

STATUS = "/api/v1/gateway/status"


@pytest.fixture
def client():
    cache.clear()
    _, token = source_make(name="edge")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


BAD_KEYS = {
    "nul": "key=%00",
    "inner-nul": "key=sk-%00-a",
    "control": "key=%01abc",
    "unit-separator": "key=a%1Fb",
    "delete": "key=a%7Fb",
    "c1-control": "key=a%C2%85b",
    "too-long": "key=" + "k" * 201,
    "blank": "key=",
    "spaces": "key=%20%20",
    "missing": "",
}


@pytest.mark.parametrize("query", BAD_KEYS.values(), ids=BAD_KEYS.keys())
def test_a_key_that_cannot_be_one_is_400_naming_the_parameter(client, query):
    response = client.get(f"{STATUS}?{query}")

    assert response.status_code == 400
    body = response.json()
    assert body["key"] and body["detail"].startswith("key: ")


def test_a_valid_key_still_answers_and_an_unknown_one_is_404(client):
    customer_make(key="sk-ünïcode-键-😀")

    known = client.get(STATUS, {"key": "sk-ünïcode-键-😀"})
    unknown = client.get(STATUS, {"key": "k" * 200})

    assert known.status_code == 200 and known.json()["status"] == "active"
    assert unknown.status_code == 404 and "detail" in unknown.json()


def test_without_a_token_it_is_401_before_the_key_is_read():
    response = APIClient().get(f"{STATUS}?key=%00")

    assert response.status_code == 401 and response["WWW-Authenticate"].startswith("Bearer")


def test_a_disabled_key_is_404_as_an_unknown_one_and_a_moved_key_answers_for_its_new_customer(client):
    """The status endpoint resolves keys as usage does (``keys_resolve``): a key whose mapping is disabled
    names no customer, and an active mapping in the other scope beats the disabled one."""
    GatewayKey.objects.filter(customer=customer_make(key="sk-gone")).update(is_active=False)
    GatewayKey.objects.filter(customer=customer_make(key="sk-moved")).update(is_active=False)
    customer_make(key="sk-moved", source=GatewaySource.objects.get(name="edge"))

    gone = client.get(STATUS, {"key": "sk-gone"})
    moved = client.get(STATUS, {"key": "sk-moved"})

    assert gone.status_code == 404 and "detail" in gone.json()
    assert moved.status_code == 200 and moved.json()["status"] == "active"
