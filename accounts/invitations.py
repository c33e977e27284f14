"""Portal users: invite by e-mail with a role, resend, revoke, change role, and accept an invitation.

Sign-up is closed (``accounts.adapters``): an invitation is the only way a customer user gets in. The link
carries a random token of which only a SHA-256 hash is stored; it works once, until it expires, and stops
working when the invitation is resent (a new token) or revoked. Accepting sets the person's password and
creates the membership; customer users have no second factor to enrol (``accounts.two_factor``: only
staff need one), so the link ends in the portal.

One address, one organisation: while an invitation is pending, it holds its address against other
organisations for ``INVITATION_VALID_FOR`` from the organisation's first invitation of it (resending, or
revoking and inviting again, renews the link but not the hold, so nobody keeps an address for ever). After
that another organisation may invite it too; the first link accepted wins and withdraws the others.

Revoking a member deactivates the user (no sign-in, and an open session ends at its next request because
the auth backend refuses inactive users) and deletes the membership, so no page or API can act for the
customer through it; ``MembershipEvent`` keeps who was there, in which role, and who removed them.
"""

import hashlib
import secrets
from datetime import timedelta

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import EmailMultiAlternatives
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Max, Min
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.identity import seller_identity, sender_address
from accounts.models import Customer, Invitation, MemberRole, Membership, MembershipEvent, StaffRole, User

# How long a link works after it was (re)sent: long enough for a weekend, short enough that an old mail
# found in a forwarded thread has gone stale.
INVITATION_VALID_FOR = timedelta(days=7)
# Staff who onboard and look after customers manage their users; finance and auditors only read.
USER_MANAGING_STAFF = (StaffRole.ADMIN, StaffRole.SALES, StaffRole.SUPPORT)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def may_manage_users(user: User, customer: Customer) -> bool:
    """Whether ``user`` may invite, resend, revoke and change roles of ``customer``'s portal users.

    Admin, sales and support staff for every customer; an owner for its own organisation, and the owner of
    a resale sub-distributor for the customers it sells to (it runs their accounts). Not for the customers
    of a reseller below it: those are that reseller's, as the rest of the seller console treats them.
    """
    if not user.is_authenticated or not user.is_active:
        return False
    if user.is_operator_staff:
        return user.staff_role in USER_MANAGING_STAFF
    membership = getattr(user, "membership", None)
    if membership is None or membership.role != MemberRole.OWNER:
        return False
    home = membership.customer
    if customer.pk == home.pk:
        return True
    return home.is_reseller and customer.seller_id == home.pk


def _require_manager(actor: User, customer: Customer) -> None:
    if not may_manage_users(actor, customer):
        raise PermissionDenied(_("You may not manage this organisation's users."))


def _clean_email(email: str) -> str:
    email = (email or "").strip().lower()
    try:
        validate_email(email)
    except ValidationError as exc:
        raise ValidationError({"email": _("Enter a valid e-mail address.")}) from exc
    return email


def _clean_role(role: str) -> str:
    if role not in MemberRole.values:
        raise ValidationError({"role": _("Choose a role: owner, billing or viewer.")})
    return role


def _member_conflict(email: str, customer: Customer) -> str | None:
    """Why ``email``'s account cannot join ``customer``, or None. A user left without a membership
    (revoked before) may be invited again; its account is reactivated on acceptance."""
    user = User.objects.filter(email__iexact=email).select_related("membership").first()
    if user is not None:
        if user.staff_role or user.is_staff or user.is_superuser:
            return _("This e-mail address belongs to a staff account; invite another address.")
        membership = getattr(user, "membership", None)
        if membership is not None:
            if membership.customer_id == customer.pk:
                return _("This person is already a user of this organisation.")
            # Never which one: a customer's owner must not learn who else is a customer.
            return _("This e-mail address already has an account with another organisation.")
    return None


def _held_elsewhere(email: str, customer: Customer) -> bool:
    """Whether another organisation's pending invitation still holds ``email``: its link works and its
    first invitation of the address not accepted since was sent less than ``INVITATION_VALID_FOR`` ago."""
    now = timezone.now()
    holders = (
        Invitation.objects.filter(
            email__iexact=email, accepted_at__isnull=True, revoked_at__isnull=True, expires_at__gt=now
        )
        .exclude(customer=customer)
        .values_list("customer_id", flat=True)
    )
    for holder in holders:
        mine = Invitation.objects.filter(customer_id=holder, email__iexact=email)
        last_joined = mine.filter(accepted_at__isnull=False).aggregate(at=Max("invited_at"))["at"]
        pending = mine.filter(accepted_at__isnull=True)
        if last_joined is not None:
            pending = pending.filter(invited_at__gt=last_joined)
        first = pending.aggregate(at=Min("invited_at"))["at"]
        if first is not None and first > now - INVITATION_VALID_FOR:
            return True
    return False


