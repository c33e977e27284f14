"""Create and change vendor contracts, their volume tiers, channels and channel aliases, each checked as a
whole and refused with the field at fault.

Be careful with what a change means for money already counted: rating reads a channel's contract when an
event is rated and stores the cost it found (``UsageEvent.cost_amount``), so a change of terms applies to
usage rated after it and never rewrites what was rated before. What cannot be changed in place — the vendor
or currency of a contract that has channels, a channel's move to another vendor or currency — is refused:
the channel's upstream ledger accounts (prepaid, accrued) are keyed by both.
"""

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

# What contract_update and channel_update may change, in the order forms show them; anything else is a
# programming error.
CONTRACT_FIELDS = (
    "vendor",
    "name",
    "reference",
    "currency",
    "cost_basis",
    "cost_book",
    "list_book",
    "discount",
    "settlement",
    "prepaid_amount",
    "committed_amount",
    "commit_period",
    "payment_terms_days",
    "valid_from",
    "valid_to",
    "notes",
)
CHANNEL_FIELDS = (
    "name",
    "contract",
    "kind",
    "endpoint",
    "vendor_key_id",
    "reporting_zone",
    "reporting_lag_hours",
    "low_cover_days",
    "notes",
)
_STRIPPED = ("name", "reference", "endpoint", "vendor_key_id")


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


def _contract_check(contract: VendorContract, *, has_tiers: bool) -> None:
    """Check the contract as it is about to be saved; the field at fault, never a constraint's name."""
    _books_check(cost_basis=contract.cost_basis, cost_book=contract.cost_book, list_book=contract.list_book)
    if has_tiers and contract.cost_basis != CostBasis.LIST_DISCOUNT:
        raise ValidationError({"tiers": _("Volume tiers apply to a discount off list only.")})
    if contract.valid_to is not None and contract.valid_from and contract.valid_to < contract.valid_from:
        raise ValidationError(
            {
                "valid_to": _("The contract ends (%(to)s) before it starts (%(from)s).")
                % {"to": contract.valid_to, "from": contract.valid_from}
            }
        )
    contract.full_clean(validate_constraints=False)


