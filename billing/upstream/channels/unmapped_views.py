"""Unmapped channels: upstream accounts seen in usage that no channel names (like unrated events, nothing
is dropped: their cost was rated at the best cost book and owed on the vendor's own account), and mapping
one to a channel, which re-costs the events already stored at that channel's contract.

Roles as the other contracts and channels pages: admin and finance map, auditors read, others refused.
"""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from accounts.permissions import staff_required
from billing.upstream.channels.forms import ChannelMapForm, UnmappedFilterForm
from billing.upstream.channels.views import WRITERS
from billing.usage.channel_map import channel_map
from billing.usage.channels import SORTS, UnmappedChannel, unmapped_channels
from common.currencies import amount_display
from common.forms import form_errors_add
from common.listing import PAGE_SIZE


def _sort(value: str) -> str:
    return value if value.removeprefix("-") in SORTS else "-events"


@staff_required(roles=WRITERS)
def unmapped_list(request):
    form = UnmappedFilterForm(request.GET or None)
    rows: list[UnmappedChannel] = []
    if not form.is_bound or form.is_valid():
        data = form.cleaned_data if form.is_bound else {}
        rows = unmapped_channels(
            search=data.get("q") or "",
            since=data.get("since"),
            until=data.get("until"),
            sort=_sort(request.GET.get("o", "")),
        )
    context = {
        "filter": {"form": form},
        "page_obj": Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page")),
        "can_write": not request.user.is_read_only,
    }
    return render(request, "upstream/channels/unmapped_list.html", context)


def _unmapped(account: str) -> UnmappedChannel | None:
    """The unmapped account spelled ``account`` (in any case), or None once a channel names it."""
    wanted = account.strip().lower()
    if not wanted:
        return None
    for row in unmapped_channels(search=account.strip()):
        if wanted in (s.lower() for s in row.spellings):
            return row
    return None


def _moved(amounts: dict) -> str:
    return ", ".join(f"{amount_display(a, c)} {c}" for c, a in sorted(amounts.items())) or "0"


@staff_required(roles=WRITERS, auditor_reads=False)
def unmapped_map(request):
    """GET: the confirmation (how many events will be re-costed); POST: map the account."""
    account = (request.POST if request.method == "POST" else request.GET).get("upstream_account", "")
    row = _unmapped(account)
    form = ChannelMapForm(request.POST or None, initial={"upstream_account": account.strip()})
    if request.method == "POST" and form.is_valid():
        try:
            mapped = channel_map(
                upstream_account=form.cleaned_data["upstream_account"],
                channel=form.cleaned_data["channel"],
                user=request.user,
            )
        except ValidationError as exc:
            form_errors_add(form, exc)
        else:
            channel = form.cleaned_data["channel"]
            messages.success(
                request,
                _(
                    "%(account)s is now an alias of %(channel)s: %(events)s events re-costed at its "
                    "contract (off the account it was on: %(off)s; onto the channel: %(on)s)."
                )
                % {
                    "account": account.strip(),
                    "channel": channel.name,
                    "events": mapped.events,
                    "off": _moved(mapped.moved_off),
                    "on": _moved(mapped.moved_on),
                },
            )
            return redirect("upstream-channel-detail", pk=channel.pk)
    elif request.method == "GET" and row is None:
        messages.warning(
            request,
            _("%(account)s is not an unmapped upstream account (a channel names it, or no usage has it).")
            % {"account": account.strip() or "—"},
        )
        return redirect("upstream-unmapped-list")
    status = 400 if request.method == "POST" else 200
    context = {"form": form, "row": row, "account": account.strip()}
    return render(request, "upstream/channels/unmapped_map.html", context, status=status)
