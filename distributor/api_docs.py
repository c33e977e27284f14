"""The API reference page (Redoc) for signed-in people, served from our own static files.

Who may read the schema itself is set in ``SPECTACULAR_SETTINGS`` (signed-in users and gateway tokens).
"""

from csp.decorators import csp_update
from django.contrib.auth.decorators import login_required
from drf_spectacular.views import SpectacularRedocView

# Redoc styles itself with injected <style> elements and runs its search index in a worker it builds
# from a blob: URL. Only this page gets that latitude; its script is still our own static file.
REDOC_CSP = {"style-src": ["'unsafe-inline'"], "worker-src": ["blob:"]}


class ApiDocsView(SpectacularRedocView):
    """drf-spectacular's Redoc view with our template: no CDN, no web fonts, no inline script."""

    template_name = "api/docs.html"


api_docs = csp_update(REDOC_CSP)(login_required(ApiDocsView.as_view(url_name="api-schema")))
