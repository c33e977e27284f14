"""A price list as a PDF: a plan's prices (staff) or a customer's own plan's (portal), with each model's
service tiers, time-of-day windows and audio/image prices, in English or Chinese as ``?lang=`` asks.

It lives here, not in the catalog, because PDFs are printed by this package (fonts, letterhead) and the
catalog is a lower layer; the rows come from ``catalog.selectors.pricelist`` as on the pages and CSV.
"""

from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils import timezone, translation
from django.utils.text import slugify

from accounts.permissions import customer_user_required, staff_required
from accounts.selectors import customer_for_user, home_customer
from billing.documents.language import lang_checked, requested_language
from billing.documents.pdf import render_pdf
from catalog.errors import PricingError
from catalog.models import SellPlan
from catalog.selectors.pricelist import customer_price_list, price_list
from common.responses import pdf_response


def price_list_pdf(
    rows, *, plan_name: str, currency: str, customer=None, language: str, show_basis: bool
) -> bytes:
    """``rows`` (``PriceListRow``) printed; ``customer`` picks the letterhead (None: the operator's)."""
    priced = [row for row in rows if not row.unavailable]
    return render_pdf(
        "documents/price_list.html",
        {
            "rows": priced,
            "plan_name": plan_name,
            "currency": currency,
            "customer": customer,
            "show_basis": show_basis,
            "units": any(row.has_units for row in priced),
            "at": timezone.localtime(),
        },
        language=language,
    )


def _filename(name: str, language: str) -> str:
    suffix = "zh" if language == "zh-hans" else "en"
    return f"prices-{slugify(name) or 'plan'}-{timezone.localdate():%Y%m%d}-{suffix}.pdf"


@staff_required()
@lang_checked
def staff_plan_price_list_pdf(request, pk: int):
    """Any staff member may read a plan's prices (the page shows them); the PDF shows how each derives.
    A plan has no customer: in ``?lang=``, else the reader's language."""
    plan = get_object_or_404(SellPlan, pk=pk)
    language = requested_language(request, translation.get_language())
    with translation.override(language):
        rows = price_list(plan, timezone.now())
    data = price_list_pdf(
        rows, plan_name=plan.name, currency=plan.currency, language=language, show_basis=True
    )
    return pdf_response(data, _filename(plan.name, language))


@customer_user_required
@lang_checked
def portal_price_list_pdf(request):
    """A customer's own plan's prices (or a sub-customer's it may see), never how they derive; in
    ``?lang=``, else the customer's document language."""
    customer = home_customer(request.user)
    if request.GET.get("customer"):
        try:
            customer = customer_for_user(request.user, int(request.GET["customer"]))
        except ValueError:
            customer = None
    if customer is None:
        raise Http404
    language = requested_language(request, customer.language)
    try:
        with translation.override(language):
            plan, _source, rows = customer_price_list(customer, timezone.now())
    except PricingError as exc:
        raise Http404(exc.message) from None
    data = price_list_pdf(
        rows,
        plan_name=plan.name,
        currency=plan.currency,
        customer=customer,
        language=language,
        show_basis=False,
    )
    return pdf_response(data, _filename(customer.code, language))
