"""Sign-in sends each user to its shell; staff must set up two-factor first; auditors only read."""

import pytest
from allauth.mfa.totp.internal.auth import TOTP
from django.urls import reverse

from accounts.models import Customer, StaffRole
from billing.terms.models import BillingTerms
from tests.factories import CustomerFactory, MembershipFactory, StaffFactory, UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "pass-word-123"
SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def _login(client, email):
    return client.post(reverse("account_login"), {"login": email, "password": PASSWORD}, follow=True)


@pytest.mark.parametrize("role", [StaffRole.SALES, StaffRole.SUPPORT, StaffRole.AUDITOR])
def test_staff_land_on_the_dashboard(client, role):
    from tests.browser.conftest import current_totp

    TOTP.activate(StaffFactory(email=f"{role}@op.example.com", staff_role=role), SECRET)
    _login(client, f"{role}@op.example.com")
    response = client.post(reverse("mfa_authenticate"), {"code": current_totp(SECRET)}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("dashboard")
    assert response.status_code == 200
    assert b"shell-staff" in response.content


def test_customer_users_land_on_the_portal(client):
    MembershipFactory(user=UserFactory(email="owner@acme.example.com"), customer=CustomerFactory(name="Acme"))
    response = _login(client, "owner@acme.example.com")
    assert response.redirect_chain[-1][0] == reverse("portal-home")
    assert b"shell-portal" in response.content


def test_a_user_without_role_or_membership_is_refused_after_sign_in(client):
    UserFactory(email="nobody@example.com")
    response = _login(client, "nobody@example.com")
    assert response.status_code == 403


def test_wrong_password_is_refused(client):
    StaffFactory(email="s@op.example.com")
    response = client.post(reverse("account_login"), {"login": "s@op.example.com", "password": "nope"})
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize("role", StaffRole.values)
def test_staff_without_totp_must_set_it_up_first(client, role):
    StaffFactory(email="new@op.example.com", staff_role=role)
    response = _login(client, "new@op.example.com")
    # allauth asks for the password again before any change to two-factor settings
    assert (reverse("mfa_activate_totp"), 302) in response.redirect_chain
    confirmed = client.post(response.redirect_chain[-1][0], {"password": PASSWORD}, follow=True)
    assert confirmed.redirect_chain[-1][0] == reverse("mfa_activate_totp")
    assert confirmed.context["totp_url"].startswith("otpauth://totp/")
    for url in (reverse("dashboard"), reverse("staff-customer-list")):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"] == reverse("mfa_activate_totp")


def test_admin_with_totp_is_asked_for_the_code_and_then_reaches_the_dashboard(client):
    from tests.browser.conftest import current_totp

    admin = StaffFactory(email="admin@op.example.com", staff_role=StaffRole.ADMIN)
    TOTP.activate(admin, SECRET)

    response = client.post(reverse("account_login"), {"login": admin.email, "password": PASSWORD})
    assert response["Location"] == reverse("mfa_authenticate")
    assert "_auth_user_id" not in client.session

    response = client.post(reverse("mfa_authenticate"), {"code": current_totp(SECRET)}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("dashboard")


def test_totp_is_available_to_customer_users_too(client):
    MembershipFactory(user=UserFactory(email="viewer@acme.example.com"))
    _login(client, "viewer@acme.example.com")
    response = client.get(reverse("mfa_activate_totp"), follow=True)
    response = client.post(response.redirect_chain[-1][0], {"password": PASSWORD}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("mfa_activate_totp")
    assert response.context["totp_url"].startswith("otpauth://totp/")


def _create_payload(code="new-co"):
    return {
        "name": "New Co",
        "code": code,
        "kind": Customer.Kind.END_CUSTOMER,
        "language": "en",
        "mode": BillingTerms.Mode.MONTHLY,
        "currency": "usd",
    }


def test_sales_creates_a_customer_with_its_billing_terms(client):
    client.force_login(StaffFactory(staff_role=StaffRole.SALES))
    response = client.post(reverse("staff-customer-create"), _create_payload())
    customer = Customer.objects.get(code="new-co")
    assert response["Location"] == reverse("staff-customer-detail", args=[customer.pk])
    assert customer.billing_terms.mode == BillingTerms.Mode.MONTHLY
    assert customer.billing_terms.currency == "USD"
    assert customer.path == f"/{customer.pk}/"


def test_bad_customer_form_names_the_field_and_creates_nothing(client):
    client.force_login(StaffFactory(staff_role=StaffRole.SALES))
    CustomerFactory(code="taken")
    response = client.post(reverse("staff-customer-create"), {**_create_payload("taken"), "currency": "1$"})
    assert response.status_code == 200
    assert set(response.context["form"].errors) == {"code", "currency"}
    assert Customer.objects.filter(code="taken").count() == 1


@pytest.mark.parametrize("role", [StaffRole.SUPPORT, StaffRole.FINANCE])
def test_roles_without_the_right_cannot_create_customers(client, role):
    staff = StaffFactory(staff_role=role)
    TOTP.activate(staff, SECRET)
    client.force_login(staff)
    assert client.post(reverse("staff-customer-create"), _create_payload()).status_code == 403
    assert not Customer.objects.filter(code="new-co").exists()


def test_auditor_reads_everything_but_every_write_is_refused(client):
    client.force_login(StaffFactory(staff_role=StaffRole.AUDITOR))
    customer = CustomerFactory()
    assert client.get(reverse("staff-customer-list")).status_code == 200
    assert client.get(reverse("staff-customer-detail", args=[customer.pk])).status_code == 200
    assert client.get(reverse("staff-customer-create")).status_code == 403
    assert client.post(reverse("staff-customer-create"), _create_payload()).status_code == 403
    assert not Customer.objects.filter(code="new-co").exists()
    # the refusal comes from the middleware, so even an admin-only URL is read-only for auditors
    assert client.post(reverse("admin:accounts_user_add"), {}).status_code == 403
    # signing out and switching language stay possible
    assert client.post(reverse("set_language"), {"language": "zh-hans"}).status_code == 302


def test_public_sign_up_is_closed(client):
    response = client.post(
        reverse("account_signup"),
        {"email": "x@example.com", "password1": "Zx9!abcdefg", "password2": "Zx9!abcdefg"},
    )
    assert response.status_code == 200
    assert b"Sign Up Closed" in response.content or b"closed" in response.content.lower()
    assert not UserFactory._meta.model.objects.filter(email="x@example.com").exists()


def test_password_reset_sends_a_link_by_e_mail(client, mailoutbox):
    StaffFactory(email="forgetful@op.example.com")
    response = client.post(reverse("account_reset_password"), {"email": "forgetful@op.example.com"})
    assert response.status_code == 302
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == ["forgetful@op.example.com"]
    assert "/accounts/password/reset/key/" in mailoutbox[0].body


def test_auditor_writes_to_the_api_are_refused_in_json(client):
    client.force_login(StaffFactory(staff_role=StaffRole.AUDITOR))
    response = client.post(reverse("api-usage-batches"), [], content_type="application/json")
    assert response.status_code == 403
    assert response.json() == {"detail": "Auditors have read-only access."}
