"""Customer pages: the staff directory and the portal's view of one's own organisation and subtree."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from accounts.models import StaffRole
from accounts.permissions import customer_user_required, staff_required
from accounts.selectors import customer_for_user, customers_visible_to, home_customer
from billing.customers.filters import CustomerFilter
from billing.customers.forms import CustomerCreateForm
from billing.terms.services import customer_onboard
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
    form = CustomerCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            customer = customer_onboard(**data)
        except ValidationError as exc:
            form.add_error(None, exc)
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
