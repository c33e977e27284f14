"""Helpers shared by staff and portal pages: quote forms and price list responses."""

from django.http import HttpResponse
from django.utils import timezone
from django.utils.text import slugify

from accounts.models import StaffRole
from catalog.errors import PricingError
from catalog.quote_forms import QuoteForm
from catalog.rating import RatingError
from catalog.selectors.pricelist import price_list_csv
from catalog.selectors.quotes import quote
from common.csv_export import csv_response

# Who may change prices, plans and rates; auditors and support read.
PRICE_EDITORS = (StaffRole.ADMIN, StaffRole.SALES, StaffRole.FINANCE)


def calculator_context(request, *, customers, staff: bool) -> dict:
    """Bind the calculator to the query string; when valid, quote and return result or error."""
    form = QuoteForm(request.GET or None, customers=customers, staff=staff)
    context = {"form": form, "result": None, "error": None, "show_cost": staff}
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        try:
            context["result"] = quote(
                model_name=data["model"],
                usage=form.usage(),
                customer=data.get("customer"),
                plan_name=data.get("plan") or None,
            )
        except (PricingError, RatingError) as exc:
            # Staff read the whole cause; a customer only that its plan cannot price the model.
            context["error"] = getattr(exc, "detail", exc.message) if staff else exc.message
    return context


def price_list_response(rows, *, currency: str, name: str, include_basis: bool = True) -> HttpResponse:
    body = price_list_csv(rows, currency, include_basis=include_basis)
    return csv_response(body, f"prices-{slugify(name) or 'plan'}-{timezone.localdate():%Y%m%d}.csv")


def wants_csv(request) -> bool:
    return request.GET.get("format") == "csv"
