"""A password alone reaches no staff page and no admin page, whichever way the session was started.

These tests sign in through the real forms (never ``force_login``, which the suite treats as a finished
sign-in): allauth's form, the admin site's login URL, a password reset, and a session that began before
the user enrolled TOTP.
"""

import re

import pytest
from allauth.mfa.totp.internal.auth import TOTP
from django.urls import reverse

from accounts.models import StaffRole
from billing.ledger.models import JournalTransaction
from tests.browser.conftest import current_totp
from tests.factories import CustomerFactory, StaffFactory

pytestmark = pytest.mark.django_db

PASSWORD = "pass-word-123"
SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


@pytest.fixture
def customer():
    return CustomerFactory()


def _staff_urls(customer) -> list[str]:
    return [
        reverse("dashboard"),
        reverse("staff-customer-list"),
        reverse("staff-customer-detail", args=[customer.pk]),
        reverse("staff-journal") + "?format=csv",
        reverse("admin:index"),
        reverse("admin:accounts_user_changelist"),
    ]


def assert_reaches_nothing(client, customer) -> None:
    """No staff page, admin page, CSV or write answers with content, and no money moves."""
    for url in _staff_urls(customer):
        response = client.get(url)
        assert response.status_code in (302, 403), url
        if response.status_code == 302:
            # to sign in, enrol or enter a code (the admin site's login URL forwards to the sign-in form)
            assert response["Location"].startswith(("/accounts/", "/admin/login/")), url
    before = JournalTransaction.objects.count()
    response = client.post(
        reverse("staff-customer-wallet-adjust", args=[customer.pk]) + "?currency=CNY",
        {"amount": "1000", "bucket": "paid", "reason": "no", "idempotency_key": "x-1"},
    )
    assert response.status_code in (302, 403)
    assert not response.get("Location", "").startswith(reverse("staff-customer-wallet", args=[customer.pk]))
    assert JournalTransaction.objects.count() == before
    api = client.get(reverse("api-schema"))
    assert api.status_code in (401, 403)


def _superuser():
    admin = StaffFactory(
        email="ada@op.example.com", staff_role=StaffRole.ADMIN, is_staff=True, is_superuser=True
    )
    TOTP.activate(admin, SECRET)
    return admin


def _password_login(client, email, password=PASSWORD, url=None):
    return client.post(url or reverse("account_login"), {"login": email, "password": password})


@pytest.mark.parametrize("role", StaffRole.values)
def test_allauth_form_password_only_reaches_nothing_for_any_role(client, customer, role):
    staff = StaffFactory(email=f"{role}@op.example.com", staff_role=role)
    TOTP.activate(staff, SECRET)
    response = _password_login(client, staff.email)
    assert response["Location"] == reverse("mfa_authenticate")
    assert_reaches_nothing(client, customer)


@pytest.mark.parametrize("role", StaffRole.values)
def test_staff_without_totp_must_enrol_before_any_page(client, customer, role):
    staff = StaffFactory(email=f"{role}@op.example.com", staff_role=role)
    _password_login(client, staff.email)
    # signed in, but every staff page sends them to enrol a device
    assert client.get(reverse("dashboard"))["Location"] == reverse("mfa_activate_totp")
    assert client.get(reverse("admin:index"))["Location"] == reverse("mfa_activate_totp")
    assert_reaches_nothing(client, customer)


def test_admin_login_redirects_to_allauth_and_its_password_post_signs_in_nobody(client, customer):
    admin = _superuser()

    response = client.get(reverse("admin:login") + "?next=/admin/accounts/user/")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))
    assert "next=%2Fadmin%2Faccounts%2Fuser%2F" in response["Location"]

    # Django's admin form would have signed in with the password alone: the URL no longer takes it.
    response = client.post(
        reverse("admin:login"), {"username": admin.email, "password": PASSWORD, "next": "/admin/"}
    )
    assert response.status_code == 302
    assert "_auth_user_id" not in client.session
    assert_reaches_nothing(client, customer)

    # the same flow with the code leads back to the admin page asked for
    response = client.post(
        reverse("account_login") + "?next=/admin/accounts/user/", {"login": admin.email, "password": PASSWORD}
    )
    assert response["Location"] == reverse("mfa_authenticate")
    response = client.post(reverse("mfa_authenticate"), {"code": current_totp(SECRET)})
    assert response["Location"] == "/admin/accounts/user/"
    assert client.get("/admin/accounts/user/").status_code == 200
    assert client.get(reverse("dashboard")).status_code == 200


