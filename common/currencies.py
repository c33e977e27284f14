"""Which currency codes exist: ISO 4217's active currencies (no precious metals, funds or test codes).

Forms offer the currencies the product is configured for (``known_currencies``); services refuse any code
that is no currency at all, whoever calls them, so a plan or a batch of codes is never created in one.
"""

from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

ISO_4217 = frozenset(
    [
        "AED",
        "AFN",
        "ALL",
        "AMD",
        "ANG",
        "AOA",
        "ARS",
        "AUD",
        "AWG",
        "AZN",
        "BAM",
        "BBD",
        "BDT",
        "BGN",
        "BHD",
        "BIF",
        "BMD",
        "BND",
        "BOB",
        "BRL",
        "BSD",
        "BTN",
        "BWP",
        "BYN",
        "BZD",
        "CAD",
        "CDF",
        "CHF",
        "CLP",
        "CNY",
        "COP",
        "CRC",
        "CUP",
        "CVE",
        "CZK",
        "DJF",
        "DKK",
        "DOP",
        "DZD",
        "EGP",
        "ERN",
        "ETB",
        "EUR",
        "FJD",
        "FKP",
        "GBP",
        "GEL",
        "GHS",
        "GIP",
        "GMD",
        "GNF",
        "GTQ",
        "GYD",
        "HKD",
        "HNL",
        "HTG",
        "HUF",
        "IDR",
        "ILS",
        "INR",
        "IQD",
        "IRR",
        "ISK",
        "JMD",
        "JOD",
        "JPY",
        "KES",
        "KGS",
        "KHR",
        "KMF",
        "KPW",
        "KRW",
        "KWD",
        "KYD",
        "KZT",
        "LAK",
        "LBP",
        "LKR",
        "LRD",
        "LSL",
        "LYD",
        "MAD",
        "MDL",
        "MGA",
        "MKD",
        "MMK",
        "MNT",
        "MOP",
        "MRU",
        "MUR",
        "MVR",
        "MWK",
        "MXN",
        "MYR",
        "MZN",
        "NAD",
        "NGN",
        "NIO",
        "NOK",
        "NPR",
        "NZD",
        "OMR",
        "PAB",
        "PEN",
        "PGK",
        "PHP",
        "PKR",
        "PLN",
        "PYG",
        "QAR",
        "RON",
        "RSD",
        "RUB",
        "RWF",
        "SAR",
        "SBD",
        "SCR",
        "SDG",
        "SEK",
        "SGD",
        "SHP",
        "SLE",
        "SOS",
        "SRD",
        "SSP",
        "STN",
        "SVC",
        "SYP",
        "SZL",
        "THB",
        "TJS",
        "TMT",
        "TND",
        "TOP",
        "TRY",
        "TTD",
        "TWD",
        "TZS",
        "UAH",
        "UGX",
        "USD",
        "UYU",
        "UZS",
        "VES",
        "VND",
        "VUV",
        "WST",
        "XAF",
        "XCD",
        "XCG",
        "XOF",
        "XPF",
        "YER",
        "ZAR",
        "ZMW",
        "ZWG",
    ]
)


def currency_exists(code: str) -> bool:
    return (code or "").upper() in ISO_4217


def currency_check(code: str, *, field: str = "currency") -> str:
    """Return ``code`` upper-cased; raise ValidationError on ``field`` when it is no ISO 4217 currency."""
    code = (code or "").strip().upper()
    if code not in ISO_4217:
        raise ValidationError(
            {
                field: _("%(code)s is not a currency; use an ISO 4217 code such as CNY or USD.")
                % {"code": code}
            }
        )
    return code


def configured_currencies() -> list[str]:
    """The currencies settings name: the base currency first, then those with card top-up limits, fees or
    low-balance thresholds, alphabetically."""
    named = {
        *settings.TOPUP_CARD_LIMITS,
        *settings.TOPUP_CARD_FEE_FIXED,
        *settings.WALLET_LOW_BALANCE_THRESHOLDS,
    }
    rest = sorted(c for c in named if c in ISO_4217 and c != settings.BASE_CURRENCY)
    return [settings.BASE_CURRENCY, *rest]


# ISO 4217 exponents that differ from the usual two decimals. Stripe follows ISO here.
ZERO_DECIMAL_CURRENCIES = frozenset(
    {
        "BIF",
        "CLP",
        "DJF",
        "GNF",
        "JPY",
        "KMF",
        "KRW",
        "MGA",
        "PYG",
        "RWF",
        "UGX",
        "VND",
        "VUV",
        "XAF",
        "XOF",
        "XPF",
    }
)
THREE_DECIMAL_CURRENCIES = frozenset({"BHD", "JOD", "KWD", "OMR", "TND"})


def currency_exponent(currency: str) -> int:
    """Return how many decimals ``currency``'s minor unit has (JPY 0, CNY and USD 2, KWD 3)."""
    currency = currency.upper()
    if currency in ZERO_DECIMAL_CURRENCIES:
        return 0
    if currency in THREE_DECIMAL_CURRENCIES:
        return 3
    return 2


def amount_display(value, currency: str = "") -> str:
    """``value`` for people: rounded half up to ``currency``'s minor unit (two decimals with no currency),
    with thousands separators: 1,324.31 CNY, 1,235 JPY, 1.500 KWD. None and "" show as a dash.

    Pages show this; the exact amount goes on hover and into exports (``billing.templatetags.money``).
    """
    if value is None or value == "":
        return "—"
    places = currency_exponent(currency) if currency else 2
    rounded = Decimal(value).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    if rounded == 0:
        rounded = abs(rounded)  # -0.001 shows 0.00, not -0.00
    return f"{rounded:,.{places}f}"
