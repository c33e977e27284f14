"""Portal users: invite by e-mail with a role, resend, revoke, change role, accept through the link."""

import re
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from accounts.invitations import (
    invitation_accept,
    invitation_create,
    invitation_resend,
    invitation_revoke,
    membership_revoke,
    membership_role_change,
)
from accounts.models import Customer, Invitation, MemberRole, Membership, MembershipEvent, StaffRole, User
from accounts.services import customer_user_create
from tests.factories import (
    CustomerFactory,
    MembershipFactory,
    StaffFactory,
    SubDistributorFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

SITE = "http://testserver/"
PASSWORD = "A-long-new-password-42"


def _token(message) -> str:
    return re.search(r"/accounts/invitation/([\w-]+)/", message.body).group(1)


def _invite(customer, email="new@acme.example.com", role=MemberRole.BILLING, by=None):
    by = by or StaffFactory(staff_role=StaffRole.SALES)
    return invitation_create(customer=customer, email=email, role=role, invited_by=by, site=SITE)


@pytest.fixture
def acme():
    return CustomerFactory(name="Acme", code="acme", contact_email="ap@acme.example.com")


def test_invite_sends_a_text_and_html_mail_with_a_single_use_link(acme, mailoutbox):
    invitation = _invite(acme, email=" New@Acme.example.com ")
    assert invitation.email == "new@acme.example.com"
    assert invitation.role == MemberRole.BILLING
    (message,) = mailoutbox
    assert message.to == ["new@acme.example.com"]
    assert "Acme" in message.subject
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html"
    token = _token(message)
    assert f"http://testserver/accounts/invitation/{token}/" in message.body
    assert f"/accounts/invitation/{token}/" in html
    # Only a hash is stored.
    assert token not in invitation.token_hash
    assert MembershipEvent.objects.get(customer=acme).action == MembershipEvent.Action.INVITED


def test_names_are_plain_text_in_the_text_parts_and_escaped_in_html(mailoutbox):
    _invite(CustomerFactory(name="R&D <Labs>"))
    (message,) = mailoutbox
    assert "R&D <Labs>" in message.subject and "R&D <Labs>" in message.body
    assert "R&amp;D &lt;Labs&gt;" in message.alternatives[0][0]


def test_the_mail_is_in_the_customers_language(mailoutbox):
    customer = CustomerFactory(name="华东", language=Customer.Language.ZH_HANS)
    _invite(customer, role=MemberRole.VIEWER)
    (message,) = mailoutbox
    assert "邀请" in message.subject
    assert "只读" in message.body or "查看者" in message.body
    assert "邀请" in message.alternatives[0][0] and '<html lang="zh-hans">' in message.alternatives[0][0]


def test_invited_person_sets_a_password_and_lands_in_the_portal_signed_in(acme, client, mailoutbox):
    _invite(acme)
    url = reverse("invitation-accept", args=[_token(mailoutbox[0])])
    page = client.get(url)
    assert page.status_code == 200
    assert b"new@acme.example.com" in page.content
    response = client.post(
        url, {"first_name": "Ada", "password1": PASSWORD, "password2": PASSWORD}, follow=True
    )
    assert response.redirect_chain[-1][0] == reverse("portal-home")
    assert b"shell-portal" in response.content
    user = User.objects.get(email="new@acme.example.com")
    assert user.membership.customer == acme and user.membership.role == MemberRole.BILLING
    assert user.first_name == "Ada"
    # The link was single use; the password now signs in through the ordinary form.
    again = client.get(url)
    assert again.status_code == 410
    assert b"already used" in again.content
    client.logout()
    signed_in = client.post(
        reverse("account_login"), {"login": "new@acme.example.com", "password": PASSWORD}, follow=True
    )
    assert signed_in.redirect_chain[-1][0] == reverse("portal-home")


def test_accepting_refuses_a_weak_or_mismatched_password_without_using_the_link(acme, client, mailoutbox):
    _invite(acme)
    url = reverse("invitation-accept", args=[_token(mailoutbox[0])])
    weak = client.post(url, {"password1": "123", "password2": "123"})
    assert weak.status_code == 400
    assert "_auth_user_id" not in client.session
    mismatched = client.post(url, {"password1": PASSWORD, "password2": PASSWORD + "x"})
    assert b"The two passwords differ." in mismatched.content
    assert not User.objects.filter(email="new@acme.example.com").exists()
    assert Invitation.objects.get().accepted_at is None


def test_an_expired_link_is_refused_clearly(acme, client, mailoutbox):
    invitation = _invite(acme)
    Invitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    token = _token(mailoutbox[0])
    response = client.get(reverse("invitation-accept", args=[token]))
    assert response.status_code == 410
    assert b"expired" in response.content
    with pytest.raises(ValidationError, match="expired"):
        invitation_accept(token=token, password=PASSWORD)


def test_a_made_up_link_is_refused_clearly(client):
    response = client.get(reverse("invitation-accept", args=["not-a-token"]))
    assert response.status_code == 410
    assert b"not valid" in response.content


def test_resend_replaces_the_link_and_extends_it(acme, mailoutbox):
    invitation = _invite(acme)
    Invitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now() - timedelta(days=1))
    old = _token(mailoutbox[0])
    invitation_resend(invitation=invitation, actor=StaffFactory(staff_role=StaffRole.SUPPORT), site=SITE)
    assert len(mailoutbox) == 2
    new = _token(mailoutbox[1])
    assert new != old
    invitation.refresh_from_db()
    assert invitation.send_count == 2 and invitation.expires_at > timezone.now()
    with pytest.raises(ValidationError, match="not valid"):
        invitation_accept(token=old, password=PASSWORD)
    user = invitation_accept(token=new, password=PASSWORD)
    assert user.membership.customer == acme


