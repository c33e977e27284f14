"""The upcoming invoice pages: finance's list of credit customers and each one's invoice-to-date, and the
customer's own in the portal (its own organisation only: a sub-distributor's customers are not its to see
here, as the operator invoices them)."""

import django_filters
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.shortcuts import get_object_or_404, render
from django.utils.translation import gettext_lazy as _

from accounts.models import Customer
from accounts.permissions import customer_user_required, staff_required
from accounts.selectors import customers_visible_to, home_customer
from billing.invoicing.upcoming import upcoming_invoices
from billing.invoicing.views import FINANCE
from billing.terms.models import CREDIT_MODES
from common.filters import StyledFilterSet
from common.listing import filtered_page


class CreditCustomerFilter(StyledFilterSet):
    q = django_filters.CharFilter(label=_("Customer"), method="search")
    o = django_filters.OrderingFilter(fields=(("name", "name"), ("code", "code")))

    class Meta:
        model = Customer
        fields = ["q"]

    def search(self, queryset, name, value):
        return queryset.filter(Q(name__icontains=value) | Q(code__icontains=value))


@staff_required(roles=FINANCE)
def upcoming_list(request):
    credit = customers_visible_to(request.user).filter(billing_terms__mode__in=CREDIT_MODES)
    context = filtered_page(
        request, credit.select_related("billing_terms").order_by("name"), CreditCustomerFilter
    )
    return render(request, "invoicing/upcoming_list.html", context)


@staff_required(roles=FINANCE)
def upcoming_detail(request, pk: int):
    customer = get_object_or_404(customers_visible_to(request.user), pk=pk)
    period, invoices = upcoming_invoices(customer)
    context = {"customer": customer, "period": period, "upcoming": invoices, "portal": False}
    return render(request, "invoicing/upcoming_detail.html", context)


@customer_user_required
def portal_upcoming(request):
    customer = home_customer(request.user)
    if customer is None:
        raise PermissionDenied
    period, invoices = upcoming_invoices(customer)
    context = {"customer": customer, "period": period, "upcoming": invoices, "portal": True}
    return render(request, "invoicing/portal_upcoming.html", context)
