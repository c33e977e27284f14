"""Stored text of the catalog (common.stored_text): why a price could not be found or a request rated, as
unrated usage events keep it. The msgids are the refusals' English texts (``catalog.errors``,
``catalog.selectors.pricing``, ``catalog.rating``)."""

from django.utils.translation import gettext_noop

from common.stored_text import messages_register

messages_register(
    {
        "catalog.pricing.no_rule": gettext_noop("Plan %(plan)s has no rule pricing %(model)s at %(at)s."),
        "catalog.pricing.book_no_price": gettext_noop(
            "Price book %(book)s has no price for %(model)s at %(at)s."
        ),
        "catalog.pricing.source_no_price": gettext_noop(
            "Plan %(plan)s prices %(model)s from %(where)s, which has no price for it at %(at)s."
        ),
        "catalog.pricing.where_book": gettext_noop("price book %(book)s"),
        "catalog.pricing.where_any_book": gettext_noop("any active %(kind)s book"),
        "catalog.pricing.no_plan": gettext_noop(
            "%(customer)s has no plan at %(at)s and there is no default plan in %(currencies)s."
        ),
        "catalog.pricing.missing_fx": gettext_noop(
            "No %(base)s→%(quote)s exchange rate on or before %(on)s; enter one first."
        ),
        "catalog.rating.not_whole": gettext_noop("%(field)s must be a whole number."),
        "catalog.rating.negative": gettext_noop("%(field)s must not be negative (got %(value)s)."),
        "catalog.rating.cached_over_prompt": gettext_noop(
            "%(field)s: cache reads and writes and audio input (%(cached)s) exceed prompt_tokens "
            "(%(prompt)s); prompt_tokens must include them."
        ),
        "catalog.rating.reasoning_over_completion": gettext_noop(
            "reasoning_tokens (%(reasoning)s) exceed completion_tokens (%(completion)s); completion_tokens "
            "must include them."
        ),
        "catalog.rating.audio_over_completion": gettext_noop(
            "reasoning_tokens and audio_completion_tokens (%(output)s) exceed completion_tokens "
            "(%(completion)s); completion_tokens must include them."
        ),
        "catalog.rating.no_tier": gettext_noop(
            "No price tier of %(model)s in %(priced_by)s covers %(prompt)s prompt tokens."
        ),
        "catalog.rating.no_tier_top": gettext_noop(
            "No price tier of %(model)s in %(priced_by)s covers %(prompt)s prompt tokens; the highest tier "
            "ends at %(top)s."
        ),
        "catalog.rating.no_image_price": gettext_noop("%(priced_by)s has no per-image price for %(model)s."),
        "catalog.rating.no_audio_price": gettext_noop(
            "%(priced_by)s has no per-second audio price for %(model)s."
        ),
        "catalog.rating.not_in_force": gettext_noop(
            "%(priced_by)s prices for %(model)s are not in force at %(at)s."
        ),
    }
)
