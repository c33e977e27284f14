"""Signal (b): prompt or output tokens per request shifted away from the model's history elsewhere.

A cheaper model behind an expensive name shows in the records before anyone reads a response: its
tokenizer counts the same prompts differently (prompt tokens per request move) and it writes longer or
shorter answers (output tokens per request move). Per channel × model × day, the day's mean prompt tokens
per request and mean output tokens per request are compared with the same model's daily means on *other*
channels over the trailing ``WINDOW_DAYS`` days (the day itself included): with μ and σ the mean and the
sample standard deviation of those daily means, a metric with |x − μ| > K·σ (K =
``UpstreamSettings.shift_sigmas``) is a flag.

Thin data flags nothing: the day needs ``MIN_DAY_REQUESTS`` requests, a history point (one other channel's
day) ``MIN_POINT_REQUESTS``, and the history ``MIN_HISTORY_DAYS`` distinct days. σ is taken at least
``SIGMA_FLOOR`` of μ, so a history of near-identical channels does not turn a few percent into a shift.

Figures come from the daily rollups of the operator's own sales (rows of customers without a seller):
each request is in exactly one such row (a reseller's customer's request is the operator's sale to the
reseller one hop up), so nothing is counted twice.
"""

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.db.models import Sum

from billing.upstream.mismatch.findings import Finding, decimal_text
from billing.upstream.models import MismatchFlag
from billing.usage.models import UsageDaily
from catalog.models import AIModel, Channel
from catalog.selectors.channels import channels_resolve
from common.stored_text import stored

WINDOW_DAYS = 30
MIN_DAY_REQUESTS = 50
MIN_POINT_REQUESTS = 20
MIN_HISTORY_DAYS = 7
SIGMA_FLOOR = Decimal("0.02")
# The two metrics: (evidence key, rollup column summed).
METRICS = (("prompt", "prompt_tokens"), ("output", "completion_tokens"))
_SCORE_LIMIT = Decimal("99999999")


@dataclass
class _Point:
    channel: Channel
    day: date
    requests: int
    sums: dict[str, int]

    def mean(self, metric: str) -> Decimal:
        return Decimal(self.sums[metric]) / Decimal(self.requests)


def _points(date_from: date, date_to: date) -> dict[tuple[int, int], list[_Point]]:
    """Per (model id, channel id): its daily points over [date_from − window, date_to]."""
    rows = (
        UsageDaily.objects.filter(
            day__gte=date_from - timedelta(days=WINDOW_DAYS - 1),
            day__lte=date_to,
            customer__seller__isnull=True,
        )
        .exclude(upstream_account="")
        .values("day", "upstream_account", "model_id")
        .annotate(n=Sum("requests"), **{metric: Sum(column) for metric, column in METRICS})
        .order_by()
    )
    rows = list(rows)
    channels = channels_resolve({row["upstream_account"] for row in rows})
    # Several aliases of one channel are one channel: add their rows up.
    summed: dict[tuple, list] = defaultdict(lambda: [0, {metric: 0 for metric, _c in METRICS}])
    by_id: dict[int, Channel] = {}
    for row in rows:
        channel = channels.get(row["upstream_account"].lower())
        if channel is None:
            continue
        by_id[channel.pk] = channel
        entry = summed[(row["model_id"], channel.pk, row["day"])]
        entry[0] += row["n"] or 0
        for metric, _column in METRICS:
            entry[1][metric] += row[metric] or 0
    points: dict[tuple[int, int], list[_Point]] = defaultdict(list)
    for (model_id, channel_id, day), (requests, sums) in summed.items():
        if requests:
            points[(model_id, channel_id)].append(_Point(by_id[channel_id], day, requests, sums))
    return points


def _stats(values: list[Decimal]) -> tuple[Decimal, Decimal]:
    mu = sum(values, Decimal(0)) / len(values)
    variance = sum(((v - mu) ** 2 for v in values), Decimal(0)) / (len(values) - 1)
    return mu, variance.sqrt()


