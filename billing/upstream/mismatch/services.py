"""Run the 货不对版 signals over a day range and keep their flags; move a flag through its states.

``mismatch_scan`` runs the three signals (``reported``, ``shift``, ``price_table``) for the days
``[date_from, date_to]`` and upserts one ``MismatchFlag`` per finding by its unique key (channel, model,
day, signal). Re-running is idempotent: a flag whose figures are unchanged is not written at all (its
``last_seen`` stays), a changed one gets the new figures and keeps its state and note, and an *open* flag
the data no longer supports (usage re-rated, a vendor file re-imported) is removed. Disputed and dismissed
flags are never removed or reopened: they are staff's record of what was raised with the vendor.
"""

from dataclasses import dataclass
from datetime import date, timedelta

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils.translation import gettext as _

from billing.upstream.mismatch.findings import Finding
from billing.upstream.mismatch.price_table import price_table_findings
from billing.upstream.mismatch.reported import reported_model_findings
from billing.upstream.mismatch.shift import distribution_shift_findings
from billing.upstream.models import MismatchFlag, UpstreamSettings

# A scan reads every event of each day once; a year is the most one request may ask for.
MAX_SCAN_DAYS = 366
# Two scans of overlapping days would insert the same keys: the second waits for the first.
_SCAN_LOCK = (0x4D49534D, 0)  # "MISM"
_FIELDS = ("model_id", "score", "detail", "detail_message", "evidence")


@dataclass(frozen=True)
class ScanResult:
    date_from: date
    date_to: date
    created: int
    updated: int
    unchanged: int
    removed: int

    @property
    def flagged(self) -> int:
        return self.created + self.updated + self.unchanged


def scan_days_check(date_from: date, date_to: date) -> None:
    """Refuse an empty or too long range, naming the field at fault."""
    if date_to < date_from:
        raise ValidationError({"date_to": _("The last day is before the first.")})
    if (date_to - date_from).days + 1 > MAX_SCAN_DAYS:
        raise ValidationError(
            {"date_to": _("Scan at most %(days)s days at a time.") % {"days": MAX_SCAN_DAYS}}
        )


def _findings(date_from: date, date_to: date) -> list[Finding]:
    settings = UpstreamSettings.load()
    found = [
        *reported_model_findings(date_from, date_to),
        *distribution_shift_findings(date_from, date_to, sigmas=settings.shift_sigmas),
        *price_table_findings(date_from, date_to, tolerance=settings.cost_tolerance),
    ]
    # One finding per key (a channel reached through two aliases is one channel already): the last wins.
    return list({finding.key: finding for finding in found}.values())


# Not durable: the demo loader scans inside its own transaction; the advisory lock holds to the outer commit.
@transaction.atomic
def mismatch_scan(*, date_from: date, date_to: date) -> ScanResult:
    """Run the signals over ``[date_from, date_to]`` (operator days) and store their flags."""
    scan_days_check(date_from, date_to)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", _SCAN_LOCK)
    findings = _findings(date_from, date_to)
    existing = {
        (flag.channel_id, flag.model_name, flag.day, flag.signal): flag
        for flag in MismatchFlag.objects.filter(day__gte=date_from, day__lte=date_to)
    }
    created = updated = unchanged = 0
    for finding in findings:
        values = {
            "model_id": finding.model.pk if finding.model else None,
            "score": finding.score,
            "detail": finding.detail,
            "detail_message": finding.detail_message,
            "evidence": finding.evidence,
        }
        flag = existing.pop(finding.key, None)
        if flag is None:
            MismatchFlag.objects.create(
                channel=finding.channel,
                model_name=finding.model_name,
                day=finding.day,
                signal=finding.signal,
                **values,
            )
            created += 1
        elif all(getattr(flag, name) == value for name, value in values.items()):
            unchanged += 1
        else:
            for name, value in values.items():
                setattr(flag, name, value)
            flag.save(update_fields=[*_FIELDS, "last_seen"])
            updated += 1
    stale = [flag.pk for flag in existing.values() if flag.state == MismatchFlag.State.OPEN]
    MismatchFlag.objects.filter(pk__in=stale).delete()
    return ScanResult(date_from, date_to, created, updated, unchanged, len(stale))


def mismatch_scan_recent(*, today: date, days: int = 7) -> ScanResult:
    """Scan the last ``days`` complete days before ``today``: late usage and late vendor files of the
    past week still change their flags (vendors report a day or more late)."""
    return mismatch_scan(date_from=today - timedelta(days=days), date_to=today - timedelta(days=1))


def mismatch_flag_state_set(*, flag: MismatchFlag, state: str, note: str = "") -> MismatchFlag:
    """Mark ``flag`` disputed with the vendor, dismissed or open again, with staff's note (kept whole:
    a new note replaces the old one only when given)."""
    if state not in MismatchFlag.State.values:
        raise ValidationError({"state": _("Unknown state %(state)s.") % {"state": repr(state)}})
    note = note.strip()
    if state == MismatchFlag.State.DISMISSED and not (note or flag.note):
        raise ValidationError({"note": _("Say why the flag is dismissed.")})
    flag.state = state
    if note:
        flag.note = note
    flag.save(update_fields=["state", "note"])
    return flag