def test_admin_login_is_throttled_like_the_sign_in_form(client, customer):
    admin = _superuser()
    login_url = client.get(reverse("admin:login"))["Location"]
    for _attempt in range(20):
        _password_login(client, admin.email, "wrong-password", url=login_url)
    # the right password is refused too while the failures are counted
    response = _password_login(client, admin.email, url=login_url)
    assert response.status_code in (200, 429)
    assert response.get("Location") != reverse("mfa_authenticate")
    assert_reaches_nothing(client, customer)


def test_password_reset_then_sign_in_still_asks_for_the_code(client, customer, mailoutbox):
    staff = StaffFactory(email="fei@op.example.com", staff_role=StaffRole.FINANCE)
    TOTP.activate(staff, SECRET)
    client.post(reverse("account_reset_password"), {"email": staff.email})
    link = re.search(r"https?://[^/]+(/accounts/password/reset/key/\S+/)", mailoutbox[0].body).group(1)
    set_password_url = client.get(link)["Location"]
    new_password = {"password1": "N3w-secret-pass!", "password2": "N3w-secret-pass!"}
    response = client.post(set_password_url, new_password)
    assert response.status_code == 302
    assert "_auth_user_id" not in client.session  # a reset never signs in by itself

    response = _password_login(client, staff.email, "N3w-secret-pass!")
    assert response["Location"] == reverse("mfa_authenticate")
    assert_reaches_nothing(client, customer)


def test_a_session_from_before_totp_was_enrolled_must_still_pass_it(client, customer):
    staff = StaffFactory(email="sam@op.example.com", staff_role=StaffRole.SALES)
    _password_login(client, staff.email)
    assert "_auth_user_id" in client.session
    # the device is enrolled afterwards (here out of band, as by another tab or the admin)
    TOTP.activate(staff, SECRET)

    response = client.get(reverse("dashboard"))
    assert response.status_code == 302
    assert response["Location"] == reverse("mfa_reauthenticate") + "?next=%2Fdashboard%2F"
    assert_reaches_nothing(client, customer)

    # entering a code in this session is what opens the pages
    response = client.post(response["Location"], {"code": current_totp(SECRET)})
    assert response["Location"] == reverse("dashboard")
    assert client.get(reverse("dashboard")).status_code == 200


def test_a_wrong_code_signs_in_nobody_and_the_api_refuses_the_session(client):
    staff = StaffFactory(email="sam@op.example.com", staff_role=StaffRole.SALES)
    TOTP.activate(staff, SECRET)
    _password_login(client, staff.email)
    wrong = "000000" if current_totp(SECRET) != "000000" else "111111"
    client.post(reverse("mfa_authenticate"), {"code": wrong})
    assert "_auth_user_id" not in client.session
    response = client.post(reverse("api-quote"), {}, content_type="application/json")
    assert response.status_code in (401, 403)
    assert response["Content-Type"].startswith("application/json")


def test_a_code_read_in_the_last_window_still_signs_in_but_one_from_two_windows_ago_does_not(client):
    import time

    from allauth.mfa import app_settings as mfa_settings
    from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value

    staff = StaffFactory(email="sam@op.example.com", staff_role=StaffRole.SALES)
    TOTP.activate(staff, SECRET)
    step = int(time.time()) // mfa_settings.TOTP_PERIOD
    _password_login(client, staff.email)
    client.post(reverse("mfa_authenticate"), {"code": format_hotp_value(hotp_value(SECRET, step - 3))})
    assert "_auth_user_id" not in client.session
    client.post(reverse("mfa_authenticate"), {"code": format_hotp_value(hotp_value(SECRET, step - 1))})
    assert "_auth_user_id" in client.session


def test_staff_session_with_a_password_only_and_a_device_gets_json_403_on_the_api(client):
    staff = StaffFactory(email="sam@op.example.com", staff_role=StaffRole.SALES)
    _password_login(client, staff.email)
    TOTP.activate(staff, SECRET)
    response = client.post(reverse("api-quote"), {}, content_type="application/json")
    assert response.status_code == 403
    assert response["Content-Type"] == "application/json"
    assert "authenticator code" in response.json()["detail"]


