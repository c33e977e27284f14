"""Resolve what gateways send into our records in bulk: keys to customers, model names to models,
upstream accounts to channels."""

from typing import NamedTuple

from django.db import connection
from django.db.models import Q
from django.db.models.functions import Lower

from accounts.models import Customer
from billing.usage.models import GatewayKey, GatewaySource
from catalog.models import AIModel, Channel, ModelAlias
from catalog.selectors.channels import channels_resolve

_CHANNELS_LOCK = (0x4348414E, 0)  # "CHAN"


# ``keys_resolve``'s answer for a key staff disabled (no customer's id): it names nobody and ends the lookup.
KEY_DISABLED = 0


def keys_resolve(*, source: GatewaySource | None, keys: set[str]) -> dict[str, int]:
    """Map each known gateway key to its customer id; a source's own mapping beats a global one. A key
    whose every mapping here (the source's and the global one) is disabled maps to ``KEY_DISABLED``: it
    is no unknown key, and ``key_pick`` must not pass it over for the next candidate."""
    if not keys:
        return {}
    rows = GatewayKey.objects.filter(key__in=keys)
    rows = rows.filter(Q(source__isnull=True) | Q(source=source)) if source else rows.filter(source=None)
    found: dict[str, int] = {}
    disabled: set[str] = set()
    for key, source_id, customer_id, active in rows.values_list(
        "key", "source_id", "customer_id", "is_active"
    ):
        if not active:
            disabled.add(key)
        elif key not in found or source_id is not None:
            found[key] = customer_id
    # An active mapping beats a disabled one in either scope: moving a key is disabling its old mapping
    # and mapping it again (gateway.services.gateway_key_check), perhaps in the other scope.
    return found | dict.fromkeys(disabled - found.keys(), KEY_DISABLED)


class KeyPick(NamedTuple):
    """What an event's key candidates resolved to: its stored ``gateway_key``, its customer (None: none)
    and, when a disabled key ended the lookup, that key."""

    key: str
    customer_id: int | None
    disabled: str = ""


def key_pick(keys: tuple[str, ...], found: dict[str, int | None]) -> KeyPick:
    """The first of an event's key candidates (``CanonicalEvent.keys``, in lookup order) that ``found``
    (``keys_resolve``'s answer; None or absent: unknown) maps to a customer, with the customer; else the
    first candidate and None. A disabled key ends the lookup there, customerless: the keys after it (a
    team, an end user) may be another customer's, and a key staff switched off must not bill them. Its
    stored key is the first candidate too, so re-rating tries the same candidates in the same order."""
    for key in keys:
        customer_id = found.get(key)
        if customer_id == KEY_DISABLED:
            return KeyPick(keys[0], None, key)
        if customer_id is not None:
            return KeyPick(key, customer_id)
    return KeyPick(keys[0], None)


def models_resolve(names: set[str]) -> dict[str, AIModel]:
    """Map each lower-cased name that is a model's canonical name or alias to the model (two queries)."""
    lowered = {n.lower() for n in names if n}
    if not lowered:
        return {}
    found: dict[str, AIModel] = {}
    for alias in (
        ModelAlias.objects.annotate(l=Lower("alias")).filter(l__in=lowered).select_related("model__vendor")
    ):
        found.setdefault(alias.alias.lower(), alias.model)
    # A canonical name wins over an alias that happens to spell it (as catalog.selectors.models does).
    for model in AIModel.objects.annotate(l=Lower("name")).filter(l__in=lowered).select_related("vendor"):
        found[model.name.lower()] = model
    return found


def customers_load(ids: set[int]) -> dict[int, Customer]:
    return {
        c.pk: c
        for c in Customer.objects.filter(pk__in=ids).select_related("billing_terms", "seller", "price_owner")
    }


def channels_load(accounts: set[str]) -> dict[str, Channel]:
    """Map each upstream account, exactly as events carry it, that names a channel (or one of its aliases,
    case-insensitively) to the channel, its contract and vendor loaded (two queries). Blank or unknown
    accounts are absent: their cost is the best cost book's, on the vendor's account."""
    found = channels_resolve({a for a in accounts if a})
    return {a: found[a.lower()] for a in accounts if a and a.lower() in found}


def channels_lock_shared() -> None:
    """Hold the channel-mapping read lock until the transaction ends. A charging transaction takes it
    before it resolves its events' channels (the bulk writer: before it checks the producer's), so that
    mapping an upstream account (``channel_map``, which takes it exclusively) waits for the usage charged
    under the old mapping to commit, and sees it."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock_shared(%s, %s)", _CHANNELS_LOCK)


def channels_lock_exclusive() -> None:
    """Hold the channel-mapping write lock until the transaction ends: wait for the charging transactions
    that resolved channels to commit, and keep new ones from resolving until the mapping commits."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", _CHANNELS_LOCK)
