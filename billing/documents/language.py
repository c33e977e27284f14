"""Which language a document download is printed in: ``?lang=en`` or ``?lang=zh-hans``, else the document's.

A customer reads its documents in its own language (``Customer.language``, copied onto each invoice, credit
note and receipt), but its accountant or our staff may need the other one: every PDF download takes
``?lang=`` and prints in it, whatever the customer's setting. Nothing is cached per document, so each
download is printed in the language asked for. A value that is not one of the two is refused with a 400
naming the parameter and the values it takes, rather than quietly printing English.
"""

from __future__ import annotations

from functools import wraps

from django.http import HttpResponseBadRequest
from django.utils.translation import gettext as _

from billing.documents.pdf import language_for

# The codes ``?lang=`` takes, as Django's LANGUAGES spells them.
DOCUMENT_LANGUAGES = ("en", "zh-hans")


def language_error(request) -> str | None:
    """Why ``request``'s ``lang`` parameter is refused, or None when it is absent or one of ours."""
    raw = request.GET.get("lang")
    if raw is None or raw == "" or raw in DOCUMENT_LANGUAGES:
        return None
    return _("The lang parameter must be “en” or “zh-hans”, not “%(value)s”.") % {"value": raw[:20]}


def requested_language(request, default: str | None) -> str:
    """The language to print in: ``?lang=`` when given (the view is wrapped in ``lang_checked``, so it is
    valid), else ``default`` (the document's or customer's language)."""
    return language_for(request.GET.get("lang") or default)


def lang_checked(view):
    """Answer a download whose ``?lang=`` is not a document language with a plain 400 saying so."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        error = language_error(request)
        if error is not None:
            return HttpResponseBadRequest(error, content_type="text/plain; charset=utf-8")
        return view(request, *args, **kwargs)

    return wrapped
