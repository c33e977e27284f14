"""Reads for the contracts and channels pages: lists with what they show, and a channel's cost preview."""

from datetime import datetime

from django.db.models import Count, Prefetch, Q, QuerySet
from django.db.models.functions import Lower
from django.utils.translation import gettext as _

from billing.usage.models import UsageDaily
from catalog.errors import MissingFxRate
from catalog.models import AIModel, Channel, ChannelAlias, CostBasis, PriceEntry, VendorContract
from catalog.selectors.channels import channel_cost
from catalog.selectors.pricelist import PriceListRow
from catalog.selectors.pricing import PricingSnapshot

BOOKS = ("vendor", "cost_book", "list_book")


def contracts() -> QuerySet[VendorContract]:
    """Contracts with their vendor, books and how many channels (active ones too) they carry."""
    # Explicit order: Django drops a model's default ordering from a grouped (annotated) query.
    return (
        VendorContract.objects.select_related(*BOOKS)
        .annotate(
            channel_count=Count("channels", distinct=True),
            active_channel_count=Count("channels", filter=Q(channels__is_active=True), distinct=True),
        )
        .order_by("vendor__name", "name")
    )


def channels() -> QuerySet[Channel]:
    """Channels with their contract, vendor and aliases loaded."""
    return Channel.objects.select_related(*(f"contract__{b}" for b in BOOKS)).prefetch_related(
        Prefetch("aliases", queryset=ChannelAlias.objects.order_by("alias"))
    )


def channel_names(channel: Channel) -> list[str]:
    """Every name usage events may carry for ``channel``: its name and its aliases."""
    return [channel.name, *(a.alias for a in channel.aliases.all())]


def _preview_models(channel: Channel) -> list[AIModel]:
    """The models a channel's cost preview lists: those its contract's book prices, those seen on the
    channel in usage and, for a discount off the highest-priority list, the contract vendor's models."""
    contract = channel.contract
    book_id = contract.cost_book_id if contract.cost_basis == CostBasis.BOOK else contract.list_book_id
    names = [n.lower() for n in channel_names(channel)]
    seen = UsageDaily.objects.annotate(account=Lower("upstream_account")).filter(account__in=names)
    ids = set(seen.values_list("model_id", flat=True).distinct())
    if book_id is not None:
        ids |= set(PriceEntry.objects.filter(book_id=book_id).values_list("model_id", flat=True))
    query = Q(pk__in=ids)
    if contract.cost_basis == CostBasis.LIST_DISCOUNT and book_id is None:
        query |= Q(vendor_id=contract.vendor_id, is_active=True)
    return list(AIModel.objects.filter(query).select_related("vendor").order_by("vendor__name", "name"))


def channel_cost_rows(channel: Channel, at: datetime) -> list[PriceListRow]:
    """What each of the channel's models costs on it at ``at``: per tier, per million tokens per token
    class, in the contract's currency (``channel_cost``, as rating reads it); a model the contract does
    not price then is a row saying so."""
    models = _preview_models(channel)
    snapshot = PricingSnapshot(at, model_ids=[m.pk for m in models])
    unpriced = _(
        "No cost now: the contract's book has no price for this model. Its usage on this channel is rated "
        "without cost."
    )
    rows: list[PriceListRow] = []
    for model in models:
        try:
            schedule = channel_cost(snapshot, channel, model)
        except MissingFxRate as exc:
            no_rate = _(
                "No cost now: %(reason)s Usage of this model on this channel stays unrated until the rate "
                "is entered."
            ) % {"reason": exc.detail}
            rows.append(PriceListRow(model=model, unavailable=no_rate))
            continue
        if schedule is None:
            rows.append(PriceListRow(model=model, unavailable=unpriced))
            continue
        for tier in schedule.tiers:
            batch = tier.batch_prices(schedule.batch_multiplier)
            rows.append(
                PriceListRow(
                    model=model,
                    tier_lo=tier.lo,
                    tier_hi=tier.hi,
                    prices=tier.standard_prices(),
                    batch_input=batch[0],
                    batch_output=batch[4],
                    request_fee=schedule.request_fee,
                    basis=schedule.basis or schedule.book,
                    effective_from=schedule.effective_from,
                )
            )
    return rows