def test_the_full_sign_in_reaches_every_staff_page(client, customer):
    staff = StaffFactory(email="fei@op.example.com", staff_role=StaffRole.FINANCE)
    TOTP.activate(staff, SECRET)
    _password_login(client, staff.email)
    response = client.post(reverse("mfa_authenticate"), {"code": current_totp(SECRET)}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("dashboard")
    for url in _staff_urls(customer)[:4]:
        assert client.get(url).status_code == 200, url


def test_customer_users_need_no_second_factor_for_the_portal(client):
    from tests.factories import MembershipFactory, UserFactory

    MembershipFactory(user=UserFactory(email="owner@acme.example.com"))
    _password_login(client, "owner@acme.example.com")
    assert client.get(reverse("portal-home")).status_code == 200
    assert client.get(reverse("dashboard")).status_code == 403
    assert client.get(reverse("admin:index")).status_code == 302


def _deactivate_totp(client):
    """allauth asks for the password again before removing a device, then replays the removal."""
    response = client.post(reverse("mfa_deactivate_totp"), {})
    if response.status_code == 302 and response["Location"].startswith(reverse("account_reauthenticate")):
        response = client.post(response["Location"], {"password": PASSWORD}, follow=True)
    return response


def test_staff_cannot_remove_their_totp_device(client):
    staff = StaffFactory(email="fei@op.example.com", staff_role=StaffRole.FINANCE)
    TOTP.activate(staff, SECRET)
    _password_login(client, staff.email)
    client.post(reverse("mfa_authenticate"), {"code": current_totp(SECRET)})
    response = _deactivate_totp(client)
    assert response.status_code == 200
    assert response.context["form"].errors  # the form again, with the reason
    assert staff.authenticator_set.filter(type="totp").exists()


def test_customer_users_may_remove_theirs(client):
    from tests.factories import MembershipFactory, UserFactory

    user = UserFactory(email="owner@acme.example.com")
    MembershipFactory(user=user)
    TOTP.activate(user, SECRET)
    _password_login(client, user.email)
    client.post(reverse("mfa_authenticate"), {"code": current_totp(SECRET)})
    _deactivate_totp(client)
    assert not user.authenticator_set.filter(type="totp").exists()


def test_signed_in_staff_without_admin_rights_are_refused_the_admin_site_not_sent_round_in_circles(client):
    staff = StaffFactory(email="sam@op.example.com", staff_role=StaffRole.SALES)
    TOTP.activate(staff, SECRET)
    client.post(reverse("account_login") + "?next=/admin/", {"login": staff.email, "password": PASSWORD})
    response = client.post(reverse("mfa_authenticate"), {"code": current_totp(SECRET)}, follow=True)
    assert response.status_code == 403
    assert len(response.redirect_chain) < 5
    assert client.get(reverse("dashboard")).status_code == 200


def test_signed_in_admins_at_the_admin_login_url_go_to_the_admin_site(client):
    _superuser()
    client.post(reverse("account_login"), {"login": "ada@op.example.com", "password": PASSWORD})
    client.post(reverse("mfa_authenticate"), {"code": current_totp(SECRET)})
    assert client.get(reverse("admin:login"))["Location"] == reverse("admin:index")


def test_a_script_name_prefix_does_not_open_a_staff_page(client, customer):
    staff = StaffFactory(email="sam@op.example.com", staff_role=StaffRole.SALES)
    _password_login(client, staff.email)  # no device: signed in with the password alone
    for url in (reverse("dashboard"), reverse("admin:index"), reverse("api-schema")):
        response = client.get(url, SCRIPT_NAME="/accounts")
        assert response.status_code in (302, 403), url


def test_before_the_second_factor_no_account_page_but_enrolment_and_sign_out_opens(client):
    from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes

    staff = StaffFactory(email="sam@op.example.com", staff_role=StaffRole.SALES)
    _password_login(client, staff.email)
    TOTP.activate(staff, SECRET)
    RecoveryCodes.activate(staff)  # as enrolling through allauth makes them
    # the password alone does not reach the recovery codes (which would count as a second factor)
    response = client.post(reverse("account_reauthenticate"), {"password": PASSWORD})
    assert response["Location"].startswith(reverse("mfa_reauthenticate"))
    for name in ("mfa_view_recovery_codes", "mfa_index", "account_email", "account_change_password"):
        response = client.get(reverse(name))
        assert response.status_code == 302, name
        assert response["Location"].startswith(reverse("mfa_reauthenticate")), name
    assert client.get(reverse("mfa_reauthenticate")).status_code == 200
    assert client.post(reverse("account_logout")).status_code == 302
    assert "_auth_user_id" not in client.session
