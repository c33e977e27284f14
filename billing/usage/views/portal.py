"""The portal's usage page: a customer's own usage; a sub-distributor's customers' usage or its own."""

from django.http import Http404
from django.shortcuts import render

from accounts.permissions import customer_user_required
from accounts.selectors import customer_for_user, home_customer
from billing.usage.filters import PortalUsageFilter
from billing.usage.selectors import customers_sold_below, daily_rows
from billing.usage.views.common import usage_context


@customer_user_required
def portal_usage(request):
    """Every amount shown is what the buyer of the rows is charged by its seller: a customer's own usage
    at its own prices; a sub-distributor's customers' usage at the prices they are sold at (its retail
    for a reseller's), and its own purchases apart (its own requests and its customers' at its buy price)."""
    home = home_customer(request.user)
    selected = None
    if request.GET.get("customer"):
        try:
            selected = customer_for_user(request.user, int(request.GET["customer"]))
        except ValueError:
            selected = None
        if selected is None:
            raise Http404
    purchases = home.is_sub_distributor and selected is None and request.GET.get("show") == "purchases"
    if selected is not None:
        customers = [selected.pk]
    elif home.is_sub_distributor and not purchases:
        customers = customers_sold_below(home)
    else:
        customers = [home.pk]
    context = usage_context(request, daily_rows(customers=customers), PortalUsageFilter, show_cost=False)
    context.update(home=home, selected=selected, purchases=purchases)
    return render(request, "portal/usage/usage.html", context)
