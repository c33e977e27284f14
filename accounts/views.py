"""Portal-user pages: the users panel of a customer (staff tab, the customer's own portal page, a resale
sub-distributor's customer page) with its invite / resend / revoke / role actions, and the invitation's
accept page.

The three places share one panel and one set of actions; a ``Scope`` says which customer, whether the
reader may manage, and which URL names to post to. Each action answers htmx with the refreshed panel and a
plain form post with a redirect to the full page.
"""

from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth import login, logout
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.forms import AcceptForm, InviteForm, RoleForm
from accounts.invitations import (
    INVITATION_VALID_FOR,
    invitation_accept,
    invitation_create,
    invitation_for_token,
    invitation_resend,
    invitation_revoke,
    may_manage_users,
    membership_revoke,
    membership_role_change,
)
from accounts.models import Customer, Invitation, MemberRole, Membership
from accounts.permissions import (
    ALL_STAFF_ROLES,
    customer_user_required,
    seller_member_required,
    staff_required,
    subtree_customer_or_404,
)
from accounts.selectors import customer_users, home_customer
from common.forms import form_errors_add

PANEL = "accounts/users/_panel.html"
_BACKEND = "allauth.account.auth_backends.AuthenticationBackend"


@dataclass(frozen=True)
class Scope:
    customer: Customer
    may_manage: bool
    prefix: str  # URL names: prefix for the list, prefix + "-invite" etc. for the actions
    args: tuple = ()
    page: str = ""

    def url(self, action: str = "", *extra) -> str:
        return reverse(f"{self.prefix}{action}", args=[*self.args, *extra])


def _staff_scope(request, pk: int) -> Scope:
    customer = get_object_or_404(Customer, pk=pk)
    return Scope(
        customer,
        may_manage_users(request.user, customer),
        "staff-customer-users",
        (customer.pk,),
        "accounts/users/staff_page.html",
    )


def _portal_scope(request) -> Scope:
    customer = home_customer(request.user)
    return Scope(
        customer, may_manage_users(request.user, customer), "portal-users", (), "portal/users/list.html"
    )


def _seller_scope(request, pk: int) -> Scope:
    # Its own book only, as the rest of the seller console: a customer of a reseller below is not its own.
    customer = subtree_customer_or_404(request, pk, own_book=True)
    return Scope(
        customer,
        may_manage_users(request.user, customer),
        "portal-seller-customer-users",
        (customer.pk,),
        "portal/users/seller_customer.html",
    )


def _panel(request, scope: Scope, *, invite_form=None, status: int = 200):
    users = customer_users(scope.customer)
    now = timezone.now()
    members = [
        {
            "membership": membership,
            "is_self": membership.user_id == request.user.pk,
            "role_url": scope.url("-role", membership.pk),
            "revoke_url": scope.url("-revoke", membership.pk),
        }
        for membership in users["members"]
    ]
    invitations = [
        {
            "invitation": invitation,
            "status": invitation.status_at(now),
            "resend_url": scope.url("-resend", invitation.pk),
            "revoke_url": scope.url("-invitation-revoke", invitation.pk),
        }
        for invitation in users["invitations"]
    ]
    context = {
        "scope": scope,
        "customer": scope.customer,
        "may_manage": scope.may_manage,
        "members": members,
        "invitations": invitations,
        "events": users["events"],
        "roles": MemberRole.choices,
        "invite_form": invite_form or InviteForm(),
        "panel_url": scope.url(),
        "invite_url": scope.url("-invite"),
        "valid_days": INVITATION_VALID_FOR.days,
        # Customers read who acted only when it was one of their own or their seller's people: the
        # operator's staff stay unnamed (a reseller's customers must not learn of the operator at all).
        "names_staff": request.user.is_operator_staff,
    }
    # htmx swaps only successful answers: a refused form comes back as 200 to show its errors in place.
    if request.htmx:
        return render(request, PANEL, context)
    return render(request, scope.page, context, status=status)


def _after(request, scope: Scope):
    return _panel(request, scope) if request.htmx else redirect(scope.url())


def _site(request) -> str:
    return request.build_absolute_uri("/")


def _invite(request, scope: Scope):
    if not scope.may_manage:
        raise PermissionDenied
    form = InviteForm(request.POST)
    if form.is_valid():
        try:
            invitation = invitation_create(
                customer=scope.customer,
                email=form.cleaned_data["email"],
                role=form.cleaned_data["role"],
                invited_by=request.user,
                site=_site(request),
            )
        except ValidationError as exc:
            form_errors_add(form, exc)
        else:
            messages.success(request, _("Invitation sent to %(email)s.") % {"email": invitation.email})
            return _after(request, scope)
    return _panel(request, scope, invite_form=form, status=400)


def _open_invitation(scope: Scope, pk: int) -> Invitation:
    if not scope.may_manage:
        raise PermissionDenied
    return get_object_or_404(Invitation, pk=pk, customer=scope.customer)


def _member(scope: Scope, pk: int) -> Membership:
    if not scope.may_manage:
        raise PermissionDenied
    return get_object_or_404(
        Membership.objects.select_related("user", "customer"), pk=pk, customer=scope.customer
    )


def _act(request, scope: Scope, action, success: str):
    """Run ``action``; a refusal (already accepted, own access…) is said on the panel, never a 500."""
    try:
        action()
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, success)
    return _after(request, scope)


