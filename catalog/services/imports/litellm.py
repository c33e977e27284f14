"""Read LiteLLM's ``model_prices_and_context_window.json`` as published.

LiteLLM states USD per *token*; we store per *million*: every value is multiplied by 10^6 exactly (a
decimal shift, no rounding), after reading the JSON numbers as the decimals they meant
(``litellm_values``). Only a file that is not a JSON object is refused; an entry we do not price (its
``mode``, a field of a shape we do not read, a price we cannot store) is skipped with its reason.

Keys read: ``input_cost_per_token``, ``output_cost_per_token``, ``cache_read_input_token_cost`` (or
DeepSeek's ``input_cost_per_token_cache_hit``), ``cache_creation_input_token_cost`` (5-minute write),
``cache_creation_input_token_cost_above_1hr``, ``output_cost_per_reasoning_token``,
``input_cost_per_audio_token``/``output_cost_per_audio_token`` (audio tokens, per million),
``output_cost_per_image`` (per image) and, in audio modes, ``input_cost_per_second``/
``output_cost_per_second`` (per second of audio; neither is scaled), ``*_batches`` (explicit batch prices),
``*_above_<N>k_tokens`` (a context tier above N×1000 prompt tokens), ``tiered_pricing`` (a list of
``range: [lo, hi]`` tiers), service tiers (the same keys ending ``_flex``, ``_priority``, ``_ultrafast``,
``_balanced``; a price a service tier does not restate is the standard one at the same bound, as in
LiteLLM), ``off_peak_pricing`` (``litellm_windows``), ``input_cost_per_request`` (a per-request fee, not
scaled), and ``max_input_tokens``/``max_output_tokens``/``mode``/``litellm_provider`` for models created by
the import. A price missing from a tier falls back to the entry's top-level price, as LiteLLM itself does.

Token prices absent from an entry priced by unit: an image or audio model priced per image or per second
of audio takes 0 for the token side it prices by unit; an embedding takes 0 for output (it produces none).
Any other entry without an input and an output price per token is skipped.
"""

import json
import re
from dataclasses import replace
from decimal import Decimal

from django.utils.translation import gettext as _

from catalog.models import Modality
from catalog.rating import TierPrices
from catalog.services.imports.litellm_values import EntrySkipped, entry_number, read_float
from catalog.services.imports.litellm_windows import off_peak_window
from catalog.services.imports.parsed import (
    MAX_MODEL_TOKENS,
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
    "audio_input": ("input_cost_per_audio_token",),
    "audio_output": ("output_cost_per_audio_token",),
}
FIELD_BY_KEY = {key: field for field, keys in FIELD_KEYS.items() for key in keys}
THRESHOLD_KEY = re.compile(r"^(?P<key>.+)_above_(?P<n>\d+)(?P<unit>[km])_tokens$")
# Providers whose ``_above_<N>k_tokens`` prices start at N prompt tokens, not above N (as LiteLLM bills them).
INCLUSIVE_THRESHOLD_PROVIDERS = ("xai",)
SERVICE_TIERS = ("flex", "priority", "ultrafast", "balanced")
MODES = {
    "chat": Modality.TEXT,
    "completion": Modality.TEXT,
    "responses": Modality.TEXT,
    "realtime": Modality.AUDIO,
    "embedding": Modality.EMBEDDING,
    "image_generation": Modality.IMAGE,
    "image_edit": Modality.IMAGE,
    "audio_transcription": Modality.AUDIO,
    "audio_speech": Modality.AUDIO,
}
AUDIO_MODES = ("audio_transcription", "audio_speech")
IMAGE_MODES = ("image_generation", "image_edit")
UNIT_MODES = (*IMAGE_MODES, *AUDIO_MODES)
# Units LiteLLM prices that we do not: named in the reason an entry priced only by them is skipped.
OTHER_UNITS = ("character", "pixel", "query", "page", "second", "image_token", "video", "credit")


def parse_litellm(content: str) -> ParsedFile:
    """Parse the file; raise ValidationError only when it is not a readable JSON object."""
    errors = ErrorList()
    try:
        data = json.loads(content, parse_float=read_float)
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
        if name == "sample_spec":  # LiteLLM's description of the format, not a model
            continue
        if text_problem(name) is not None:
            # Kept escaped: the summary is stored as JSON text, which cannot hold the name as it is.
            parsed.skipped.append((ascii(name), "the name is not valid text (NUL or a lone surrogate)"))
            continue
        if not isinstance(spec, dict):
            parsed.skipped.append((name, "expected an object of prices"))
            continue
        provider = spec.get("litellm_provider")
        provider = provider if isinstance(provider, str) and text_problem(provider) is None else ""
        parsed.providers[provider] = parsed.providers.get(provider, 0) + 1
        found: list[tuple[str, str, str]] = []
        try:
            item = _entry(name, spec, provider, found)
        except EntrySkipped as skip:
            parsed.skipped.append((name, skip.reason))
            continue
        parsed.items.append(item)
        parsed.normalised += [(name, *value) for value in found]
    return parsed


