"""Demo usage: a gateway source, key mappings and a month of realistic requests, so the usage pages show.

Events go through the real pipeline (``usage_batch_ingest``): rated, rolled up and posted to wallets and
receivables like production usage. Every event names its upstream account, a channel of
``demo.upstream`` (by name or alias), so its cost is rated at that channel's contract. Idempotent: once the
demo source has a batch nothing is added again (event times are relative to the first load). The source's
token is not kept; issue a new one on the gateway sources page to point a real gateway at it.
"""

import random
from datetime import timedelta

from django.utils import timezone

from accounts.models import Customer
from billing.usage.models import GatewayKey, GatewaySource, SourceKind, UsageBatch
from billing.usage.services import usage_batch_ingest
from demo.upstream import channels_load

SOURCE_NAME = "demo-litellm"
DAYS = 30
# (customer code, requests per day on average, models it uses as the gateway names them)
TRAFFIC = [
    ("hangzhou-edu", 4, ["deepseek-chat", "qwen-plus", "glm-5.1"]),
    ("suzhou-mfg", 3, ["qwen3-max", "deepseek-reasoner"]),
    ("nanjing-legal", 2, ["deepseek-chat", "kimi-k2.5"]),
    ("shanghai-media", 4, ["gemini-2.5-flash", "qwen-plus", "deepseek-chat"]),
    ("beijing-search", 5, ["deepseek-chat", "glm-5-turbo", "qwen3-max"]),
    ("wuhan-bio", 2, ["claude-sonnet-4-5", "deepseek-reasoner"]),
    ("indie-dev-li", 1, ["deepseek-chat"]),
    ("acme-agents", 5, ["openai/gpt-4o", "claude-sonnet-4-5", "gpt-5-mini"]),
    ("sg-fintech", 2, ["gpt-5-mini", "claude-haiku-4-5"]),
    ("kl-commerce", 1, ["gpt-5-mini"]),
    ("sydney-health", 2, ["gemini-2.5-pro", "claude-haiku-4-5"]),
    ("tokyo-games", 2, ["gpt-5-mini", "gemini-2.5-flash"]),
    ("berlin-translate", 1, ["deepseek-chat", "gpt-5-mini"]),
]
# A prepaid customer whose month of traffic costs more than it topped up (``demo.wallets``): its own usage
# runs it to the floor. Drawn from a random stream of its own, so the others' traffic stays as it was.
SPENDER = ("chengdu-cs", 3, ["qwen3-max", "deepseek-reasoner"])
# A few requests the pipeline cannot rate, so the unrated queue has something to show.
UNRATED = [("sk-demo-acme-agents", "gpt-4.1-preview-custom"), ("sk-unmapped-7f3a", "deepseek-chat")]


def _event(rng: random.Random, n: int, code: str, model: str, at, routes: dict[str, str]) -> dict:
    # Counts are rounded (input to thousands, output to tens) so amounts have few decimal places: on
    # SQLite the ledger's balance arithmetic runs in floats and would drift at the 12th place otherwise
    # (PostgreSQL is exact whatever the amounts).
    prompt = 1000 * max(1, round(rng.lognormvariate(9.2, 1.0) / 1000))  # median ≈ 10,000 input tokens
    completion = 10 * max(1, round(rng.lognormvariate(6.5, 0.8) / 10))  # median ≈ 650 output tokens
    event = {
        "request_id": f"demo-{code}-{n}",
        "occurred_at": at.isoformat(),
        "key": f"sk-demo-{code}",
        "model": model,
        "upstream_account": routes[model],
        "prompt_tokens": prompt,
        "completion_tokens": completion,
    }
    if model == "claude-sonnet-4-5" and 8 <= at.day <= 14:
        # A week in which the channel answered with a cheaper model than named (货不对版): what the gateway
        # recorded as the response's model, for the mismatch signal to find (no rng draw: figures stay).
        event["metadata"] = {"response_model": "claude-haiku-4-5"}
    if rng.random() < 0.25:
        event["cache_read_tokens"] = 1000 * round(prompt * rng.uniform(0.3, 0.8) / 1000)
    if "reasoner" in model or model.startswith("gpt-5"):
        event["reasoning_tokens"] = 10 * round(completion * rng.uniform(0.2, 0.6) / 10)
    if rng.random() < 0.05:
        event["batch"] = True
    if rng.random() < 0.01:
        event["status"] = "failed"
    return event


def load(seed: int = 2026) -> list[tuple[str, str]]:
    """Ingest about 30 days of demo gateway traffic; return no logins."""
    source = GatewaySource.objects.filter(name=SOURCE_NAME).first()
    if source is None:
        # Generic, though named after the gateway it stands for: the demo sends it canonical events (as a
        # nightly export converted would be), not LiteLLM payloads, so its kind's key lookup is what applies.
        source = GatewaySource(name=SOURCE_NAME, kind=SourceKind.GENERIC)
        source.token_set()
        source.save()
    if UsageBatch.objects.filter(source=source).exists():
        return []
    customers = {
        c.code: c for c in Customer.objects.filter(code__in=[code for code, _, _ in [*TRAFFIC, SPENDER]])
    }
    for code, customer in customers.items():
        GatewayKey.objects.get_or_create(
            source=None, key=f"sk-demo-{code}", defaults={"customer": customer, "note": "demo key"}
        )
    routes = channels_load()
    rng = random.Random(seed)
    now = timezone.now().replace(minute=0, second=0, microsecond=0)
    n = 0
    records = []
    for days_ago in range(DAYS, -1, -1):
        day_start = now - timedelta(days=days_ago)
        for code, per_day, models in TRAFFIC:
            if code not in customers:
                continue
            # Weekdays are busier; traffic grows a little over the month.
            weight = (1.0 if day_start.weekday() < 5 else 0.5) * (0.7 + 0.6 * (DAYS - days_ago) / DAYS)
            for _ in range(rng.randint(0, round(2 * per_day * weight))):
                n += 1
                at = day_start - timedelta(minutes=rng.randint(0, 23 * 60))
                records.append(_event(rng, n, code, rng.choice(models), at, routes))
        if days_ago % 10 == 3:
            for key, model in UNRATED:
                n += 1
                at = day_start - timedelta(hours=2)
                records.append({**_event(rng, n, "x", model, at, routes), "key": key})
    code, per_day, models = SPENDER
    if code in customers:
        spender = random.Random(seed + 1)
        for days_ago in range(DAYS, -1, -1):
            day_start = now - timedelta(days=days_ago)
            for _ in range(spender.randint(0, 2 * per_day)):
                n += 1
                at = day_start - timedelta(minutes=spender.randint(0, 23 * 60))
                records.append(_event(spender, n, code, spender.choice(models), at, routes))
    # One delivery (as a nightly export would be): one posting per customer, few ledger entries.
    usage_batch_ingest(source=source, records=records, idempotency_key="demo:month")
    return []