def _email_conflict(email: str, customer: Customer) -> str | None:
    """Why ``customer`` cannot invite ``email`` now (a new invitation, or a resend), or None."""
    conflict = _member_conflict(email, customer)
    if conflict is None and _held_elsewhere(email, customer):
        conflict = _("This e-mail address has a pending invitation from another organisation.")
    return conflict


def _log(customer, email, action, role, actor, previous_role=""):
    MembershipEvent.objects.create(
        customer=customer, email=email, action=action, role=role, previous_role=previous_role, actor=actor
    )


def accept_url(site: str, token: str) -> str:
    return f"{site.rstrip('/')}{reverse('invitation-accept', args=[token])}"


def invitation_email(invitation: Invitation, *, link: str) -> EmailMultiAlternatives:
    """The invitation e-mail in the customer's language, text and HTML, from its seller (a resale
    sub-distributor's customers hear from it, never from the operator)."""
    customer = invitation.customer
    seller = seller_identity(customer)
    context = {
        "customer": customer,
        "invitation": invitation,
        "link": link,
        "seller": seller.name,
        "valid_days": INVITATION_VALID_FOR.days,
    }
    with translation.override(customer.language):
        context["role"] = invitation.get_role_display()
        subject = " ".join(render_to_string("accounts/email/invitation_subject.txt", context).split())
        text = render_to_string("accounts/email/invitation_body.txt", context)
        html = render_to_string("accounts/email/invitation_body.html", context)
    message = EmailMultiAlternatives(
        subject,
        text,
        sender_address(seller),
        [invitation.email],
        reply_to=[seller.email] if seller.email else None,
    )
    message.attach_alternative(html, "text/html")
    return message


def _issue_and_send(invitation: Invitation, *, site: str) -> None:
    """Give ``invitation`` a fresh token and expiry, save it and e-mail the link. A failed send raises a
    ``ValidationError`` so the caller's transaction rolls back: no invitation nobody received."""
    token = secrets.token_urlsafe(32)
    now = timezone.now()
    invitation.token_hash = token_hash(token)
    invitation.sent_at = now
    invitation.expires_at = now + INVITATION_VALID_FOR
    invitation.save()
    try:
        invitation_email(invitation, link=accept_url(site, token)).send()
    except OSError as exc:  # smtplib errors are OSErrors: an unreachable or refusing mail server
        raise ValidationError(
            _("The invitation e-mail could not be sent; nothing was saved. Try again.")
        ) from exc


@transaction.atomic
def invitation_create(
    *, customer: Customer, email: str, role: str, invited_by: User, site: str
) -> Invitation:
    """Invite ``email`` to ``customer``'s portal as ``role`` and e-mail the link (``site``: the absolute
    root URL the link starts with)."""
    _require_manager(invited_by, customer)
    email = _clean_email(email)
    role = _clean_role(role)
    conflict = _email_conflict(email, customer)
    if conflict:
        raise ValidationError({"email": conflict})
    # Locked so two clicks cannot both pass the check below; the unique constraint is the last word.
    Customer.objects.select_for_update().filter(pk=customer.pk).first()
    open_here = Invitation.objects.filter(
        customer=customer, email__iexact=email, accepted_at__isnull=True, revoked_at__isnull=True
    ).first()
    if open_here is not None:
        raise ValidationError(
            {"email": _("This address is already invited; resend the invitation from the list instead.")}
        )
    invitation = Invitation(customer=customer, email=email, role=role, invited_by=invited_by)
    _issue_and_send(invitation, site=site)
    _log(customer, email, MembershipEvent.Action.INVITED, role, invited_by)
    return invitation


def _locked_open(invitation: Invitation, actor: User) -> Invitation:
    _require_manager(actor, invitation.customer)
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if invitation.accepted_at:
        raise ValidationError(_("This invitation was already accepted."))
    if invitation.revoked_at:
        raise ValidationError(_("This invitation was revoked; invite the address again."))
    return invitation


@transaction.atomic
def invitation_resend(*, invitation: Invitation, actor: User, site: str) -> Invitation:
    """E-mail a new link (the previous one stops working) valid for another ``INVITATION_VALID_FOR``.

    Checked like a new invitation: the address may meanwhile have joined, or been invited by, another
    organisation (an expired invitation no longer holds it)."""
    invitation = _locked_open(invitation, actor)
    conflict = _email_conflict(invitation.email, invitation.customer)
    if conflict:
        raise ValidationError(conflict)
    invitation.send_count += 1
    _issue_and_send(invitation, site=site)
    _log(invitation.customer, invitation.email, MembershipEvent.Action.RESENT, invitation.role, actor)
    return invitation


