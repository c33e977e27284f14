"""The price-quote API: ``POST /api/v1/quotes``."""

import json
from decimal import Decimal

from django.conf import settings
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import ParseError
from rest_framework.parsers import BaseParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.selectors import customer_for_user, home_customer
from catalog.errors import MissingFxRate, PricingError, UnknownModel, UnknownPlan
from catalog.rating import RatingError, Usage, usage_check
from catalog.selectors.pricelist import decimal_text
from catalog.selectors.quotes import Quote, quote
from common.api_input import body_read, printable_text
from common.api_schema import NOT_ACCEPTABLE, SESSION_REFUSED, error, field_errors, too_large

MAX_TOKENS = 10**12
# A quote's body is a few hundred bytes; anything near this is not a quote.
MAX_QUOTE_BYTES = 64 * 1024


class DecimalJSONParser(BaseParser):
    """Parse JSON numbers with a fraction as Decimal, never float (DESIGN.md §4.1), from a body of at most
    ``MAX_QUOTE_BYTES`` (413 beyond). Not DRF's JSONParser: DRF reads ``request.body`` whole for that one."""

    media_type = "application/json"

    def parse(self, stream, media_type=None, parser_context=None):
        context = parser_context or {}
        raw = body_read(context["request"], limit_bytes=MAX_QUOTE_BYTES)
        encoding = context.get("encoding", settings.DEFAULT_CHARSET)
        try:
            return json.loads(raw.decode(encoding), parse_float=Decimal)
        # Not JSON, not UTF-8, or an integer of over 4,300 digits.
        except ValueError as exc:
            raise ParseError(_("JSON parse error - %(error)s") % {"error": exc}) from exc
        # An exponent beyond Decimal's (InvalidOperation).
        except ArithmeticError as exc:
            raise ParseError(_("The body holds a number too large to read.")) from exc
        except RecursionError as exc:
            raise ParseError(_("The body is nested too deeply to read.")) from exc


def _count(help_text: str) -> serializers.IntegerField:
    return serializers.IntegerField(min_value=0, max_value=MAX_TOKENS, default=0, help_text=help_text)


class QuoteRequestSerializer(serializers.Serializer):
    customer = serializers.IntegerField(
        required=False, min_value=1, help_text="Customer id; customer users may omit it for their own."
    )
    plan = serializers.CharField(
        required=False,
        max_length=120,
        validators=[printable_text],
        help_text="Plan name, or the name of a sell book (staff only).",
    )
    model = serializers.CharField(
        max_length=200, validators=[printable_text], help_text="Canonical model name or any alias."
    )
    prompt_tokens = _count("All input tokens, cache reads and writes included.")
    cache_read_tokens = _count("Input tokens read from the cache.")
    cache_write_tokens = _count("Input tokens written to the cache (5-minute).")
    cache_write_1h_tokens = _count("Input tokens written to the cache (1-hour).")
    completion_tokens = _count("All output tokens, reasoning included.")
    reasoning_tokens = _count("Reasoning tokens (part of completion_tokens).")
    batch = serializers.BooleanField(default=False, help_text="A batch API request.")
    at = serializers.DateTimeField(
        required=False,
        help_text="Event time; prices in force then, and the time-of-day window (off-peak) covering it. "
        "Default: now.",
    )
    service_tier = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=20,
        validators=[printable_text],
        help_text="The service tier the request names (flex, priority); blank: standard. A tier the model "
        "has no prices for is quoted at the standard prices.",
    )
    audio_prompt_tokens = _count("Audio input tokens (part of prompt_tokens).")
    audio_completion_tokens = _count("Audio output tokens (part of completion_tokens).")
    images = _count("Images generated.")
    audio_seconds = serializers.DecimalField(
        required=False,
        min_value=0,
        max_digits=15,
        decimal_places=3,
        help_text="Seconds of audio, to the millisecond.",
    )

    def validate(self, attrs):
        if attrs.get("customer") is not None and attrs.get("plan"):
            raise serializers.ValidationError({"plan": [_("Give a customer or a plan, not both.")]})
        try:
            usage_check(_usage(attrs))
        except RatingError as exc:
            raise serializers.ValidationError({_request_field(exc.field): [exc.message]}) from None
        return attrs


