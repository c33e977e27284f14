"""Forms of a price entry's page: its time-of-day windows, service tiers and unit prices. Each change is a
new version of the entry from a day (today: from now), never a rewrite of prices already used."""

import re

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from catalog.forms import BootstrapMixin
from catalog.rating import WINDOW_FIELDS, TierPrices
from catalog.retail_forms import starts_at
from catalog.services.books import WindowSpec
from catalog.services.validation import UNIT_PRICE_NAMES, service_tier_name_check
from catalog.time_windows import rules_check, zone_check

DAY_NAMES = {
    **{name: number for number, name in enumerate(("mon", "tue", "wed", "thu", "fri", "sat", "sun"), 1)},
    **{name: number for number, name in enumerate(("一", "二", "三", "四", "五", "六", "日"), 1)},
    "天": 7,
}
EVERY_DAY = ("every day", "daily", "每天", "每日")
ALL_DAY = ("all day", "全天")
RULE_LINE = re.compile(
    r"^(?P<days>.+?)\s+(?P<hours>all day|全天|\d{1,2}:\d{2}\s*[-–—~至]\s*\d{1,2}:\d{2})$", re.IGNORECASE
)
DAY_RANGE = re.compile(r"\s*[-–—~至]\s*")


def _day(text: str) -> int:
    """A weekday as ISO number: Mon, Monday, 1, 周一, 星期一 (raise KeyError otherwise)."""
    text = text.strip().lower()
    for prefix in ("星期", "周", "週"):
        text = text.removeprefix(prefix)
    if text.isascii() and text.isdigit() and 1 <= int(text) <= 7:
        return int(text)
    return DAY_NAMES[text[:3] if text.isascii() else text]


def rules_parse(text: str) -> list[dict]:
    """Window rules written one per line ("Mon-Fri 18:00-08:00", "Sat, Sun all day", "Every day 00:30-08:30")
    in the stored form; raise ValidationError naming each line that cannot be read."""
    rules, errors = [], []
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    for number, line in enumerate(lines, start=1):
        match = RULE_LINE.match(line)
        try:
            if match is None:
                raise KeyError(line)
            days_text = match["days"].strip()
            if days_text.lower() in EVERY_DAY:
                days = list(range(1, 8))
            else:
                days = []
                for part in re.split(r"\s*[,，、]\s*", days_text):
                    ends = DAY_RANGE.split(part)
                    if len(ends) == 2:
                        first, last = _day(ends[0]), _day(ends[1])
                        days += (
                            list(range(first, last + 1))
                            if first <= last
                            else [*range(first, 8), *range(1, last + 1)]
                        )
                    else:
                        days.append(_day(part))
            hours = match["hours"].strip()
            if hours.lower() in ALL_DAY:
                start = end = "00:00"
            else:
                start, end = (h.strip().zfill(5) for h in DAY_RANGE.split(hours))
        except KeyError:
            errors.append(
                _('Line %(number)s: "%(line)s" is not weekdays and hours such as "Mon-Fri 18:00-08:00".')
                % {"number": number, "line": line}
            )
            continue
        rules.append({"weekdays": sorted(set(days)), "start": start, "end": end})
    if errors:
        raise forms.ValidationError(errors)
    if not rules:
        raise forms.ValidationError(_("Write at least one line of weekdays and hours."))
    return rules


def rules_text(rules: list[dict]) -> str:
    """Stored rules as ``rules_parse`` reads them back, for the edit form."""
    names = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
    lines = []
    for rule in rules:
        days = rule["weekdays"]
        if len(days) == 7:
            day_text = "Every day"
        elif len(days) > 2 and days == list(range(days[0], days[-1] + 1)):
            day_text = f"{names[days[0] - 1]}-{names[days[-1] - 1]}"
        else:
            day_text = ", ".join(names[d - 1] for d in days)
        hours = "all day" if rule["start"] == rule["end"] else f"{rule['start']}-{rule['end']}"
        lines.append(f"{day_text} {hours}")
    return "\n".join(lines)


def price_input(label, help_text: str = "", required: bool = False) -> forms.DecimalField:
    return forms.DecimalField(
        label=label,
        required=required,
        min_value=0,
        max_digits=24,
        decimal_places=12,
        help_text=help_text,
    )


def _effective_field() -> forms.DateField:
    return forms.DateField(
        label=_("From"),
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("Today: from now on. A new version of the prices starts then; the current one ends."),
    )


