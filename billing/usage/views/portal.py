"""The portal's usage page: a customer's own usage; a sub-distributor's whole subtree or one customer."""

from django.http import Http404
from django.shortcuts import render

from accounts.permissions import customer_user_required
from accounts.selectors import customer_for_user, customers_visible_to, home_customer
from billing.usage.filters import PortalUsageFilter
from billing.usage.selectors import daily_rows
from billing.usage.views.common import usage_context


@customer_user_required
def portal_usage(request):
    home = home_customer(request.user)
    selected = None
    if request.GET.get("customer"):
        try:
            selected = customer_for_user(request.user, int(request.GET["customer"]))
        except ValueError:
            selected = None
        if selected is None:
            raise Http404
    if selected is not None:
        customers = [selected.pk]
    elif home.is_sub_distributor:
        customers = customers_visible_to(request.user)
    else:
        customers = [home.pk]
    context = usage_context(request, daily_rows(customers=customers), PortalUsageFilter, show_cost=False)
    # Amounts are what the operator charges. A customer served by a sub-distributor is billed by it at
    # its own prices, so it sees requests and tokens only (the wholesale amounts are not its business).
    context.update(home=home, selected=selected, show_money=home.parent_id is None or home.is_sub_distributor)
    return render(request, "portal/usage/usage.html", context)
