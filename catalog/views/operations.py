"""Staff pages that change prices: exchange rates, alerts, plan assignments (imports: price_imports)."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.permissions import staff_required
from accounts.selectors import customer_for_user, customers_visible_to
from catalog.errors import PricingError
from catalog.filters import FxRateFilter, PriceAlertFilter
from catalog.forms import FxRateForm, FxUploadForm, PlanAssignForm
from catalog.models import FxRate, PriceAlert
from catalog.selectors.pricelist import customer_price_list
from catalog.services.alerts import price_check_run
from catalog.services.fx import fx_rate_set, fx_rates_import_csv
from catalog.services.plans import plan_assign
from catalog.views.common import PRICE_EDITORS, price_list_response, wants_csv
from common.days import local_midnight
from common.forms import form_errors_add
from common.listing import filtered_page


@staff_required()
def fx_list(request):
    rate_form, upload_form, upload_errors = FxRateForm(), FxUploadForm(), []
    if request.method == "POST":
        if request.user.staff_role not in PRICE_EDITORS:
            raise Http404
        if "file" in request.FILES:
            upload_form = FxUploadForm(request.POST, request.FILES)
            if upload_form.is_valid():
                try:
                    rates = fx_rates_import_csv(
                        upload_form.cleaned_data["file"], source=request.FILES["file"].name
                    )
                except ValidationError as exc:
                    upload_errors = exc.messages
                else:
                    messages.success(request, _("%(n)d exchange rates imported.") % {"n": len(rates)})
                    return redirect("catalog-fx")
        else:
            rate_form = FxRateForm(request.POST)
            if rate_form.is_valid():
                data = rate_form.cleaned_data
                try:
                    fx_rate_set(
                        base=data["base"],
                        quote=data["quote"],
                        on=data["date"],
                        rate=data["rate"],
                        source=data["source"],
                    )
                except ValidationError as exc:
                    form_errors_add(rate_form, exc)
                else:
                    messages.success(request, _("Exchange rate saved."))
                    return redirect("catalog-fx")
    context = filtered_page(request, FxRate.objects.all(), FxRateFilter)
    context.update({"rate_form": rate_form, "upload_form": upload_form, "upload_errors": upload_errors})
    return render(request, "dashboard/catalog/fx_list.html", context)


@staff_required()
def alert_list(request):
    queryset = PriceAlert.objects.select_related("plan", "model")
    params = request.GET.copy()
    if "state" not in params:
        params["state"] = "open"
        request.GET = params
    return render(
        request, "dashboard/catalog/alert_list.html", filtered_page(request, queryset, PriceAlertFilter)
    )


@require_POST
@staff_required(roles=PRICE_EDITORS)
def alert_check(request):
    # Translators: who raised a price alert, e.g. "check by ann@example.com".
    result = price_check_run(trigger=_("check by %(email)s") % {"email": request.user.email})
    messages.info(
        request,
        _("Check done: %(found)d prices need attention, %(new)d new alerts, %(resolved)d resolved.")
        % {"found": len(result.findings), "new": len(result.raised), "resolved": result.resolved},
    )
    return redirect("catalog-alerts")


@staff_required()
def customer_prices(request):
    customers = customers_visible_to(request.user).order_by("name")
    customer = None
    if request.GET.get("customer") or request.POST.get("customer"):
        try:
            customer = customer_for_user(
                request.user, int(request.GET.get("customer") or request.POST["customer"])
            )
        except ValueError:
            customer = None
        if customer is None:
            raise Http404
    assign_form = PlanAssignForm(request.POST or None)
    if request.method == "POST":
        if request.user.staff_role not in PRICE_EDITORS or customer is None:
            raise Http404
        if assign_form.is_valid():
            data = assign_form.cleaned_data
            try:
                plan_assign(
                    customer=customer,
                    plan=data["plan"],
                    effective_from=local_midnight(data["effective"]),
                    note=data["note"],
                    created_by=request.user,
                )
            except ValidationError as exc:
                for message in exc.messages:
                    assign_form.add_error(None, message)
            else:
                messages.success(
                    request,
                    _("%(plan)s assigned to %(customer)s.") % {"plan": data["plan"], "customer": customer},
                )
                return redirect(f"{request.path}?customer={customer.pk}")
    context = {"customers": customers, "customer": customer, "assign_form": assign_form, "error": None}
    if customer is not None:
        try:
            plan, source, rows = customer_price_list(customer, timezone.now())
        except PricingError as exc:
            context["error"] = exc.detail
        else:
            if wants_csv(request):
                return price_list_response(rows, currency=plan.currency, name=f"{customer.code}-{plan.name}")
            context.update({"plan": plan, "source": source, "rows": rows})
        context["assignments"] = customer.plan_assignments.select_related("plan").order_by("-effective_from")
    return render(request, "dashboard/catalog/customer_prices.html", context)
