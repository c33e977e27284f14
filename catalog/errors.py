"""Why a price could not be found; views turn these into 404/409 answers that say what to fix."""

from datetime import date, datetime

from common.stored_text import stored


class PricingError(Exception):
    """Base: ``field`` names the request field the problem is about (for API errors)."""

    field = "non_field_errors"

    def __init__(self, message: str, detail_message: dict | None = None):
        super().__init__(message)
        self.message = message
        # The whole cause, for operator staff; ``message`` may tell less (``restated``).
        self.detail = message
        # ``detail`` as a message key and parameters (common.stored_text), so a stored reason (an unrated
        # event's) reads in its reader's language; None where the refusal has none.
        self.detail_message = detail_message

    def restated(self, message: str) -> "PricingError":
        """The same refusal (same class, same field) told as ``message`` to whoever may not read its cause,
        e.g. a reseller's customer, whose plan failed for want of its seller's buy price; ``detail`` keeps
        the cause for operator staff."""
        told = self.__class__.__new__(self.__class__)
        told.__dict__.update(self.__dict__)
        Exception.__init__(told, message)
        told.message = message
        return told


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
        super().__init__(
            f"No {base}→{quote} exchange rate on or before {on:%Y-%m-%d}; enter one first.",
            stored("catalog.pricing.missing_fx", base=base, quote=quote, on=f"{on:%Y-%m-%d}"),
        )
        self.base = base
        self.quote = quote
