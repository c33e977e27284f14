"""The users panel: staff tab (htmx partial and full page), the portal's own users page, the reseller's
customer users page; who may read, who may manage, and every refusal answered clearly."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import Customer, Invitation, MemberRole, Membership, StaffRole
from tests.factories import (
    CustomerFactory,
    MembershipFactory,
    StaffFactory,
    SubDistributorFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def acme():
    return CustomerFactory(name="Acme", code="acme")


def _staff(client, role):
    user = StaffFactory(staff_role=role)
    client.force_login(user)
    return user


def _users(acme, action="", *extra):
    return reverse(f"staff-customer-users{action}", args=[acme.pk, *extra])


def test_staff_tab_is_a_partial_for_htmx_and_a_full_page_otherwise(client, acme):
    MembershipFactory(user=UserFactory(email="ops@acme.example.com"), customer=acme)
    _staff(client, StaffRole.SUPPORT)
    partial = client.get(_users(acme), **HTMX)
    assert partial.status_code == 200
    body = partial.content.decode()
    assert body.lstrip().startswith('<div id="customer-users"')
    assert "ops@acme.example.com" in body and 'data-testid="invite-form"' in body
    full = client.get(_users(acme))
    assert b"shell-staff" in full.content and b"ops@acme.example.com" in full.content


@pytest.mark.parametrize("role", [StaffRole.ADMIN, StaffRole.SALES, StaffRole.SUPPORT])
def test_admin_sales_and_support_invite_from_the_tab(client, acme, role, mailoutbox):
    _staff(client, role)
    response = client.post(
        _users(acme, "-invite"), {"email": "new@acme.example.com", "role": "billing"}, **HTMX
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert "Invitation sent to new@acme.example.com." in body
    assert 'data-testid="invitation-row"' in body
    assert mailoutbox[0].to == ["new@acme.example.com"]
    assert Invitation.objects.get().role == MemberRole.BILLING


@pytest.mark.parametrize("role", [StaffRole.FINANCE, StaffRole.AUDITOR])
def test_finance_and_auditors_read_the_tab_but_may_not_change_it(client, acme, role):
    member = MembershipFactory(customer=acme, role=MemberRole.VIEWER)
    _staff(client, role)
    page = client.get(_users(acme), **HTMX)
    assert page.status_code == 200
    assert b'data-testid="invite-form"' not in page.content
    assert b'data-testid="role-form"' not in page.content
    refused = client.post(_users(acme, "-invite"), {"email": "x@acme.example.com", "role": "viewer"}, **HTMX)
    assert refused.status_code == 403
    assert client.post(_users(acme, "-revoke", member.pk), **HTMX).status_code == 403
    assert client.post(_users(acme, "-role", member.pk), {"role": "owner"}).status_code == 403
    assert not Invitation.objects.exists()
    member.refresh_from_db()
    assert member.role == MemberRole.VIEWER


def test_customers_users_may_not_reach_the_staff_tab(client, acme):
    client.force_login(MembershipFactory(customer=acme, role=MemberRole.OWNER).user)
    assert client.get(_users(acme)).status_code == 403


def test_a_bad_invite_is_said_on_its_field_in_place_or_on_the_page(client, acme):
    _staff(client, StaffRole.SALES)
    inline = client.post(_users(acme, "-invite"), {"email": "nope", "role": "viewer"}, **HTMX)
    assert inline.status_code == 200
    assert b'data-testid="invite-error"' in inline.content
    page = client.post(_users(acme, "-invite"), {"email": "x@acme.example.com", "role": "emperor"})
    assert page.status_code == 400
    assert b"shell-staff" in page.content
    StaffFactory(email="staff@op.example.com", staff_role=StaffRole.FINANCE)
    staff_address = client.post(
        _users(acme, "-invite"), {"email": "staff@op.example.com", "role": "viewer"}, **HTMX
    )
    assert "belongs to a staff account" in staff_address.content.decode()


def test_a_plain_post_redirects_back_to_the_full_page(client, acme, mailoutbox):
    _staff(client, StaffRole.SALES)
    response = client.post(_users(acme, "-invite"), {"email": "new@acme.example.com", "role": "viewer"})
    assert response.status_code == 302 and response["Location"] == _users(acme)


def test_resend_revoke_role_and_revoke_member_from_the_tab(client, acme, mailoutbox):
    _staff(client, StaffRole.SUPPORT)
    client.post(_users(acme, "-invite"), {"email": "new@acme.example.com", "role": "viewer"}, **HTMX)
    invitation = Invitation.objects.get()
    resent = client.post(_users(acme, "-resend", invitation.pk), **HTMX)
    assert "A new invitation link was sent" in resent.content.decode()
    assert len(mailoutbox) == 2
    revoked = client.post(_users(acme, "-invitation-revoke", invitation.pk), **HTMX)
    assert "was revoked" in revoked.content.decode()
    again = client.post(_users(acme, "-resend", invitation.pk), **HTMX)
    assert "was revoked; invite the address again" in again.content.decode()

    member = MembershipFactory(
        user=UserFactory(email="m@acme.example.com"), customer=acme, role=MemberRole.VIEWER
    )
    changed = client.post(_users(acme, "-role", member.pk), {"role": "billing"}, **HTMX)
    assert "m@acme.example.com is now Billing." in changed.content.decode()
    bad_role = client.post(_users(acme, "-role", member.pk), {"role": "emperor"}, **HTMX)
    assert "Choose a role" in bad_role.content.decode()
    gone = client.post(_users(acme, "-revoke", member.pk), **HTMX)
    assert "m@acme.example.com can no longer sign in." in gone.content.decode()
    assert not Membership.objects.filter(pk=member.pk).exists()
    assert b'data-testid="user-history"' in gone.content


def test_ids_of_another_customer_are_not_found_through_this_one(client, acme):
    other = CustomerFactory()
    member = MembershipFactory(customer=other)
    _staff(client, StaffRole.ADMIN)
    assert client.post(_users(acme, "-revoke", member.pk), **HTMX).status_code == 404
    assert client.post(_users(acme, "-resend", 999999), **HTMX).status_code == 404
    assert client.get(reverse("staff-customer-users", args=[999999])).status_code == 404


# --- portal --------------------------------------------------------------------------------------------


def test_an_owner_manages_its_users_in_the_portal(client, acme, mailoutbox):
    owner = MembershipFactory(customer=acme, role=MemberRole.OWNER)
    client.force_login(owner.user)
    page = client.get(reverse("portal-users"))
    assert page.status_code == 200 and b"shell-portal" in page.content
    assert b'data-testid="invite-form"' in page.content
    client.post(reverse("portal-users-invite"), {"email": "new@acme.example.com", "role": "viewer"})
    invitation = Invitation.objects.get()
    assert (invitation.customer, invitation.invited_by) == (acme, owner.user)
    # Its own row offers no role change and no revoke; posting anyway is refused clearly.
    own = client.post(reverse("portal-users-revoke", args=[owner.pk]), **HTMX)
    assert "your own access" in own.content.decode()
    assert Membership.objects.filter(pk=owner.pk).exists()


@pytest.mark.parametrize("role", [MemberRole.BILLING, MemberRole.VIEWER])
def test_billing_and_viewers_read_the_portal_users_but_may_not_change_them(client, acme, role):
    user = MembershipFactory(customer=acme, role=role).user
    owner = MembershipFactory(customer=acme, role=MemberRole.OWNER)
    client.force_login(user)
    page = client.get(reverse("portal-users"))
    assert page.status_code == 200
    assert b'data-testid="read-only-note"' in page.content
    assert b'data-testid="invite-form"' not in page.content
    invite = client.post(reverse("portal-users-invite"), {"email": "x@acme.example.com", "role": "owner"})
    assert invite.status_code == 403
    assert client.post(reverse("portal-users-revoke", args=[owner.pk])).status_code == 403


def test_a_portal_owner_cannot_reach_another_customers_members(client, acme):
    client.force_login(MembershipFactory(customer=acme, role=MemberRole.OWNER).user)
    stranger = MembershipFactory(customer=CustomerFactory(), role=MemberRole.VIEWER)
    assert client.post(reverse("portal-users-revoke", args=[stranger.pk])).status_code == 404
    assert client.post(reverse("portal-users-role", args=[stranger.pk]), {"role": "owner"}).status_code == 404
    stranger.refresh_from_db()
    assert stranger.role == MemberRole.VIEWER


def test_staff_are_refused_the_portal_users_page(client):
    _staff(client, StaffRole.ADMIN)
    assert client.get(reverse("portal-users")).status_code == 403


# --- reseller's seller console ---------------------------------------------------------------------------


def test_a_resellers_owner_manages_its_customers_users(client, mailoutbox):
    reseller = SubDistributorFactory(name="Reseller S", chain_mode=Customer.ChainMode.RESALE)
    below = CustomerFactory(parent=reseller)
    client.force_login(MembershipFactory(customer=reseller, role=MemberRole.OWNER).user)
    url = reverse("portal-seller-customer-users", args=[below.pk])
    assert client.get(url).status_code == 200
    client.post(
        reverse("portal-seller-customer-users-invite", args=[below.pk]),
        {"email": "b@x.example.com", "role": "owner"},
    )
    assert Invitation.objects.get().customer == below
    assert client.get(reverse("portal-seller-customer-users", args=[CustomerFactory().pk])).status_code == 404


def test_a_resellers_billing_member_may_not_manage_users(client):
    reseller = SubDistributorFactory(chain_mode=Customer.ChainMode.RESALE)
    below = CustomerFactory(parent=reseller)
    client.force_login(MembershipFactory(customer=reseller, role=MemberRole.BILLING).user)
    assert client.get(reverse("portal-seller-customer-users", args=[below.pk])).status_code == 403


# --- the whole way in --------------------------------------------------------------------------------


def test_invited_from_the_tab_the_person_signs_in_through_the_link(client, acme, mailoutbox):
    _staff(client, StaffRole.SALES)
    client.post(_users(acme, "-invite"), {"email": "first@acme.example.com", "role": "owner"}, **HTMX)
    link = re.search(r"http://testserver(/accounts/invitation/[\w-]+/)", mailoutbox[0].body).group(1)
    client.logout()
    response = client.post(
        link, {"password1": "Quite-long-pass-77", "password2": "Quite-long-pass-77"}, follow=True
    )
    assert response.redirect_chain[-1][0] == reverse("portal-home")
    assert "Welcome! Your account for Acme is ready." in response.content.decode()
    users = client.get(reverse("portal-users"))
    assert b'data-testid="invite-form"' in users.content  # an owner


def test_the_users_panel_and_the_accept_page_read_in_chinese(client, acme, mailoutbox):
    owner = MembershipFactory(customer=acme, role=MemberRole.OWNER)
    client.force_login(owner.user)
    client.post(reverse("portal-users-invite"), {"email": "new@acme.example.com", "role": "viewer"})
    page = client.get(reverse("portal-users"), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    for chinese in ("贵组织的用户", "邀请用户", "发送邀请", "重新发送", "待接受", "查看者"):
        assert chinese in page, chinese
    for english in ("Invite a user", "Send invitation", "Resend", "Pending"):
        assert english not in page, english
    client.logout()
    link = re.search(r"http://testserver(/accounts/invitation/[\w-]+/)", mailoutbox[0].body).group(1)
    accept = client.get(link, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "接受邀请" in accept and "设置密码并登录" in accept


def test_customers_never_read_which_staff_member_acted(client, mailoutbox):
    reseller = SubDistributorFactory(chain_mode=Customer.ChainMode.RESALE)
    below = CustomerFactory(parent=reseller)
    sales = StaffFactory(email="sam@op.example.com", staff_role=StaffRole.SALES)
    client.force_login(sales)
    client.post(
        reverse("staff-customer-users-invite", args=[below.pk]), {"email": "a@x.example.com", "role": "owner"}
    )
    assert b"sam@op.example.com" in client.get(reverse("staff-customer-users", args=[below.pk])).content
    reseller_owner = MembershipFactory(user=UserFactory(email="boss@s.example.com"), customer=reseller)
    client.force_login(reseller_owner.user)
    client.post(
        reverse("portal-seller-customer-users-invite", args=[below.pk]),
        {"email": "b@x.example.com", "role": "viewer"},
    )
    page = client.get(reverse("portal-seller-customer-users", args=[below.pk])).content.decode()
    assert "sam@op.example.com" not in page
    assert "boss@s.example.com" in page


def test_a_resellers_owner_may_not_manage_users_of_a_sub_resellers_customer(client, mailoutbox):
    top = SubDistributorFactory(chain_mode=Customer.ChainMode.RESALE)
    sub = SubDistributorFactory(parent=top, chain_mode=Customer.ChainMode.RESALE)
    deep = CustomerFactory(parent=sub)
    assert deep.seller_id == sub.pk
    deep_owner = MembershipFactory(customer=deep, role=MemberRole.OWNER)
    stranger = Invitation.objects.create(
        customer=deep,
        email="p@deep.example.com",
        token_hash="0" * 64,
        sent_at=timezone.now(),
        expires_at=timezone.now() + timedelta(days=1),
    )
    client.force_login(MembershipFactory(customer=top, role=MemberRole.OWNER).user)
    answers = [
        client.get(reverse("portal-seller-customer-users", args=[deep.pk])),
        client.post(
            reverse("portal-seller-customer-users-invite", args=[deep.pk]),
            {"email": "spy@top.example.com", "role": MemberRole.OWNER},
        ),
        client.post(reverse("portal-seller-customer-users-resend", args=[deep.pk, stranger.pk])),
        client.post(reverse("portal-seller-customer-users-invitation-revoke", args=[deep.pk, stranger.pk])),
        client.post(
            reverse("portal-seller-customer-users-role", args=[deep.pk, deep_owner.pk]), {"role": "viewer"}
        ),
        client.post(reverse("portal-seller-customer-users-revoke", args=[deep.pk, deep_owner.pk])),
    ]
    assert [answer.status_code for answer in answers] == [404] * 6
    assert list(Invitation.objects.values_list("email", flat=True)) == ["p@deep.example.com"]
    assert not mailoutbox
    deep_owner.refresh_from_db()
    assert deep_owner.role == MemberRole.OWNER
    # The sub-reseller that sells to it still manages its users.
    client.force_login(MembershipFactory(customer=sub, role=MemberRole.OWNER).user)
    assert client.get(reverse("portal-seller-customer-users", args=[deep.pk])).status_code == 200
