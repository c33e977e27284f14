"""The price calculator, for staff (any customer or plan) and in the portal (own customers)."""

from django.shortcuts import render

from accounts.permissions import customer_user_required, staff_required
from accounts.selectors import customers_visible_to, home_customer
from catalog.models import AIModel
from catalog.views.common import calculator_context


def _render(request, template: str, context: dict):
    context["model_names"] = (
        AIModel.objects.filter(is_active=True).order_by("name").values_list("name", flat=True)
    )
    # htmx swaps only the result; a plain GET (or no JavaScript) gets the whole page.
    if request.htmx:
        return render(request, "dashboard/catalog/_quote_result.html", context)
    return render(request, template, context)


@staff_required()
def staff_calculator(request):
    customers = customers_visible_to(request.user).order_by("name")
    context = calculator_context(request, customers=customers, staff=True)
    return _render(request, "dashboard/catalog/calculator.html", context)


@customer_user_required
def portal_calculator(request):
    customers = customers_visible_to(request.user).order_by("path")
    context = calculator_context(request, customers=customers, staff=False)
    if not context["form"].is_bound:
        context["form"].fields["customer"].initial = home_customer(request.user)
    return _render(request, "portal/catalog/calculator.html", context)
