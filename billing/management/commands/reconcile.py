"""python manage.py reconcile --from DATE --to DATE [--channel NAME] [--format json|text]"""

import json
from datetime import date

from django.core.management.base import BaseCommand, CommandError

from billing.money import money_format
from billing.upstream.models import ReconciliationRun, ReconClass
from billing.upstream.reconcile.figures import decimal_text
from billing.upstream.reconcile.run import ReconcileError, reconcile
from catalog.selectors.channels import channels_resolve


def _date(value: str, option: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"{option}: {value!r} is not a date (YYYY-MM-DD).") from None


def line_json(line) -> dict:
    return {
        "channel": line.channel.name,
        "model": line.model_name,
        "day": line.day.isoformat(),
        "class": line.klass,
        "ours": line.ours,
        "theirs": line.theirs,
        "value": decimal_text(line.value),
    }


class Command(BaseCommand):
    help = (
        "Reconcile the vendors' usage with ours for the days --from to --to (inclusive, each channel's "
        "reporting-zone days) that are due, on every active channel or --channel, store the run and print "
        "its lines. --format json prints one object per line: channel, model, day, class, ours, theirs, "
        "value — ours/theirs are the figures compared (token counts per vendor class, requests, cost as a "
        "decimal string in the contract currency; {} for a side with nothing), value the value at stake in "
        "the base currency as a decimal string. --format text (default) prints the lines that did not "
        "match and the totals per class. Re-running with unchanged inputs prints the earlier run and "
        "stores nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("--from", dest="date_from", required=True, help="First day, YYYY-MM-DD.")
        parser.add_argument("--to", dest="date_to", required=True, help="Last day (inclusive), YYYY-MM-DD.")
        parser.add_argument("--channel", help="Only this channel (its name or an alias).")
        parser.add_argument("--format", dest="fmt", default="text", help="text (default) or json.")

    def handle(self, *args, date_from, date_to, channel, fmt, **options):
        fmt = fmt.lower()
        if fmt not in {"json", "text"}:
            raise CommandError(f"--format must be json or text, not {fmt!r}.")
        start, end = _date(date_from, "--from"), _date(date_to, "--to")
        found = None
        if channel:
            found = channels_resolve({channel}).get(channel.lower())
            if found is None:
                raise CommandError(f"--channel: no channel is named or aliased {channel!r}.")
        try:
            outcome = reconcile(date_from=start, date_to=end, channel=found)
        except ReconcileError as error:
            raise CommandError(str(error)) from None
        run = outcome.run
        if run.state == ReconciliationRun.State.FAILED:
            raise CommandError(f"Reconciliation run {run.pk} failed: {run.error}")
        if outcome.not_due:
            self.stderr.write(
                f"{outcome.not_due} channel-days are not due yet (reporting lag) and were left out."
            )
        if not outcome.created:
            self.stderr.write(f"Nothing changed since run {run.pk}: its lines are printed, nothing stored.")
        lines = run.lines.select_related("channel").order_by("day", "channel__name", "model_name")
        if fmt == "json":
            for line in lines:
                self.stdout.write(json.dumps(line_json(line), ensure_ascii=False, sort_keys=False))
            return
        self._table(run, lines)

    def _table(self, run, lines):
        heading = (
            "day",
            "channel",
            "model",
            "class",
            "our tokens",
            "their tokens",
            f"value {run.base_currency}",
        )
        rows = [heading]
        for line in lines:
            if line.klass == ReconClass.MATCHED:
                continue
            rows.append(
                (
                    line.day.isoformat(),
                    line.channel.name,
                    line.model_name,
                    line.klass,
                    str(_tokens(line.ours)),
                    str(_tokens(line.theirs)),
                    money_format(line.value, run.base_currency),
                )
            )
        widths = [max(len(r[i]) for r in rows) for i in range(len(heading))]
        for row in rows:
            self.stdout.write("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
        self.stdout.write("")
        self.stdout.write(f"Run {run.pk}, {run.date_from} to {run.date_to}:")
        for klass, total in run.totals["classes"].items():
            value = money_format(total["value"], run.base_currency)
            self.stdout.write(f"  {klass:<22} {total['lines']:>7} lines  {value:>18}")
        at_stake = money_format(run.totals["at_stake"], run.base_currency)
        self.stdout.write(f"  {'at stake':<22} {'':>13}  {at_stake:>18} {run.base_currency}")


def _tokens(figures: dict) -> int:
    return sum(figures.get(c, 0) for c in ("input", "cache_read", "cache_write", "cache_write_1h", "output"))
