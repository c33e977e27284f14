"""Stored text of price imports (common.stored_text): why an entry of a LiteLLM or CSV file was skipped.
The msgids are the reasons as the parsers write them (``litellm``, ``litellm_values``, ``litellm_windows``,
``providers``, ``apply``); ``apply.skip_stored`` reads a reason back into its key and parameters."""

from django.utils.translation import gettext_noop

from common.stored_text import messages_register

messages_register(
    {
        "catalog.import.skip.other_provider": gettext_noop("another provider's entry"),
        "catalog.import.skip.no_model_named": gettext_noop("no model named %(name)s (add an alias)"),
        "catalog.import.skip.unknown_model": gettext_noop(
            "unknown model (add an alias, or import with models created)"
        ),
        "catalog.import.skip.other_vendor": gettext_noop("belongs to %(vendor)s, not %(other)s"),
        "catalog.import.skip.another_key": gettext_noop("another key for %(model)s; %(used)s used"),
        "catalog.import.skip.not_listed": gettext_noop("not listed under %(vendor)s"),
        "catalog.import.skip.provider_unmapped": gettext_noop(
            "provider %(provider)s is not mapped to a vendor (map it)"
        ),
        "catalog.import.skip.provider_skipped": gettext_noop("provider %(provider)s is mapped to skip"),
        "catalog.import.skip.reseller_channel": gettext_noop(
            "reseller channel %(provider)s: import it into its channel book (the provider option)"
        ),
        "catalog.import.skip.bad_name": gettext_noop("the name is not valid text (NUL or a lone surrogate)"),
        "catalog.import.skip.not_object": gettext_noop("expected an object of prices"),
        "catalog.import.skip.mode": gettext_noop("mode %(mode)s is not priced here"),
        "catalog.import.skip.per_second": gettext_noop(
            "priced per second of video or audio outside an audio mode, not per token"
        ),
        "catalog.import.skip.no_token_price": gettext_noop("no input and output price per token"),
        "catalog.import.skip.no_token_price_units": gettext_noop(
            "no input and output price per token (priced per %(units)s)"
        ),
        "catalog.import.skip.threshold": gettext_noop(
            "%(entry)s: the token threshold is not a number of at most 9 digits"
        ),
        "catalog.import.skip.tiers_list": gettext_noop("tiered_pricing: expected a list of tiers"),
        "catalog.import.skip.expected_object": gettext_noop("%(entry)s: expected an object"),
        "catalog.import.skip.expected_list": gettext_noop("%(entry)s: expected a list"),
        "catalog.import.skip.tier_shape": gettext_noop(
            "tiered_pricing of another shape (%(other)s, not a range of prompt tokens)"
        ),
        "catalog.import.skip.range_pair": gettext_noop("%(entry)s: expected [lo, hi]"),
        "catalog.import.skip.range_counts": gettext_noop(
            "%(entry)s: %(value)s is not a pair of token counts"
        ),
        "catalog.import.skip.tier_prices": gettext_noop(
            "%(entry)s: a tier needs an input and an output price (here or at the top level)"
        ),
        "catalog.import.skip.no_tiers": gettext_noop("tiered_pricing: no tiers"),
        "catalog.import.skip.tier_threshold": gettext_noop(
            "service tier %(tier)s has a context threshold (%(tokens)s tokens) the standard prices lack"
        ),
        "catalog.import.skip.not_number": gettext_noop("%(entry)s: %(value)s is not a number"),
        "catalog.import.skip.not_price": gettext_noop(
            "%(entry)s: %(value)s is not a price (negative or not finite)"
        ),
        "catalog.import.skip.too_large": gettext_noop("%(entry)s: %(value)s is too large"),
        "catalog.import.skip.places_per_million": gettext_noop(
            "%(entry)s: %(value)s per million tokens has more than %(places)s decimal places"
        ),
        "catalog.import.skip.places": gettext_noop(
            "%(entry)s: %(value)s has more than %(places)s decimal places"
        ),
        "catalog.import.skip.time_zone": gettext_noop("%(entry)s: %(value)s is not a time zone"),
        "catalog.import.skip.no_off_peak": gettext_noop("%(entry)s: no off-peak price"),
        "catalog.import.skip.weekdays": gettext_noop("%(entry)s: %(value)s is not a list of weekdays"),
        "catalog.import.skip.tiers": gettext_noop("tiers: %(problem)s"),
    }
)