def test_a_revoked_invitation_no_longer_opens(acme, mailoutbox):
    invitation = _invite(acme)
    invitation_revoke(invitation=invitation, actor=StaffFactory(staff_role=StaffRole.ADMIN))
    with pytest.raises(ValidationError, match="withdrawn"):
        invitation_accept(token=_token(mailoutbox[0]), password=PASSWORD)
    with pytest.raises(ValidationError, match="revoked"):
        invitation_resend(invitation=invitation, actor=StaffFactory(staff_role=StaffRole.ADMIN), site=SITE)
    # A revoked invitation no longer blocks inviting the address again.
    assert _invite(acme).pk != invitation.pk


def test_inviting_again_says_resend_and_a_member_says_already_a_user(acme):
    _invite(acme)
    with pytest.raises(ValidationError, match="resend"):
        _invite(acme, email="NEW@acme.example.com")
    MembershipFactory(user=UserFactory(email="old@acme.example.com"), customer=acme)
    with pytest.raises(ValidationError, match="already a user of this organisation"):
        _invite(acme, email="old@acme.example.com")


def test_staff_or_another_customers_address_or_a_bad_address_is_refused(acme):
    StaffFactory(email="finance@op.example.com", staff_role=StaffRole.FINANCE)
    other = CustomerFactory(name="Other")
    MembershipFactory(user=UserFactory(email="someone@other.example.com"), customer=other)
    with pytest.raises(ValidationError, match="staff account"):
        _invite(acme, email="Finance@op.example.com")
    with pytest.raises(ValidationError, match="another organisation") as refused:
        _invite(acme, email="someone@other.example.com")
    assert "Other" not in str(refused.value)
    with pytest.raises(ValidationError, match="valid e-mail"):
        _invite(acme, email="not an address")
    with pytest.raises(ValidationError, match="Choose a role"):
        _invite(acme, email="x@acme.example.com", role="emperor")
    _invite(other, email="pending@example.com")
    with pytest.raises(ValidationError, match="pending invitation from another organisation"):
        _invite(acme, email="pending@example.com")


def test_a_failed_send_saves_nothing(acme, monkeypatch):
    def refuse(self, fail_silently=False):
        raise ConnectionRefusedError

    monkeypatch.setattr("django.core.mail.EmailMultiAlternatives.send", refuse)
    with pytest.raises(ValidationError, match="could not be sent"):
        _invite(acme)
    assert not Invitation.objects.exists()


def test_revoking_a_member_stops_sign_in_and_keeps_history(acme, client):
    owner = MembershipFactory(customer=acme, role=MemberRole.OWNER).user
    member = MembershipFactory(user=UserFactory(email="leaver@acme.example.com"), customer=acme)
    client.force_login(member.user)
    assert client.get(reverse("portal-home")).status_code == 200
    membership_revoke(membership=member, actor=owner)
    member.user.refresh_from_db()
    assert not member.user.is_active
    assert not Membership.objects.filter(pk=member.pk).exists()
    # The open session ends, and the password no longer signs in.
    assert client.get(reverse("portal-home")).status_code == 302
    client.logout()
    client.post(reverse("account_login"), {"login": "leaver@acme.example.com", "password": "pass-word-123"})
    assert "_auth_user_id" not in client.session
    event = MembershipEvent.objects.get(action=MembershipEvent.Action.REVOKED)
    assert (event.email, event.actor, event.role) == ("leaver@acme.example.com", owner, MemberRole.OWNER)


