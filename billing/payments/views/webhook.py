"""Stripe's webhook endpoint: signature-checked, stored, then processed."""

import logging

from django.conf import settings
from django.http import HttpResponse, HttpResponseBadRequest
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from billing.payments.webhooks import (
    TRANSIENT_ERRORS,
    WebhookRejected,
    stripe_event_process,
    stripe_event_receive,
)

logger = logging.getLogger(__name__)


@csrf_exempt  # Stripe cannot send our CSRF token; its signature authenticates the request instead.
@require_POST
def stripe_webhook(request):
    if not settings.STRIPE_WEBHOOK_SECRET:
        return HttpResponse("Stripe webhooks are not configured.", status=503, content_type="text/plain")
    try:
        event, _new = stripe_event_receive(
            payload=request.body, signature=request.headers.get("Stripe-Signature", "")
        )
        event = stripe_event_process(event=event)
    except WebhookRejected as exc:
        logger.warning("Stripe webhook refused: %s", exc)
        return HttpResponseBadRequest(str(exc), content_type="text/plain")
    except TRANSIENT_ERRORS:
        # The database, not the event: a non-2xx answer makes Stripe deliver it again later.
        logger.exception("Stripe webhook: database unavailable")
        return HttpResponse(
            "Temporarily unable to store or process the event; please retry.",
            status=503,
            content_type="text/plain",
            headers={"Retry-After": "60"},
        )
    # Parked and failed events are answered 2xx too: they are kept here, listed for finance, and applied
    # when what they wait for arrives; Stripe sending them again could not change how they end.
    return HttpResponse(f"Event {event.stripe_id} {event.status}.", content_type="text/plain")
