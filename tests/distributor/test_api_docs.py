"""The OpenAPI schema and its Redoc page are for signed-in users (and gateway tokens) only, and the page
loads nothing from a CDN."""

import pytest
from django.urls import reverse

from accounts.models import StaffRole
from tests.billing.factories import staff
from tests.billing.usage.factories import source_make
from tests.distributor.test_headers import directives
from tests.factories import CustomerFactory, MembershipFactory, StaffFactory

pytestmark = pytest.mark.django_db

SCHEMA = "/api/v1/schema/"
DOCS = "/api/v1/docs/"


@pytest.fixture
def gateway_token():
    _source, token = source_make("new-api")
    return token


def test_anonymous_clients_get_no_schema(client):
    response = client.get(SCHEMA)
    assert response.status_code == 401
    assert response["Content-Type"] == "application/json"
    assert response["WWW-Authenticate"] == 'Bearer realm="gateway"'
    assert b"openapi" not in response.content and b"/api/v1/usage" not in response.content


def test_anonymous_people_are_sent_to_sign_in_for_the_docs(client):
    response = client.get(DOCS)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_an_unknown_gateway_token_gets_no_schema(client, gateway_token):
    response = client.get(SCHEMA, headers={"Authorization": "Bearer not-a-token"})
    assert response.status_code == 401


def test_a_gateway_token_reads_the_schema(client, gateway_token):
    response = client.get(SCHEMA, headers={"Authorization": f"Bearer {gateway_token}"})
    assert response.status_code == 200
    assert b"/api/v1/usage/batches" in response.content


def test_a_customer_user_reads_the_schema_and_docs(client):
    client.force_login(MembershipFactory(customer=CustomerFactory()).user)
    assert client.get(SCHEMA).status_code == 200
    assert client.get(DOCS).status_code == 200


def test_staff_who_passed_two_factor_read_the_schema(client):
    client.force_login(staff(StaffRole.FINANCE))
    assert client.get(SCHEMA).status_code == 200


def test_staff_with_a_password_only_session_get_no_schema(client):
    user = StaffFactory(staff_role=StaffRole.SALES, password="pass-word-123")
    assert client.login(email=user.email, password="pass-word-123")
    response = client.get(SCHEMA)
    assert response.status_code == 403
    assert b"openapi" not in response.content


def test_docs_load_redoc_from_our_static_files_only(client):
    client.force_login(staff(StaffRole.SALES))
    response = client.get(DOCS)
    assert response.status_code == 200
    html = response.content.decode()
    assert '<script src="/static/vendor/redoc/bundles/redoc.standalone.js"></script>' in html
    assert f'spec-url="{SCHEMA}"' in html
    for outside in ("cdn.jsdelivr", "googleapis", "gstatic", "unpkg", "https://"):
        assert outside not in html
    # Redoc needs injected styles and a blob: worker on this page, and only here
    policy = directives(response)
    assert policy["style-src"] == ["'self'", "'unsafe-inline'"] and policy["worker-src"] == ["blob:"]
    assert policy["script-src"] == ["'self'"]
    dashboard = client.get(reverse("dashboard"))["Content-Security-Policy"]
    assert "unsafe-inline" not in dashboard and "blob:" not in dashboard


def test_the_vendored_redoc_is_there(settings):
    from django.contrib.staticfiles import finders

    assert finders.find("vendor/redoc/bundles/redoc.standalone.js")
    assert settings.SPECTACULAR_SETTINGS["REDOC_DIST"] == "/static/vendor/redoc"
