"""Read LiteLLM's ``model_prices_and_context_window.json``.

LiteLLM states USD per *token*; we store per *million*: every value is multiplied by 10^6 exactly
(a decimal shift, no rounding), after parsing the JSON numbers as Decimal, never float.

Keys read: ``input_cost_per_token``, ``output_cost_per_token``, ``cache_read_input_token_cost``
(or DeepSeek's ``input_cost_per_token_cache_hit``), ``cache_creation_input_token_cost`` (5-minute
write), ``cache_creation_input_token_cost_above_1hr``, ``output_cost_per_reasoning_token``,
``*_batches`` (explicit batch prices), ``*_above_<N>k_tokens`` (a context tier above N×1000
prompt tokens), ``tiered_pricing`` (a list of ``range: [lo, hi]`` tiers), ``input_cost_per_request``
(a per-request fee, not scaled), and ``max_input_tokens``/``max_output_tokens``/``mode``/
``litellm_provider`` for models created by the import. A price missing from a tier falls back to
the entry's top-level price, as LiteLLM itself does.
"""

import json
import re
from decimal import Decimal, localcontext

from django.utils.translation import gettext as _

from catalog.models import Modality
from catalog.rating import EXACT, TierPrices
from catalog.services.imports.parsed import (
    MAX_MODEL_TOKENS,
    MAX_PRICE_EXPONENT,
    ErrorList,
    ImportedPrices,
    ParsedFile,
    shown,
    text_problem,
    token_count,
)

FIELD_KEYS = {
    "input": ("input_cost_per_token",),
    "output": ("output_cost_per_token",),
    "cache_read": ("cache_read_input_token_cost", "input_cost_per_token_cache_hit"),
    "cache_write_5m": ("cache_creation_input_token_cost",),
    "cache_write_1h": ("cache_creation_input_token_cost_above_1hr",),
    "reasoning": ("output_cost_per_reasoning_token",),
    "batch_input": ("input_cost_per_token_batches",),
    "batch_output": ("output_cost_per_token_batches",),
}
FIELD_BY_KEY = {key: field for field, keys in FIELD_KEYS.items() for key in keys}
THRESHOLD_KEY = re.compile(r"^(?P<key>.+)_above_(?P<n>\d+)(?P<unit>[km])_tokens$")

