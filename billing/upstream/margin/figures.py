"""The sums of one margin row: as recorded per currency, and in the base currency where every rate is known.

Amounts are full-precision ``Decimal``. ``revenue`` is keyed by sell currency (what the invoice or the wallet
charged), ``cost`` by cost currency (upstream cost in the channel contract's currency). The base-currency
sums hold only what could be converted; what could not is kept per currency in ``*_unconverted``, and a base
figure that would need it is None: a missing rate is shown as such, never guessed.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

ZERO = Decimal(0)


def _amounts() -> defaultdict:
    return defaultdict(Decimal)


@dataclass
class Figures:
    requests: int = 0
    uncosted_requests: int = 0
    """Requests with no upstream cost at all (no contract prices the model): their margin is overstated."""
    revenue: defaultdict = field(default_factory=_amounts)
    cost: defaultdict = field(default_factory=_amounts)
    revenue_base_known: Decimal = ZERO
    cost_base_known: Decimal = ZERO
    revenue_unconverted: defaultdict = field(default_factory=_amounts)
    cost_unconverted: defaultdict = field(default_factory=_amounts)

    def add_row(self, row: dict) -> None:
        """Add one grouped rollup row (``selectors.grouped_rows``) to these sums."""
        self.requests += row["n"]
        if not row["cost_currency"]:
            self.uncosted_requests += row["n"]
        if row["revenue"]:
            self.revenue[row["sell_currency"]] += row["revenue"]
        if row["cost"] and row["cost_currency"]:
            self.cost[row["cost_currency"]] += row["cost"]
        self.revenue_base_known += row["revenue_base"]
        self.cost_base_known += row["cost_base"]
        if row["revenue_unconverted"]:
            self.revenue_unconverted[row["sell_currency"]] += row["revenue_unconverted"]
        if row["cost_unconverted"]:
            self.cost_unconverted[row["cost_currency"]] += row["cost_unconverted"]

    def merge(self, other: "Figures") -> None:
        self.requests += other.requests
        self.uncosted_requests += other.uncosted_requests
        self.revenue_base_known += other.revenue_base_known
        self.cost_base_known += other.cost_base_known
        for mine, theirs in (
            (self.revenue, other.revenue),
            (self.cost, other.cost),
            (self.revenue_unconverted, other.revenue_unconverted),
            (self.cost_unconverted, other.cost_unconverted),
        ):
            for currency, amount in theirs.items():
                mine[currency] += amount

    @property
    def revenue_base(self) -> Decimal | None:
        """Revenue in the base currency; None when part of it has no rate."""
        return None if self.revenue_unconverted else self.revenue_base_known

    @property
    def cost_base(self) -> Decimal | None:
        return None if self.cost_unconverted else self.cost_base_known

    @property
    def margin_base(self) -> Decimal | None:
        revenue, cost = self.revenue_base, self.cost_base
        return None if revenue is None or cost is None else revenue - cost

    @property
    def margin_pct(self) -> Decimal | None:
        """Gross margin as a percentage of revenue (base currency); None without revenue or a rate."""
        margin, revenue = self.margin_base, self.revenue_base
        return None if margin is None or not revenue else 100 * margin / revenue

    @property
    def recorded_margin(self) -> tuple[str, Decimal] | None:
        """The margin in the currency as recorded, when revenue and cost are in one and the same currency."""
        currencies = set(self.revenue) | set(self.cost)
        if len(currencies) != 1:
            return None
        (currency,) = currencies
        return currency, self.revenue.get(currency, ZERO) - self.cost.get(currency, ZERO)

    @property
    def revenue_items(self) -> list[tuple[str, Decimal]]:
        return sorted(self.revenue.items())

    @property
    def cost_items(self) -> list[tuple[str, Decimal]]:
        return sorted(self.cost.items())

    @property
    def unconverted_items(self) -> list[tuple[str, Decimal]]:
        """Every amount no rate converts, revenue and cost together, per currency."""
        out: defaultdict = _amounts()
        for amounts in (self.revenue_unconverted, self.cost_unconverted):
            for currency, amount in amounts.items():
                out[currency] += amount
        return sorted(out.items())