def test_a_revoked_person_can_be_invited_back(acme, mailoutbox):
    owner = MembershipFactory(customer=acme).user
    member = MembershipFactory(user=UserFactory(email="back@acme.example.com"), customer=acme)
    membership_revoke(membership=member, actor=owner)
    _invite(acme, email="back@acme.example.com", role=MemberRole.VIEWER, by=owner)
    user = invitation_accept(token=_token(mailoutbox[0]), password=PASSWORD)
    assert user.pk == member.user.pk and user.is_active and user.membership.role == MemberRole.VIEWER


def test_change_role_is_logged_and_nobody_changes_their_own(acme):
    owner = MembershipFactory(customer=acme, role=MemberRole.OWNER)
    member = MembershipFactory(customer=acme, role=MemberRole.VIEWER)
    membership_role_change(membership=member, role=MemberRole.BILLING, actor=owner.user)
    member.refresh_from_db()
    assert member.role == MemberRole.BILLING
    event = MembershipEvent.objects.get(action=MembershipEvent.Action.ROLE_CHANGED)
    assert (event.previous_role, event.role) == (MemberRole.VIEWER, MemberRole.BILLING)
    with pytest.raises(ValidationError, match="your own"):
        membership_role_change(membership=owner, role=MemberRole.VIEWER, actor=owner.user)
    with pytest.raises(ValidationError, match="your own"):
        membership_revoke(membership=owner, actor=owner.user)


@pytest.mark.parametrize("role", [StaffRole.FINANCE, StaffRole.AUDITOR])
def test_finance_and_auditors_may_not_manage_users(acme, role):
    with pytest.raises(PermissionDenied):
        _invite(acme, by=StaffFactory(staff_role=role))


@pytest.mark.parametrize("role", [MemberRole.BILLING, MemberRole.VIEWER])
def test_only_owners_manage_their_organisations_users(acme, role):
    member = MembershipFactory(customer=acme, role=role)
    with pytest.raises(PermissionDenied):
        _invite(acme, by=member.user)
    other_owner = MembershipFactory(customer=CustomerFactory(), role=MemberRole.OWNER)
    with pytest.raises(PermissionDenied):
        _invite(acme, by=other_owner.user)


def test_a_resellers_owner_manages_its_customers_users_but_not_its_sellers(mailoutbox):
    reseller = SubDistributorFactory(chain_mode=Customer.ChainMode.RESALE)
    below = CustomerFactory(parent=reseller)
    owner = MembershipFactory(customer=reseller, role=MemberRole.OWNER).user
    invitation = _invite(below, by=owner)
    assert invitation.customer == below
    # Its customers hear from the reseller, never the operator.
    assert reseller.name in mailoutbox[0].subject
    direct = SubDistributorFactory(chain_mode=Customer.ChainMode.DIRECT)
    direct_owner = MembershipFactory(customer=direct, role=MemberRole.OWNER).user
    with pytest.raises(PermissionDenied):
        _invite(CustomerFactory(parent=direct), by=direct_owner)
    # A customer of a reseller below it is that reseller's to manage, not its seller's.
    sub = SubDistributorFactory(parent=reseller, chain_mode=Customer.ChainMode.RESALE)
    with pytest.raises(PermissionDenied):
        _invite(CustomerFactory(parent=sub), email="spy@example.com", role=MemberRole.OWNER, by=owner)


def test_an_address_that_joined_elsewhere_meanwhile_cannot_accept(acme, client, mailoutbox):
    _invite(acme, email="busy@example.com")
    # Made a member of another organisation directly (as onboarding does), not through an invitation.
    other = CustomerFactory(name="Other")
    customer_user_create(email="busy@example.com", password=PASSWORD, customer=other, role=MemberRole.OWNER)
    url = reverse("invitation-accept", args=[_token(mailoutbox[0])])
    response = client.post(url, {"password1": PASSWORD, "password2": PASSWORD})
    assert response.status_code == 400
    assert b"already has an account with another organisation" in response.content
    assert b"Other" not in response.content
    assert User.objects.get(email="busy@example.com").membership.customer == other


def test_a_resellers_customer_is_invited_in_the_resellers_name(mailoutbox):
    from accounts.models import SellerProfile

    reseller = SubDistributorFactory(name="Reseller S", chain_mode=Customer.ChainMode.RESALE)
    SellerProfile.objects.create(
        customer=reseller, legal_name="Reseller S Ltd", billing_email="billing@s.example.com"
    )
    _invite(CustomerFactory(parent=reseller), email="buyer@example.com")
    (message,) = mailoutbox
    assert message.from_email.startswith("Reseller S Ltd <")
    assert message.reply_to == ["billing@s.example.com"]
    assert "Reseller S Ltd" in message.body and "Distributor" not in message.body
