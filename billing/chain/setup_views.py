"""A sub-distributor's "Chain settings" staff page: its mode, seller and price owner, an agency's
commission terms and the retail floor. Admin, sales and finance change them; support and auditors read."""

from decimal import Decimal

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from accounts.models import Customer, StaffRole
from accounts.permissions import staff_required
from accounts.selectors import customer_for_user
from billing.chain.migrate import MigrationRefused
from billing.chain.setup import mode_change_apply, mode_change_plan
from billing.chain.setup_forms import ChainModeForm, ChainTermsForm
from billing.customers.chain_terms import chain_terms_update
from common.forms import form_errors_add

CHAIN_EDITORS = (StaffRole.ADMIN, StaffRole.SALES, StaffRole.FINANCE)


def _percent(fraction: Decimal | None) -> str:
    """0.080000 as "8%", 0.125 as "12.5%" (the fields take fractions; people read percentages)."""
    if fraction is None:
        return ""
    return f"{(fraction * 100).normalize():f}%"


def _terms_initial(sub) -> dict:
    return {
        "commission_basis": sub.commission_basis,
        "commission_rate": sub.commission_rate,
        "retail_floor": sub.retail_floor,
    }


@staff_required()
def chain_settings(request, pk: int):
    sub = customer_for_user(request.user, pk)
    if sub is None or not sub.is_sub_distributor:
        raise Http404
    can_edit = request.user.staff_role in CHAIN_EDITORS
    if request.method == "POST" and not can_edit:
        raise PermissionDenied
    action = request.POST.get("action", "")
    terms_form = ChainTermsForm(request.POST if action == "terms" else None, initial=_terms_initial(sub))
    mode_form = ChainModeForm(
        request.POST if action in ("preview", "apply") else None, initial={"chain_mode": sub.chain_mode}
    )
    change = None
    if action == "terms" and terms_form.is_valid():
        try:
            chain_terms_update(sub=sub, **terms_form.cleaned_data)
        except ValidationError as exc:
            form_errors_add(terms_form, exc)
        else:
            messages.success(request, _("Chain terms of %(name)s saved.") % {"name": sub.name})
            return redirect("staff-chain-settings", pk=sub.pk)
    elif action in ("preview", "apply") and mode_form.is_valid():
        change = mode_change_plan(sub=sub, mode=mode_form.cleaned_data["chain_mode"])
        if action == "apply" and not change.refusals:
            try:
                mode_change_apply(change, actor=request.user)
            except (MigrationRefused, ValidationError) as exc:
                change.refusals = getattr(exc, "reasons", None) or exc.messages
            else:
                messages.success(
                    request,
                    _("%(name)s now sells in the %(mode)s mode.")
                    % {"name": sub.name, "mode": Customer.ChainMode(change.mode).label},
                )
                return redirect("staff-chain-settings", pk=sub.pk)
    if not can_edit:
        for form in (terms_form, mode_form):
            for field in form.fields.values():
                field.disabled = True
    context = {
        "customer": sub,
        "can_edit": can_edit,
        "terms_form": terms_form,
        "mode_form": mode_form,
        "change": change,
        "operator_name": settings.OPERATOR_NAME,
        "rate_text": _percent(sub.commission_rate),
        "floor_text": _percent(sub.retail_floor),
    }
    return render(request, "chain/settings.html", context)
