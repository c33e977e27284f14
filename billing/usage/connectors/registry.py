"""The connector of each usage format, by name (``connector_for``)."""

from collections.abc import Callable, Iterable

from django.utils.translation import gettext_lazy as _

from billing.usage.connectors import litellm, newapi, openrouter
from billing.usage.connectors.base import ConnectorError
from billing.usage.events import UnreadableRecord


def generic_to_canonical(record, *, source=None):
    return record


CONNECTORS = {
    "generic": generic_to_canonical,
    "litellm": litellm.to_canonical,
    "newapi": newapi.to_canonical,
    "openrouter": openrouter.to_canonical,
}

# How each format's connector finds the customer: the key candidates it sends, in the order they are tried
# (the canonical ``key``, then ``key_fallbacks``); staff see it on the gateway sources page.
KEY_LOOKUP = {
    "generic": (_("key"),),
    # The end user is the caller's to choose: behind a proxy it would let a caller pick the customer.
    "litellm": (
        _("key hash"),
        _("key alias"),
        _("team"),
        _("end user (only for traffic without a proxy key)"),
    ),
    "newapi": (_("token name"), _("user name")),
    "openrouter": (_("external user, else user"),),
}


def key_lookup(kind: str) -> tuple:
    """The key lookup order of a source of ``kind`` (a ``SourceKind``): the keys its events name, in turn."""
    return KEY_LOOKUP.get(kind, KEY_LOOKUP["generic"])


# What a format's records must pass as a whole, before any is ingested (``records_checked``): new-api's user
# log API renumbers its rows, which only their repeats show.
RECORDS_CHECKS = {"newapi": newapi.user_log_export_check}


def records_checked(fmt: str, records: Iterable) -> Iterable:
    """``records`` (a batch, or a file's stream: read ahead no further than the check needs) once ``fmt``'s
    check has passed them; ``base.RecordsRefused`` if it refuses them, before any is ingested."""
    check = RECORDS_CHECKS.get(fmt)
    return records if check is None else check(records)


def connector_for(fmt: str) -> Callable:
    """``fmt``'s connector, which reports a row a file reader could not read as that row's error."""
    if fmt not in CONNECTORS:
        raise ValueError(f"Unknown usage format {fmt!r}; use one of {', '.join(CONNECTORS)}.")
    convert = CONNECTORS[fmt]

    def to_canonical(record, *, source=None):
        if isinstance(record, UnreadableRecord):  # a row the file reader could not read: its own reason
            raise ConnectorError("non_field_errors", record.reason)
        return convert(record, source=source)

    return to_canonical
