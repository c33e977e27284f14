"""Going back to the page a form came from (its ``next`` field), never to another site.

An open redirect would let a link on our domain send a signed-in user to a look-alike page, so a ``next``
counts only when Django's own check says it stays on this host (and on HTTPS when the request was).
"""

from django.shortcuts import redirect, resolve_url
from django.utils.http import url_has_allowed_host_and_scheme


def safe_next(request, fallback: str) -> str:
    """The request's ``next`` (POST, then GET) when it stays on this site, else ``fallback`` resolved."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    allowed = url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return target if allowed else resolve_url(fallback)


def redirect_next(request, fallback: str):
    return redirect(safe_next(request, fallback))
