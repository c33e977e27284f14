"""Classify one channel's vendor day: each model's figures, ours against the vendor's, into one class.

Plain data in, verdicts out (no database): ``run.py`` loads the figures, the contract prices and the
day's rate to the base currency, then calls ``classify_day``.

**Tolerances** (``UpstreamSettings``). Two token counts agree when they differ by at most
``max(token_tolerance_abs, token_tolerance × the larger)``; request counts when they differ by at most
``request_tolerance × the larger``; costs when by at most ``cost_tolerance × the larger``. A difference
exactly at the limit agrees.

**Which class wins** — the first that applies, in this order:

1. ``missing_upstream_data`` — we have usage on the channel that day and the vendor sent no row at all for
   the channel and day (a file not imported, a day the vendor did not report): every model of ours is
   this class. Value: our cost.
2. ``model_mismatch`` — a model of ours has no vendor row that day, and another model shows only on the
   vendor's side, or in excess there (beyond tolerance), with a token total of comparable size (between
   half and twice ours); the closest in size pairs first. Both lines take the class; the value sits on
   our model's line: the price difference of the substitution, ``|their cost of the other model − our
   cost|`` (their cost: as charged, else the tokens at contract cost); the vendor model's line is 0.
3. ``no_upstream_record`` — a model of ours that the vendor does not show that day (and no pairing).
   Value: our cost.
4. ``unbilled_usage`` — a model the vendor shows that we have no usage of. Value: their cost as charged,
   else their tokens at contract cost.
5. Both sides have the model:

   * the total input or the output tokens disagree: if the vendor also counts more requests (beyond
     tolerance) and more tokens, requests reached it that we never billed: ``unbilled_usage``; if we count
     more of both, ``no_upstream_record`` (we billed requests it does not show); otherwise (requests agree
     or the vendor reports none, as Anthropic's report) the counting differs: ``token_drift``. Value: the
     token difference at contract cost, ``|Σ (their − our tokens of a class) × price of the class|``; a
     vendor without cache counts (OpenRouter) has its total input split between the classes as ours is.
   * totals agree but the split between uncached input, cache reads and cache writes does not (not
     compared when the vendor reports no cache counts): ``cache_mismatch``. Value: as for drift, which
     prices the shifted tokens at the difference of their classes' prices.
   * tokens agree and the vendor's cost (when it reports one) does not: ``price_mismatch``. Value:
     ``|their cost − our cost|``.
   * otherwise ``matched``, value 0. A request count that differs while tokens agree is matched: it
     carries no cost of its own.

Values are in the contract currency here and converted to the base currency at the day's rate; always
non-negative. Without a contract price for a model, a token difference is valued at the difference of the
two costs when both are known, else 0 (the line's detail says so).
"""

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from billing.upstream.models import ReconClass
from billing.upstream.reconcile.figures import TOKEN_CLASSES, Figures
from common.stored_text import stored, stored_render

ZERO = Decimal(0)
# "Comparable size" for a model mismatch: the vendor's other model's tokens within this factor of ours.
PAIRING_FACTOR = Decimal(2)

# The contract cost of a model's figures (tokens, no request fee), or None when no price is known.
Pricer = Callable[[str, Figures], Decimal | None]


@dataclass(frozen=True)
class Tolerances:
    token: Decimal = Decimal("0.005")
    token_abs: int = 1000
    request: Decimal = Decimal("0.01")
    cost: Decimal = Decimal("0.01")

    @classmethod
    def of(cls, settings) -> "Tolerances":
        return cls(
            token=settings.token_tolerance,
            token_abs=settings.token_tolerance_abs,
            request=settings.request_tolerance,
            cost=settings.cost_tolerance,
        )

    def tokens_agree(self, ours: int, theirs: int) -> bool:
        return abs(ours - theirs) <= max(Decimal(self.token_abs), self.token * max(ours, theirs))

    def requests_agree(self, ours: int, theirs: int) -> bool:
        return abs(ours - theirs) <= self.request * max(ours, theirs)

    def costs_agree(self, ours: Decimal, theirs: Decimal) -> bool:
        return abs(ours - theirs) <= self.cost * max(abs(ours), abs(theirs))


@dataclass(frozen=True)
class Verdict:
    model_name: str
    klass: str
    ours: Figures | None
    theirs: Figures | None
    value: Decimal  # contract currency, ≥ 0
    detail: str = ""
    # ``detail`` as stored text (common.stored_text), for ``ReconciliationLine.detail_message``.
    detail_message: dict | None = None


def _detailed(model, klass, ours, theirs, value, message: dict | None) -> Verdict:
    """A verdict whose detail is ``message`` (stored text), written as well in the active language."""
    return Verdict(model, klass, ours, theirs, value, stored_render(message) if message else "", message)


