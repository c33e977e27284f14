"""Access rules for views and API endpoints: staff roles, customer roles, read-only auditors."""

from collections.abc import Callable, Iterable
from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from rest_framework.permissions import SAFE_METHODS

from accounts.models import StaffRole

ALL_STAFF_ROLES = tuple(StaffRole.values)


def staff_required(roles: Iterable[str] = ALL_STAFF_ROLES, *, auditor_reads: bool = True) -> Callable:
    """Allow operator staff whose role is in ``roles``.

    Auditors may read every page (GET) unless ``auditor_reads`` is False, as for pages that exist only
    to change something (a create form), which they must not even be offered.
    """
    allowed = set(roles)

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            user = request.user
            if not user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not user.is_operator_staff:
                raise PermissionDenied
            reading = request.method in SAFE_METHODS
            auditor_may_read = auditor_reads and reading and user.staff_role == StaffRole.AUDITOR
            if user.staff_role not in allowed and not auditor_may_read:
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


def customer_user_required(view):
    """Allow users who act for a customer organisation (the portal)."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        user = request.user
        if not user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if getattr(user, "membership", None) is None:
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapped
