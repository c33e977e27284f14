"""Staff pages of price imports: upload, preview (the diff, skipped entries by reason, normalised values,
unmapped providers), apply or discard."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from accounts.permissions import staff_required
from catalog.filters import PriceImportFilter
from catalog.forms import ImportUploadForm
from catalog.models import PriceImport
from catalog.services.imports.apply import (
    ImportOptions,
    price_import_record,
    price_import_record_apply,
    price_import_record_discard,
    skip_groups,
)
from catalog.time_windows import rule_label
from catalog.views.common import PRICE_EDITORS
from common.days import local_midnight
from common.listing import filtered_page

CHANGES_PER_PAGE = 100
NAMES_PER_GROUP = 20  # on the preview; the group's own page lists them all, paginated
NAMES_PER_PAGE = 200
NORMALISED_SHOWN = 200
PRICE_LABELS = {
    "input": gettext_lazy("input"),
    "output": gettext_lazy("output"),
    "cache_read": gettext_lazy("cache read"),
    "cache_write_5m": gettext_lazy("cache write"),
    "cache_write_1h": gettext_lazy("cache write 1h"),
    "reasoning": gettext_lazy("reasoning"),
    "batch_input": gettext_lazy("batch input"),
    "batch_output": gettext_lazy("batch output"),
    "audio_input": gettext_lazy("audio input"),
    "audio_output": gettext_lazy("audio output"),
    "image": gettext_lazy("per image"),
    "audio_second": gettext_lazy("per audio second"),
}


@staff_required()
def import_list(request):
    queryset = PriceImport.objects.select_related("created_by", "book").defer("content")
    return render(
        request, "dashboard/catalog/import_list.html", filtered_page(request, queryset, PriceImportFilter)
    )


@staff_required(roles=PRICE_EDITORS)
def import_new(request):
    form = ImportUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        options = ImportOptions(
            format=data["format"],
            book_name=data["book"].strip(),
            kind=data["kind"],
            effective_from=local_midnight(data["effective"]),
            currency=data["currency"].strip().upper(),
            vendor_slug=data["vendor"].slug if data["vendor"] else "",
            create_models=data["create_models"],
            provider=data["provider"].provider if data["provider"] else "",
        )
        try:
            record, _preview = price_import_record(
                content=data["file"], options=options, filename=request.FILES["file"].name, user=request.user
            )
        except ValidationError as exc:
            # Only a file that cannot be read at all (or a CSV with a bad row) is refused, reasons listed.
            return render(
                request, "dashboard/catalog/import_new.html", {"form": form, "errors": exc.messages}
            )
        return redirect("catalog-import-detail", pk=record.pk)
    return render(request, "dashboard/catalog/import_new.html", {"form": form, "errors": []})


@staff_required()
def import_detail(request, pk: int):
    record = get_object_or_404(
        PriceImport.objects.select_related("created_by", "book").defer("content"), pk=pk
    )
    return render(request, "dashboard/catalog/import_detail.html", _detail_context(request, record, None))


@staff_required()
def import_skipped(request, pk: int, group: int):
    """Every entry skipped for one reason (a group of the preview), paginated."""
    record = get_object_or_404(PriceImport.objects.defer("content"), pk=pk)
    groups = skip_groups((record.summary or {}).get("skipped", []))
    if not 0 <= group < len(groups):
        raise Http404
    reason, names, message = groups[group]
    page = Paginator(names, NAMES_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "dashboard/catalog/import_skipped.html",
        {"record": record, "reason": reason, "message": message, "page_obj": page},
    )


@require_POST
@staff_required(roles=PRICE_EDITORS)
def import_apply(request, pk: int):
    record = get_object_or_404(PriceImport, pk=pk)
    if request.POST.get("action") == "discard":
        if price_import_record_discard(record):
            messages.info(request, _("Import discarded; nothing changed."))
        return redirect("catalog-import-detail", pk=record.pk)
    try:
        result = price_import_record_apply(record, user=request.user)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
        return redirect("catalog-import-detail", pk=record.pk)
    record.refresh_from_db()
    messages.success(request, _("Prices applied to %(book)s.") % {"book": record.book_name})
    return render(
        request, "dashboard/catalog/import_detail.html", _detail_context(request, record, result.findings)
    )


def _detail_context(request, record: PriceImport, findings) -> dict:
    summary = record.summary or {}
    changes = [_change_view(c) for c in summary.get("changes", []) if c["status"] != "unchanged"]
    groups = [
        {
            "number": number,
            "reason": reason,
            "message": message,
            "count": len(names),
            "names": names[:NAMES_PER_GROUP],
        }
        for number, (reason, names, message) in enumerate(skip_groups(summary.get("skipped", [])))
    ]
    normalised = summary.get("normalised", [])
    return {
        "record": record,
        "summary": summary,
        "findings": findings,
        "page_obj": Paginator(changes, CHANGES_PER_PAGE).get_page(request.GET.get("page")),
        "skip_groups": groups,
        "normalised": normalised[:NORMALISED_SHOWN],
        "normalised_more": max(len(normalised) - NORMALISED_SHOWN, 0),
        "unmapped": summary.get("unmapped", []),
    }


def _change_view(change: dict) -> dict:
    """A change of the stored summary with its prices as short lines for people."""
    lines = [_tier_line("", t) for t in change.get("tiers", [])]
    for name, tiers in change.get("service_tiers", {}).items():
        lines += [_tier_line(name, t) for t in tiers]
    for window in change.get("windows", []):
        hours = ", ".join(rule_label(rule) for rule in window["rules"])
        prices = " · ".join(f"{PRICE_LABELS[k]} {v}" for k, v in window["prices"].items())
        lines.append(f"{window['label']} ({window['time_zone']}: {hours}): {prices}")
    return {**change, "lines": lines}


def _tier_line(service_tier: str, tier: dict) -> str:
    bounds = f"({tier['lo']}, {tier['hi'] if tier['hi'] is not None else '∞'}]"
    prices = " · ".join(f"{label} {tier[name]}" for name, label in PRICE_LABELS.items() if tier.get(name))
    return f"{service_tier + ' ' if service_tier else ''}{bounds} {prices}"
