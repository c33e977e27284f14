"""Errors under /api/ are JSON, never Django's error pages: with DEBUG on, those list the settings (the
database URL among them) to whoever holds a gateway token."""

import logging

import pytest
from django.conf import settings as django_settings
from django.test import Client

from accounts.models import StaffRole
from tests.billing.factories import staff
from tests.billing.usage.factories import source_make

pytestmark = pytest.mark.django_db

STATUS = "/api/v1/gateway/status"


class ExplodingMiddleware:
    """Fails below the API error middleware, where no view's exception handling reaches."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        raise RuntimeError("a middleware failed")


@pytest.fixture(autouse=True)
def debug_on(settings):
    settings.DEBUG = True


@pytest.fixture
def token():
    _source, token = source_make("new-api")
    return token


def assert_no_debug_page(response):
    body = response.content.decode()
    assert response["Content-Type"] == "application/json"
    for leak in ("Traceback", "DATABASE", "SECRET_KEY", django_settings.DATABASES["default"]["NAME"]):
        assert leak not in body
    assert "<html" not in body.lower()


def test_an_exception_in_an_api_view_answers_json_500_with_an_id_in_the_log(
    client, token, monkeypatch, caplog
):
    def explode(**kwargs):
        raise RuntimeError(f"lost the database at {django_settings.DATABASES['default']['NAME']}")

    monkeypatch.setattr("billing.gateway.api.status_for_key", explode)
    with caplog.at_level(logging.ERROR, logger="distributor.api_errors"):
        response = client.get(STATUS, {"key": "sk-1"}, headers={"Authorization": f"Bearer {token}"})

    assert response.status_code == 500
    assert_no_debug_page(response)
    body = response.json()
    assert body["detail"] == "Server error" and len(body["error_id"]) == 32
    [record] = [r for r in caplog.records if body["error_id"] in r.getMessage()]
    assert record.exc_info[0] is RuntimeError  # the traceback is in the log, under the id the client saw


def test_an_exception_in_a_staff_api_call_is_json_too(client, monkeypatch):
    client.force_login(staff(StaffRole.FINANCE))
    monkeypatch.setattr("catalog.api.quote", lambda *a, **k: 1 / 0)
    response = client.post("/api/v1/quotes", {"model": "m", "plan": "p"}, content_type="application/json")
    assert response.status_code == 500
    assert_no_debug_page(response)


@pytest.mark.parametrize("url", ["/api/v1/no-such-thing", "/api", "/API/v1/usage/batches"])
def test_an_unknown_api_url_is_a_json_404(client, url):
    response = client.get(url)
    assert response.status_code == 404
    assert_no_debug_page(response)
    assert response.json() == {"detail": "Not found."}


def test_a_wrong_method_is_a_json_405_that_says_what_is_allowed(client, token):
    response = client.delete(STATUS, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 405
    assert response["Content-Type"] == "application/json"
    assert "GET" in response["Allow"]


def test_a_forged_host_is_a_json_400(client):
    response = client.get(STATUS, headers={"Host": "evil.example"})
    assert response.status_code == 400
    assert_no_debug_page(response)
    assert "evil.example" not in response.content.decode()


def test_an_exception_in_a_middleware_is_a_json_500(settings, caplog):
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, "tests.distributor.test_api_errors.ExplodingMiddleware"]
    client = Client(raise_request_exception=False)
    with caplog.at_level(logging.ERROR, logger="distributor.api_errors"):
        response = client.get(STATUS)
    assert response.status_code == 500
    assert_no_debug_page(response)
    assert response.json()["error_id"] in caplog.text


def test_pages_outside_the_api_keep_django_error_pages(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_api_answers_are_json_only_no_browsable_api(client, token):
    headers = {"Authorization": f"Bearer {token}", "Accept": "text/html"}
    response = client.get(STATUS, {"key": "sk-unknown"}, headers=headers)
    assert response["Content-Type"] == "application/json"
