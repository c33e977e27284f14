"""Customer pages: the staff directory, onboarding, billing terms (sales, finance and admin edit; other staff
read) and the portal's view of one's own organisation and subtree."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.models import Customer, StaffRole
from accounts.permissions import customer_user_required, staff_required
from accounts.selectors import customer_for_user, customers_visible_to, home_customer
from billing.customers.filters import CustomerFilter
from billing.customers.forms import CustomerKeyForm, StaffCustomerCreateForm
from billing.customers.onboarding import onboarding_checklist, staff_customer_onboard
from billing.customers.tabs import BUILDERS, KEY_MAPPERS, TABS, TERMS_EDITORS, keys_tab, plan_tab
from billing.customers.terms_form import BillingTermsForm
from billing.gateway.services import gateway_key_create
from billing.terms.change_log import change_log_page
from billing.terms.models import BillingTerms, CreditLimitBreach
from billing.terms.selectors import customer_exposure
from billing.terms.services import billing_terms_update
from billing.terms.spans import terms_spans
from billing.usage.models import GatewayKey
from catalog.forms import PlanAssignForm
from catalog.services.plans import plan_assign
from catalog.views.common import PRICE_EDITORS
from common.days import local_midnight
from common.forms import form_errors_add
from common.listing import filtered_page


def _customer_list_queryset(user):
    return customers_visible_to(user).select_related("parent", "billing_terms")


@staff_required()
def staff_customer_list(request):
    context = filtered_page(request, _customer_list_queryset(request.user), CustomerFilter)
    return render(request, "dashboard/customers/list.html", context)


def _staff_customer(request, pk: int) -> Customer:
    customer = customer_for_user(request.user, pk)
    if customer is None:
        raise Http404
    return customer


@staff_required()
def staff_customer_detail(request, pk: int):
    """The customer page: one tab (``?tab=``, the profile by default) and the onboarding checklist. An htmx
    request gets the tab alone; any other the whole page with that tab open (``billing.customers.tabs``)."""
    customer = _staff_customer(request, pk)
    name = request.GET.get("tab") or "profile"
    if name not in BUILDERS:
        raise Http404
    return _customer_page(request, customer, name, BUILDERS[name](request, customer))


def _customer_page(request, customer: Customer, name: str, context: dict, status: int = 200):
    context.update(customer=customer, tab=name, tabs=TABS, tab_template=f"customers/tabs/{name}.html")
    if request.htmx and request.method == "GET" and not request.htmx.history_restore_request:
        response = render(request, "customers/_tabs.html", context, status=status)
    else:
        context["checklist"] = onboarding_checklist(customer)
        context["checklist_open"] = not all(step.done for step in context["checklist"])
        response = render(request, "dashboard/customers/detail.html", context, status=status)
    # One address, two bodies: a cache must not hand the tab alone to a full page load.
    patch_vary_headers(response, ["HX-Request"])
    return response


@require_POST
@staff_required(roles=KEY_MAPPERS, auditor_reads=False)
def staff_customer_key_add(request, pk: int):
    customer = _staff_customer(request, pk)
    form = CustomerKeyForm(request.POST, instance=GatewayKey(customer=customer))
    if form.is_valid():
        data = form.cleaned_data
        try:
            mapping = gateway_key_create(
                key=data["key"], customer=customer, source=data["source"], note=data["note"]
            )
        except ValidationError as exc:
            form_errors_add(form, exc)
        else:
            messages.success(
                request,
                _("Key %(key)s now means %(customer)s. Queue a re-rate if usage with it is waiting unrated.")
                % {"key": mapping.key, "customer": customer.name},
            )
            return redirect(f"{reverse('staff-customer-detail', args=[customer.pk])}?tab=keys")
    return _customer_page(request, customer, "keys", keys_tab(request, customer, form), status=400)


@require_POST
@staff_required(roles=PRICE_EDITORS, auditor_reads=False)
def staff_customer_plan_assign(request, pk: int):
    customer = _staff_customer(request, pk)
    form = PlanAssignForm(request.POST, customer=customer)
    if form.is_valid():
        data = form.cleaned_data
        try:
            plan_assign(
                customer=customer,
                plan=data["plan"],
                effective_from=local_midnight(data["effective"]),
                note=data["note"],
                created_by=request.user,
            )
        except ValidationError as exc:
            form_errors_add(form, exc)
        else:
            messages.success(
                request,
                _("%(plan)s assigned to %(customer)s.")
                % {"plan": data["plan"].name, "customer": customer.name},
            )
            return redirect(f"{reverse('staff-customer-detail', args=[customer.pk])}?tab=plan")
    return _customer_page(request, customer, "plan", plan_tab(request, customer, form), status=400)


@staff_required(roles=(StaffRole.ADMIN, StaffRole.SALES), auditor_reads=False)
def staff_customer_create(request):
    form = StaffCustomerCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            customer = staff_customer_onboard(data=form.cleaned_data, actor=request.user)
        except ValidationError as exc:
            form_errors_add(form, exc)
        else:
            messages.success(request, _("Customer %(name)s created.") % {"name": customer.name})
            return redirect("staff-customer-detail", pk=customer.pk)
    return render(request, "dashboard/customers/create.html", {"form": form})


@customer_user_required
def portal_home(request):
    customer = home_customer(request.user)
    return render(request, "portal/home.html", _detail_context(request.user, customer))


@customer_user_required
def portal_customer_list(request):
    own = home_customer(request.user)
    queryset = _customer_list_queryset(request.user).exclude(pk=own.pk)
    context = filtered_page(request, queryset, CustomerFilter)
    return render(request, "portal/customers/list.html", context)


@customer_user_required
def portal_customer_detail(request, pk: int):
    customer = customer_for_user(request.user, pk)
    if customer is None:
        raise Http404
    return render(request, "portal/customers/detail.html", _detail_context(request.user, customer))


def _detail_context(user, customer) -> dict:
    visible = customers_visible_to(user)
    return {
        "customer": customer,
        "terms": getattr(customer, "billing_terms", None),
        "ancestors": visible.filter(pk__in=customer.ancestor_ids()).order_by("depth"),
        "children": visible.filter(parent=customer).select_related("billing_terms").order_by("name"),
        "members": customer.memberships.select_related("user").order_by("user__email"),
    }


@staff_required()
def staff_terms(request, pk: int):
    customer = customer_for_user(request.user, pk)
    if customer is None:
        raise Http404
    can_edit = request.user.staff_role in TERMS_EDITORS
    if request.method == "POST" and not can_edit:
        raise PermissionDenied
    terms = BillingTerms.objects.filter(customer=customer).first() or BillingTerms(customer=customer)
    form = BillingTermsForm(request.POST or None, instance=terms, customer=customer)
    if request.method == "POST" and form.is_valid():
        try:
            billing_terms_update(customer=customer, values=form.cleaned_data, actor=request.user)
        except ValidationError as exc:
            form_errors_add(form, exc)
        else:
            messages.success(request, _("Billing terms of %(name)s saved.") % {"name": customer.name})
            return redirect("staff-customer-terms", pk=customer.pk)
    if not can_edit:
        for field in form.fields.values():
            field.disabled = True
    context = {
        "customer": customer,
        "terms": terms,
        "form": form,
        "can_edit": can_edit,
        "change_page": change_log_page(customer, request.GET.get("page")),
        "breaches": CreditLimitBreach.objects.filter(customer=customer)[:10],
        "spans": terms_spans(customer),
    }
    if terms.pk and terms.is_credit:
        exposure = customer_exposure(customer=customer, currency=terms.currency)
        context.update(exposure=exposure, headroom=terms.credit_limit - exposure)
    return render(request, "terms/edit.html", context)
