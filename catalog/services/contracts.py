"""Create vendor contracts, their volume tiers, channels and channel aliases, each checked as a whole."""

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from catalog.models import (
    BookKind,
    Channel,
    ChannelAlias,
    ChannelKind,
    ContractTier,
    CostBasis,
    PriceBook,
    Settlement,
    Vendor,
    VendorContract,
)


def _books_check(*, cost_basis: str, cost_book: PriceBook | None, list_book: PriceBook | None) -> None:
    if cost_basis not in CostBasis.values:
        raise ValidationError(
            {"cost_basis": _("Unknown cost basis %(basis)s.") % {"basis": repr(cost_basis)}}
        )
    if cost_basis == CostBasis.BOOK:
        if cost_book is None:
            raise ValidationError({"cost_book": _("A contract priced from its own book needs that book.")})
        if cost_book.kind != BookKind.COST:
            raise ValidationError(
                {"cost_book": _("%(book)s is not a cost book.") % {"book": repr(cost_book.name)}}
            )
    if list_book is not None and list_book.kind != BookKind.LIST:
        raise ValidationError(
            {"list_book": _("%(book)s is not a list book.") % {"book": repr(list_book.name)}}
        )


def contract_tiers_check(tiers: Sequence[tuple[Decimal, Decimal]]) -> list[tuple[Decimal, Decimal]]:
    """Volume tiers as (from monthly volume, discount), sorted; thresholds distinct, discounts in [0, 1]."""
    ordered = sorted(tiers)
    floors = [lo for lo, _discount in ordered]
    if len(set(floors)) != len(floors):
        raise ValidationError({"tiers": _("Two volume tiers start at the same monthly volume.")})
    for lo, discount in ordered:
        if lo < 0:
            raise ValidationError({"tiers": _("A volume tier cannot start below zero.")})
        if not 0 <= discount <= 1:
            raise ValidationError({"tiers": _("A tier's discount is a fraction between 0 and 1.")})
    return ordered


@transaction.atomic
def contract_create(
    *,
    vendor: Vendor,
    name: str,
    currency: str,
    valid_from: date,
    cost_basis: str = CostBasis.BOOK,
    cost_book: PriceBook | None = None,
    list_book: PriceBook | None = None,
    discount: Decimal = Decimal(0),
    settlement: str = Settlement.PREPAID,
    prepaid_amount: Decimal = Decimal(0),
    committed_amount: Decimal = Decimal(0),
    commit_period: str = VendorContract._meta.get_field("commit_period").default,
    payment_terms_days: int = 30,
    valid_to: date | None = None,
    reference: str = "",
    notes: str = "",
    tiers: Sequence[tuple[Decimal, Decimal]] = (),
    created_by=None,
) -> VendorContract:
    """Create a contract (and its volume tiers); raise ValidationError naming the field at fault."""
    _books_check(cost_basis=cost_basis, cost_book=cost_book, list_book=list_book)
    if tiers and cost_basis != CostBasis.LIST_DISCOUNT:
        raise ValidationError({"tiers": _("Volume tiers apply to a discount off list only.")})
    contract = VendorContract(
        vendor=vendor,
        name=name.strip(),
        reference=reference.strip(),
        currency=currency,
        cost_basis=cost_basis,
        cost_book=cost_book,
        list_book=list_book,
        discount=discount,
        settlement=settlement,
        prepaid_amount=prepaid_amount,
        committed_amount=committed_amount,
        commit_period=commit_period,
        payment_terms_days=payment_terms_days,
        valid_from=valid_from,
        valid_to=valid_to,
        notes=notes,
        created_by=created_by,
    )
    contract.full_clean()
    contract.save()
    ContractTier.objects.bulk_create(
        ContractTier(contract=contract, min_monthly_volume=lo, discount=discount)
        for lo, discount in contract_tiers_check(tiers)
    )
    return contract


def _zone_check(zone: str) -> str:
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError(
            {
                "reporting_zone": _("%(zone)s is not an IANA time zone such as UTC or Asia/Shanghai.")
                % {"zone": repr(zone)}
            }
        ) from None
    return zone


def _name_free(name: str, *, channel: Channel | None = None) -> None:
    """Refuse a channel name or alias that already names another channel (names and aliases share one
    space: an event's upstream account must find one channel)."""
    if not name:
        raise ValidationError({"name": _("A channel needs a name.")})
    other = Channel.objects.filter(name__iexact=name).exclude(pk=getattr(channel, "pk", None)).first()
    if other is None:
        alias = ChannelAlias.objects.filter(alias__iexact=name).select_related("channel").first()
        other = (
            alias.channel if alias is not None and alias.channel_id != getattr(channel, "pk", None) else None
        )
    if other is not None:
        raise ValidationError(
            {
                "name": _("%(name)s already names channel %(channel)s.")
                % {"name": repr(name), "channel": other.name}
            }
        )


@transaction.atomic
def channel_create(
    *,
    contract: VendorContract,
    name: str,
    kind: str = ChannelKind.DIRECT,
    endpoint: str = "",
    vendor_key_id: str = "",
    reporting_zone: str = "UTC",
    reporting_lag_hours: int = 24,
    low_cover_days: int = 7,
    aliases: Sequence[str] = (),
    notes: str = "",
) -> Channel:
    """Create a channel under ``contract`` with its aliases."""
    name = name.strip()
    _name_free(name)
    channel = Channel(
        contract=contract,
        name=name,
        kind=kind,
        endpoint=endpoint.strip(),
        vendor_key_id=vendor_key_id.strip(),
        reporting_zone=_zone_check(reporting_zone),
        reporting_lag_hours=reporting_lag_hours,
        low_cover_days=low_cover_days,
        notes=notes,
    )
    channel.full_clean(validate_constraints=False)
    channel.save()
    for alias in aliases:
        channel_alias_add(channel=channel, alias=alias)
    return channel


def channel_alias_add(*, channel: Channel, alias: str) -> ChannelAlias:
    """Add another name the gateway sends for ``channel``; adding one it has already is a no-op."""
    alias = alias.strip()
    if not alias:
        raise ValidationError({"alias": _("An alias cannot be empty.")})
    if len(alias) > ChannelAlias._meta.get_field("alias").max_length:
        raise ValidationError({"alias": _("An alias has at most 120 characters.")})
    existing = ChannelAlias.objects.filter(alias__iexact=alias).first()
    if existing is not None and existing.channel_id == channel.pk:
        return existing
    if alias.lower() != channel.name.lower():
        try:
            _name_free(alias, channel=channel)
        except ValidationError as exc:
            raise ValidationError({"alias": exc.message_dict["name"]}) from None
    return ChannelAlias.objects.create(channel=channel, alias=alias)
