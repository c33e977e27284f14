"""Cross-cutting access rules that must hold on every request, not only where a view remembers them."""

from django.conf import settings
from django.http import HttpResponseForbidden
from django.shortcuts import redirect
from django.utils.translation import gettext as _

from accounts.models import StaffRole

# Paths a user must reach to sign out, switch language or set up two-factor authentication.
_ACCOUNT_PATHS = ("/accounts/", "/i18n/", "/static/")
_SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


class AuditorReadOnlyMiddleware:
    """Refuse every write by an auditor, whatever the view, so read-only cannot be forgotten.

    A view that answers POST without changing anything (a price quote) opts out by setting
    ``changes_nothing = True`` on itself, or on its class for class-based and DRF views.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and user.staff_role == StaffRole.AUDITOR
            and request.method not in _SAFE_METHODS
            and not request.path.startswith(_ACCOUNT_PATHS)
            and not _changes_nothing(view_func)
        ):
            return HttpResponseForbidden(_("Auditors have read-only access."))
        return None


class RequireStaffTwoFactorMiddleware:
    """Send admin and finance staff without TOTP to set it up before anything else."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and user.staff_role in settings.STAFF_ROLES_REQUIRING_2FA
            and not request.path.startswith(_ACCOUNT_PATHS)
            and not _has_totp(user)
        ):
            if request.path.startswith("/api/"):
                return HttpResponseForbidden(_("Set up two-factor authentication first."))
            return redirect("mfa_activate_totp")
        return self.get_response(request)


def _changes_nothing(view_func) -> bool:
    view_class = getattr(view_func, "cls", None) or getattr(view_func, "view_class", None)
    return bool(getattr(view_func, "changes_nothing", False) or getattr(view_class, "changes_nothing", False))


def _has_totp(user) -> bool:
    from allauth.mfa.models import Authenticator

    return Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()