def _request_field(usage_field: str) -> str:
    """The request field a rating refusal is about: audio is asked for in seconds, counted in milliseconds."""
    return "audio_seconds" if usage_field == "audio_ms" else usage_field


def _money(
    help_text: str = "Decimal string, full precision, not rounded.", **kwargs
) -> serializers.CharField:
    return serializers.CharField(help_text=help_text, **kwargs)


class QuoteLineSerializer(serializers.Serializer):
    token_class = serializers.CharField()
    tokens = serializers.IntegerField()
    unit_price = serializers.CharField(
        help_text="Per million tokens; per image for 'image', per second for 'audio_second', per request for "
        "'request'."
    )
    amount = _money()


class QuoteTierSerializer(serializers.Serializer):
    lo = serializers.IntegerField(help_text="Exclusive lower bound of prompt tokens.")
    hi = serializers.IntegerField(allow_null=True, help_text="Inclusive upper bound; null: no limit.")
    label = serializers.CharField()


class HoursPricesSerializer(serializers.Serializer):
    window = serializers.CharField(help_text="Blank: standard hours; else the window's label.")
    hours = serializers.CharField(help_text="The window's weekdays and hours, in the response's language.")
    time_zone = serializers.CharField()
    prices = serializers.DictField(
        child=serializers.CharField(), help_text="Per million tokens by token class, full precision."
    )


class QuoteResponseSerializer(serializers.Serializer):
    model = serializers.CharField()
    plan = serializers.CharField()
    plan_source = serializers.CharField()
    at = serializers.DateTimeField()
    currency = serializers.CharField()
    total = _money()
    cost = _money("Our cost in the same currency; operator staff only.", allow_null=True)
    margin = _money("total − cost; operator staff only.", allow_null=True)
    margin_rate = serializers.CharField(allow_null=True, help_text="margin / total, to six places.")
    book = serializers.CharField(help_text="Price book the sell prices come from.")
    basis = serializers.CharField(help_text="How the plan derives its prices from that book.")
    cost_book = serializers.CharField(allow_null=True)
    tier = QuoteTierSerializer()
    batch = serializers.BooleanField()
    lines = QuoteLineSerializer(many=True)
    warnings = serializers.ListField(child=serializers.CharField())
    window = serializers.CharField(
        help_text="The time-of-day window that priced the request; blank: standard."
    )
    service_tier = serializers.CharField(help_text="The service tier whose prices applied; blank: standard.")
    hours_prices = HoursPricesSerializer(
        many=True, help_text="The request's tier at standard hours, then in each time-of-day window."
    )
    unit_prices = serializers.DictField(
        child=serializers.CharField(allow_null=True),
        help_text="Audio input/output per million tokens, per image, per audio second; null: not priced.",
    )


class QuoteErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()
    suggestions = serializers.ListField(child=serializers.CharField(), required=False)


def _usage(data: dict) -> Usage:
    return Usage(
        prompt_tokens=data.get("prompt_tokens", 0),
        cache_read_tokens=data.get("cache_read_tokens", 0),
        cache_write_tokens=data.get("cache_write_tokens", 0),
        cache_write_1h_tokens=data.get("cache_write_1h_tokens", 0),
        completion_tokens=data.get("completion_tokens", 0),
        reasoning_tokens=data.get("reasoning_tokens", 0),
        batch=data.get("batch", False),
        at=data.get("at"),
        audio_prompt_tokens=data.get("audio_prompt_tokens", 0),
        audio_completion_tokens=data.get("audio_completion_tokens", 0),
        images=data.get("images", 0),
        audio_ms=int(data.get("audio_seconds", 0) * 1000),
        service_tier=(data.get("service_tier") or "").strip().lower(),
    )


