"""Staff pages for the gateway: sources (tokens shown once), key → customer mappings, manual holds."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.models import StaffRole
from accounts.permissions import staff_required
from accounts.selectors import customer_for_user, customers_visible_to
from billing.gateway.filters import GatewayHoldFilter, GatewayKeyFilter, GatewaySourceFilter
from billing.gateway.forms import GatewayHoldForm, GatewayKeyForm, GatewaySourceForm
from billing.gateway.models import GatewayHold
from billing.gateway.services import (
    gateway_hold_place,
    gateway_hold_release,
    gateway_key_create,
    gateway_key_set_active,
    gateway_source_create,
    gateway_source_set_active,
    gateway_source_token_rotate,
)
from billing.usage.connectors.registry import key_lookup
from billing.usage.models import GatewayKey, GatewaySource, SourceKind
from billing.usage.selectors import sources_list
from common.forms import form_errors_add
from common.listing import filtered_page

GATEWAY_WRITE_ROLES = (StaffRole.ADMIN, StaffRole.FINANCE)


def _can_edit(request) -> bool:
    return request.user.staff_role in GATEWAY_WRITE_ROLES


def _form_errors(form) -> str:
    return "; ".join(
        f"{form.fields[f].label if f in form.fields else ''}: {' '.join(e)}".lstrip(": ")
        for f, e in form.errors.items()
    )


# --- Sources --------------------------------------------------------------------------------------


def _sources_page(request, form=None, status=200):
    context = filtered_page(request, sources_list(), GatewaySourceFilter)
    for source in context["page_obj"]:
        # The order its connector tries a customer's keys in: which mapping staff must add for its usage.
        source.key_lookup = key_lookup(source.kind)
        # Any source also takes records in the other formats (``/api/v1/usage/litellm``, ``connector=``, an
        # upload's format), and those are looked up in their format's order, not its kind's.
        source.key_lookup_others = [
            (kind.label, key_lookup(kind)) for kind in SourceKind if kind != source.kind
        ]
    context.update(can_edit=_can_edit(request), form=form or GatewaySourceForm(), tab="sources")
    return render(request, "dashboard/gateway/sources.html", context, status=status)


@staff_required()
def source_list(request):
    return _sources_page(request)


def _token_page(request, source: GatewaySource, token: str, *, created: bool):
    """The one response that ever shows a source's token; only its hash is stored."""
    response = render(
        request, "dashboard/gateway/token.html", {"source": source, "token": token, "created": created}
    )
    response["Cache-Control"] = "no-store"
    return response


@require_POST
@staff_required(roles=GATEWAY_WRITE_ROLES, auditor_reads=False)
def source_create(request):
    form = GatewaySourceForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Source not created: %(errors)s") % {"errors": _form_errors(form)})
        return _sources_page(request, form=form, status=400)
    data = form.cleaned_data
    source, token = gateway_source_create(
        name=data["name"],
        kind=data["kind"],
        quota_per_unit=data["quota_per_unit"],
        cost_currency=data["cost_currency"],
        webhook_url=data["webhook_url"],
        webhook_secret=data["webhook_secret"],
    )
    return _token_page(request, source, token, created=True)


@require_POST
@staff_required(roles=GATEWAY_WRITE_ROLES, auditor_reads=False)
def source_rotate(request, pk: int):
    source = get_object_or_404(GatewaySource, pk=pk)
    return _token_page(request, source, gateway_source_token_rotate(source=source), created=False)


@require_POST
@staff_required(roles=GATEWAY_WRITE_ROLES, auditor_reads=False)
def source_toggle(request, pk: int):
    source = get_object_or_404(GatewaySource, pk=pk)
    gateway_source_set_active(source=source, active=not source.is_active)
    if source.is_active:
        messages.success(request, _("Source %(name)s enabled.") % {"name": source.name})
    else:
        messages.success(
            request, _("Source %(name)s disabled: its token is refused.") % {"name": source.name}
        )
    return redirect("staff-gateway-sources")


