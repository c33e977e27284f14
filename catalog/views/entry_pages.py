"""Staff page of one price entry (a model's prices in one book over a span): its tiers, service tiers,
time-of-day windows and unit prices, and the forms that change them by a new version from a day on."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Prefetch
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.models import StaffRole
from accounts.permissions import staff_required
from catalog.entry_forms import EntryPartRemoveForm, ServiceTierForm, UnitPricesForm, WindowForm, rules_text
from catalog.models import PriceEntry, PriceTier, PriceWindow
from catalog.services.books import entry_tiers
from catalog.services.entry_parts import (
    service_tier_remove,
    service_tier_set,
    unit_prices_set,
    window_remove,
    window_set,
)
from catalog.time_windows import rule_label
from common.forms import form_errors_add

# Who changes a book's prices by hand: the people answerable for cost and list prices. Sales quote and
# assign plans, support and auditors read.
ENTRY_EDITORS = (StaffRole.ADMIN, StaffRole.FINANCE)


def _entry(pk: int) -> PriceEntry:
    return get_object_or_404(
        PriceEntry.objects.select_related("book", "model", "model__vendor").prefetch_related(
            Prefetch("tiers", queryset=PriceTier.objects.order_by("service_tier", "lo")),
            Prefetch("windows", queryset=PriceWindow.objects.order_by("position")),
        ),
        pk=pk,
    )


def _detail(request, entry: PriceEntry, **forms):
    tiers = list(entry.tiers.all())
    standard = [t for t in tiers if not t.service_tier]
    named: dict[str, list[PriceTier]] = {}
    for t in tiers:
        if t.service_tier:
            named.setdefault(t.service_tier, []).append(t)
    windows = [(w, [rule_label(r) for r in w.rules]) for w in entry.windows.all()]
    can_edit = request.user.staff_role in ENTRY_EDITORS and entry.effective_to is None
    context = {
        "entry": entry,
        "standard": standard,
        "service_tiers": sorted(named.items()),
        "windows": windows,
        "versions": PriceEntry.objects.filter(book=entry.book, model=entry.model).order_by("-effective_from"),
        "can_edit": can_edit,
    }
    if can_edit:
        first = standard[0] if standard else None
        context["window_form"] = forms.get("window_form") or WindowForm()
        context["edit_forms"] = [
            WindowForm(
                prefix=f"w{w.position}",
                initial={
                    "original": w.label,
                    "label": w.label,
                    "time_zone": w.time_zone,
                    "rules": rules_text(w.rules),
                    **{name: getattr(w, name) for name in WindowForm.PRICES},
                },
            )
            for w, _labels in windows
        ]
        context["tier_form"] = forms.get("tier_form") or ServiceTierForm()
        context["unit_form"] = forms.get("unit_form") or UnitPricesForm(
            initial={name: getattr(first, name) for name in UnitPricesForm.PRICES} if first else None
        )
        context["remove_form"] = EntryPartRemoveForm()
    return render(request, "dashboard/catalog/entry_detail.html", context)


@staff_required()
def entry_detail(request, pk: int):
    return _detail(request, _entry(pk))


def _saved(request, form, change):
    """Run ``change`` (a service call) when ``form`` is valid: a redirect to the new version, else None (the
    errors are on the form)."""
    if form.is_valid():
        try:
            new = change(form)
        except ValidationError as exc:
            form_errors_add(form, exc)
        else:
            messages.success(request, _("New prices saved; the previous version ends where they start."))
            return redirect("catalog-entry-detail", pk=new.pk)
    return None


@require_POST
@staff_required(roles=ENTRY_EDITORS, auditor_reads=False)
def entry_window_set(request, pk: int):
    entry = _entry(pk)
    prefix = request.POST.get("prefix") or None
    form = WindowForm(request.POST, prefix=prefix)
    done = _saved(
        request,
        form,
        lambda f: window_set(
            entry=entry,
            window=f.window(),
            original=f.cleaned_data.get("original", ""),
            effective_from=f.starts_at(),
            created_by=request.user,
        ),
    )
    return done or _detail(request, entry, window_form=form)


@require_POST
@staff_required(roles=ENTRY_EDITORS, auditor_reads=False)
def entry_service_tier_set(request, pk: int):
    entry = _entry(pk)
    form = ServiceTierForm(request.POST)
    standard, _named = entry_tiers(entry)
    done = _saved(
        request,
        form,
        lambda f: service_tier_set(
            entry=entry,
            name=f.cleaned_data["name"],
            tiers=[f.tier(standard[0] if standard else None)],
            effective_from=f.starts_at(),
            created_by=request.user,
        ),
    )
    return done or _detail(request, entry, tier_form=form)


@require_POST
@staff_required(roles=ENTRY_EDITORS, auditor_reads=False)
def entry_units_set(request, pk: int):
    entry = _entry(pk)
    form = UnitPricesForm(request.POST)
    done = _saved(
        request,
        form,
        lambda f: unit_prices_set(
            entry=entry, prices=f.prices(), effective_from=f.starts_at(), created_by=request.user
        ),
    )
    return done or _detail(request, entry, unit_form=form)


@require_POST
@staff_required(roles=ENTRY_EDITORS, auditor_reads=False)
def entry_part_remove(request, pk: int):
    entry = _entry(pk)
    form = EntryPartRemoveForm(request.POST)
    remove = window_remove if request.POST.get("part") == "window" else service_tier_remove
    name_arg = "label" if remove is window_remove else "name"
    done = _saved(
        request,
        form,
        lambda f: remove(
            entry=entry,
            effective_from=f.starts_at(),
            created_by=request.user,
            **{name_arg: f.cleaned_data["name"]},
        ),
    )
    if done is None:
        for error in form.errors.values():
            messages.error(request, " ".join(error))
        return redirect("catalog-entry-detail", pk=entry.pk)
    return done
