"""Customer pages: the staff directory, onboarding, billing terms (sales, finance and admin edit; other staff
read) and the portal's view of one's own organisation and subtree."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from accounts.models import StaffRole
from accounts.permissions import customer_user_required, staff_required
from accounts.selectors import customer_for_user, customers_visible_to, home_customer
from billing.customers.chain_terms import chain_terms_update
from billing.customers.filters import CustomerFilter
from billing.customers.forms import StaffCustomerCreateForm
from billing.customers.terms_form import BillingTermsForm
from billing.terms.models import BillingTerms, CreditLimitBreach
from billing.terms.selectors import customer_exposure
from billing.terms.services import billing_terms_update, customer_onboard
from billing.terms.spans import terms_spans
from common.forms import form_errors_add
from common.listing import filtered_page


def _customer_list_queryset(user):
    return customers_visible_to(user).select_related("parent", "billing_terms")


@staff_required()
def staff_customer_list(request):
    context = filtered_page(request, _customer_list_queryset(request.user), CustomerFilter)
    return render(request, "dashboard/customers/list.html", context)


@staff_required()
def staff_customer_detail(request, pk: int):
    customer = customer_for_user(request.user, pk)
    if customer is None:
        raise Http404
    return render(request, "dashboard/customers/detail.html", _detail_context(request.user, customer))


@staff_required(roles=(StaffRole.ADMIN, StaffRole.SALES), auditor_reads=False)
def staff_customer_create(request):
    form = StaffCustomerCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        terms = {name: data.pop(name) for name in ("commission_basis", "commission_rate", "retail_floor")}
        try:
            customer = _customer_create(data, terms)
        except ValidationError as exc:
            form_errors_add(form, exc)
        else:
            messages.success(request, _("Customer %(name)s created.") % {"name": customer.name})
            return redirect("staff-customer-detail", pk=customer.pk)
    return render(request, "dashboard/customers/create.html", {"form": form})


@transaction.atomic
def _customer_create(data: dict, chain_terms: dict):
    """The customer with its billing terms and, for a sub-distributor, its chain terms: all or nothing."""
    customer = customer_onboard(**data)
    if customer.is_sub_distributor:
        chain_terms_update(sub=customer, **chain_terms)
    return customer


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


TERMS_EDITORS = (StaffRole.SALES, StaffRole.FINANCE, StaffRole.ADMIN)


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
        "changes": terms.changes.select_related("actor")[:30] if terms.pk else [],
        "breaches": CreditLimitBreach.objects.filter(customer=customer)[:10],
        "spans": terms_spans(customer),
    }
    if terms.pk and terms.is_credit:
        exposure = customer_exposure(customer=customer, currency=terms.currency)
        context.update(exposure=exposure, headroom=terms.credit_limit - exposure)
    return render(request, "terms/edit.html", context)