def _tiers_replace(contract: VendorContract, tiers: Sequence[tuple[Decimal, Decimal]]) -> None:
    ordered = contract_tiers_check(tiers)
    contract.tiers.all().delete()
    ContractTier.objects.bulk_create(
        ContractTier(contract=contract, min_monthly_volume=lo, discount=discount) for lo, discount in ordered
    )


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
    contract = VendorContract(
        vendor=vendor,
        name=name.strip(),
        reference=reference.strip(),
        currency=currency,
        cost_basis=cost_basis,
        # A discount-off-list contract has no book of its own; a book-priced one no discount.
        cost_book=cost_book if cost_basis == CostBasis.BOOK else None,
        list_book=list_book,
        discount=discount if cost_basis == CostBasis.LIST_DISCOUNT else Decimal(0),
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
    _contract_check(contract, has_tiers=bool(tiers))
    contract.save()
    _tiers_replace(contract, tiers)
    return contract


def _channels_named(contract: VendorContract) -> str:
    return ", ".join(contract.channels.order_by("name").values_list("name", flat=True))


@transaction.atomic
def contract_update(
    *, contract: VendorContract, tiers: Sequence[tuple[Decimal, Decimal]] | None = None, **changes
) -> VendorContract:
    """Change a contract's terms and, when ``tiers`` is given, replace its volume tiers.

    The new terms cost usage rated from now on; usage rated before keeps its cost. The vendor and the
    currency of a contract with channels cannot change: its channels' upstream ledger is in them (make a
    new contract and put new channels under it)."""
    unknown = set(changes) - set(CONTRACT_FIELDS)
    if unknown:
        raise TypeError(f"contract_update cannot change {', '.join(sorted(unknown))}")
    contract = VendorContract.objects.select_for_update().get(pk=contract.pk)
    has_channels = contract.channels.exists()
    for field in ("vendor", "currency"):
        if field in changes and changes[field] != getattr(contract, field) and has_channels:
            raise ValidationError(
                {
                    field: _(
                        "Channels %(channels)s keep their upstream ledger in %(currency)s with %(vendor)s: "
                        "make a new contract for other terms and put new channels under it."
                    )
                    % {
                        "channels": _channels_named(contract),
                        "currency": contract.currency,
                        "vendor": contract.vendor.name,
                    }
                }
            )
    for field, value in changes.items():
        setattr(contract, field, value.strip() if field in _STRIPPED else value)
    if contract.cost_basis == CostBasis.LIST_DISCOUNT:
        contract.cost_book = None
    elif contract.cost_basis == CostBasis.BOOK:
        contract.discount = Decimal(0)
    has_tiers = bool(tiers) if tiers is not None else contract.tiers.exists()
    _contract_check(contract, has_tiers=has_tiers)
    contract.save()
    if tiers is not None:
        _tiers_replace(contract, tiers)
    return contract


@transaction.atomic
def contract_tiers_set(
    *, contract: VendorContract, tiers: Sequence[tuple[Decimal, Decimal]]
) -> list[ContractTier]:
    """Replace a contract's volume tiers (none: the contract's own discount for every volume). A month
    already trued up keeps what it was trued up at; the next true-up reads these."""
    if tiers and contract.cost_basis != CostBasis.LIST_DISCOUNT:
        raise ValidationError({"tiers": _("Volume tiers apply to a discount off list only.")})
    _tiers_replace(contract, tiers)
    return list(contract.tiers.all())


@transaction.atomic
def contract_set_active(*, contract: VendorContract, active: bool) -> VendorContract:
    """Activate or deactivate a contract; one with active channels cannot be deactivated (their usage is
    still costed at it), so those are deactivated or moved first."""
    if not active:
        live = contract.channels.filter(is_active=True).order_by("name").values_list("name", flat=True)
        if live:
            raise ValidationError(
                _("Deactivate or move its active channels first: %(channels)s.")
                % {"channels": ", ".join(live)}
            )
    contract.is_active = active
    contract.save(update_fields=["is_active", "updated_at"])
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


def _contract_open(contract: VendorContract) -> None:
    if not contract.is_active:
        raise ValidationError(
            {
                "contract": _("Contract %(contract)s is inactive: activate it first.")
                % {"contract": contract.name}
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
    _contract_open(contract)
    channel = Channel(
        contract=contract,
        name=name,
        kind=kind,
        endpoint=endpoint.strip(),
        vendor_key_id=vendor_key_id.strip(),
        reporting_zone=_zone_check(reporting_zone.strip()),
        reporting_lag_hours=reporting_lag_hours,
        low_cover_days=low_cover_days,
        notes=notes,
    )
    channel.full_clean(validate_constraints=False)
    channel.save()
    for alias in aliases:
        channel_alias_add(channel=channel, alias=alias)
    return channel


def _contract_move_check(channel: Channel, contract: VendorContract) -> None:
    """A channel may move to another contract of the same vendor and currency only: its upstream ledger
    accounts (prepaid balance, accrued cost) are kept in those."""
    _contract_open(contract)
    current = channel.contract
    if contract.vendor_id != current.vendor_id or contract.currency != current.currency:
        raise ValidationError(
            {
                "contract": _(
                    "Channel %(channel)s keeps its upstream ledger in %(currency)s with %(vendor)s; "
                    "%(contract)s is in %(other_currency)s with %(other_vendor)s. Create a new channel "
                    "under it instead."
                )
                % {
                    "channel": channel.name,
                    "currency": current.currency,
                    "vendor": current.vendor.name,
                    "contract": contract.name,
                    "other_currency": contract.currency,
                    "other_vendor": contract.vendor.name,
                }
            }
        )


@transaction.atomic
def channel_update(*, channel: Channel, **changes) -> Channel:
    """Change a channel's settings. Renamed, its old name stays as an alias, so events that carry it
    still find the channel; moved to another contract (same vendor and currency), usage rated from now on
    is costed at that contract and usage rated before keeps its cost — a late event from before the move is
    costed at the new contract too (contracts carry no history; prices that change on a date belong in the
    contract's cost book, which is effective-dated)."""
    unknown = set(changes) - set(CHANNEL_FIELDS)
    if unknown:
        raise TypeError(f"channel_update cannot change {', '.join(sorted(unknown))}")
    channel = Channel.objects.select_for_update().select_related("contract__vendor").get(pk=channel.pk)
    old_name = channel.name
    if "contract" in changes and changes["contract"].pk != channel.contract_id:
        _contract_move_check(channel, changes["contract"])
    if "reporting_zone" in changes:
        changes["reporting_zone"] = _zone_check(changes["reporting_zone"].strip())
    for field, value in changes.items():
        setattr(channel, field, value.strip() if field in _STRIPPED else value)
    renamed = channel.name.lower() != old_name.lower()
    if renamed:
        _name_free(channel.name, channel=channel)
    channel.full_clean(validate_constraints=False)
    if renamed:
        # The new name is the channel's own now; an alias spelling it would only shadow it.
        ChannelAlias.objects.filter(channel=channel, alias__iexact=channel.name).delete()
    channel.save()
    if renamed:
        ChannelAlias.objects.create(channel=channel, alias=old_name)
    return channel


@transaction.atomic
def channel_set_active(*, channel: Channel, active: bool) -> Channel:
    """Activate or deactivate a channel. An inactive channel still costs the events that name it (nothing
    is left unrated); it is left out of cover alerts and imports' channel choices."""
    if active:
        _contract_open(channel.contract)
    channel.is_active = active
    channel.save(update_fields=["is_active"])
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


def channel_alias_remove(*, channel: Channel, alias: str) -> str:
    """Remove one of ``channel``'s aliases; return it as it was spelled. Events that carry it from now on are
    unmapped until it names a channel again. This changes only the mapping: the cost of events already stored
    under the alias moves with it only through ``billing.usage.channel_map.mapped_alias_remove``, which every
    page uses (an event's cost sits on the account its name maps to now)."""
    found = ChannelAlias.objects.filter(channel=channel, alias__iexact=alias.strip()).first()
    if found is None:
        raise ValidationError(
            {
                "alias": _("%(alias)s is not an alias of channel %(channel)s.")
                % {"alias": repr(alias.strip()), "channel": channel.name}
            }
        )
    found.delete()
    return found.alias
