"""An imported model's prices beside a book's entry: the differences a preview lists, and the JSON it keeps.

Everything an entry prices is compared: the standard tiers with their image and audio prices, each service
tier's tiers, the time-of-day windows, the request fee and the batch multiplier. A change in any of them is
a change (a new off-peak window alone makes a new entry).
"""

from decimal import Decimal

from catalog.models import PriceEntry
from catalog.rating import PRICE_FIELDS, WINDOW_FIELDS, TierPrices
from catalog.services.books import WindowSpec
from catalog.services.imports.parsed import ImportedPrices, ImportedWindow
from catalog.services.validation import tier_label


def window_spec(window: ImportedWindow) -> WindowSpec:
    """An imported window as ``price_entry_create`` stores it."""
    return WindowSpec(
        label=window.label, time_zone=window.time_zone, rules=list(window.rules), **dict(window.prices)
    )


def entry_diff(entry: PriceEntry, item: ImportedPrices) -> list[tuple[str, str, str, str]]:
    """``(where, what, before, after)`` for each difference (``entry``: tiers and windows prefetched)."""
    diffs = []
    if entry.request_fee != item.request_fee:
        diffs.append(("", "request_fee", text(entry.request_fee), text(item.request_fee)))
    if entry.batch_multiplier != item.batch_multiplier:
        diffs.append(("", "batch_multiplier", text(entry.batch_multiplier), text(item.batch_multiplier)))
    stored: dict[str, list] = {}
    for tier in entry.tiers.all():
        stored.setdefault(tier.service_tier, []).append(tier)
    imported = {"": item.tiers, **dict(item.service_tiers)}
    for name in sorted(set(stored) | set(imported)):
        diffs += _tiers_diff(name, stored.get(name, []), imported.get(name, []))
    old_windows = [_window_key(w.label, w.time_zone, w.rules, w) for w in entry.windows.all()]
    new_windows = [_window_key(w.label, w.time_zone, list(w.rules), dict(w.prices)) for w in item.windows]
    if old_windows != new_windows:
        diffs.append(
            (
                "",
                "windows",
                "; ".join(map(_window_text, old_windows)),
                "; ".join(map(_window_text, new_windows)),
            )
        )
    return diffs


def _tiers_diff(service_tier: str, old_tiers: list, new_tiers: list[TierPrices]) -> list:
    diffs = []
    old = {(t.lo, t.hi): t for t in old_tiers}
    new = {(t.lo, t.hi): t for t in new_tiers}
    prefix = f"{service_tier} " if service_tier else ""
    for key in sorted(set(old) | set(new), key=lambda k: k[0]):
        label = prefix + tier_label(*key)
        if key not in new:
            diffs.append((label, "tier", "present", "removed"))
            continue
        if key not in old:
            diffs.append((label, "tier", "", "added"))
            continue
        for name in PRICE_FIELDS:
            before, after = getattr(old[key], name), getattr(new[key], name)
            if before != after:
                diffs.append((label, name, text(before), text(after)))
    return diffs


def _window_key(label, zone, rules, prices) -> tuple:
    get = prices.get if isinstance(prices, dict) else lambda name: getattr(prices, name)
    return (
        label,
        zone,
        rules,
        tuple((name, text(get(name))) for name in WINDOW_FIELDS if get(name) is not None),
    )


def _window_text(key: tuple) -> str:
    label, zone, rules, prices = key
    hours = ", ".join(f"{rule_days(r['weekdays'])} {r['start']}–{r['end']}" for r in rules)
    return f"{label} ({zone}: {hours}) " + " ".join(f"{name} {value}" for name, value in prices)


def rule_days(days: list[int]) -> str:
    """ISO weekdays as digits, runs shortened: ``1-5``, ``6,7`` (language-neutral: it is hashed)."""
    if len(days) > 2 and days == list(range(days[0], days[-1] + 1)):
        return f"{days[0]}-{days[-1]}"
    return ",".join(map(str, days))


def text(value: Decimal | None) -> str:
    if value is None:
        return ""
    return format(value.normalize(), "f")


def tier_json(tier: TierPrices) -> dict:
    data = {"lo": tier.lo, "hi": tier.hi}
    for name in PRICE_FIELDS:
        if (value := getattr(tier, name)) is not None:
            data[name] = text(value)
    return data


def item_json(item: ImportedPrices) -> dict:
    """The prices of ``item`` as the stored summary keeps them (and the preview page shows them)."""
    data: dict = {"tiers": [tier_json(t) for t in item.tiers]}
    if item.service_tiers:
        data["service_tiers"] = {name: [tier_json(t) for t in tiers] for name, tiers in item.service_tiers}
    if item.windows:
        data["windows"] = [
            {
                "label": w.label,
                "time_zone": w.time_zone,
                "rules": list(w.rules),
                "prices": {name: text(value) for name, value in w.prices},
            }
            for w in item.windows
        ]
    return data
