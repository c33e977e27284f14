"""Read flags and the records behind them: the events a reported-model flag counted, the vendor rows of a
price-table flag, the flags of one channel and month for a dispute pack."""

from datetime import date

from django.db.models import QuerySet
from django.db.models.fields.json import KT
from django.db.models.functions import Lower, Trim

from billing.upstream.mismatch.findings import day_window
from billing.upstream.models import MismatchFlag, VendorUsage
from billing.usage.models import UsageEvent
from catalog.models import Channel


def flags() -> QuerySet[MismatchFlag]:
    return MismatchFlag.objects.select_related("channel__contract__vendor", "model")


def channel_month_flags(channel: Channel, month_start: date, month_end: date) -> QuerySet[MismatchFlag]:
    """The open and disputed flags of ``channel`` in [month_start, month_end] (dismissed ones are not
    raised with the vendor), in day order."""
    return (
        flags()
        .filter(channel=channel, day__gte=month_start, day__lte=month_end)
        .exclude(state=MismatchFlag.State.DISMISSED)
        .order_by("day", "model_name", "signal")
    )


def flag_events(flag: MismatchFlag) -> QuerySet[UsageEvent]:
    """The gateway events a reported-model flag counted as answered by another model: its day, channel
    (name or alias) and model, whose ``metadata.response_model`` is one of the names in its evidence."""
    if flag.signal != MismatchFlag.Signal.REPORTED_MODEL:
        return UsageEvent.objects.none()
    start, end = day_window(flag.day)
    accounts = [
        flag.channel.name.lower(),
        *(a.lower() for a in flag.channel.aliases.values_list("alias", flat=True)),
    ]
    reported = [entry["name"] for entry in flag.evidence.get("reported", [])]
    events = (
        UsageEvent.objects.filter(occurred_at__gte=start, occurred_at__lt=end, hop=0)
        .annotate(account=Lower("upstream_account"), reported=Trim(KT("metadata__response_model")))
        .filter(account__in=accounts, reported__in=reported)
    )
    if flag.model_id is not None:
        events = events.filter(model_id=flag.model_id)
    else:
        events = events.filter(model__isnull=True, model_name__iexact=flag.model_name)
    return events.order_by("occurred_at", "request_id")


def flag_vendor_rows(flag: MismatchFlag) -> list[VendorUsage]:
    """The vendor usage rows a price-table flag names, as they are now (a re-import may have changed them)."""
    if flag.signal != MismatchFlag.Signal.PRICE_TABLE:
        return []
    ids = [row["vendor_usage"] for row in flag.evidence.get("rows", [])]
    return list(VendorUsage.objects.filter(pk__in=ids).order_by("is_batch", "vendor_key"))