def _split_like(theirs: Figures, ours: Figures) -> Figures:
    """The vendor's input, reported as one number (no cache counts), split between the classes as ours
    is, so its tokens are priced like ours rather than all at the uncached price."""
    total, mine = theirs.total_input, ours.total_input
    if not mine:
        return theirs
    cached = {c: getattr(ours, c) * total // mine for c in ("cache_read", "cache_write", "cache_write_1h")}
    return Figures(
        requests=theirs.requests,
        input=total - sum(cached.values()),
        **cached,
        output=theirs.output,
        cost=theirs.cost,
        has_cache_counts=False,
    )


def _excess(theirs: Figures, ours: Figures | None) -> Figures:
    if ours is None:
        return theirs
    return Figures(
        requests=max(theirs.requests - ours.requests, 0),
        **{c: max(getattr(theirs, c) - getattr(ours, c), 0) for c in TOKEN_CLASSES},
        cost=None if theirs.cost is None or ours.cost is None else max(theirs.cost - ours.cost, ZERO),
        has_cache_counts=theirs.has_cache_counts,
    )


def _difference_value(
    model: str, ours: Figures, theirs: Figures, price: Pricer
) -> tuple[Decimal, dict | None]:
    if not theirs.has_cache_counts:
        theirs = _split_like(theirs, ours)
    priced = price(model, ours), price(model, theirs)
    if priced[0] is not None and priced[1] is not None:
        return abs(priced[1] - priced[0]), None
    note = stored("upstream.recon.no_contract_price", model=model)
    if ours.cost is not None and theirs.cost is not None:
        return abs(theirs.cost - ours.cost), note
    return ZERO, note


def _their_cost(model: str, theirs: Figures, price: Pricer) -> Decimal:
    if theirs.cost is not None:
        return theirs.cost
    return price(model, theirs) or ZERO


def _pairs(ours: dict[str, Figures], theirs: dict[str, Figures], tol: Tolerances) -> dict[str, str]:
    """Our model → the vendor's model it was served (or charged) as, for the day's model mismatches."""
    extra = {}
    for name, figures in theirs.items():
        mine = ours.get(name)
        if mine is None or (
            not tol.tokens_agree(mine.tokens, figures.tokens) and figures.tokens > mine.tokens
        ):
            extra[name] = figures.tokens - (mine.tokens if mine else 0)
    paired: dict[str, str] = {}
    for name in sorted((n for n in ours if n not in theirs), key=lambda n: (-ours[n].tokens, n)):
        size = ours[name].tokens
        fits = [
            (abs(Decimal(tokens) / size - 1), other)
            for other, tokens in extra.items()
            if size
            and other not in paired.values()
            and size / PAIRING_FACTOR <= tokens <= size * PAIRING_FACTOR
        ]
        if fits:
            paired[name] = min(fits)[1]
    return paired


def _both(model: str, ours: Figures, theirs: Figures, tol: Tolerances, price: Pricer) -> Verdict:
    def verdict(klass: str, value: Decimal, note: dict | None = None) -> Verdict:
        return _detailed(model, klass, ours, theirs, value, note)

    totals_agree = tol.tokens_agree(ours.total_input, theirs.total_input) and tol.tokens_agree(
        ours.output, theirs.output
    )
    if not totals_agree:
        value, note = _difference_value(model, ours, theirs, price)
        requests_differ = theirs.requests > 0 and not tol.requests_agree(ours.requests, theirs.requests)
        if requests_differ and theirs.requests > ours.requests and theirs.tokens > ours.tokens:
            return verdict(ReconClass.UNBILLED_USAGE, value, note)
        if requests_differ and ours.requests > theirs.requests and ours.tokens > theirs.tokens:
            return verdict(ReconClass.NO_UPSTREAM_RECORD, value, note)
        return verdict(ReconClass.TOKEN_DRIFT, value, note)
    if theirs.has_cache_counts and not all(
        tol.tokens_agree(getattr(ours, c), getattr(theirs, c)) for c in TOKEN_CLASSES
    ):
        value, note = _difference_value(model, ours, theirs, price)
        return verdict(ReconClass.CACHE_MISMATCH, value, note)
    if theirs.cost is not None and ours.cost is not None and not tol.costs_agree(ours.cost, theirs.cost):
        return verdict(ReconClass.PRICE_MISMATCH, abs(theirs.cost - ours.cost))
    return verdict(ReconClass.MATCHED, ZERO)


def classify_day(
    *,
    ours: dict[str, Figures],
    theirs: dict[str, Figures],
    reported: bool,
    tolerances: Tolerances,
    price: Pricer,
) -> list[Verdict]:
    """Classify one channel's vendor day; one verdict per model either side shows, sorted by model."""
    if not reported:
        return [
            Verdict(name, ReconClass.MISSING_UPSTREAM_DATA, figures, None, figures.cost or ZERO)
            for name, figures in sorted(ours.items())
        ]
    verdicts: dict[str, Verdict] = {}
    for name, other in _pairs(ours, theirs, tolerances).items():
        mine, served = ours[name], theirs[other]
        charged = _their_cost(other, _excess(served, ours.get(other)), price)
        detail = stored("upstream.recon.vendor_shows", other=other, model=name)
        value = abs(charged - (mine.cost or ZERO))
        verdicts[name] = _detailed(name, ReconClass.MODEL_MISMATCH, mine, None, value, detail)
        detail = stored("upstream.recon.we_billed", other=other, model=name)
        verdicts[other] = _detailed(other, ReconClass.MODEL_MISMATCH, ours.get(other), served, ZERO, detail)
    for name in sorted(set(ours) | set(theirs)):
        if name in verdicts:
            continue
        mine, vendor = ours.get(name), theirs.get(name)
        if vendor is None:
            verdicts[name] = Verdict(name, ReconClass.NO_UPSTREAM_RECORD, mine, None, mine.cost or ZERO)
        elif mine is None:
            value = _their_cost(name, vendor, price)
            verdicts[name] = Verdict(name, ReconClass.UNBILLED_USAGE, None, vendor, value)
        else:
            verdicts[name] = _both(name, mine, vendor, tolerances, price)
    return [verdicts[name] for name in sorted(verdicts)]