def _judge(point: _Point, history: list[_Point], k: Decimal) -> dict | None:
    """The metrics' figures when at least one shifted beyond k·σ, else None."""
    metrics: dict[str, dict] = {}
    shifted = False
    for metric, _column in METRICS:
        x = point.mean(metric)
        mu, sigma = _stats([p.mean(metric) for p in history])
        floor = SIGMA_FLOOR * mu
        spread = max(sigma, floor)
        z = Decimal(0) if spread == 0 else (x - mu) / spread
        beyond = abs(z) > k
        shifted = shifted or beyond
        metrics[metric] = {
            "mean": decimal_text(x, 2),
            "mu": decimal_text(mu, 2),
            "sigma": decimal_text(sigma, 2),
            "spread": decimal_text(spread, 2),
            "z": decimal_text(max(min(z, _SCORE_LIMIT), -_SCORE_LIMIT), 2),
            "shifted": beyond,
        }
    return metrics if shifted else None


def distribution_shift_findings(date_from: date, date_to: date, *, sigmas: Decimal) -> Iterator[Finding]:
    """Yield a finding per channel × model × day in [date_from, date_to] whose mean prompt or output
    tokens per request lies more than ``sigmas`` standard deviations from the model's other channels."""
    points = _points(date_from, date_to)
    by_model: dict[int, list[_Point]] = defaultdict(list)
    for (model_id, _channel_id), series in points.items():
        by_model[model_id].extend(series)
    models = {m.pk: m for m in AIModel.objects.filter(pk__in=by_model)}
    for (model_id, channel_id), series in sorted(points.items()):
        for point in sorted(series, key=lambda p: p.day):
            if not date_from <= point.day <= date_to or point.requests < MIN_DAY_REQUESTS:
                continue
            since = point.day - timedelta(days=WINDOW_DAYS - 1)
            history = [
                p
                for p in by_model[model_id]
                if p.channel.pk != channel_id
                and since <= p.day <= point.day
                and p.requests >= MIN_POINT_REQUESTS
            ]
            if len({p.day for p in history}) < MIN_HISTORY_DAYS or len(history) < 2:
                continue
            metrics = _judge(point, history, sigmas)
            if metrics is None:
                continue
            yield _finding(models[model_id], point, history, metrics, sigmas)


def _finding(model: AIModel, point: _Point, history: list[_Point], metrics, sigmas) -> Finding:
    score = max(abs(Decimal(m["z"])) for m in metrics.values())
    shifted = [name for name, m in metrics.items() if m["shifted"]]
    detail = "; ".join(
        f"{name} tokens/request {metrics[name]['mean']} vs {metrics[name]['mu']} ± {metrics[name]['sigma']} "
        f"(z {metrics[name]['z']})"
        for name in shifted
    )
    said = [
        stored(
            "upstream.mismatch.shift",
            name=name,
            **{k: str(metrics[name][k]) for k in ("mean", "mu", "sigma", "z")},
        )
        for name in shifted
    ]
    message = said[-1] if said else None
    for part in reversed(said[:-1]):  # "a; b; c" as a; (b; c), each joined in the reader's language
        message = stored("upstream.mismatch.joined", first=part, rest=message)
    return Finding(
        channel=point.channel,
        model=model,
        model_name=model.name,
        day=point.day,
        signal=MismatchFlag.Signal.DISTRIBUTION_SHIFT,
        score=score,
        detail=detail[:500],
        detail_message=message,
        evidence={
            "requests": point.requests,
            "k": decimal_text(sigmas, 2),
            "window_from": (point.day - timedelta(days=WINDOW_DAYS - 1)).isoformat(),
            "window_to": point.day.isoformat(),
            "history_points": len(history),
            "history_days": len({p.day for p in history}),
            "history_requests": sum(p.requests for p in history),
            "metrics": metrics,
            "points": [
                {
                    "channel": p.channel.name,
                    "day": p.day.isoformat(),
                    "requests": p.requests,
                    **{f"{metric}_mean": decimal_text(p.mean(metric), 2) for metric, _c in METRICS},
                }
                for p in sorted(history, key=lambda p: (p.day, p.channel.name))
            ],
        },
    )
