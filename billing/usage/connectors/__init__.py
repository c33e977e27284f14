"""Connectors turn what a gateway logs into canonical event dicts (see ``billing.usage.events``).

Each connector is ``to_canonical(record: dict, *, source) -> dict`` and raises ``ConnectorError`` naming
the field it could not read; the canonical dict is then validated like any generic event.
"""

from collections.abc import Callable


class ConnectorError(Exception):
    def __init__(self, field: str, reason: str):
        super().__init__(reason)
        self.field = field
        self.reason = reason


def generic_to_canonical(record, *, source=None):
    return record


def connector_for(fmt: str) -> Callable:
    from billing.usage.connectors import litellm, newapi, openrouter

    connectors = {
        "generic": generic_to_canonical,
        "litellm": litellm.to_canonical,
        "newapi": newapi.to_canonical,
        "openrouter": openrouter.to_canonical,
    }
    if fmt not in connectors:
        raise ValueError(f"Unknown usage format {fmt!r}; use one of {', '.join(connectors)}.")
    return connectors[fmt]
