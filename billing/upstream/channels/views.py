"""Vendor contracts and channels pages: lists, detail pages and their forms.

Roles: admin and finance read and write; auditors read (every GET but the forms); sales and support are
refused. A change of terms costs usage rated after it; the forms say so.
"""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.models import StaffRole
from accounts.permissions import staff_required
from billing.upstream.channels.filters import ChannelFilter, ContractFilter
from billing.upstream.channels.forms import AliasForm, ChannelForm, ContractForm, tier_formset
from billing.upstream.channels.selectors import channel_cost_rows, channels, contracts
from billing.upstream.cover import cover_for_channels
from billing.usage.channel_map import (
    mapped_alias_add,
    mapped_alias_remove,
    mapped_channel_create,
    mapped_channel_update,
)
from catalog.services.contracts import (
    channel_set_active,
    contract_create,
    contract_set_active,
    contract_update,
)
from common.forms import form_errors_add
from common.listing import filtered_page

WRITERS = (StaffRole.ADMIN, StaffRole.FINANCE)


def _errors_show(form, exc: ValidationError, *, renames: dict[str, str] | None = None) -> list[str]:
    """Put a service's errors on ``form`` (``renames`` maps a service's field to the form's); return the
    volume tiers' messages, which belong under the tiers table rather than on a field."""
    if not hasattr(exc, "error_dict"):
        form_errors_add(form, exc)
        return []
    errors = {(renames or {}).get(k, k): v for k, v in exc.error_dict.items()}
    tier_errors = [m for e in errors.pop("tiers", []) for m in e.messages]
    if errors:
        form_errors_add(form, ValidationError(errors))
    return tier_errors


@staff_required(roles=WRITERS)
def contract_list(request):
    context = filtered_page(request, contracts(), ContractFilter)
    context.update(can_write=not request.user.is_read_only, today=timezone.localdate())
    return render(request, "upstream/channels/contract_list.html", context)


@staff_required(roles=WRITERS)
def contract_detail(request, pk: int):
    contract = get_object_or_404(contracts(), pk=pk)
    contract_channels = list(channels().filter(contract=contract))
    _covers_attach(contract_channels)
    context = {
        "contract": contract,
        "tiers": contract.tiers.all(),
        "channels": contract_channels,
        "can_write": not request.user.is_read_only,
        "today": timezone.localdate(),
    }
    return render(request, "upstream/channels/contract_detail.html", context)


def _contract_form_page(request, contract=None):
    form = ContractForm(request.POST or None, instance=contract)
    tiers = tier_formset(request.POST or None, contract)
    tier_errors: list[str] = []
    if request.method == "POST" and form.is_valid() and tiers.is_valid():
        try:
            if contract is None:
                contract = contract_create(**form.cleaned_data, tiers=tiers.tiers(), created_by=request.user)
                messages.success(request, _("Contract %(name)s created.") % {"name": contract.name})
            else:
                contract = contract_update(contract=contract, tiers=tiers.tiers(), **form.cleaned_data)
                messages.success(
                    request,
                    _("Contract %(name)s saved: its terms cost usage rated from now on.")
                    % {"name": contract.name},
                )
        except ValidationError as exc:
            tier_errors = _errors_show(form, exc)
        else:
            return redirect("upstream-contract-detail", pk=contract.pk)
    context = {"form": form, "tiers": tiers, "tier_errors": tier_errors, "contract": contract}
    status = 400 if request.method == "POST" else 200
    return render(request, "upstream/channels/contract_form.html", context, status=status)


@staff_required(roles=WRITERS, auditor_reads=False)
def contract_new(request):
    return _contract_form_page(request)


@staff_required(roles=WRITERS, auditor_reads=False)
def contract_edit(request, pk: int):
    return _contract_form_page(request, get_object_or_404(contracts(), pk=pk))


@require_POST
@staff_required(roles=WRITERS)
def contract_active(request, pk: int):
    contract = get_object_or_404(contracts(), pk=pk)
    active = request.POST.get("active") == "1"
    try:
        contract_set_active(contract=contract, active=active)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        done = _("Contract %(name)s is active.") if active else _("Contract %(name)s is inactive.")
        messages.success(request, done % {"name": contract.name})
    return redirect("upstream-contract-detail", pk=contract.pk)


@staff_required(roles=WRITERS)
def channel_list(request):
    context = filtered_page(request, channels(), ChannelFilter)
    _covers_attach(context["page_obj"])
    context["can_write"] = not request.user.is_read_only
    return render(request, "upstream/channels/channel_list.html", context)


