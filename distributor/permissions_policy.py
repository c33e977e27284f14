"""The ``Permissions-Policy`` header: browser features no page of ours uses are switched off for every page.

A script that got in somehow (or a page that frames ours) still cannot reach the camera, microphone or
location, nor open the browser's payment sheet: card payments leave for Stripe Checkout by a redirect, they
are never embedded. https://developer.mozilla.org/docs/Web/HTTP/Headers/Permissions-Policy
"""

from django.conf import settings

HEADER = "Permissions-Policy"


def header_value(policy: dict[str, list[str]]) -> str:
    """``{"camera": [], "fullscreen": ["self"]}`` → ``camera=(), fullscreen=(self)``."""
    return ", ".join(f"{feature}=({' '.join(allowlist)})" for feature, allowlist in policy.items())


class PermissionsPolicyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self.value = header_value(settings.PERMISSIONS_POLICY)

    def __call__(self, request):
        response = self.get_response(request)
        if self.value:
            response.headers.setdefault(HEADER, self.value)
        return response
