"""Demo vendors. Idempotent: keyed by slug."""

from catalog.models import Vendor

VENDORS = [
    ("OpenAI", "openai", "https://openai.com", "US"),
    ("Anthropic", "anthropic", "https://www.anthropic.com", "US"),
    ("Google", "google", "https://ai.google.dev", "US"),
    ("DeepSeek", "deepseek", "https://www.deepseek.com", "CN"),
    ("Alibaba Cloud", "alibaba", "https://www.alibabacloud.com", "CN"),
    ("Moonshot AI", "moonshot", "https://www.moonshot.cn", "CN"),
    ("Zhipu AI", "zhipu", "https://www.zhipuai.cn", "CN"),
    ("MiniMax", "minimax", "https://www.minimaxi.com", "CN"),
]


def load() -> list[tuple[str, str]]:
    for name, slug, website, country in VENDORS:
        Vendor.objects.get_or_create(
            slug=slug, defaults={"name": name, "website": website, "country": country}
        )
    return []