# --- Keys -----------------------------------------------------------------------------------------


def _keys_page(request, form=None, status=200):
    customers = customers_visible_to(request.user)
    keys = GatewayKey.objects.filter(customer__in=customers).select_related("customer", "source")
    context = filtered_page(request, keys, GatewayKeyFilter)
    context.update(can_edit=_can_edit(request), form=form or GatewayKeyForm(customers=customers), tab="keys")
    return render(request, "dashboard/gateway/keys.html", context, status=status)


@staff_required()
def key_list(request):
    return _keys_page(request)


@require_POST
@staff_required(roles=GATEWAY_WRITE_ROLES, auditor_reads=False)
def key_create(request):
    form = GatewayKeyForm(request.POST, customers=customers_visible_to(request.user))
    if not form.is_valid():
        messages.error(request, _("Key not added: %(errors)s") % {"errors": _form_errors(form)})
        return _keys_page(request, form=form, status=400)
    data = form.cleaned_data
    try:
        mapping = gateway_key_create(
            key=data["key"], customer=data["customer"], source=data["source"], note=data["note"]
        )
    except ValidationError as exc:
        form_errors_add(form, exc)
        messages.error(request, _("Key not added: %(errors)s") % {"errors": " ".join(exc.messages)})
        return _keys_page(request, form=form, status=400)
    messages.success(
        request,
        _("Key %(key)s now means %(customer)s. Queue a re-rate if usage with it is waiting unrated.")
        % {"key": mapping.key, "customer": mapping.customer.name},
    )
    return redirect("staff-gateway-keys")


@require_POST
@staff_required(roles=GATEWAY_WRITE_ROLES, auditor_reads=False)
def key_toggle(request, pk: int):
    mapping = get_object_or_404(
        GatewayKey.objects.filter(customer__in=customers_visible_to(request.user)), pk=pk
    )
    try:
        gateway_key_set_active(mapping=mapping, active=not mapping.is_active)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return _keys_page(request, status=400)
    if mapping.is_active:
        messages.success(request, _("Key %(key)s enabled.") % {"key": mapping.key})
    else:
        messages.success(
            request, _("Key %(key)s disabled: its usage is stored unrated.") % {"key": mapping.key}
        )
    return redirect("staff-gateway-keys")


# --- Holds ----------------------------------------------------------------------------------------


def _holds_page(request, form=None, status=200):
    customers = customers_visible_to(request.user)
    holds = GatewayHold.objects.filter(customer__in=customers).select_related("customer", "created_by")
    context = filtered_page(request, holds, GatewayHoldFilter)
    context.update(
        can_edit=_can_edit(request), form=form or GatewayHoldForm(customers=customers), tab="holds"
    )
    return render(request, "dashboard/gateway/holds.html", context, status=status)


@staff_required()
def hold_list(request):
    return _holds_page(request)


@require_POST
@staff_required(roles=GATEWAY_WRITE_ROLES, auditor_reads=False)
def hold_place(request):
    form = GatewayHoldForm(request.POST, customers=customers_visible_to(request.user))
    if not form.is_valid():
        messages.error(request, _("Hold not placed: %(errors)s") % {"errors": _form_errors(form)})
        return _holds_page(request, form=form, status=400)
    hold = gateway_hold_place(
        customer=form.cleaned_data["customer"], reason=form.cleaned_data["reason"], actor=request.user
    )
    messages.success(
        request,
        _("%(customer)s is held: gateways now see it as suspended.") % {"customer": hold.customer.name},
    )
    return redirect("staff-gateway-holds")


@require_POST
@staff_required(roles=GATEWAY_WRITE_ROLES, auditor_reads=False)
def hold_lift(request, pk: int):
    hold = get_object_or_404(GatewayHold, pk=pk)
    if customer_for_user(request.user, hold.customer_id) is None:
        raise Http404
    gateway_hold_release(hold=hold)
    messages.success(request, _("Hold on %(customer)s lifted.") % {"customer": hold.customer.name})
    return redirect("staff-gateway-holds")