def _entry(name: str, spec: dict, provider: str, found: list) -> ImportedPrices:
    mode = spec.get("mode") or "chat"  # LiteLLM's own default
    if not isinstance(mode, str) or mode not in MODES:
        raise EntrySkipped(f"mode {shown(mode)} is not priced here")
    base = {field: _price(spec, field, found) for field in FIELD_KEYS}
    image = entry_number(spec.get("output_cost_per_image"), "output_cost_per_image", found, scale=False)
    audio_second = _audio_second(spec, mode, found)
    # LiteLLM bills a model with a per-token price by its tokens, never per second
    # (``_has_token_or_tiered_pricing``), and an image model with input and output token prices but no
    # per-image price by its tokens: the seconds and images such requests report are free, said as a price of
    # 0 (a blank one would leave every such request unrated, as it must for a model priced by nothing else).
    if mode in AUDIO_MODES and _per_token(spec, any):
        audio_second = Decimal(0)
    if mode in IMAGE_MODES and image is None and _per_token(spec, all):
        image = Decimal(0)
    units = {"image": image, "audio_second": audio_second}
    if not spec.get("tiered_pricing"):
        base = _token_prices(spec, mode, base, units)
    tiers = _tiers(spec, {**base, **units}, found)
    windows = []
    if spec.get("off_peak_pricing") is not None:
        windows.append(off_peak_window(spec["off_peak_pricing"], found))
    fee = entry_number(spec.get("input_cost_per_request"), "input_cost_per_request", found, scale=False)
    return ImportedPrices(
        ref=_("Entry %(name)s") % {"name": shown(name)},
        name=name,
        tiers=tiers,
        request_fee=fee or Decimal(0),
        provider=provider,
        modality=Modality.MULTIMODAL if spec.get("supports_vision") and mode == "chat" else MODES[mode],
        context_window=token_count(spec.get("max_input_tokens"), limit=MAX_MODEL_TOKENS),
        max_output_tokens=token_count(spec.get("max_output_tokens"), limit=MAX_MODEL_TOKENS),
        service_tiers=_service_tiers(spec, tiers, found),
        windows=windows,
    )


def _price(spec: dict, field: str, found: list) -> Decimal | None:
    for key in FIELD_KEYS[field]:
        if spec.get(key) is not None:
            return entry_number(spec[key], key, found)
    return None


def _per_token(spec: dict, how) -> bool:
    """Whether ``how`` (any, all) of the input and output per-token prices are positive numbers."""
    return how(
        isinstance(value := spec.get(key), int | Decimal) and not isinstance(value, bool) and value > 0
        for key in ("input_cost_per_token", "output_cost_per_token")
    )


def _audio_second(spec: dict, mode: str, found: list) -> Decimal | None:
    """The per-second price of an audio model (LiteLLM prices transcription input, speech output)."""
    if mode not in AUDIO_MODES:
        return None
    key = "input_cost_per_second" if mode == "audio_transcription" else "output_cost_per_second"
    return entry_number(spec.get(key), key, found, scale=False)


def _token_prices(spec: dict, mode: str, base: dict, units: dict) -> dict:
    """``base`` with an absent input or output price set to 0 where the entry prices that side otherwise."""
    by_unit = mode in UNIT_MODES and any(value is not None for value in units.values())
    prices = dict(base)
    if prices["input"] is None and by_unit:
        prices["input"] = Decimal(0)
    if prices["output"] is None and (by_unit or mode == "embedding"):
        prices["output"] = Decimal(0)
    if prices["input"] is None or prices["output"] is None:
        named = [unit for unit in OTHER_UNITS if any(f"_per_{unit}" in key for key in spec)]
        if "second" in named and mode not in AUDIO_MODES:
            raise EntrySkipped("priced per second of video or audio outside an audio mode, not per token")
        how = f" (priced per {', '.join(named)})" if named else ""
        raise EntrySkipped(f"no input and output price per token{how}")
    return prices


def _tiers(spec: dict, base: dict, found: list) -> list[TierPrices]:
    if spec.get("tiered_pricing"):
        return _explicit_tiers(spec["tiered_pricing"], base, found)
    thresholds = _thresholds(spec, found)
    bounds = sorted(thresholds)
    tiers = [TierPrices(lo=0, hi=bounds[0] if bounds else None, **base)]
    for index, lo in enumerate(bounds):
        hi = bounds[index + 1] if index + 1 < len(bounds) else None
        # A price the tier does not restate stays at the entry's base price, as in LiteLLM.
        tiers.append(TierPrices(lo=lo, hi=hi, **{**base, **thresholds[lo]}))
    return tiers


