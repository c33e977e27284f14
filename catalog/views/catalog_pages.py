"""Staff pages: models, price books, plans, allowances."""

from django.db.models import Count, Prefetch
from django.shortcuts import get_object_or_404, render
from django.utils import timezone

from accounts.models import Customer
from accounts.permissions import staff_required
from catalog.filters import AIModelFilter, PriceBookFilter
from catalog.models import (
    AIModel,
    FreeGrant,
    ModelGroup,
    Pack,
    PriceBook,
    PriceEntry,
    PriceTier,
    PriceWindow,
    SellPlan,
    SubscriptionPlan,
)
from catalog.selectors.pricelist import price_list
from catalog.selectors.pricing import in_force
from catalog.views.common import price_list_response, wants_csv
from common.listing import filtered_page

_TIERS = Prefetch("tiers", queryset=PriceTier.objects.order_by("service_tier", "lo"))
_WINDOWS = Prefetch("windows", queryset=PriceWindow.objects.order_by("position"))


@staff_required()
def model_list(request):
    queryset = AIModel.objects.select_related("vendor").prefetch_related("aliases")
    return render(
        request, "dashboard/catalog/model_list.html", filtered_page(request, queryset, AIModelFilter)
    )


@staff_required()
def model_detail(request, pk: int):
    model = get_object_or_404(AIModel.objects.select_related("vendor").prefetch_related("aliases"), pk=pk)
    entries = (
        PriceEntry.objects.filter(model=model)
        .select_related("book")
        .prefetch_related(_TIERS, _WINDOWS)
        .order_by("book__kind", "book__name", "-effective_from")
    )
    now = timezone.now()
    return render(
        request,
        "dashboard/catalog/model_detail.html",
        {
            "model": model,
            "entries": entries,
            "now": now,
            "current_ids": set(entries.filter(in_force(now)).values_list("pk", flat=True)),
        },
    )


@staff_required()
def book_list(request):
    queryset = (
        PriceBook.objects.select_related("vendor")
        .annotate(models=Count("entries__model", distinct=True))
        .order_by("kind", "name")
    )
    return render(
        request, "dashboard/catalog/book_list.html", filtered_page(request, queryset, PriceBookFilter)
    )


@staff_required()
def book_detail(request, pk: int):
    book = get_object_or_404(PriceBook.objects.select_related("vendor"), pk=pk)
    show_all = request.GET.get("history") == "1"
    entries = PriceEntry.objects.filter(book=book).select_related("model").prefetch_related(_TIERS, _WINDOWS)
    if not show_all:
        entries = entries.filter(in_force(timezone.now()))
    entries = entries.order_by("model__name", "-effective_from")
    return render(
        request,
        "dashboard/catalog/book_detail.html",
        {"book": book, "entries": entries, "show_all": show_all, "imports": book.imports.all()[:10]},
    )


@staff_required()
def plan_list(request):
    """Our plans by default; sub-distributors' retail plans (read only here) by owner, or all."""
    plans = (
        SellPlan.objects.select_related("owner")
        .annotate(customers=Count("assignments__customer", distinct=True))
        .order_by("owner__name", "name")
    )
    owner = request.GET.get("owner", "")
    if owner.isdigit():
        plans = plans.filter(owner_id=int(owner))
    elif owner != "all":
        plans = plans.filter(owner__isnull=True)
    owners = Customer.objects.filter(sell_plans__isnull=False).distinct().order_by("name")
    return render(
        request, "dashboard/catalog/plan_list.html", {"plans": plans, "owners": owners, "owner_filter": owner}
    )


@staff_required()
def plan_detail(request, pk: int):
    plan = get_object_or_404(SellPlan.objects.select_related("owner"), pk=pk)
    now = timezone.now()
    rows = price_list(plan, now)
    if wants_csv(request):
        return price_list_response(rows, currency=plan.currency, name=plan.name)
    return render(
        request,
        "dashboard/catalog/plan_detail.html",
        {
            "plan": plan,
            "rules": plan.rules.select_related("model", "vendor", "source_book").order_by("-effective_from"),
            "assignments": plan.assignments.select_related("customer").order_by(
                "customer__name", "-effective_from"
            ),
            "rows": rows,
            "now": now,
        },
    )


@staff_required()
def allowance_list(request):
    return render(
        request,
        "dashboard/catalog/allowances.html",
        {
            "packs": Pack.objects.select_related("group"),
            "subscriptions": SubscriptionPlan.objects.select_related("group", "overage_plan"),
            "grants": FreeGrant.objects.select_related("customer", "group").order_by("expires_at")[:200],
            "groups": ModelGroup.objects.prefetch_related("vendors", "ai_models"),
            "now": timezone.now(),
        },
    )
