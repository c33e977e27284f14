"""Staff pages for period close: service charges (list, create, end) and period closes (list, run).

A close that must not run (the period has not ended, a later one is closed) is refused on the form with
its reason before anything is queued; one refused or failed on the worker shows its reason in the list.
"""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.models import StaffRole
from accounts.permissions import staff_required
from accounts.selectors import customers_visible_to
from billing.invoicing.charges import service_charge_create, service_charge_end
from billing.invoicing.close.services import ALL_BOOKS, CloseError, close_refusal
from billing.invoicing.filters import PeriodCloseFilter, ServiceChargeFilter
from billing.invoicing.forms import PeriodCloseForm, ServiceChargeForm
from billing.invoicing.models import PeriodClose, ServiceCharge
from billing.invoicing.periods import period_just_ended, period_parse
from billing.invoicing.queue import period_close_queue
from common.forms import form_errors_add
from common.listing import filtered_page
from common.task_queue import QueueUnavailable

FINANCE = (StaffRole.FINANCE, StaffRole.ADMIN)


def _charges_context(request, form):
    visible = customers_visible_to(request.user)
    queryset = ServiceCharge.objects.filter(customer__in=visible).select_related("customer")
    customer_id = request.GET.get("customer")
    if customer_id and customer_id.isdigit():
        queryset = queryset.filter(customer_id=int(customer_id))
    context = filtered_page(request, queryset.order_by("customer__name", "-starts_on"), ServiceChargeFilter)
    context["form"] = form
    context["can_edit"] = request.user.staff_role in FINANCE
    return context


@staff_required(roles=FINANCE)
def service_charge_list(request):
    if request.method == "POST":
        form = ServiceChargeForm(request.POST, customers=customers_visible_to(request.user))
        if form.is_valid():
            data = form.cleaned_data
            try:
                charge = service_charge_create(
                    customer=data["customer"],
                    description=data["description"],
                    amount=data["amount"],
                    recurrence=data["recurrence"],
                    starts_on=data["starts_on"],
                    ends_on=data["ends_on"],
                    actor=request.user,
                )
            except ValidationError as exc:
                form_errors_add(form, exc)
            else:
                messages.success(
                    request,
                    _("Service charge for %(customer)s recorded; the next close bills it.")
                    % {"customer": charge.customer.name},
                )
                return redirect("staff-service-charges")
    else:
        form = ServiceChargeForm(
            customers=customers_visible_to(request.user), initial={"starts_on": timezone.localdate()}
        )
    return render(request, "invoicing/closes/service_charge_list.html", _charges_context(request, form))


@require_POST
@staff_required(roles=FINANCE)
def service_charge_stop(request, pk: int):
    charge = get_object_or_404(ServiceCharge, pk=pk, customer__in=customers_visible_to(request.user))
    service_charge_end(charge=charge, on=timezone.localdate())
    messages.success(
        request, _("Service charge %(description)s ended.") % {"description": charge.description}
    )
    return redirect("staff-service-charges")


@staff_required(roles=FINANCE)
def period_close_list(request):
    if request.method == "POST":
        form = PeriodCloseForm(request.POST)
        if form.is_valid():
            book = form.cleaned_data["book"]
            try:
                close_refusal(
                    period_parse(form.cleaned_data["period"]),
                    book=ALL_BOOKS if book is None else book.customer,
                )
            except CloseError as exc:
                form.add_error("period", str(exc))
        if form.is_valid():
            try:
                period_close_queue(
                    period=form.cleaned_data["period"],
                    actor=request.user,
                    book=book.key if book is not None else None,
                )
            except QueueUnavailable:
                form.add_error(
                    None,
                    _(
                        "The task queue is unreachable, so the close was not started. Try again in a few "
                        "minutes."
                    ),
                )
        if form.is_valid():
            messages.success(
                request,
                _("Close of %(period)s started; it appears below when it runs.")
                % {"period": form.cleaned_data["period"]},
            )
            return redirect("staff-period-closes")
    else:
        form = PeriodCloseForm(initial={"period": period_just_ended().label})
    context = filtered_page(request, PeriodClose.objects.select_related("started_by"), PeriodCloseFilter)
    context["form"] = form
    context["can_run"] = request.user.staff_role in FINANCE
    status = 400 if request.method == "POST" else 200
    return render(request, "invoicing/closes/period_close_list.html", context, status=status)