@transaction.atomic
def invitation_revoke(*, invitation: Invitation, actor: User) -> Invitation:
    """Withdraw an invitation not yet accepted: its link no longer works."""
    invitation = _locked_open(invitation, actor)
    invitation.revoked_at = timezone.now()
    invitation.revoked_by = actor
    invitation.save(update_fields=["revoked_at", "revoked_by"])
    _log(
        invitation.customer,
        invitation.email,
        MembershipEvent.Action.INVITATION_REVOKED,
        invitation.role,
        actor,
    )
    return invitation


def _not_self(membership: Membership, actor: User) -> None:
    # An owner who demoted or removed itself could leave the organisation with nobody to manage its users.
    if membership.user_id == actor.pk:
        raise ValidationError(_("You cannot change or revoke your own access; ask another owner."))


@transaction.atomic
def membership_role_change(*, membership: Membership, role: str, actor: User) -> Membership:
    _require_manager(actor, membership.customer)
    _not_self(membership, actor)
    role = _clean_role(role)
    membership = Membership.objects.select_for_update().select_related("user").get(pk=membership.pk)
    previous = membership.role
    if previous == role:
        return membership
    membership.role = role
    membership.save(update_fields=["role"])
    _log(
        membership.customer, membership.user.email, MembershipEvent.Action.ROLE_CHANGED, role, actor, previous
    )
    return membership


@transaction.atomic
def membership_revoke(*, membership: Membership, actor: User) -> None:
    """Remove a portal user: it can no longer sign in, and its membership is deleted (the event stays)."""
    _require_manager(actor, membership.customer)
    _not_self(membership, actor)
    membership = (
        Membership.objects.select_for_update().select_related("user", "customer").get(pk=membership.pk)
    )
    user = membership.user
    user.is_active = False
    user.save(update_fields=["is_active"])
    _log(membership.customer, user.email, MembershipEvent.Action.REVOKED, membership.role, actor)
    membership.delete()


def invitation_for_token(token: str) -> Invitation:
    """The invitation a link opens, or a ``ValidationError`` saying why it cannot be used."""
    invitation = (
        Invitation.objects.select_related("customer").filter(token_hash=token_hash(token or "")).first()
    )
    if invitation is None:
        raise ValidationError(
            _("This invitation link is not valid. It may have been replaced by a newer e-mail."),
            code="invalid",
        )
    if invitation.accepted_at:
        raise ValidationError(
            _("This invitation was already used. Sign in with your e-mail and password."), code="used"
        )
    if invitation.revoked_at:
        raise ValidationError(_("This invitation was withdrawn."), code="revoked")
    if invitation.expires_at <= timezone.now():
        raise ValidationError(_("This invitation has expired. Ask for a new one."), code="expired")
    return invitation


@transaction.atomic
def invitation_accept(*, token: str, password: str, first_name: str = "", last_name: str = "") -> User:
    """Accept the invitation behind ``token``: set the person's password and make them a member. The
    address's other open invitations (other organisations', expired ones too) are withdrawn: it has joined.
    Only a membership refuses it, never another organisation's pending invitation."""
    invitation = invitation_for_token(token)
    # Every open invitation of the address, this one included, is locked in one query in id order, so
    # that two links of one address accepted at once queue (never deadlock): the second then finds its
    # invitation withdrawn (or used) below.
    locked = Invitation.objects.select_for_update().filter(
        email__iexact=invitation.email, accepted_at__isnull=True, revoked_at__isnull=True
    )
    others = [other for other in locked.order_by("pk") if other.pk != invitation.pk]
    invitation = Invitation.objects.select_related("customer").get(pk=invitation.pk)
    # Checked again under the lock: a second tab may have accepted it, or staff revoked it, a moment ago.
    if invitation.accepted_at or invitation.revoked_at:
        invitation_for_token(token)
    customer = invitation.customer
    conflict = _member_conflict(invitation.email, customer)
    if conflict:
        raise ValidationError(conflict)
    user = User.objects.filter(email__iexact=invitation.email).first() or User(email=invitation.email)
    user.first_name = first_name.strip() or user.first_name
    user.last_name = last_name.strip() or user.last_name
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise ValidationError({"password1": exc.messages}) from exc
    user.set_password(password)
    user.is_active = True
    user.save()
    Membership.objects.create(user=user, customer=customer, role=invitation.role)
    invitation.accepted_at = timezone.now()
    invitation.user = user
    invitation.save(update_fields=["accepted_at", "user"])
    _log(customer, user.email, MembershipEvent.Action.ACCEPTED, invitation.role, user)
    for other in others:
        other.revoked_at = invitation.accepted_at
        other.save(update_fields=["revoked_at"])
        # Nobody of that organisation revoked it, and it must not learn where the person went.
        _log(other.customer, other.email, MembershipEvent.Action.INVITATION_REVOKED, other.role, None)
    return user
