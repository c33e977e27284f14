"""``GET /api/v1/gateway/status?key=…``: may the gateway serve this key's customer right now?

Answered from the cache (Redis) when it holds the status, else from the database; with the cache down
every answer comes from the database. ``X-Status-Source`` says which, so a gateway (or its operator) can
tell a cached answer, up to ``STATUS_TTL`` seconds old, from a fresh one.
"""

from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from billing.gateway.status import STATUS_TTL, status_for_key
from billing.usage.auth import GatewayTokenAuthentication, IsGatewaySource
from billing.usage.models import GatewayKey
from common.api_input import field_errors_answer, printable_text
from common.api_schema import NOT_ACCEPTABLE, SESSION_REFUSED, error, field_errors

STATUS_SCHEMA = inline_serializer(
    "GatewayStatus",
    {
        "key": serializers.CharField(),
        "customer": serializers.CharField(help_text="Customer code."),
        "status": serializers.ChoiceField(choices=["active", "suspended"]),
        "reasons": serializers.ListField(
            child=serializers.DictField(),
            help_text="code: balance_at_floor | balance_reserve | credit_limit | overdue | overdue_days | "
            "usage_spike | manual_hold | parent_suspended",
        ),
        "currency": serializers.CharField(),
        "balance": serializers.CharField(
            allow_null=True, help_text="Available prepaid balance, full precision."
        ),
        "floor": serializers.CharField(allow_null=True),
        "balance_headroom": serializers.CharField(allow_null=True, help_text="Balance minus floor."),
        "limit": serializers.ChoiceField(
            choices=["soft", "hard"],
            allow_null=True,
            help_text="soft: suspended once the balance is at or below the floor. hard: suspended while "
            "balance − reserve is at or below the floor.",
        ),
        "reserve": serializers.CharField(
            allow_null=True,
            help_text="Hard limit: the usage charged over the trailing hour × reserve minutes ÷ 60.",
        ),
        "credit_limit": serializers.CharField(allow_null=True),
        "exposure": serializers.CharField(
            allow_null=True, help_text="Receivable + unbilled − paid deposits."
        ),
        "credit_headroom": serializers.CharField(allow_null=True, help_text="Credit limit minus exposure."),
        "checked_at": serializers.DateTimeField(),
    },
)


SOURCE_HEADER = "X-Status-Source"
SOURCE_HEADER_SCHEMA = OpenApiParameter(
    SOURCE_HEADER,
    OpenApiTypes.STR,
    location=OpenApiParameter.HEADER,
    enum=["cache", "database"],
    response=[200],
    description=f"Where this answer came from. cache: the cached status, up to {STATUS_TTL} seconds old. "
    "database: computed now from the database, because the cache did not hold it or could not be reached "
    "(the service keeps answering while its cache is down, more slowly).",
)


class StatusQuerySerializer(serializers.Serializer):
    key = serializers.CharField(
        max_length=GatewayKey._meta.get_field("key").max_length,
        validators=[printable_text],
        help_text="The key the gateway reports for the customer.",
    )


class GatewayStatusView(APIView):
    authentication_classes = [GatewayTokenAuthentication]
    permission_classes = [IsGatewaySource]

    @extend_schema(
        operation_id="gateway_status",
        summary="Customer status for a gateway key (cached)",
        parameters=[StatusQuerySerializer, SOURCE_HEADER_SCHEMA],
        responses={
            200: STATUS_SCHEMA,
            400: field_errors("`key` is missing, longer than 200 characters or holds control characters."),
            401: error("Missing, unknown or disabled gateway token."),
            403: error(SESSION_REFUSED),
            404: error("No customer has this key."),
            406: error(NOT_ACCEPTABLE),
        },
    )
    def get(self, request):
        query = StatusQuerySerializer(data=request.query_params)
        if not query.is_valid():
            return Response(field_errors_answer(query.errors), status=400)
        key = query.validated_data["key"]
        status = status_for_key(source=request.auth, key=key)
        if status is None:
            return Response({"detail": _("Unknown gateway key %(key)r.") % {"key": key}}, status=404)
        return Response(status.answer, headers={SOURCE_HEADER: status.source})