def _resend(request, scope: Scope, pk: int):
    invitation = _open_invitation(scope, pk)
    return _act(
        request,
        scope,
        lambda: invitation_resend(invitation=invitation, actor=request.user, site=_site(request)),
        _("A new invitation link was sent to %(email)s.") % {"email": invitation.email},
    )


def _invitation_revoke(request, scope: Scope, pk: int):
    invitation = _open_invitation(scope, pk)
    return _act(
        request,
        scope,
        lambda: invitation_revoke(invitation=invitation, actor=request.user),
        _("The invitation to %(email)s was revoked.") % {"email": invitation.email},
    )


def _role(request, scope: Scope, pk: int):
    membership = _member(scope, pk)
    form = RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a role: owner, billing or viewer."))
        return _after(request, scope)
    return _act(
        request,
        scope,
        lambda: membership_role_change(
            membership=membership, role=form.cleaned_data["role"], actor=request.user
        ),
        _("%(email)s is now %(role)s.")
        % {"email": membership.user.email, "role": MemberRole(form.cleaned_data["role"]).label},
    )


def _revoke(request, scope: Scope, pk: int):
    membership = _member(scope, pk)
    return _act(
        request,
        scope,
        lambda: membership_revoke(membership=membership, actor=request.user),
        _("%(email)s can no longer sign in.") % {"email": membership.user.email},
    )


# --- staff: the customer page's "Portal users" tab ---------------------------------------------------

staff_readers = staff_required(ALL_STAFF_ROLES)


@staff_readers
def staff_customer_users(request, pk: int):
    return _panel(request, _staff_scope(request, pk))


@require_POST
@staff_readers
def staff_customer_users_invite(request, pk: int):
    return _invite(request, _staff_scope(request, pk))


@require_POST
@staff_readers
def staff_customer_users_resend(request, pk: int, invitation_pk: int):
    return _resend(request, _staff_scope(request, pk), invitation_pk)


@require_POST
@staff_readers
def staff_customer_users_invitation_revoke(request, pk: int, invitation_pk: int):
    return _invitation_revoke(request, _staff_scope(request, pk), invitation_pk)


@require_POST
@staff_readers
def staff_customer_users_role(request, pk: int, membership_pk: int):
    return _role(request, _staff_scope(request, pk), membership_pk)


@require_POST
@staff_readers
def staff_customer_users_revoke(request, pk: int, membership_pk: int):
    return _revoke(request, _staff_scope(request, pk), membership_pk)


# --- portal: an organisation's own users (owners manage, others read) --------------------------------


@customer_user_required
def portal_users(request):
    return _panel(request, _portal_scope(request))


@require_POST
@customer_user_required
def portal_users_invite(request):
    return _invite(request, _portal_scope(request))


@require_POST
@customer_user_required
def portal_users_resend(request, invitation_pk: int):
    return _resend(request, _portal_scope(request), invitation_pk)


@require_POST
@customer_user_required
def portal_users_invitation_revoke(request, invitation_pk: int):
    return _invitation_revoke(request, _portal_scope(request), invitation_pk)


@require_POST
@customer_user_required
def portal_users_role(request, membership_pk: int):
    return _role(request, _portal_scope(request), membership_pk)


@require_POST
@customer_user_required
def portal_users_revoke(request, membership_pk: int):
    return _revoke(request, _portal_scope(request), membership_pk)


# --- seller console: a resale sub-distributor's owner manages its customers' users -------------------

seller_owner = seller_member_required(roles=(MemberRole.OWNER,), modes=(Customer.ChainMode.RESALE,))


@seller_owner
def seller_customer_users(request, pk: int):
    return _panel(request, _seller_scope(request, pk))


@require_POST
@seller_owner
def seller_customer_users_invite(request, pk: int):
    return _invite(request, _seller_scope(request, pk))


@require_POST
@seller_owner
def seller_customer_users_resend(request, pk: int, invitation_pk: int):
    return _resend(request, _seller_scope(request, pk), invitation_pk)


@require_POST
@seller_owner
def seller_customer_users_invitation_revoke(request, pk: int, invitation_pk: int):
    return _invitation_revoke(request, _seller_scope(request, pk), invitation_pk)


@require_POST
@seller_owner
def seller_customer_users_role(request, pk: int, membership_pk: int):
    return _role(request, _seller_scope(request, pk), membership_pk)


@require_POST
@seller_owner
def seller_customer_users_revoke(request, pk: int, membership_pk: int):
    return _revoke(request, _seller_scope(request, pk), membership_pk)


# --- accepting an invitation -------------------------------------------------------------------------


def invitation_accept_view(request, token: str):
    """Set a password for the invited address and land in the portal, signed in."""
    try:
        invitation = invitation_for_token(token)
    except ValidationError as exc:
        return render(
            request, "accounts/invitation_accept.html", {"error": " ".join(exc.messages)}, status=410
        )
    form = AcceptForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = invitation_accept(
                token=token,
                password=form.cleaned_data["password1"],
                first_name=form.cleaned_data["first_name"],
                last_name=form.cleaned_data["last_name"],
            )
        except ValidationError as exc:
            form_errors_add(form, exc)
        else:
            if request.user.is_authenticated:
                logout(request)
            login(request, user, backend=_BACKEND)
            messages.success(
                request,
                _("Welcome! Your account for %(customer)s is ready.")
                % {"customer": invitation.customer.name},
            )
            return redirect("portal-home")
    context = {"invitation": invitation, "form": form}
    return render(request, "accounts/invitation_accept.html", context, status=400 if form.errors else 200)
