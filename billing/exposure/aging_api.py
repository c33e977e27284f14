"""``GET /api/v1/reports/aging?as_of=YYYY-MM-DD``: the operator's receivables by age, per customer and in
total, in each currency and the base currency (``billing.exposure.aging_report``).

Signed-in staff of the roles that read the aging page (admin, finance, sales, auditor); support, portal
users and gateway tokens are refused. Amounts are decimal strings to each currency's minor unit; a base
figure is null where the currency has no rate at the as-of date (listed in ``missing_rates``).
"""

import datetime as dt

from django.core.exceptions import ValidationError
from django.http import HttpResponse
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import BasePermission
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import StaffRole
from billing.exposure.aging_forms import as_of_check
from billing.exposure.aging_report import AMOUNT_KEYS, AgingReport, aging_report
from billing.receivables.aging import BUCKET_KEYS
from common.api_input import AS_OF_EXPECTED, query_date
from common.api_schema import NOT_ACCEPTABLE, SESSION_REFUSED, error

AGING_ROLES = (StaffRole.ADMIN, StaffRole.FINANCE, StaffRole.SALES, StaffRole.AUDITOR)


class ReadsAging(BasePermission):
    message = "Only admin, finance, sales and auditor staff may read the aging report."

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not (user and user.is_authenticated and user.is_operator_staff):
            return False
        return user.staff_role in AGING_ROLES


def _text(amount) -> str | None:
    return None if amount is None else format(amount, "f")


def _amounts(values: dict) -> dict:
    return {key: _text(values[key]) for key in AMOUNT_KEYS}


def aging_json(report: AgingReport) -> dict:
    """The report as the API answers it (rows by customer code, then currency)."""
    return {
        "as_of": report.as_of.isoformat(),
        "base_currency": report.base_currency,
        "buckets": list(BUCKET_KEYS),
        "customers": [
            {
                "customer": row.party.code,
                "name": row.party.name,
                "seller": row.party.seller_code,
                "currency": row.currency,
                **{key: _text(row.buckets[key]) for key in BUCKET_KEYS},
                "total": _text(row.total),
                "base_total": _text(row.base_total),
            }
            for row in report.rows
        ],
        "totals": {currency: _amounts(sums) for currency, sums in report.totals.items()},
        "base_totals": _amounts(report.base_totals),
        "missing_rates": report.missing_rates,
    }


_AMOUNTS = {key: serializers.CharField() for key in AMOUNT_KEYS}
AGING_SCHEMA = inline_serializer(
    "AgingReport",
    {
        "as_of": serializers.DateField(),
        "base_currency": serializers.CharField(),
        "buckets": serializers.ListField(
            child=serializers.CharField(), help_text="current, d1_30, d31_60, d61_90, d90_plus"
        ),
        "customers": inline_serializer(
            "AgingCustomer",
            {
                "customer": serializers.CharField(help_text="Customer code."),
                "name": serializers.CharField(),
                "seller": serializers.CharField(
                    allow_null=True, help_text="Seller's code; null: the operator."
                ),
                "currency": serializers.CharField(),
                **_AMOUNTS,
                "base_total": serializers.CharField(
                    allow_null=True, help_text="Total in the base currency; null when no rate at as_of."
                ),
            },
            many=True,
        ),
        "totals": serializers.DictField(
            child=inline_serializer("AgingAmounts", _AMOUNTS), help_text="Per currency."
        ),
        "base_totals": inline_serializer("AgingBaseAmounts", _AMOUNTS),
        "missing_rates": serializers.ListField(
            child=serializers.CharField(),
            help_text="Currencies with no rate at as_of: left out of base_totals.",
        ),
    },
)
AS_OF_ERROR = inline_serializer(
    "AgingQueryError", {"error": serializers.CharField(), "field": serializers.CharField()}
)


class AgingReportView(APIView):
    permission_classes = [ReadsAging]

    @extend_schema(
        operation_id="reports_aging",
        summary="Receivables by age (current, 1–30, 31–60, 61–90, over 90 days past due)",
        parameters=[
            OpenApiParameter(
                "as_of",
                dt.date,
                description="End of this day, read from history for a past day (default today); "
                "2000-01-01 to a year ahead.",
            ),
        ],
        responses={
            200: AGING_SCHEMA,
            400: AS_OF_ERROR,
            # Session authentication only: DRF answers a caller without a session 403, never 401.
            403: error(
                "Not signed in (no session: this API has no other authentication), or not admin, finance, "
                f"sales or auditor staff. {SESSION_REFUSED}"
            ),
            406: error(NOT_ACCEPTABLE),
        },
    )
    def get(self, request):
        day = query_date(request.query_params.get("as_of", ""))
        if day is None:
            return Response({"error": str(AS_OF_EXPECTED), "field": "as_of"}, status=400)
        try:
            as_of_check(day)
        except ValidationError as exc:
            return Response({"error": " ".join(exc.messages), "field": "as_of"}, status=400)
        report = aging_report(day)
        # The body of ten thousand customers is rendered once per report version, then served as is.
        body = report.kept("api", lambda: JSONRenderer().render(aging_json(report)))
        return HttpResponse(body, content_type="application/json")
