"""``GET /api/v1/reports/ecl?as_of=YYYY-MM-DD[&rates=R1,R2,R3,R4,R5]``: expected credit loss at a date.

The same JSON as ``python manage.py ecl --format json`` (``billing.exposure.ecl_json``), read only: it
measures, it never posts. Signed-in staff of the roles that read the ECL page (admin, finance, auditor);
sales, support, portal users, gateway tokens and anonymous callers are refused (403: session
authentication has no challenge to offer, so DRF answers 403, not 401). Bad input is a 400 naming the
parameter. A currency without a rate into the base currency at the date is no error: its own figures are
there, the base view's amounts are null and ``missing_rates`` names the pair. Only derived rates, which pool
the history in the base currency, cannot be measured then: a 409 naming the pairs.
"""

import datetime as dt

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import StaffRole
from billing.exposure.ecl import DerivedRatesMissing, EclInputError, ecl_measure, pairs_text, rates_parse
from billing.exposure.ecl_history import EclError
from billing.exposure.ecl_json import report_json
from common.api_input import AS_OF_EXPECTED, query_date
from common.api_schema import NOT_ACCEPTABLE, SESSION_REFUSED, error

ECL_READERS = (StaffRole.ADMIN, StaffRole.FINANCE, StaffRole.AUDITOR)


class ReadsEcl(BasePermission):
    message = "Only admin, finance and auditor staff may read expected credit loss."

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not (user and user.is_authenticated and user.is_operator_staff):
            return False
        return user.staff_role in ECL_READERS


_BUCKET = inline_serializer(
    "EclBucket",
    {
        "bucket": serializers.ChoiceField(choices=["current", "d1_30", "d31_60", "d61_90", "d90_plus"]),
        "gross": serializers.CharField(help_text="Receivables open in the bucket, to the minor unit."),
        "rate": serializers.CharField(help_text="Loss rate in percent: 11, 14.285714, 100."),
        "ecl": serializers.CharField(help_text="gross × rate ÷ 100, rounded once, half up."),
    },
    many=True,
)
_FIGURES = {
    "buckets": _BUCKET,
    "total": serializers.CharField(help_text="Allowance required: the sum of the buckets' ECL."),
    "gross_total": serializers.CharField(),
    "prior_allowance": serializers.CharField(help_text="Allowance for doubtful debts held at the date."),
    "change": serializers.CharField(help_text="total − prior_allowance: a charge (+) or a release (−)."),
}
_BASE_NULL = " Null when a currency has no rate into the base currency (see missing_rates)."
_BASE_BUCKET = inline_serializer(
    "EclBaseBucket",
    {
        "bucket": serializers.ChoiceField(choices=["current", "d1_30", "d31_60", "d61_90", "d90_plus"]),
        "gross": serializers.CharField(allow_null=True, help_text="In the base currency." + _BASE_NULL),
        "rate": serializers.CharField(help_text="Loss rate in percent: 11, 14.285714, 100."),
        "ecl": serializers.CharField(allow_null=True, help_text="In the base currency." + _BASE_NULL),
    },
    many=True,
)
_BASE_FIGURES = {
    "buckets": _BASE_BUCKET,
    **{
        name: serializers.CharField(allow_null=True, help_text=((field.help_text or "") + _BASE_NULL).strip())
        for name, field in _FIGURES.items()
        if name != "buckets"
    },
}
_MISSING = serializers.ListField(
    child=serializers.CharField(),
    help_text="Each currency with no rate into the base currency on or before as_of, as "
    "'JPY→CNY 2026-12-06'; empty when every currency has one.",
)
ECL_SCHEMA = inline_serializer(
    "EclReport",
    {
        "as_of": serializers.DateField(),
        "base_currency": serializers.CharField(),
        "method": serializers.ChoiceField(
            choices=["given", "entered", "derived"],
            help_text="given: the rates parameter; entered: the matrix finance entered; derived: the "
            "loss-rate method on the book's history.",
        ),
        "rates": serializers.ListField(child=serializers.CharField(), help_text="Percent, bucket order."),
        **_BASE_FIGURES,
        "missing_rates": _MISSING,
        "posted": serializers.BooleanField(help_text="Always false here: the API never posts."),
        "currencies": serializers.DictField(
            child=inline_serializer("EclCurrency", _FIGURES),
            help_text="The same figures per currency, in that currency: they need no exchange rate.",
        ),
        "derivation": serializers.DictField(
            required=False,
            help_text="Derived rates only: the cohorts (amounts that reached each bucket, loss, raw rates), "
            "the window of due dates and the adjustment.",
        ),
    },
)
INPUT_ERROR = inline_serializer(
    "EclQueryError",
    {"error": serializers.CharField(), "field": serializers.CharField(help_text="as_of or rates.")},
)
CONFLICT = inline_serializer(
    "EclConflict",
    {
        "error": serializers.CharField(),
        "missing_rates": serializers.ListField(
            child=serializers.CharField(),
            required=False,
            help_text="Derived rates only: the pairs the pooled history needs, as 'JPY→CNY 2026-12-06'.",
        ),
    },
)


class EclReportView(APIView):
    permission_classes = [ReadsEcl]

    @extend_schema(
        operation_id="reports_ecl",
        summary="Expected credit loss by provision matrix (IFRS 9 simplified approach)",
        parameters=[
            OpenApiParameter(
                "as_of", dt.date, description="End of this day (default today); today or earlier."
            ),
            OpenApiParameter(
                "rates",
                str,
                description="Five loss rates in percent for current, 1–30, 31–60, 61–90 and over 90 days, "
                "comma-separated (11,15,25,31,100), each 0–100. Default: the configured matrix.",
            ),
        ],
        responses={
            200: ECL_SCHEMA,
            400: INPUT_ERROR,
            403: error(
                "Not signed in (session authentication: anonymous callers get 403, not 401), or not admin, "
                f"finance or auditor staff. {SESSION_REFUSED}"
            ),
            406: error(NOT_ACCEPTABLE),
            409: OpenApiResponse(
                CONFLICT,
                description="The matrix derives its rates from history and there is none, or the history "
                "is pooled in the base currency and a currency has no rate into it (missing_rates names "
                "the pairs). A missing rate with given or entered rates is no error: see missing_rates.",
            ),
        },
    )
    def get(self, request):
        params = request.query_params
        try:
            day = query_date(params.get("as_of", ""))
            if day is None:
                raise EclInputError("as_of", str(AS_OF_EXPECTED))
            rates = rates_parse(params["rates"]) if "rates" in params else None
            answer = report_json(ecl_measure(day, rates=rates))
        except EclInputError as exc:
            return Response({"error": exc.message, "field": exc.field}, status=400)
        except DerivedRatesMissing as exc:
            return Response({"error": str(exc), "missing_rates": pairs_text(exc.pairs)}, status=409)
        except EclError as exc:
            # Derived rates with no history to derive them from: the matrix, not the request, must change.
            return Response({"error": str(exc)}, status=409)
        return Response(answer)
