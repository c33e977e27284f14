"""One address invited by two organisations: a pending invitation holds the address for a while, never for
ever (resending or inviting again renews the link, not the hold); the first link accepted wins and withdraws
the others; a resend is refused when the address has meanwhile joined, or been invited by, another one."""

import re
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from accounts.invitations import (
    INVITATION_VALID_FOR,
    invitation_accept,
    invitation_create,
    invitation_resend,
    invitation_revoke,
)
from accounts.models import Invitation, MemberRole, MembershipEvent, StaffRole, User
from accounts.services import customer_user_create
from tests.factories import CustomerFactory, StaffFactory

pytestmark = pytest.mark.django_db

SITE = "http://testserver/"
PASSWORD = "A-long-new-password-42"
ADDRESS = "x@example.com"


def _token(message) -> str:
    return re.search(r"/accounts/invitation/([\w-]+)/", message.body).group(1)


@pytest.fixture
def admin():
    return StaffFactory(staff_role=StaffRole.ADMIN)


@pytest.fixture
def orgs():
    return CustomerFactory(name="A"), CustomerFactory(name="B")


def _invite(customer, by, email=ADDRESS):
    return invitation_create(customer=customer, email=email, role=MemberRole.VIEWER, invited_by=by, site=SITE)


def _age(invitation, *, held_for=INVITATION_VALID_FOR + timedelta(minutes=1), expired=False):
    """Move ``invitation`` into the past: first sent ``held_for`` ago, and expired or still open."""
    now = timezone.now()
    Invitation.objects.filter(pk=invitation.pk).update(
        invited_at=now - held_for, expires_at=now + (-1 if expired else 1) * timedelta(minutes=1)
    )


def test_an_expired_invitation_resent_after_another_organisation_invited_is_refused(orgs, admin, mailoutbox):
    a, b = orgs
    stale = _invite(a, admin)
    _age(stale, held_for=timedelta(days=1), expired=True)
    _invite(b, admin)
    with pytest.raises(ValidationError, match="pending invitation from another organisation"):
        invitation_resend(invitation=stale, actor=admin, site=SITE)
    assert len(mailoutbox) == 2  # no new link went out
    stale.refresh_from_db()
    assert stale.send_count == 1
    # B's link works, and A's expired invitation is withdrawn so it cannot be resent later.
    user = invitation_accept(token=_token(mailoutbox[1]), password=PASSWORD)
    assert user.membership.customer == b
    stale.refresh_from_db()
    assert stale.revoked_at is not None and stale.revoked_by is None
    withdrawn = MembershipEvent.objects.get(customer=a, action=MembershipEvent.Action.INVITATION_REVOKED)
    assert withdrawn.email == ADDRESS and withdrawn.actor is None
    with pytest.raises(ValidationError, match="revoked"):
        invitation_resend(invitation=stale, actor=admin, site=SITE)


def test_a_resend_to_an_address_that_joined_elsewhere_is_refused(orgs, admin, mailoutbox):
    a, b = orgs
    invitation = _invite(a, admin)
    customer_user_create(email=ADDRESS, password=PASSWORD, customer=b, role=MemberRole.OWNER)
    with pytest.raises(ValidationError, match="already has an account with another organisation") as refused:
        invitation_resend(invitation=invitation, actor=admin, site=SITE)
    assert "B" not in " ".join(refused.value.messages)
    assert len(mailoutbox) == 1


def test_resending_does_not_hold_an_address_for_ever(orgs, admin, mailoutbox):
    a, b = orgs
    held = _invite(a, admin)
    # Within the hold another organisation is refused...
    with pytest.raises(ValidationError, match="pending invitation from another organisation"):
        _invite(b, admin)
    # ...but once it is over, resending A's link keeps the link alive, not the hold.
    _age(held)
    invitation_resend(invitation=held, actor=admin, site=SITE)
    _invite(b, admin)
    assert (
        Invitation.objects.filter(email=ADDRESS, accepted_at__isnull=True, revoked_at__isnull=True).count()
        == 2
    )
    # Both links work until one is used; the other is then withdrawn.
    user = invitation_accept(token=_token(mailoutbox[1]), password=PASSWORD)
    assert user.membership.customer == a
    with pytest.raises(ValidationError, match="withdrawn"):
        invitation_accept(token=_token(mailoutbox[2]), password=PASSWORD)
    assert User.objects.get(email=ADDRESS).membership.customer == a


def test_revoking_and_inviting_again_does_not_renew_the_hold(orgs, admin):
    a, b = orgs
    first = _invite(a, admin)
    _age(first)
    invitation_revoke(invitation=first, actor=admin)
    _invite(a, admin)
    assert _invite(b, admin).customer == b


def test_a_member_who_left_may_be_held_again_by_a_new_invitation(orgs, admin, mailoutbox):
    a, b = orgs
    first = _invite(a, admin)
    invitation_accept(token=_token(mailoutbox[0]), password=PASSWORD)
    Invitation.objects.filter(pk=first.pk).update(invited_at=timezone.now() - timedelta(days=60))
    User.objects.get(email=ADDRESS).membership.delete()
    _invite(a, admin)
    # The accepted invitation of long ago is not this invitation's start: the new one holds the address.
    with pytest.raises(ValidationError, match="pending invitation from another organisation"):
        _invite(b, admin)


def test_the_withdrawn_link_says_so_on_the_accept_page(orgs, admin, client, mailoutbox):
    a, b = orgs
    _age(_invite(a, admin))
    _invite(b, admin)
    invitation_accept(token=_token(mailoutbox[1]), password=PASSWORD)
    response = client.get(reverse("invitation-accept", args=[_token(mailoutbox[0])]))
    assert response.status_code == 410
    assert b"withdrawn" in response.content


def test_the_resend_refusal_is_said_on_the_panel_in_both_languages(orgs, admin, client, mailoutbox):
    a, b = orgs
    stale = _invite(a, admin)
    _age(stale, held_for=timedelta(days=1), expired=True)
    _invite(b, admin)
    client.force_login(admin)
    url = reverse("staff-customer-users-resend", args=[a.pk, stale.pk])
    page = client.post(url, follow=True).content.decode()
    assert "pending invitation from another organisation" in page
    page = client.post(url, follow=True, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "pending invitation from" not in page and "来自另一个组织的待接受邀请" in page
    assert len(mailoutbox) == 2
