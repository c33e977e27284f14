"""Every error under ``/api/`` is a JSON body, never an HTML page, whatever raised it and whatever DEBUG is.

DRF already answers its own errors in JSON. What it re-raises (a bug in a view) and what Django answers
itself (an unknown URL, a bad Host header, an exception in a middleware) would otherwise be Django's error
page, and with DEBUG on that page lists the settings, database URL included, to any token holder. An
unhandled exception answers ``{"detail": "Server error", "error_id": "…"}``; the traceback goes to the log
under the same id, so a client can quote it without seeing it.
"""

import logging
import uuid

from django.core.exceptions import BadRequest, PermissionDenied, RequestDataTooBig, SuspiciousOperation
from django.http import Http404, JsonResponse
from django.utils.translation import gettext as _

logger = logging.getLogger(__name__)

API_PREFIX = "/api/"
# Headers of an error page that still mean something once its body is JSON.
KEPT_HEADERS = ("Allow", "Retry-After", "WWW-Authenticate")


def _messages() -> dict[int, str]:
    return {
        400: _("Bad request."),
        401: _("Authentication credentials were not provided."),
        403: _("You do not have permission to perform this action."),
        404: _("Not found."),
        405: _("Method not allowed."),
        413: _("Request body too large."),
        500: _("Server error"),
    }


def is_api(request) -> bool:
    # "/api" and "/API/…" resolve nowhere, but a client aiming at the API gets its answer in JSON too.
    path = request.path_info.lower()
    return path.startswith(API_PREFIX) or path == API_PREFIX.rstrip("/")


def is_json(response) -> bool:
    content_type = response.get("Content-Type", "").split(";", 1)[0].strip().lower()
    return content_type == "application/json" or content_type.endswith("+json")


def error_response(status: int, *, error_id: str | None = None) -> JsonResponse:
    body = {"detail": _messages().get(status, _("Request failed."))}
    if error_id is not None:
        body["error_id"] = error_id
    return JsonResponse(body, status=status)


def status_for(exception: Exception) -> int | None:
    """The client error an exception stands for, as Django would answer it; None for a server error."""
    if isinstance(exception, Http404):
        return 404
    if isinstance(exception, PermissionDenied):
        return 403
    if isinstance(exception, RequestDataTooBig):
        return 413
    if isinstance(exception, BadRequest | SuspiciousOperation):
        return 400
    return None


class ApiErrorMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if not is_api(request) or response.status_code < 400 or response.streaming or is_json(response):
            return response
        # An error page made below this middleware (unknown URL, an exception in a middleware): same
        # status, JSON body. Django has already logged any traceback behind it.
        error_id = None
        if response.status_code >= 500:
            error_id = uuid.uuid4().hex
            logger.error(
                "API error %s: %s %s answered %s",
                error_id,
                request.method,
                request.path,
                response.status_code,
            )
        replacement = error_response(response.status_code, error_id=error_id)
        for header in KEPT_HEADERS:
            if header in response:
                replacement[header] = response[header]
        replacement.cookies = response.cookies
        return replacement

    def process_exception(self, request, exception):
        """An exception from an API view, answered here so Django never renders its error page."""
        if not is_api(request):
            return None
        status = status_for(exception)
        if status is not None:
            return error_response(status)
        error_id = uuid.uuid4().hex
        logger.error(
            "API error %s: %s %s raised %s",
            error_id,
            request.method,
            request.path,
            type(exception).__name__,
            exc_info=(type(exception), exception, exception.__traceback__),
        )
        return error_response(500, error_id=error_id)
