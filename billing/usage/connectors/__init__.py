"""Connectors turn what a gateway logs into canonical event dicts (see ``billing.usage.events``).

Each connector (``litellm``, ``newapi``, ``openrouter``) is ``to_canonical(record, *, source) -> dict`` and
raises ``ConnectorError`` (``base``) naming the field it could not read; the canonical dict is then
validated like any generic event. ``registry.connector_for`` gives a format's connector.
"""
