"""Exchange rates into the base currency for many dates at once, and the error that lists what is missing.

A revaluation or a realisation needs a rate for every currency and date it touches. Each pair's rates are
loaded once and looked up by date (the latest rate on or before it, as ``catalog.selectors.fx.fx_rate``
reads them); a missing one is collected, not raised, so one error can name every pair to enter.
"""

from bisect import bisect_right
from datetime import date
from decimal import Decimal

from django.conf import settings
from django.utils.translation import gettext as _

from catalog.models import FxRate


class FxRatesMissing(Exception):
    """Some ``currency→base`` rates are missing; nothing was posted. ``pairs``: (currency, base, date)."""

    def __init__(self, pairs: set[tuple[str, str, date]]):
        self.pairs = sorted(pairs)
        listed = ", ".join(f"{ccy}→{base} {on:%Y-%m-%d}" for ccy, base, on in self.pairs)
        super().__init__(
            _(
                "No exchange rate on or before: %(pairs)s. Enter these rates and run again; "
                "nothing was posted."
            )
            % {"pairs": listed}
        )


class BaseRates:
    """Rates ``1 currency = rate base`` on any date, with the missing ones remembered."""

    def __init__(self, base: str | None = None):
        self.base = base or settings.BASE_CURRENCY
        self._loaded: dict[str, tuple[list[date], list[Decimal]]] = {}
        self.missing: set[tuple[str, str, date]] = set()

    def _series(self, currency: str) -> tuple[list[date], list[Decimal]]:
        if currency not in self._loaded:
            rows = FxRate.objects.filter(base=currency, quote=self.base).order_by("date")
            pairs = list(rows.values_list("date", "rate"))
            self._loaded[currency] = ([d for d, _r in pairs], [r for _d, r in pairs])
        return self._loaded[currency]

    def rate(self, currency: str, on: date) -> Decimal | None:
        """The rate in force on ``on``, or None (remembered in ``missing``)."""
        if currency == self.base:
            return Decimal(1)
        dates, rates = self._series(currency)
        index = bisect_right(dates, on)
        if index == 0:
            self.missing.add((currency, self.base, on))
            return None
        return rates[index - 1]

    def raise_if_missing(self) -> None:
        if self.missing:
            raise FxRatesMissing(self.missing)
