"""Changing the upstream settings (the single ``UpstreamSettings`` row)."""

from django.db import transaction

from billing.upstream.models import UpstreamSettings


@transaction.atomic
def upstream_settings_update(*, secret: str | None = None, **values) -> UpstreamSettings:
    """Set ``values`` (model field names); ``secret``: None keeps the webhook secret, "" removes it,
    anything else replaces it."""
    current = UpstreamSettings.objects.select_for_update().get(pk=UpstreamSettings.load().pk)
    for name, value in values.items():
        setattr(current, name, value)
    if secret is not None:
        current.webhook_secret = secret
    current.save()
    return current
