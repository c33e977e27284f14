"""Gateway sources authenticate with ``Authorization: Bearer <token>``; only the token's hash is stored.

Here, beside ``GatewaySource``, because both the usage API and the gateway's status API (a package above
usage) authenticate with it.
"""

from django.contrib.auth.models import AnonymousUser
from django.utils.translation import gettext as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.permissions import BasePermission

from billing.usage.models import GatewaySource, token_hash


class GatewayPrincipal(AnonymousUser):
    """The caller is a machine, not a person: authenticated, but no user rights at all."""

    @property
    def is_authenticated(self):
        return True


class GatewayTokenAuthentication(BaseAuthentication):
    def authenticate(self, request):
        header = get_authorization_header(request).split()
        if not header or header[0].lower() != b"bearer":
            return None
        if len(header) != 2:
            raise AuthenticationFailed(_("Send exactly one token: Authorization: Bearer <token>."))
        source = GatewaySource.objects.filter(
            token_hash=token_hash(header[1].decode(errors="replace"))
        ).first()
        if source is None or not source.is_active:
            raise AuthenticationFailed(_("Unknown or disabled gateway token."))
        return GatewayPrincipal(), source

    def authenticate_header(self, request):
        return 'Bearer realm="gateway"'


class IsGatewaySource(BasePermission):
    def has_permission(self, request, view) -> bool:
        return isinstance(request.auth, GatewaySource)


class GatewayTokenScheme(OpenApiAuthenticationExtension):
    target_class = "billing.usage.auth.GatewayTokenAuthentication"
    name = "gatewayToken"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "description": "A gateway source's token."}
