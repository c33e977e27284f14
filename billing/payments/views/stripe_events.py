"""Finance's Stripe event pages: every stored event, those that need attention, and decisions on them."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.models import StaffRole
from accounts.permissions import staff_required
from billing.payments.event_review import captured_offer, stripe_event_credit_captured, stripe_event_resolve
from billing.payments.filters import StripeEventFilter
from billing.payments.forms import StripeEventNoteForm
from billing.payments.models import StripeEvent
from billing.payments.selectors import stripe_event_queue_counts, stripe_events_visible_to
from billing.payments.webhooks import TRANSIENT_ERRORS, stripe_event_process
from common.listing import filtered_page

FINANCE = (StaffRole.FINANCE, StaffRole.ADMIN)
OPEN = (StripeEvent.Status.RECEIVED, StripeEvent.Status.PARKED, StripeEvent.Status.FAILED)


@staff_required(roles=FINANCE)
def stripe_event_list(request):
    context = filtered_page(request, stripe_events_visible_to(request.user), StripeEventFilter)
    context["counts"] = stripe_event_queue_counts(request.user)
    context["queue"] = request.GET.get("queue", "")
    return render(request, "dashboard/payments/event_list.html", context)


@staff_required(roles=FINANCE)
def stripe_event_detail(request, pk: int):
    event = get_object_or_404(stripe_events_visible_to(request.user).select_related("resolved_by"), pk=pk)
    may_decide = event.status in OPEN and not request.user.is_read_only
    context = {
        "event": event,
        "may_decide": may_decide,
        "offer": captured_offer(event) if may_decide else None,
        "note_form": StripeEventNoteForm(),
    }
    return render(request, "dashboard/payments/event_detail.html", context)


@require_POST
@staff_required(roles=FINANCE)
def stripe_event_retry(request, pk: int):
    event = get_object_or_404(stripe_events_visible_to(request.user), pk=pk)
    try:
        event = stripe_event_process(event=event)
    except TRANSIENT_ERRORS:
        messages.error(request, _("The database is busy; try again in a minute."))
        return redirect("staff-stripe-event-detail", pk=event.pk)
    if event.status == StripeEvent.Status.PARKED:
        messages.warning(request, _("The event is still parked: %(reason)s") % {"reason": event.error})
    elif event.status == StripeEvent.Status.FAILED:
        messages.error(request, _("The event failed again: %(error)s") % {"error": event.error})
    else:
        messages.success(
            request,
            _("Event %(id)s: %(status)s.") % {"id": event.stripe_id, "status": event.get_status_display()},
        )
    return redirect("staff-stripe-event-detail", pk=event.pk)


def _decide(request, pk: int, service, done: str):
    event = get_object_or_404(stripe_events_visible_to(request.user), pk=pk)
    form = StripeEventNoteForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Say what was done about this event, and why."))
        return redirect("staff-stripe-event-detail", pk=pk)
    try:
        service(event=event, user=request.user, note=form.cleaned_data["note"])
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, done)
    return redirect("staff-stripe-event-detail", pk=pk)


@require_POST
@staff_required(roles=FINANCE)
def stripe_event_resolve_view(request, pk: int):
    return _decide(request, pk, stripe_event_resolve, _("Event marked resolved; nothing was booked."))


@require_POST
@staff_required(roles=FINANCE)
def stripe_event_credit_captured_view(request, pk: int):
    return _decide(
        request,
        pk,
        stripe_event_credit_captured,
        _("What Stripe captured was credited; the event is resolved."),
    )
