"""Map LiteLLM's providers of our vendors' own price lists (#20): the pairs the importer used to hard-code,
for each vendor that exists by slug and each provider not mapped yet. Staff edit them afterwards."""

from django.db import migrations

# Frozen here: this is what the code said when the mapping became data.
PAIRS = {
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


def seed(apps, schema_editor):
    Vendor = apps.get_model("catalog", "Vendor")
    ProviderMapping = apps.get_model("catalog", "ProviderMapping")
    vendors = {v.slug: v for v in Vendor.objects.filter(slug__in=set(PAIRS.values()))}
    mapped = set(ProviderMapping.objects.values_list("provider", flat=True))
    ProviderMapping.objects.bulk_create(
        ProviderMapping(provider=provider, action="vendor", vendor=vendors[slug])
        for provider, slug in PAIRS.items()
        if slug in vendors and provider not in mapped
    )


class Migration(migrations.Migration):
    dependencies = [("catalog", "0005_rating_fidelity")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