def _covers_attach(rows) -> None:
    """Give each channel shown its prepaid balance, burn rate and days of cover (one set of queries)."""
    rows = list(rows)
    covers = cover_for_channels(rows) if rows else {}
    for channel in rows:
        channel.cover = covers.get(channel.pk)


def _channel_detail_context(request, channel, alias_form=None) -> dict:
    now = timezone.now()
    return {
        "channel": channel,
        "cover": cover_for_channels([channel])[channel.pk],
        "contract": channel.contract,
        "aliases": channel.aliases.all(),
        "alias_form": alias_form or AliasForm(),
        "rows": channel_cost_rows(channel, now),
        "now": now,
        "can_write": not request.user.is_read_only,
    }


@staff_required(roles=WRITERS)
def channel_detail(request, pk: int):
    channel = get_object_or_404(channels(), pk=pk)
    return render(request, "upstream/channels/channel_detail.html", _channel_detail_context(request, channel))


def _channel_form_page(request, channel=None):
    initial = {}
    if channel is None and request.GET.get("contract", "").isdigit():
        initial["contract"] = int(request.GET["contract"])
    form = ChannelForm(request.POST or None, instance=channel, initial=initial or None)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        try:
            if channel is None:
                channel = mapped_channel_create(user=request.user, **data)
                messages.success(request, _("Channel %(name)s created.") % {"name": channel.name})
            else:
                old_name = channel.name
                channel = mapped_channel_update(channel=channel, user=request.user, **data)
                note = (
                    _("Channel %(name)s saved; its old name %(old)s stays as an alias.")
                    if channel.name != old_name
                    else _("Channel %(name)s saved.")
                )
                messages.success(request, note % {"name": channel.name, "old": old_name})
        except ValidationError as exc:
            _errors_show(form, exc, renames={"alias": "aliases"})
        else:
            return redirect("upstream-channel-detail", pk=channel.pk)
    context = {"form": form, "channel": channel}
    status = 400 if request.method == "POST" else 200
    return render(request, "upstream/channels/channel_form.html", context, status=status)


@staff_required(roles=WRITERS, auditor_reads=False)
def channel_new(request):
    return _channel_form_page(request)


@staff_required(roles=WRITERS, auditor_reads=False)
def channel_edit(request, pk: int):
    return _channel_form_page(request, get_object_or_404(channels(), pk=pk))


@require_POST
@staff_required(roles=WRITERS)
def channel_alias_new(request, pk: int):
    channel = get_object_or_404(channels(), pk=pk)
    form = AliasForm(request.POST)
    if form.is_valid():
        try:
            alias, moved = mapped_alias_add(
                channel=channel, alias=form.cleaned_data["alias"], user=request.user
            )
        except ValidationError as exc:
            form_errors_add(form, exc)
        else:
            messages.success(
                request,
                _(
                    "Events naming %(alias)s are costed at channel %(channel)s; the cost of the "
                    "%(events)s events already stored under it moved onto the channel."
                )
                % {"alias": alias.alias, "channel": channel.name, "events": moved.events},
            )
            return redirect("upstream-channel-detail", pk=channel.pk)
    context = _channel_detail_context(request, channel, alias_form=form)
    return render(request, "upstream/channels/channel_detail.html", context, status=400)


@require_POST
@staff_required(roles=WRITERS)
def channel_alias_delete(request, pk: int):
    channel = get_object_or_404(channels(), pk=pk)
    try:
        removed, moved = mapped_alias_remove(
            channel=channel, alias=request.POST.get("alias", ""), user=request.user
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request,
            _(
                "Alias %(alias)s removed: it is listed as unmapped, and the cost of the %(events)s "
                "events stored under it moved back to the vendor's account at the best cost book."
            )
            % {"alias": removed, "events": moved.events},
        )
    return redirect("upstream-channel-detail", pk=channel.pk)


@require_POST
@staff_required(roles=WRITERS)
def channel_active(request, pk: int):
    channel = get_object_or_404(channels(), pk=pk)
    active = request.POST.get("active") == "1"
    try:
        channel_set_active(channel=channel, active=active)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        done = _("Channel %(name)s is active.") if active else _("Channel %(name)s is inactive.")
        messages.success(request, done % {"name": channel.name})
    return redirect("upstream-channel-detail", pk=channel.pk)
