"""Channels (upstream accounts) by the names gateways send, and the cost a channel's contract sets.

Cost is rated at the event's channel (DESIGN §8): a contract prices cost from its own price book, or as a
discount off a list book; in the contract's currency either way (converted at the event day's rate when the
book is in another). Rating, reconciliation and the 货不对版 signals all read cost through ``channel_cost``,
so the same request costs the same wherever it is looked at.
"""

from decimal import localcontext

from django.db.models.functions import Lower
from django.utils.translation import gettext as _

from catalog.models import AIModel, BookKind, Channel, ChannelAlias, CostBasis
from catalog.rating import EXACT, ONE, PriceSchedule
from catalog.selectors.pricing import PricingSnapshot


def channels_resolve(names: set[str]) -> dict[str, Channel]:
    """Map each lower-cased name that is a channel's name or alias to the channel (two queries); each
    channel comes with its contract, the contract's vendor and books loaded. Names of no channel are
    absent: the events keep them, and staff see them as unmapped channels."""
    lowered = {n.lower() for n in names if n}
    if not lowered:
        return {}
    related = ("channel__contract__vendor", "channel__contract__cost_book", "channel__contract__list_book")
    found: dict[str, Channel] = {}
    for alias in (
        ChannelAlias.objects.annotate(l=Lower("alias")).filter(l__in=lowered).select_related(*related)
    ):
        found.setdefault(alias.alias.lower(), alias.channel)
    # A channel's own name wins over an alias that happens to spell it (as model names do).
    channels = Channel.objects.annotate(l=Lower("name")).filter(l__in=lowered)
    for channel in channels.select_related(*(r.removeprefix("channel__") for r in related)):
        found[channel.name.lower()] = channel
    return found


def channel_cost(snapshot: PricingSnapshot, channel: Channel, model: AIModel) -> PriceSchedule | None:
    """``model``'s cost on ``channel`` at the snapshot's instant, in the contract's currency; None when the
    contract prices no such model then: cost and margin unknown. Raises ``MissingFxRate`` when the contract
    prices it in another currency and the rate to convert it is missing: the cost exists but cannot be
    worked out yet, so rating leaves the event unrated (``missing_fx``) rather than costless.

    ``channel.contract`` (and its books) should be loaded, as ``channels_resolve`` does."""
    contract = channel.contract
    if contract.cost_basis == CostBasis.BOOK:
        schedule = snapshot.book_schedule(contract.cost_book, model)
    else:
        if contract.list_book_id is not None:
            source = snapshot.book_schedule(contract.list_book, model)
        else:
            source = snapshot.best_schedule(BookKind.LIST, model)
        if source is None:
            return None
        with localcontext(EXACT):
            factor = ONE - contract.discount
        basis = _("list × (1 − %(discount)s) of %(book)s, contract %(contract)s") % {
            "discount": contract.discount.normalize(),
            "book": source.book,
            "contract": contract.name,
        }
        schedule = source.scaled(factor, kind=BookKind.COST, basis=basis)
    if schedule is None:
        return None
    return snapshot.convert(schedule, contract.currency)