def _thresholds(spec: dict, found: list) -> dict[int, dict]:
    """``{prompt tokens: {field: price}}`` from the ``*_above_<N>k_tokens`` keys of ``spec``: our tiers take
    prompts above their lower bound, so a provider that bills the higher price from the threshold itself
    (LiteLLM's ``_INCLUSIVE_THRESHOLD_PROVIDERS``: xAI) has its bound one token lower."""
    inclusive = spec.get("litellm_provider") in INCLUSIVE_THRESHOLD_PROVIDERS
    thresholds: dict[int, dict] = {}
    for key, value in spec.items():
        match = THRESHOLD_KEY.match(key)
        if not match or match["key"] not in FIELD_BY_KEY:
            continue
        if not match["n"].isascii() or len(match["n"]) > 9:
            raise EntrySkipped(f"{shown(key)}: the token threshold is not a number of at most 9 digits")
        tokens = int(match["n"]) * (1000 if match["unit"] == "k" else 1_000_000) - (1 if inclusive else 0)
        price = entry_number(value, key, found)
        if price is not None:
            thresholds.setdefault(tokens, {})[FIELD_BY_KEY[match["key"]]] = price
    return thresholds


def _explicit_tiers(raw, base: dict, found: list) -> list[TierPrices]:
    if not isinstance(raw, list):
        raise EntrySkipped("tiered_pricing: expected a list of tiers")
    tiers = []
    for number, tier in enumerate(raw, start=1):
        key = f"tiered_pricing[{number}]"
        if not isinstance(tier, dict):
            raise EntrySkipped(f"{key}: expected an object")
        if "range" not in tier:
            other = ", ".join(sorted(k for k in tier if k.endswith("range"))) or "no range"
            raise EntrySkipped(f"tiered_pricing of another shape ({other}, not a range of prompt tokens)")
        bounds = tier["range"]
        if not isinstance(bounds, list) or len(bounds) != 2:
            raise EntrySkipped(f"{key}.range: expected [lo, hi]")
        lo, hi = token_count(bounds[0]), token_count(bounds[1])
        if lo is None or (bounds[1] is not None and hi is None):
            raise EntrySkipped(f"{key}.range: {shown(bounds)} is not a pair of token counts")
        prices = dict(base)
        for field, keys in FIELD_KEYS.items():
            for k in keys:
                if tier.get(k) is not None:
                    prices[field] = entry_number(tier[k], f"{key}.{k}", found)
        if prices["input"] is None or prices["output"] is None:
            raise EntrySkipped(f"{key}: a tier needs an input and an output price (here or at the top level)")
        tiers.append((lo, hi, prices))
    if not tiers:
        raise EntrySkipped("tiered_pricing: no tiers")
    tiers.sort(key=lambda t: t[0])
    result: list[TierPrices] = []
    for index, (lo, hi, prices) in enumerate(tiers):
        # Ranges written inclusively ([0, 32000] then [32001, 128000]) mean the same boundary.
        if index and result[-1].hi is not None and lo == result[-1].hi + 1:
            lo = result[-1].hi
        result.append(TierPrices(lo=lo, hi=hi, **prices))
    return result


def _service_tiers(spec: dict, tiers: list[TierPrices], found: list) -> list[tuple[str, list[TierPrices]]]:
    """Each service tier's prices at the standard tiers' bounds, as LiteLLM resolves a request naming it.

    Above a threshold a price is the service tier's own threshold price, else the standard threshold
    price, else the service tier's base price, else the standard one; below every threshold, the service
    tier's base price, else the standard one.
    """
    standard_thresholds = {} if spec.get("tiered_pricing") else _thresholds(spec, [])
    bounds = {tier.lo for tier in tiers}
    result = []
    for name in SERVICE_TIERS:
        suffix = f"_{name}"
        own = {key.removesuffix(suffix): value for key, value in spec.items() if key.endswith(suffix)}
        own_thresholds = _thresholds(own, found)
        own_base = {field: price for field in FIELD_KEYS if (price := _price(own, field, found)) is not None}
        if not own_base and not any(own_thresholds.values()):
            continue
        if stray := sorted(set(own_thresholds) - bounds):
            raise EntrySkipped(
                f"service tier {name} has a context threshold ({stray[0]} tokens) the standard prices lack"
            )
        named = []
        for tier in tiers:
            restated = standard_thresholds.get(tier.lo, {}) if tier.lo else {}
            prices = {field: price for field, price in own_base.items() if field not in restated}
            named.append(replace(tier, **{**prices, **own_thresholds.get(tier.lo, {})}))
        result.append((name, named))
    return result
