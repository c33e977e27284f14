"""Stripe's webhook endpoint: signature-checked, stored, then processed."""

import logging

from django.conf import settings
from django.http import HttpResponse, HttpResponseBadRequest
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from billing.payments.models import StripeEvent
from billing.payments.webhooks import WebhookRejected, stripe_event_process, stripe_event_receive

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
    except WebhookRejected as exc:
        logger.warning("Stripe webhook refused: %s", exc)
        return HttpResponseBadRequest(str(exc), content_type="text/plain")
    event = stripe_event_process(event=event)
    if event.status == StripeEvent.Status.FAILED:
        # A non-2xx answer makes Stripe deliver the event again later; the stored error stays for staff.
        return HttpResponse(
            f"Event {event.stripe_id} failed; stored for retry.", status=500, content_type="text/plain"
        )
    return HttpResponse(f"Event {event.stripe_id} {event.status}.", content_type="text/plain")
