"""Redis down is not an outage for sign-in: allauth's rate limits fail open (logged), so staff can sign in
with their password and TOTP code to deal with the outage; passwords and codes are still checked."""

import logging

import pytest
from allauth.mfa.totp.internal.auth import TOTP
from django.urls import reverse

from accounts.models import StaffRole
from tests.browser.conftest import current_totp
from tests.common.redis_down import cache_down  # noqa: F401
from tests.factories import StaffFactory

pytestmark = pytest.mark.django_db

PASSWORD = "pass-word-123"
SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def _staff():
    staff = StaffFactory(email="ops@op.example.com", staff_role=StaffRole.ADMIN)
    TOTP.activate(staff, SECRET)
    return staff


def test_staff_sign_in_with_password_and_code_while_the_cache_is_down(client, cache_down, caplog):  # noqa: F811
    staff = _staff()
    assert client.get(reverse("account_login")).status_code == 200

    with caplog.at_level(logging.WARNING, logger="common.cache_fallback"):
        response = client.post(reverse("account_login"), {"login": staff.email, "password": PASSWORD})
        assert response.status_code == 302
        assert response["Location"] == reverse("mfa_authenticate")
        response = client.post(reverse("mfa_authenticate"), {"code": current_totp(SECRET)}, follow=True)

    assert response.redirect_chain[-1][0] == reverse("dashboard")
    assert response.status_code == 200
    assert client.session["_auth_user_id"] == str(staff.pk)
    assert "sign-in not rate limited" in caplog.text


def test_a_wrong_password_or_code_is_still_refused_while_the_cache_is_down(client, cache_down):  # noqa: F811
    staff = _staff()

    response = client.post(reverse("account_login"), {"login": staff.email, "password": "wrong"})
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session

    client.post(reverse("account_login"), {"login": staff.email, "password": PASSWORD})
    wrong = "000000" if current_totp(SECRET) != "000000" else "111111"
    response = client.post(reverse("mfa_authenticate"), {"code": wrong})
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session
