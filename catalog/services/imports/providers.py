"""What a LiteLLM import does with each ``litellm_provider``: staff's ``ProviderMapping`` rows, read once.

A provider mapped ``vendor`` is that vendor's own price list; ``channel``, a reseller's (bedrock, azure,
openrouter …) whose entries go only into the mapping's channel cost book, by an import naming the provider;
``skip``, never imported. A provider with no row prices only entries named as a model we know, and the
preview lists it with its number of entries so staff can map it (no code change needed).
"""

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from catalog.models import AIModel, BookKind, ProviderMapping


@dataclass(frozen=True)
class Resolution:
    """Where an entry goes: ``vendor`` (a slug, for models created), or ``skip`` (the reason)."""

    vendor: str = ""
    skip: str = ""


def provider_mappings() -> dict[str, ProviderMapping]:
    return {m.provider: m for m in ProviderMapping.objects.select_related("vendor", "channel_book")}


def channel_mapping(provider: str, mappings: dict[str, ProviderMapping]) -> ProviderMapping:
    """The mapping of a channel import's ``provider``, or ValidationError saying how to map it."""
    mapping = mappings.get(provider)
    if mapping is None or mapping.action != ProviderMapping.Action.CHANNEL:
        raise ValidationError(
            {
                "provider": _(
                    "Provider %(provider)s is not mapped to a channel cost book; map it on the provider "
                    "mappings page first."
                )
                % {"provider": repr(provider)}
            }
        )
    if mapping.channel_book.kind != BookKind.COST or mapping.channel_book.owner_id is not None:
        raise ValidationError(
            {
                "provider": _("The channel book of %(provider)s is not a cost book.")
                % {"provider": repr(provider)}
            }
        )
    return mapping


def resolve(provider: str, mappings: dict[str, ProviderMapping]) -> Resolution:
    """How a book (not channel) import treats an entry of ``provider``."""
    mapping = mappings.get(provider)
    if mapping is None:
        return Resolution()
    if mapping.action == ProviderMapping.Action.SKIP:
        return Resolution(skip=f"provider {provider!r} is mapped to skip")
    if mapping.action == ProviderMapping.Action.CHANNEL:
        return Resolution(
            skip=f"reseller channel {provider!r}: import it into its channel book (the provider option)"
        )
    return Resolution(vendor=mapping.vendor.slug)


def channel_model(name: str, provider: str, index: dict[str, AIModel]) -> AIModel | None:
    """Our model a reseller's entry prices: by its full name, without the provider's prefix, after its
    last ``/`` (``bedrock/us-east-1/anthropic.claude-…``), each also as an alias."""
    lowered = name.lower()
    for candidate in (lowered, lowered.removeprefix(f"{provider.lower()}/"), lowered.rsplit("/", 1)[-1]):
        if (model := index.get(candidate)) is not None:
            return model
    return None


def unmapped(providers: dict[str, int], mappings: dict[str, ProviderMapping]) -> list[tuple[str, int]]:
    """The file's providers staff have not mapped, with their number of entries, most entries first."""
    rows = [(p, n) for p, n in providers.items() if p and p not in mappings]
    return sorted(rows, key=lambda row: (-row[1], row[0]))
