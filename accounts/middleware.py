"""Cross-cutting access rules that must hold on every request, not only where a view remembers them."""

from urllib.parse import urlencode

from django.http import HttpResponseForbidden, JsonResponse
from django.shortcuts import redirect
from django.urls import Resolver404, resolve, reverse
from django.utils.translation import gettext as _

from accounts.models import StaffRole
from accounts.two_factor import has_totp, requires_second_factor, second_factor_passed

# Paths an auditor may POST to: signing out, the language switch, their own two-factor settings. Paths are
# read from ``path_info`` (what URLs resolve against), never ``path``, which a SCRIPT_NAME prefix can change.
_ACCOUNT_PATHS = ("/accounts/", "/i18n/", "/static/")
_SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}

# What staff may reach before this session has passed the second factor: sign out, switch language, enter
# a code. Only staff without a device may also enrol one (allauth asks for the password first). Nothing
# else under /accounts/: with the password alone, the recovery-code pages would show codes that count as
# a second factor, and the e-mail and password pages would let an intruder lock the owner out.
_BEFORE_SECOND_FACTOR = {"account_logout", "set_language", "mfa_reauthenticate"}
_TO_ENROL = {"mfa_activate_totp", "account_reauthenticate"}


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
            and not request.path_info.startswith(_ACCOUNT_PATHS)
            and not _changes_nothing(view_func)
        ):
            message = _("Auditors have read-only access.")
            if request.path_info.startswith("/api/"):
                return JsonResponse({"detail": message}, status=403)
            return HttpResponseForbidden(message)
        return None


class RequireStaffTwoFactorMiddleware:
    """Let staff reach nothing but their account pages until this session has passed TOTP.

    Staff without a device are sent to enrol one, staff with a device to enter a code; the API answers
    403. This holds for every way in (the sign-in form, the admin site, a session that began before the
    device was enrolled), because it looks at what this session proved, not at what the user owns.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is None or not requires_second_factor(user) or second_factor_passed(request):
            return self.get_response(request)
        enrolled = has_totp(user)
        allowed = _BEFORE_SECOND_FACTOR if enrolled else _BEFORE_SECOND_FACTOR | _TO_ENROL
        if _url_name(request) in allowed:
            return self.get_response(request)
        if request.path_info.startswith("/api/"):
            message = (
                _("Confirm this sign-in with your authenticator code first.")
                if enrolled
                else _("Set up two-factor authentication first.")
            )
            return JsonResponse({"detail": message}, status=403)
        if not enrolled:
            return redirect("mfa_activate_totp")
        return redirect(f"{reverse('mfa_reauthenticate')}?{urlencode({'next': request.get_full_path()})}")


def _url_name(request) -> str | None:
    try:
        return resolve(request.path_info).url_name
    except Resolver404:
        return None


def _changes_nothing(view_func) -> bool:
    view_class = getattr(view_func, "cls", None) or getattr(view_func, "view_class", None)
    return bool(getattr(view_func, "changes_nothing", False) or getattr(view_class, "changes_nothing", False))