def quote_payload(result: Quote, *, show_cost: bool) -> dict:
    """Return the JSON body for a quote; our cost and margin only for operator staff.

    Customers see the plan's name as the book and no basis: how a price derives ("wholesale × (1 + 0.2)",
    a cost book's name) would tell a reseller's customer what its seller pays.
    """
    sell = result.sell
    cost = result.cost
    return {
        "model": result.model.name,
        "plan": result.plan,
        "plan_source": result.plan_source,
        "at": result.at.isoformat(),
        "currency": result.currency,
        "total": decimal_text(sell.total),
        "cost": decimal_text(cost.total) if show_cost and cost else None,
        "margin": decimal_text(result.margin) if show_cost and result.margin is not None else None,
        "margin_rate": decimal_text(result.margin_rate)
        if show_cost and result.margin_rate is not None
        else None,
        "book": sell.schedule.book if show_cost else result.plan,
        "basis": sell.schedule.basis if show_cost else "",
        "cost_book": cost.schedule.book if show_cost and cost else None,
        "tier": {"lo": sell.tier.lo, "hi": sell.tier.hi, "label": sell.tier.label},
        "batch": sell.batch,
        "lines": [
            {
                "token_class": line.token_class,
                "tokens": line.tokens,
                "unit_price": decimal_text(line.unit_price),
                "amount": decimal_text(line.amount),
            }
            for line in sell.lines
        ],
        "warnings": list(result.warnings) if show_cost else [],
        "window": result.window,
        "service_tier": result.service_tier,
        "hours_prices": [
            {
                "window": row.label,
                "hours": row.hours,
                "time_zone": row.zone,
                "prices": {name: decimal_text(price) for name, price in row.by_class()},
            }
            for row in result.hours_prices
        ],
        "unit_prices": {
            name: decimal_text(price) if price is not None else None for name, price in result.unit_prices
        },
    }


def pricing_error_response(exc: PricingError, *, staff: bool = False) -> Response:
    """The refusal as the API answers it; operator staff read its whole cause (``detail``)."""
    message = exc.detail if staff else exc.message
    body = {exc.field: [message], "detail": message}
    if isinstance(exc, UnknownModel | UnknownPlan):
        body["suggestions"] = exc.suggestions
    code = status.HTTP_409_CONFLICT if isinstance(exc, MissingFxRate) else status.HTTP_404_NOT_FOUND
    return Response(body, status=code)


class QuoteView(APIView):
    """Price one request for a customer (at its plan) or for a named plan."""

    permission_classes = [IsAuthenticated]
    parser_classes = [DecimalJSONParser]
    # A quote is a read that happens to need a body: auditors may ask for one.
    changes_nothing = True

    @extend_schema(
        operation_id="quote_create",
        request=QuoteRequestSerializer,
        responses={
            200: QuoteResponseSerializer,
            400: field_errors("A field is missing or wrong, or the body is not JSON; the body names it."),
            403: error(
                "Not signed in, no CSRF token with the session, or not allowed to quote by plan. "
                + SESSION_REFUSED
            ),
            404: OpenApiResponse(
                QuoteErrorSerializer, description="Unknown model (with closest names), plan or customer."
            ),
            406: error(NOT_ACCEPTABLE),
            409: error("An exchange rate needed for the event date is missing."),
            413: too_large(f"The body is over {MAX_QUOTE_BYTES} bytes."),
            415: error("A body that is not `application/json`."),
        },
        examples=[
            OpenApiExample(
                "Cached request",
                value={
                    "customer": 7,
                    "model": "kimi-k2.5",
                    "prompt_tokens": 1000000,
                    "cache_read_tokens": 400000,
                },
                request_only=True,
            )
        ],
        description=(
            "All amounts are decimal strings at full precision; prices are per million tokens. "
            f"The body is at most {MAX_QUOTE_BYTES} bytes."
        ),
    )
    def post(self, request):
        serializer = QuoteRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        user = request.user
        staff = user.is_operator_staff
        customer = None
        if data.get("plan"):
            if not staff:
                message = _("Only operator staff may quote by plan name; quote for your customer instead.")
                return Response({"plan": [message], "detail": message}, status=status.HTTP_403_FORBIDDEN)
        elif data.get("customer") is not None:
            customer = customer_for_user(user, data["customer"])
            if customer is None:
                message = _("No customer %(id)s is visible to you.") % {"id": data["customer"]}
                return Response({"customer": [message], "detail": message}, status=status.HTTP_404_NOT_FOUND)
        else:
            customer = home_customer(user)
            if customer is None:
                return Response({"customer": [_("Give a customer id or a plan name.")]}, status=400)
        try:
            result = quote(
                model_name=data["model"], usage=_usage(data), customer=customer, plan_name=data.get("plan")
            )
        except PricingError as exc:
            return pricing_error_response(exc, staff=staff)
        except RatingError as exc:
            return Response({_request_field(exc.field): [exc.message]}, status=status.HTTP_400_BAD_REQUEST)
        return Response(quote_payload(result, show_cost=staff))
