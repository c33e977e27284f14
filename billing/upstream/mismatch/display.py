"""A flag's evidence as the pages and the PDF show it: figures rounded for reading, shares in percent."""

from datetime import datetime
from decimal import Decimal

from django.utils.translation import gettext as _

from billing.upstream.models import MismatchFlag


def percent(value) -> str:
    """A share stored as a decimal string ("0.1200") as "12.00%"."""
    return f"{Decimal(value) * 100:.2f}%" if value not in (None, "") else ""


def _reported(evidence: dict) -> dict:
    return {
        "events": evidence.get("events", 0),
        "reporting": evidence.get("reporting", 0),
        "mismatched": evidence.get("mismatched", 0),
        "share": percent(evidence.get("share")),
        "threshold": percent(evidence.get("threshold")),
        "min_events": evidence.get("min_events"),
        "reported": evidence.get("reported", []),
        "samples": [
            {**sample, "occurred_at": datetime.fromisoformat(sample["occurred_at"])}
            for sample in evidence.get("samples", [])
        ],
    }


def _shift(evidence: dict) -> dict:
    labels = {"prompt": _("Prompt tokens per request"), "output": _("Output tokens per request")}
    metrics = [
        {"label": labels.get(name, name), "floored": figures.get("spread") != figures.get("sigma"), **figures}
        for name, figures in sorted(evidence.get("metrics", {}).items(), key=lambda item: item[0] != "prompt")
    ]
    return {
        "requests": evidence.get("requests"),
        "k": evidence.get("k"),
        "window_from": evidence.get("window_from"),
        "window_to": evidence.get("window_to"),
        "history_days": evidence.get("history_days"),
        "history_points": evidence.get("history_points"),
        "history_requests": evidence.get("history_requests"),
        "metrics": metrics,
        "shifted": [metric for metric in metrics if metric.get("shifted")],
        "points": evidence.get("points", []),
    }


def _price(evidence: dict) -> dict:
    rows = [
        {
            **row,
            "cost": Decimal(row["cost"]),
            "named_expected": Decimal(row["named_expected"]),
            "match_expected": Decimal(row["match_expected"]),
            "named_gap": percent(row["named_gap"]),
            "match_gap": percent(row["match_gap"]),
            "prompt_tokens": sum(
                row.get(name, 0)
                for name in (
                    "input_tokens",
                    "cache_read_tokens",
                    "cache_write_tokens",
                    "cache_write_1h_tokens",
                )
            ),
        }
        for row in evidence.get("rows", [])
    ]
    return {"tolerance": percent(evidence.get("tolerance")), "rows": rows}


_VIEWS = {
    MismatchFlag.Signal.REPORTED_MODEL: _reported,
    MismatchFlag.Signal.DISTRIBUTION_SHIFT: _shift,
    MismatchFlag.Signal.PRICE_TABLE: _price,
}


def evidence_view(flag: MismatchFlag) -> dict:
    """The flag's evidence for a template (``view.kind`` is the signal)."""
    return {"kind": flag.signal, **_VIEWS[flag.signal](flag.evidence or {})}


def with_views(flags) -> list[MismatchFlag]:
    """``flags`` as a list, each carrying its ``view`` (for the PDF's loop)."""
    flags = list(flags)
    for flag in flags:
        flag.view = evidence_view(flag)
    return flags
