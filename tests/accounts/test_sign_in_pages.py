"""The sign-in, password and two-factor pages look like the product and say who creates accounts.

Every page is reached the way a person reaches it (the real login form, the e-mailed reset link, the
password asked again before a two-factor change), then checked for the product's stylesheet, the centred
card, Bootstrap buttons (no bare ``<button>``) and the language switch.
"""

import re

import pytest
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import TOTP
from django.urls import reverse
from django.utils import translation

from accounts.models import StaffRole
from tests.browser.conftest import current_totp
from tests.factories import MembershipFactory, StaffFactory, UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "pass-word-123"
SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
HINT_EN = "There is no self sign-up. Accounts are created by your administrator or by invitation"
HINT_ZH = "没有自助注册"


def assert_product_page(response) -> str:
    assert response.status_code == 200
    page = response.content.decode()
    assert "/static/css/app.css" in page and "bootstrap.min.css" in page
    assert 'class="card shadow-sm"' in page and "auth-card" in page
    assert 'name="language"' in page, "no language switch"
    buttons = re.findall(r"<button\b[^>]*>", page)
    # The language switch's <noscript> button is styled too: every button carries Bootstrap's btn class.
    assert buttons, "no button on the page"
    unstyled = [b for b in buttons if not re.search(r'class="[^"]*\bbtn\b', b)]
    assert not unstyled, unstyled
    return page


def _customer_user(email="owner@acme.example.com"):
    return MembershipFactory(user=UserFactory(email=email, password=PASSWORD)).user


def _signed_in(client, user):
    response = client.post(reverse("account_login"), {"login": user.email, "password": PASSWORD})
    assert response.status_code == 302


def test_login_page_is_styled_and_says_there_is_no_self_sign_up(client):
    page = assert_product_page(client.get(reverse("account_login")))
    assert HINT_EN in page
    assert 'data-testid="no-signup-hint"' in page
    assert "sign up" not in page.lower().replace(HINT_EN.lower(), "")
    assert reverse("account_signup") not in page
    assert 'class="btn btn-primary w-100"' in page


def test_login_hint_in_chinese(client):
    client.cookies["django_language"] = "zh-hans"
    page = assert_product_page(client.get(reverse("account_login"), HTTP_ACCEPT_LANGUAGE="zh-hans"))
    assert HINT_ZH in page
    assert HINT_EN not in page
    assert "登录" in page


def test_the_hint_follows_the_adapter(client, monkeypatch):
    # given an installation that opened sign-up, the page links to it instead of the hint
    monkeypatch.setattr("accounts.adapters.AccountAdapter.is_open_for_signup", lambda self, request: True)
    page = client.get(reverse("account_login")).content.decode()
    assert 'data-testid="no-signup-hint"' not in page
    assert reverse("account_signup") in page


def test_password_reset_pages_are_styled(client, mailoutbox):
    _customer_user("forgetful@acme.example.com")
    assert_product_page(client.get(reverse("account_reset_password")))
    response = client.post(reverse("account_reset_password"), {"email": "forgetful@acme.example.com"})
    assert response.status_code == 302
    assert_product_page(client.get(response["Location"]))  # "we have sent you an e-mail"

    link = re.search(r"https?://[^/\s]+(/accounts/password/reset/key/\S+)", mailoutbox[0].body).group(1)
    response = client.get(link, follow=True)
    page = assert_product_page(response)
    assert 'name="password1"' in page
    response = client.post(
        response.redirect_chain[-1][0] if response.redirect_chain else link,
        {"password1": "N3w-pass-word-456", "password2": "N3w-pass-word-456"},
        follow=True,
    )
    assert_product_page(response)  # "your password is now changed"
    assert response.redirect_chain[-1][0] == reverse("account_reset_password_from_key_done")


def test_a_bad_reset_link_is_styled_and_says_so(client):
    page = assert_product_page(client.get("/accounts/password/reset/key/zz-set-password/", follow=True))
    assert reverse("account_reset_password") in page


def test_logout_and_password_change_pages_are_styled(client):
    _signed_in(client, _customer_user())
    page = assert_product_page(client.get(reverse("account_change_password")))
    assert 'name="oldpassword"' in page
    page = assert_product_page(client.get(reverse("account_logout")))
    assert 'class="btn btn-primary' in page


def test_two_factor_pages_are_styled(client):
    # given a customer user enrolling TOTP: the password is asked again first
    _signed_in(client, _customer_user())
    response = client.get(reverse("mfa_activate_totp"), follow=True)
    page = assert_product_page(response)
    assert 'name="password"' in page  # reauthenticate
    response = client.post(response.redirect_chain[-1][0], {"password": PASSWORD}, follow=True)
    page = assert_product_page(response)  # activate, with the QR code and the code field
    assert 'name="code"' in page

    user = response.wsgi_request.user
    TOTP.activate(user, SECRET)
    RecoveryCodes.activate(user)
    assert_product_page(client.get(reverse("mfa_index")))
    page = assert_product_page(client.get(reverse("mfa_view_recovery_codes")))
    assert 'id="recovery_codes"' in page and 'class="form-control"' in page
    assert_product_page(client.get(reverse("mfa_generate_recovery_codes")))


def test_the_two_factor_step_of_sign_in_is_styled_in_both_languages(client):
    admin = StaffFactory(email="admin@op.example.com", staff_role=StaffRole.ADMIN, password=PASSWORD)
    TOTP.activate(admin, SECRET)
    response = client.post(reverse("account_login"), {"login": admin.email, "password": PASSWORD})
    assert response["Location"] == reverse("mfa_authenticate")
    page = assert_product_page(client.get(reverse("mfa_authenticate")))
    assert 'name="code"' in page
    client.cookies["django_language"] = "zh-hans"
    with translation.override("zh-hans"):
        page = assert_product_page(client.get(reverse("mfa_authenticate")))
    assert 'lang="zh-hans"' in page
    response = client.post(reverse("mfa_authenticate"), {"code": current_totp(SECRET)})
    assert response.status_code == 302


@pytest.mark.parametrize(
    ("language", "hint", "sign_in"), [("en", HINT_EN, "Sign In"), ("zh-hans", HINT_ZH, "登录")]
)
def test_the_closed_sign_up_page_says_who_creates_accounts_and_leads_to_sign_in(
    client, language, hint, sign_in
):
    client.cookies["django_language"] = language
    with translation.override(language):
        response = client.get(reverse("account_signup"), HTTP_ACCEPT_LANGUAGE=language)
        login_url = reverse("account_login")
    page = response.content.decode()
    assert response.status_code == 200
    assert "/static/css/app.css" in page and 'class="card shadow-sm"' in page and "auth-card" in page
    assert 'name="language"' in page, "no language switch"
    assert hint in page and 'data-testid="no-signup-hint"' in page
    link = re.search(rf'<a href="{re.escape(login_url)}" role="button"\s+class="btn btn-primary w-100"', page)
    assert link, "no styled link back to the sign-in page"
    assert sign_in in page
    if language != "en":
        assert HINT_EN not in page