# litellm_provider → our vendor slug, for models the import creates.
PROVIDER_VENDORS = {
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
MODES = {
    "chat": Modality.TEXT,
    "completion": Modality.TEXT,
    "responses": Modality.TEXT,
    "embedding": Modality.EMBEDDING,
    "image_generation": Modality.IMAGE,
    "audio_transcription": Modality.AUDIO,
    "audio_speech": Modality.AUDIO,
}


def parse_litellm(content: str) -> ParsedFile:
    """Parse the file; raise ValidationError listing every malformed entry and field."""
    errors = ErrorList()
    try:
        data = json.loads(content, parse_float=Decimal)
    except json.JSONDecodeError as exc:
        errors.add(
            _("Line %(number)s") % {"number": exc.lineno},
            _("column %(number)s") % {"number": exc.colno},
            _("not valid JSON (%(error)s).") % {"error": exc.msg},
        )
    except RecursionError:
        errors.add(_("File"), _("(top level)"), _("nested too deeply to read."))
    except (ValueError, ArithmeticError):  # an int of over 4,300 digits, an exponent beyond Decimal's
        errors.add(_("File"), _("(top level)"), _("holds a number too long or too large to read."))
    errors.raise_if_any()
    if not isinstance(data, dict):
        errors.add(_("File"), _("(top level)"), _("expected an object mapping model names to prices."))
        errors.raise_if_any()
    parsed = ParsedFile()
    for name, spec in data.items():
        if name == "sample_spec":
            continue
        where = _("Entry %(name)s") % {"name": shown(name)}
        if (problem := text_problem(name)) is not None:
            errors.add(where, _("(name)"), problem)
            continue
        if not isinstance(spec, dict):
            errors.add(where, _("(entry)"), _("expected an object."))
            continue
        item = _entry(name, spec, where, errors)
        if isinstance(item, str):
            parsed.skipped.append((name, item))
        elif item is not None:
            parsed.items.append(item)
    errors.raise_if_any()
    return parsed


def _entry(name: str, spec: dict, where: str, errors: ErrorList) -> ImportedPrices | str | None:
    count = len(errors.errors)
    base = {field: _price(spec, field, where, errors) for field in FIELD_KEYS}
    tiers = _tiers(spec, base, where, errors)
    fee = _number(spec.get("input_cost_per_request"), where, "input_cost_per_request", errors, scale=False)
    if len(errors.errors) > count:
        return None
    if tiers is None:
        return "no per-token input and output prices (priced per image, second or character?)"
    return ImportedPrices(
        ref=where,
        name=name,
        tiers=tiers,
        request_fee=fee or Decimal(0),
        vendor=PROVIDER_VENDORS.get(_text(spec.get("litellm_provider")), ""),
        modality=Modality.MULTIMODAL
        if spec.get("supports_vision") and spec.get("mode", "chat") == "chat"
        else MODES.get(_text(spec.get("mode", "chat")), Modality.TEXT),
        context_window=token_count(spec.get("max_input_tokens"), limit=MAX_MODEL_TOKENS),
        max_output_tokens=token_count(spec.get("max_output_tokens"), limit=MAX_MODEL_TOKENS),
    )


def _text(value) -> str:
    """A descriptive field (provider, mode): its text, or none when it is not text."""
    return value if isinstance(value, str) else ""


def _price(spec: dict, field: str, where: str, errors: ErrorList) -> Decimal | None:
    for key in FIELD_KEYS[field]:
        if key in spec and spec[key] is not None:
            return _number(spec[key], where, key, errors)
    return None


def _number(value, where: str, key: str, errors: ErrorList, *, scale: bool = True) -> Decimal | None:
    """Return a per-token value as per million tokens (or as is, ``scale=False``), exactly."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | Decimal | str):
        errors.add(where, key, _("%(value)s is not a number.") % {"value": shown(value)})
        return None
    try:
        number = Decimal(value.strip()) if isinstance(value, str) else Decimal(value)
    except ArithmeticError:
        errors.add(where, key, _("%(value)s is not a number.") % {"value": shown(value)})
        return None
    if not number.is_finite() or number < 0:
        message = _("%(value)s is not a price (negative or not finite).") % {"value": shown(value)}
        errors.add(where, key, message)
        return None
    if number and number.adjusted() > MAX_PRICE_EXPONENT:
        errors.add(where, key, _("%(value)s is too large.") % {"value": shown(value)})
        return None
    with localcontext(EXACT):
        return number.scaleb(6) if scale else number


def _tier(lo: int, hi: int | None, prices: dict) -> TierPrices:
    return TierPrices(lo=lo, hi=hi, **prices)


def _tiers(spec: dict, base: dict, where: str, errors: ErrorList) -> list[TierPrices] | None:
    if spec.get("tiered_pricing"):
        return _explicit_tiers(spec["tiered_pricing"], base, where, errors)
    if base["input"] is None or base["output"] is None:
        return None
    thresholds: dict[int, dict] = {}
    for key, value in spec.items():
        match = THRESHOLD_KEY.match(key)
        if not match or match["key"] not in FIELD_BY_KEY:
            continue
        if not match["n"].isascii() or len(match["n"]) > 9:
            errors.add(where, shown(key), _("the token threshold is not a number of at most 9 digits."))
            continue
        tokens = int(match["n"]) * (1000 if match["unit"] == "k" else 1_000_000)
        price = _number(value, where, key, errors)
        if price is not None:
            thresholds.setdefault(tokens, {})[FIELD_BY_KEY[match["key"]]] = price
    bounds = sorted(thresholds)
    tiers = [_tier(0, bounds[0] if bounds else None, base)]
    for index, lo in enumerate(bounds):
        hi = bounds[index + 1] if index + 1 < len(bounds) else None
        # A price the tier does not restate stays at the entry's base price, as in LiteLLM.
        tiers.append(_tier(lo, hi, {**base, **thresholds[lo]}))
    return tiers


def _explicit_tiers(raw, base: dict, where: str, errors: ErrorList) -> list[TierPrices] | None:
    if not isinstance(raw, list):
        errors.add(where, "tiered_pricing", _("expected a list of tiers."))
        return None
    tiers = []
    for number, tier in enumerate(raw, start=1):
        key = f"tiered_pricing[{number}]"
        bounds = tier.get("range") if isinstance(tier, dict) else None
        if not isinstance(bounds, list) or len(bounds) != 2:
            errors.add(where, f"{key}.range", _("expected [lo, hi]."))
            continue
        lo, hi = token_count(bounds[0]), token_count(bounds[1])
        if lo is None or (bounds[1] is not None and hi is None):
            errors.add(
                where,
                f"{key}.range",
                _("%(value)s is not a pair of token counts.") % {"value": shown(bounds)},
            )
            continue
        prices = dict(base)
        for field, keys in FIELD_KEYS.items():
            for k in keys:
                if tier.get(k) is not None:
                    prices[field] = _number(tier[k], where, f"{key}.{k}", errors)
        if prices["input"] is None or prices["output"] is None:
            errors.add(where, key, _("a tier needs an input and an output price (here or at the top level)."))
            continue
        tiers.append((lo, hi, prices))
    tiers.sort(key=lambda t: t[0])
    result = []
    for index, (lo, hi, prices) in enumerate(tiers):
        # Ranges written inclusively ([0, 32000] then [32001, 128000]) mean the same boundary.
        if index and result[-1].hi is not None and lo == result[-1].hi + 1:
            lo = result[-1].hi
        result.append(_tier(lo, hi, prices))
    return result or None
