"""What a margin row stands for, per dimension: the SQL columns summed over, and the row each group joins.

Several SQL groups may join one row: a channel's name and its aliases (``channels_resolve``), the buyers
of one sub-distributor's branch, the days of a week. Labels are read in a few bulk queries, never per row.
"""

from dataclasses import dataclass, field
from datetime import date, timedelta

from django.db import models
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts.models import Customer
from catalog.models import AIModel, Vendor
from catalog.selectors.channels import channels_resolve

DIRECT = "direct"
"""The sub-distributor dimension's row of customers no sub-distributor brought."""


class Dimension(models.TextChoices):
    VENDOR = "vendor", _("Vendor")
    CHANNEL = "channel", _("Channel")
    MODEL = "model", _("Model")
    CUSTOMER = "customer", _("Customer")
    SUB_DISTRIBUTOR = "sub_distributor", _("Sub-distributor")
    PERIOD = "period", _("Period")

    @staticmethod
    def sql_keys(dimension: str) -> tuple[str, ...]:
        """The rollup columns a dimension's SQL groups by (rows are merged further in ``row_keys``)."""
        return {
            Dimension.VENDOR: ("model__vendor_id",),
            Dimension.CHANNEL: ("upstream_account",),
            Dimension.MODEL: ("model_id",),
            Dimension.CUSTOMER: ("customer_id",),
            Dimension.SUB_DISTRIBUTOR: ("customer_id",),
            Dimension.PERIOD: ("day",),
        }[dimension]


class Grain(models.TextChoices):
    DAY = "day", _("Day")
    WEEK = "week", _("Week")
    MONTH = "month", _("Month")


@dataclass(frozen=True)
class RowKey:
    """One row of a report: ``ident`` is stable (CSV, links, tests), the rest only describes it."""

    ident: str
    label: str = field(compare=False)
    detail: str = field(default="", compare=False)
    sort_label: str = field(default="", compare=False)
    customer_id: int | None = field(default=None, compare=False)
    """The customer a customer or sub-distributor row stands for (for its links)."""
    reseller: bool = field(default=False, compare=False)
    """A resale sub-distributor: its purchase splits by end customer on the margin-per-hop page."""


def _by_vendor(rows: list[dict]) -> list[RowKey]:
    vendors = Vendor.objects.in_bulk({r["model__vendor_id"] for r in rows})
    keys = {}
    for vendor_id, vendor in vendors.items():
        keys[vendor_id] = RowKey(vendor.slug, vendor.name, sort_label=vendor.name.lower())
    return [keys[r["model__vendor_id"]] for r in rows]


def _by_model(rows: list[dict]) -> list[RowKey]:
    models_ = AIModel.objects.select_related("vendor").in_bulk({r["model_id"] for r in rows})
    keys = {
        pk: RowKey(f"{m.vendor.slug}/{m.name}", m.name, detail=m.vendor.name, sort_label=m.name.lower())
        for pk, m in models_.items()
    }
    return [keys[r["model_id"]] for r in rows]


def _by_channel(rows: list[dict]) -> list[RowKey]:
    names = {r["upstream_account"] for r in rows}
    channels = channels_resolve(names)
    out = []
    for row in rows:
        name = row["upstream_account"]
        channel = channels.get(name.lower())
        if channel is not None:
            contract = channel.contract
            detail = f"{contract.vendor.name} · {contract.name} ({contract.currency})"
            out.append(RowKey(f"channel:{channel.name}", channel.name, detail, channel.name.lower()))
        elif name:
            out.append(RowKey(f"unmapped:{name.lower()}", name, gettext("unmapped"), f"~{name.lower()}"))
        else:
            out.append(RowKey("unmapped:", gettext("(no upstream account)"), gettext("unmapped"), "~~"))
    return out


def _customer_detail(customer: Customer) -> str:
    if customer.is_sub_distributor:
        return f"{customer.get_kind_display()} · {customer.get_chain_mode_display()}"
    return customer.get_kind_display()


def _by_customer(rows: list[dict]) -> list[RowKey]:
    customers = Customer.objects.in_bulk({r["customer_id"] for r in rows})
    keys = {
        pk: RowKey(
            c.code, c.name, _customer_detail(c), c.name.lower(), customer_id=c.pk, reseller=c.is_reseller
        )
        for pk, c in customers.items()
    }
    return [keys[r["customer_id"]] for r in rows]


def _by_sub_distributor(rows: list[dict]) -> list[RowKey]:
    """Each buyer's branch: the top-level sub-distributor it sits under (itself, for a sub-distributor
    that is our buyer), or the one row of customers no sub-distributor brought."""
    buyers = Customer.objects.only("path").in_bulk({r["customer_id"] for r in rows})
    top_of = {pk: int(c.path.strip("/").split("/")[0]) for pk, c in buyers.items()}
    tops = Customer.objects.in_bulk(set(top_of.values()))
    direct = RowKey(DIRECT, gettext("Direct customers (no sub-distributor)"), sort_label="~")
    keys = {}
    for pk, top in tops.items():
        if top.is_sub_distributor:
            detail = top.get_chain_mode_display()
            keys[pk] = RowKey(
                top.code, top.name, detail, top.name.lower(), customer_id=top.pk, reseller=top.is_reseller
            )
        else:
            keys[pk] = direct
    return [keys[top_of[r["customer_id"]]] for r in rows]


def period_key(day: date, grain: str) -> RowKey:
    """The day's bucket: the day, its ISO week (from Monday) or its month."""
    if grain == Grain.MONTH:
        first = day.replace(day=1)
        return RowKey(first.strftime("%Y-%m"), first.strftime("%Y-%m"), sort_label=first.isoformat())
    if grain == Grain.WEEK:
        monday = day - timedelta(days=day.weekday())
        year, week, _weekday = monday.isocalendar()
        detail = f"{monday.isoformat()} – {(monday + timedelta(days=6)).isoformat()}"
        return RowKey(f"{year}-W{week:02d}", f"{year}-W{week:02d}", detail, monday.isoformat())
    return RowKey(day.isoformat(), day.isoformat(), sort_label=day.isoformat())


def row_keys(dimension: str, rows: list[dict], *, grain: str = Grain.DAY) -> list[RowKey]:
    """The row each grouped SQL row (``selectors.grouped_rows``) belongs to, in the same order."""
    if not rows:
        return []
    if dimension == Dimension.PERIOD:
        return [period_key(r["day"], grain) for r in rows]
    by = {
        Dimension.VENDOR: _by_vendor,
        Dimension.CHANNEL: _by_channel,
        Dimension.MODEL: _by_model,
        Dimension.CUSTOMER: _by_customer,
        Dimension.SUB_DISTRIBUTOR: _by_sub_distributor,
    }[dimension]
    return by(rows)
