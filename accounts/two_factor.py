"""Whether a signed-in session has passed the second factor, as every staff page requires.

Having a TOTP device is not enough: a password typed at the admin site's own login form, or a session
that began before the device was enrolled, has never shown a code. allauth keeps a log of the
authentication steps this session went through (``get_authentication_records``); only an ``mfa`` step
of *this* login counts. Signing in again starts a new log.
"""

from allauth.account.authentication import get_authentication_records
from allauth.mfa.models import Authenticator


def requires_second_factor(user) -> bool:
    """Every operator staff member, and anyone the admin site lets in, must pass a second factor."""
    return bool(user.is_authenticated and (user.is_operator_staff or user.is_staff or user.is_superuser))


def second_factor_passed(request) -> bool:
    records = get_authentication_records(request, request.user)
    return any(record.get("method") == "mfa" for record in records)


def has_totp(user) -> bool:
    return Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()
