"""The access matrix: every URL of the product, asked by every kind of visitor who must not get in.

Routes come from the URLconf itself, so a new page is in the matrix the day it is added. For each one,
GET and POST as: nobody, an end customer's user, a sub-distributor's user, a staff member whose session
began before TOTP was enrolled, one who typed only the password (at the sign-in form or at the admin
site's login URL). None of them gets a staff page, an admin page, an API answer or another branch's
portal page, and no request moves money. Fully signed-in staff of every role get no server error.
"""

import re

import pytest
from allauth.mfa.totp.internal.auth import TOTP
from django.test import Client
from django.urls import URLResolver, get_resolver

from accounts.models import StaffRole
from billing.ledger.models import JournalEntry
from tests.factories import CustomerFactory, MembershipFactory, StaffFactory, SubDistributorFactory

pytestmark = pytest.mark.django_db

PASSWORD = "pass-word-123"
SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
# Reached by anyone: signing in and out, the language switch, Stripe's signed webhook (refused unsigned).
PUBLIC = ("accounts/", "i18n/", "stripe/webhook/")


def _routes(patterns=None, prefix=""):
    for pattern in patterns if patterns is not None else get_resolver().url_patterns:
        if isinstance(pattern, URLResolver):
            if str(pattern.pattern).startswith("admin/"):
                continue
            yield from _routes(pattern.url_patterns, prefix + str(pattern.pattern))
        else:
            yield prefix + str(pattern.pattern)


ADMIN_URLS = [
    "/admin/",
    "/admin/accounts/user/",
    "/admin/accounts/user/add/",
    "/admin/accounts/customer/",
    "/admin/accounts/membership/",
]


def _url(route: str, pk: int) -> str:
    route = re.sub(r"<int:\w+>", str(pk), route)
    route = re.sub(r"<slug:kind>", "journal", route)
    route = re.sub(r"<slug:action>", "issue", route)
    assert "<" not in route, route
    return "/" + route


@pytest.fixture
def world():
    east = SubDistributorFactory(code="east")
    east_a = CustomerFactory(code="east-a", parent=east)
    west = SubDistributorFactory(code="west")
    west_a = CustomerFactory(code="west-a", parent=west)
    return {"east": east, "east-a": east_a, "west": west, "west-a": west_a}


def _member(customer) -> Client:
    client = Client()
    client.force_login(MembershipFactory(customer=customer).user)
    return client


def _pre_totp_staff_session() -> Client:
    """Signed in with the password while the user had no device; the device came later."""
    client = Client()
    staff = StaffFactory(email="sam@op.example.com", staff_role=StaffRole.SALES)
    client.post("/accounts/login/", {"login": staff.email, "password": PASSWORD})
    TOTP.activate(staff, SECRET)
    return client


def _password_only(login_url: str, email: str) -> Client:
    client = Client()
    admin = StaffFactory(email=email, staff_role=StaffRole.ADMIN, is_staff=True, is_superuser=True)
    TOTP.activate(admin, SECRET)
    client.post(login_url, {"login": admin.email, "username": admin.email, "password": PASSWORD})
    return client


def _outsiders(world) -> dict[str, Client]:
    return {
        "anonymous": Client(),
        "end customer (west-a)": _member(world["west-a"]),
        "sub-distributor (west)": _member(world["west"]),
        "staff, session from before TOTP": _pre_totp_staff_session(),
        "admin, password at the sign-in form": _password_only("/accounts/login/", "ada@op.example.com"),
        "admin, password at /admin/login/": _password_only("/admin/login/", "root@op.example.com"),
    }


def _refused(response, route: str, who: str) -> None:
    assert response.status_code != 500, (who, route)
    if response.status_code in (301, 302):
        target = response["Location"]
        assert target.startswith(("/accounts/", "/admin/login/", "/portal/", "/i18n/")) or target in (
            "/",
            "/dashboard/",
        ), (who, route, target)
        return
    assert response.status_code in (400, 401, 403, 404, 405, 415), (who, route, response.status_code)


def test_nobody_without_a_finished_staff_sign_in_gets_a_staff_admin_or_api_answer(world):
    routes = [r for r in _routes() if not r.startswith(PUBLIC)]
    assert len(routes) > 100  # the whole product, not a sample
    before = JournalEntry.objects.count()
    for who, client in _outsiders(world).items():
        is_customer = who.startswith(("end customer", "sub-distributor"))
        for route in routes:
            url = _url(route, world["east-a"].pk)
            if is_customer and route.startswith(("api/v1/schema/", "api/v1/docs/")):
                # The API reference is for every signed-in user (a sub-distributor may run a gateway).
                continue
            if is_customer and (route == "" or route.startswith("portal/")):
                # Their own portal is theirs; a page about another branch's customer is not found.
                if route.startswith("portal/customers/<int:"):
                    assert client.get(url).status_code in (403, 404), (who, route)
                continue
            _refused(client.get(url), route, who)
            _refused(client.post(url, {}), route, who)
        for url in ADMIN_URLS:
            response = client.get(url)
            assert response.status_code == 302, (who, url)
            assert response["Location"].startswith(("/admin/login/", "/accounts/")), (who, url)
    assert JournalEntry.objects.count() == before


def test_admin_login_path_takes_no_password(world):
    client = _password_only("/admin/login/", "root@op.example.com")
    assert "_auth_user_id" not in client.session
    response = client.get("/admin/login/?next=/admin/accounts/user/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


@pytest.mark.parametrize("role", StaffRole.values)
def test_fully_signed_in_staff_of_every_role_get_no_server_error_anywhere(world, role):
    client = Client()
    client.force_login(StaffFactory(staff_role=role, is_staff=role == StaffRole.ADMIN))
    for route in _routes():
        if route.startswith(("accounts/", "stripe/")):
            continue
        url = _url(route, world["east-a"].pk)
        response = client.get(url)
        assert response.status_code < 500, (role, route, response.status_code)
        if route.startswith("dashboard/") and role != StaffRole.AUDITOR:
            assert response.status_code != 302 or not response["Location"].startswith("/accounts/2fa/")
    for url in ADMIN_URLS[:1]:
        expected = 200 if role == StaffRole.ADMIN else 302
        assert client.get(url).status_code == expected, (role, url)
