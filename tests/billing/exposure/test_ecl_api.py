"""GET /api/v1/reports/ecl: the command's JSON, read only, for admin, finance and auditors."""

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import MemberRole, StaffRole
from billing.exposure.models import EclRun
from tests.billing.exposure.ecl_helpers import as_of_day, golden_receivables
from tests.billing.factories import staff
from tests.factories import CustomerFactory, MembershipFactory

pytestmark = pytest.mark.django_db
URL = "/api/v1/reports/ecl"


def client_for(role):
    client = Client()
    client.force_login(staff(role))
    return client


def test_the_url_name():
    assert reverse("api-reports-ecl") == URL


@pytest.mark.parametrize("role", [StaffRole.ADMIN, StaffRole.FINANCE, StaffRole.AUDITOR])
def test_readers_get_the_report(role):
    as_of = as_of_day()
    golden_receivables(as_of)

    answer = client_for(role).get(URL, {"as_of": as_of.isoformat(), "rates": "11,15,25,31,100"})

    assert answer.status_code == 200
    body = answer.json()
    assert body["total"] == "178.50"
    assert body["buckets"][4] == {"bucket": "d90_plus", "gross": "50.00", "rate": "100", "ecl": "50.00"}
    assert body["posted"] is False
    assert body["currencies"]["CNY"]["change"] == "178.50"
    assert not EclRun.objects.exists()


def test_without_rates_the_configured_matrix_applies():
    as_of = as_of_day()
    golden_receivables(as_of)

    body = client_for(StaffRole.FINANCE).get(URL, {"as_of": as_of.isoformat()}).json()

    assert body["method"] == "entered"
    assert body["rates"] == ["1", "5", "15", "30", "60"]
    assert body["total"] == "113.50"


@pytest.mark.parametrize(
    ("query", "field", "words"),
    [
        ({"as_of": "2026-02-30"}, "as_of", "YYYY-MM-DD"),
        ({"as_of": "soon"}, "as_of", "YYYY-MM-DD"),
        ({"as_of": (as_of_day() + dt.timedelta(days=90)).isoformat()}, "as_of", "in the future"),
        ({"as_of": "1999-12-31"}, "as_of", "on or after 2000-01-01"),
        ({"rates": "11,15,25,31"}, "rates", "Give 5 rates"),
        ({"rates": "11,15,25,31,120"}, "rates", "from 0 to 100"),
        ({"rates": "-1,15,25,31,100"}, "rates", "from 0 to 100"),
        ({"rates": "a,b,c,d,e"}, "rates", "not a number"),
        ({"rates": "11,15,25,31,NaN"}, "rates", "not a number"),
        ({"rates": "1e2,15,25,31,100"}, "rates", "not a number"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(query, field, words):
    answer = client_for(StaffRole.FINANCE).get(URL, query)

    assert answer.status_code == 400
    assert answer.json()["field"] == field
    assert words in answer.json()["error"]


@pytest.mark.parametrize("role", [StaffRole.SALES, StaffRole.SUPPORT])
def test_other_staff_are_refused(role):
    assert client_for(role).get(URL).status_code == 403


def test_portal_users_and_anonymous_callers_are_refused():
    membership = MembershipFactory(customer=CustomerFactory(), role=MemberRole.OWNER)
    portal = Client()
    portal.force_login(membership.user)
    assert portal.get(URL).status_code == 403
    # Session authentication has no challenge to offer: DRF answers 403, as the schema says.
    anonymous = Client().get(URL)
    assert anonymous.status_code == 403
    assert anonymous.json()["detail"]


def test_the_api_never_posts():
    assert client_for(StaffRole.FINANCE).post(URL, {"as_of": as_of_day().isoformat()}).status_code == 405


def test_it_is_in_the_openapi_schema():
    schema = client_for(StaffRole.FINANCE).get("/api/v1/schema/", {"format": "json"})
    assert schema.status_code == 200
    operation = schema.json()["paths"]["/api/v1/reports/ecl"]["get"]
    assert operation["operationId"] == "reports_ecl"
    assert {p["name"] for p in operation["parameters"]} >= {"as_of", "rates"}
    assert {"200", "400", "403", "409"} <= set(operation["responses"])
    assert "401" not in operation["responses"]
    assert "Not signed in" in operation["responses"]["403"]["description"]
