"""Portal: a customer's own price list (and its sub-customers'), exportable as CSV."""

from django.http import Http404
from django.shortcuts import render
from django.utils import timezone

from accounts.permissions import customer_user_required
from accounts.selectors import customer_for_user, customers_visible_to, home_customer
from catalog.errors import PricingError
from catalog.selectors.pricelist import customer_price_list
from catalog.views.common import price_list_response, wants_csv


@customer_user_required
def portal_prices(request):
    customer = home_customer(request.user)
    if request.GET.get("customer"):
        try:
            customer = customer_for_user(request.user, int(request.GET["customer"]))
        except ValueError:
            customer = None
        if customer is None:
            raise Http404
    context = {
        "customer": customer,
        "customers": customers_visible_to(request.user).order_by("path"),
        "error": None,
    }
    try:
        plan, _source, rows = customer_price_list(customer, timezone.now())
    except PricingError as exc:
        context["error"] = exc.message
    else:
        if wants_csv(request):
            return price_list_response(rows, currency=plan.currency, name=customer.code, include_basis=False)
        context.update({"plan": plan, "rows": [r for r in rows if not r.unavailable]})
    return render(request, "portal/catalog/prices.html", context)
