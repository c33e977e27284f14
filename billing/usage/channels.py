"""Upstream accounts seen in rated usage that no channel names: what staff map (``channel_map``).

Read from the daily rollups (never the events), counting only the rows the operator sells — an end
customer's event sold by the operator, or the top hop of a resale chain — so each gateway event counts
once and its cost is the contract cost the operator owes (at the best cost book, since no channel names
the account). Accounts are matched like channels resolve them: case-insensitively, against every channel's
name and alias.
"""

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db.models import Exists, Max, Min, OuterRef, Sum
from django.db.models.functions import Lower

from billing.usage.models import UsageDaily
from catalog.models import Channel, ChannelAlias

SORTS = ("events", "account", "first_seen", "last_seen")


@dataclass(frozen=True)
class UnmappedChannel:
    """One upstream account no channel names: as events spell it most (``account``; ``spellings``: all of
    them), its rated events, their cost per currency (full precision), the first and last day it was used
    (operator's days)."""

    account: str
    spellings: tuple[str, ...]
    events: int
    costs: tuple[tuple[str, Decimal], ...]
    first_seen: date
    last_seen: date


def unmapped_channels(
    *, search: str = "", since: date | None = None, until: date | None = None, sort: str = "-events"
) -> list[UnmappedChannel]:
    """Upstream accounts of rated usage in ``[since, until]`` (days, inclusive; None: unbounded) that no
    channel or alias names, containing ``search`` (case-insensitive); sorted by ``sort`` (one of SORTS,
    ``-`` for descending; ties by account). A list, not a query: there are as many rows as accounts."""
    rows = UsageDaily.objects.exclude(upstream_account="").filter(customer__seller__isnull=True)
    if since is not None:
        rows = rows.filter(day__gte=since)
    if until is not None:
        rows = rows.filter(day__lte=until)
    if search.strip():
        rows = rows.filter(upstream_account__icontains=search.strip())
    rows = rows.annotate(name=Lower("upstream_account")).filter(
        ~Exists(Channel.objects.annotate(n=Lower("name")).filter(n=OuterRef("name"))),
        ~Exists(ChannelAlias.objects.annotate(n=Lower("alias")).filter(n=OuterRef("name"))),
    )
    grouped = rows.values("name", "upstream_account", "cost_currency").annotate(
        events=Sum("requests"), cost=Sum("cost_amount"), first=Min("day"), last=Max("day")
    )
    spellings: dict[str, Counter] = defaultdict(Counter)
    costs: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    seen: dict[str, tuple[date, date]] = {}
    for g in grouped:
        name = g["name"]
        spellings[name][g["upstream_account"]] += g["events"]
        if g["cost_currency"]:
            costs[name][g["cost_currency"]] += g["cost"]
        first, last = seen.get(name, (g["first"], g["last"]))
        seen[name] = (min(first, g["first"]), max(last, g["last"]))
    result = [
        UnmappedChannel(
            # The spelling most events use (ties: the first in code-point order).
            account=min(spelled, key=lambda s: (-spelled[s], s)),
            spellings=tuple(sorted(spelled)),
            events=sum(spelled.values()),
            costs=tuple(sorted(costs[name].items())),
            first_seen=seen[name][0],
            last_seen=seen[name][1],
        )
        for name, spelled in spellings.items()
    ]
    field = sort.removeprefix("-")
    if field not in SORTS:
        raise ValueError(f"unmapped_channels sorts by one of {', '.join(SORTS)}, not {sort!r}")
    result.sort(key=lambda u: u.account.lower())
    if field != "account":
        result.sort(key=lambda u: getattr(u, field), reverse=sort.startswith("-"))
    elif sort.startswith("-"):
        result.reverse()
    return result
