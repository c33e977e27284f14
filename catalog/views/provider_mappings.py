"""Staff pages of provider mappings: what a LiteLLM import does with each ``litellm_provider``.

Catalog managers (admin, sales, finance) list, add, change and delete them; auditors read the list.
"""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.permissions import staff_required
from catalog.models import ProviderMapping
from catalog.provider_mapping_forms import ProviderMappingFilter, ProviderMappingForm
from catalog.services.imports.mappings import provider_mapping_delete, provider_mapping_save
from catalog.views.common import PRICE_EDITORS
from common.forms import form_errors_add
from common.listing import filtered_page


@staff_required(roles=PRICE_EDITORS)
def mapping_list(request):
    queryset = ProviderMapping.objects.select_related("vendor", "channel_book")
    return render(
        request,
        "dashboard/catalog/provider_mapping_list.html",
        filtered_page(request, queryset, ProviderMappingFilter),
    )


@staff_required(roles=PRICE_EDITORS, auditor_reads=False)
def mapping_new(request):
    # The preview's "map it" link names the provider.
    initial = {"provider": request.GET.get("provider", "")}
    return _edit(request, None, ProviderMappingForm(request.POST or None, initial=initial))


@staff_required(roles=PRICE_EDITORS, auditor_reads=False)
def mapping_edit(request, pk: int):
    mapping = get_object_or_404(ProviderMapping, pk=pk)
    initial = {
        "provider": mapping.provider,
        "action": mapping.action,
        "vendor": mapping.vendor,
        "channel_book": mapping.channel_book,
        "note": mapping.note,
    }
    return _edit(request, mapping, ProviderMappingForm(request.POST or None, initial=initial))


@require_POST
@staff_required(roles=PRICE_EDITORS)
def mapping_delete(request, pk: int):
    mapping = get_object_or_404(ProviderMapping, pk=pk)
    provider_mapping_delete(mapping)
    messages.info(request, _("Mapping of %(provider)s deleted.") % {"provider": mapping.provider})
    return redirect("catalog-provider-mappings")


def _edit(request, mapping: ProviderMapping | None, form: ProviderMappingForm):
    if request.method == "POST" and form.is_valid():
        try:
            saved = provider_mapping_save(mapping=mapping, **form.cleaned_data)
        except ValidationError as exc:
            form_errors_add(form, exc)
        else:
            messages.success(request, _("Provider %(provider)s mapped.") % {"provider": saved.provider})
            return redirect("catalog-provider-mappings")
    return render(request, "dashboard/catalog/provider_mapping_form.html", {"form": form, "mapping": mapping})
