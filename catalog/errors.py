"""Why a price could not be found; views turn these into 404/409 answers that say what to fix."""

from datetime import date, datetime


class PricingError(Exception):
    """Base: ``field`` names the request field the problem is about (for API errors)."""

    field = "non_field_errors"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class UnknownModel(PricingError):
    field = "model"

    def __init__(self, name: str, suggestions: list[str]):
        hint = f" Closest known names: {', '.join(suggestions)}." if suggestions else ""
        super().__init__(f"Unknown model {name!r}.{hint}")
        self.name = name
        self.suggestions = suggestions


class UnknownPlan(PricingError):
    field = "plan"

    def __init__(self, name: str, suggestions: list[str]):
        hint = f" Closest known plans: {', '.join(suggestions)}." if suggestions else ""
        super().__init__(f"Unknown plan {name!r}.{hint}")
        self.name = name
        self.suggestions = suggestions


class NoPlan(PricingError):
    field = "customer"


class NoPrice(PricingError):
    field = "model"


class MissingFxRate(PricingError):
    field = "at"

    def __init__(self, base: str, quote: str, on: date | datetime):
        super().__init__(f"No {base}→{quote} exchange rate on or before {on:%Y-%m-%d}; enter one first.")
        self.base = base
        self.quote = quote
