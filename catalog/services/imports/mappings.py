"""Staff's provider mappings (``litellm_provider`` → our vendor, a channel cost book, or skip): writes."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from catalog.models import BookKind, PriceBook, ProviderMapping, Vendor
from catalog.services.imports.parsed import text_problem

# LiteLLM's providers for the vendors' own price lists, for a catalog starting out (the demo); staff
# change them on the provider mappings page. The migration seeding existing databases keeps its own copy.
DEFAULT_VENDORS = {
    "openai": "openai",
    "text-completion-openai": "openai",
    "anthropic": "anthropic",
    "gemini": "google",
    "vertex_ai-language-models": "google",
    "deepseek": "deepseek",
    "dashscope": "alibaba",
    "moonshot": "moonshot",
    "zai": "zhipu",
    "zhipu": "zhipu",
    "minimax": "minimax",
}
PROVIDER_MAX = ProviderMapping._meta.get_field("provider").max_length


@transaction.atomic
def provider_mapping_save(
    *,
    provider: str,
    action: str,
    vendor: Vendor | None = None,
    channel_book: PriceBook | None = None,
    note: str = "",
    mapping: ProviderMapping | None = None,
) -> ProviderMapping:
    """Create a mapping, or change ``mapping``; raise ValidationError keyed by the field at fault."""
    provider = (provider or "").strip()
    errors: dict[str, str] = {}
    if not provider or len(provider) > PROVIDER_MAX or text_problem(provider) is not None:
        errors["provider"] = _("Give the provider as LiteLLM spells it, at most %(max)s characters.") % {
            "max": PROVIDER_MAX
        }
    elif ProviderMapping.objects.filter(provider=provider).exclude(pk=getattr(mapping, "pk", None)).exists():
        errors["provider"] = _("Provider %(provider)s is already mapped.") % {"provider": provider}
    if action not in ProviderMapping.Action.values:
        errors["action"] = _("Choose what the import does with the provider's entries.")
    elif action == ProviderMapping.Action.VENDOR and vendor is None:
        errors["vendor"] = _("Name the vendor whose price list these entries are.")
    elif action == ProviderMapping.Action.CHANNEL and (
        channel_book is None or channel_book.kind != BookKind.COST or channel_book.owner_id is not None
    ):
        errors["channel_book"] = _("Name the channel's cost book (an operator cost book).")
    if errors:
        raise ValidationError(errors)
    mapping = mapping or ProviderMapping()
    mapping.provider = provider
    mapping.action = action
    mapping.vendor = vendor if action == ProviderMapping.Action.VENDOR else None
    mapping.channel_book = channel_book if action == ProviderMapping.Action.CHANNEL else None
    mapping.note = (note or "").strip()[:200]
    mapping.save()
    return mapping


def provider_mapping_delete(mapping: ProviderMapping) -> None:
    """Forget a mapping: later imports list the provider as unmapped again (prices already imported stay)."""
    mapping.delete()


def provider_mappings_default_seed() -> int:
    """Map the providers of ``DEFAULT_VENDORS`` whose vendor exists and that have none; return how many."""
    vendors = {v.slug: v for v in Vendor.objects.filter(slug__in=set(DEFAULT_VENDORS.values()))}
    mapped = set(ProviderMapping.objects.values_list("provider", flat=True))
    rows = [
        ProviderMapping(provider=provider, action=ProviderMapping.Action.VENDOR, vendor=vendors[slug])
        for provider, slug in DEFAULT_VENDORS.items()
        if slug in vendors and provider not in mapped
    ]
    ProviderMapping.objects.bulk_create(rows)
    return len(rows)