class EntryChangeForm(BootstrapMixin, forms.Form):
    """A change to a price entry: made from today (now) or a later day, never in the past."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["effective"] = _effective_field()
        self.fields["effective"].initial = timezone.localdate()
        self._style()

    def clean_effective(self):
        day = self.cleaned_data["effective"]
        if day < timezone.localdate():
            raise forms.ValidationError(_("Changes start today or later; past prices are never rewritten."))
        return day

    def starts_at(self):
        return starts_at(self.cleaned_data["effective"])


class WindowForm(EntryChangeForm):
    original = forms.CharField(widget=forms.HiddenInput, required=False)
    label = forms.CharField(label=_("Label"), max_length=60, initial="Off-peak")
    time_zone = forms.CharField(
        label=_("Time zone"),
        max_length=64,
        initial="Asia/Shanghai",
        help_text=_("IANA name, e.g. Asia/Shanghai."),
    )
    rules = forms.CharField(
        label=_("Hours"),
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_(
            'One rule per line: weekdays and hours, e.g. "Mon-Fri 18:00-08:00", "Sat, Sun all day", '
            '"Every day 00:30-08:30". A start after the end runs past midnight.'
        ),
    )
    input = price_input(_("Input"), _("Per million tokens; blank: the standard price."))
    cache_read = price_input(_("Cache read"))
    cache_write_5m = price_input(_("Cache write 5m"))
    cache_write_1h = price_input(_("Cache write 1h"))
    output = price_input(_("Output"))
    reasoning = price_input(_("Reasoning"))
    audio_input = price_input(_("Audio input"))
    audio_output = price_input(_("Audio output"))
    PRICES = WINDOW_FIELDS

    def clean_time_zone(self):
        try:
            return zone_check(self.cleaned_data["time_zone"].strip())
        except ValidationError as exc:
            raise forms.ValidationError(exc.messages) from None

    def clean_rules(self):
        rules = rules_parse(self.cleaned_data["rules"])
        try:
            return rules_check(rules)
        except ValidationError as exc:
            raise forms.ValidationError(exc.messages) from None

    def window(self):
        data = self.cleaned_data
        return WindowSpec(
            label=data["label"],
            time_zone=data["time_zone"],
            rules=data["rules"],
            **{name: data.get(name) for name in WINDOW_FIELDS},
        )


class ServiceTierForm(EntryChangeForm):
    name = forms.CharField(
        label=_("Service tier"), max_length=20, help_text=_("As requests name it: flex, priority.")
    )
    input = price_input(_("Input"), _("Per million tokens."), required=True)
    cache_read = price_input(_("Cache read"), _("Blank: the input price."))
    cache_write_5m = price_input(_("Cache write 5m"))
    cache_write_1h = price_input(_("Cache write 1h"))
    output = price_input(_("Output"), required=True)
    reasoning = price_input(_("Reasoning"), _("Blank: the output price."))

    def clean_name(self):
        try:
            return service_tier_name_check(self.cleaned_data["name"])
        except ValidationError as exc:
            raise forms.ValidationError(exc.messages) from None

    def tier(self, units: TierPrices | None) -> TierPrices:
        """The service tier's one tier (all prompt lengths), with the standard tier's unit prices."""
        data = self.cleaned_data
        unit_prices = {name: getattr(units, name) for name in UNIT_PRICE_NAMES} if units else {}
        return TierPrices(
            lo=0,
            hi=None,
            **{name: data.get(name) for name in SERVICE_TIER_PRICES},
            **unit_prices,
        )


SERVICE_TIER_PRICES = ("input", "cache_read", "cache_write_5m", "cache_write_1h", "output", "reasoning")


class UnitPricesForm(EntryChangeForm):
    audio_input = price_input(_("Audio input"), _("Per million audio tokens; blank: the input price."))
    audio_output = price_input(_("Audio output"), _("Per million audio tokens; blank: the output price."))
    image = price_input(_("Per image"), _("Blank: images cannot be rated."))
    audio_second = price_input(_("Per audio second"), _("Blank: audio seconds cannot be rated."))
    PRICES = UNIT_PRICE_NAMES

    def prices(self) -> dict:
        return {name: self.cleaned_data.get(name) for name in UNIT_PRICE_NAMES}


class EntryPartRemoveForm(EntryChangeForm):
    part = forms.ChoiceField(
        choices=[("window", "window"), ("service_tier", "service_tier")], widget=forms.HiddenInput
    )
    name = forms.CharField(max_length=60, widget=forms.HiddenInput)
