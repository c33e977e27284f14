"""``GET /api/v1/gateway/status?key=…``: may the gateway serve this key's customer right now?"""

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from billing.gateway.status import status_for_key
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
        parameters=[StatusQuerySerializer],
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
        answer = status_for_key(source=request.auth, key=key)
        if answer is None:
            return Response({"detail": _("Unknown gateway key %(key)r.") % {"key": key}}, status=404)
        return Response(answer)
