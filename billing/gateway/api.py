"""``GET /api/v1/gateway/status?key=…``: may the gateway serve this key's customer right now?"""

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from billing.gateway.auth import GatewayTokenAuthentication, IsGatewaySource
from billing.gateway.status import status_for_key

STATUS_SCHEMA = inline_serializer(
    "GatewayStatus",
    {
        "key": serializers.CharField(),
        "customer": serializers.CharField(help_text="Customer code."),
        "status": serializers.ChoiceField(choices=["active", "suspended"]),
        "reasons": serializers.ListField(
            child=serializers.DictField(),
            help_text="code: balance_at_floor | credit_limit | overdue | manual_hold | parent_suspended",
        ),
        "currency": serializers.CharField(),
        "balance": serializers.CharField(
            allow_null=True, help_text="Available prepaid balance, full precision."
        ),
        "floor": serializers.CharField(allow_null=True),
        "balance_headroom": serializers.CharField(allow_null=True, help_text="Balance minus floor."),
        "credit_limit": serializers.CharField(allow_null=True),
        "exposure": serializers.CharField(
            allow_null=True, help_text="Receivable + unbilled − paid deposits."
        ),
        "credit_headroom": serializers.CharField(allow_null=True, help_text="Credit limit minus exposure."),
        "checked_at": serializers.DateTimeField(),
    },
)


class GatewayStatusView(APIView):
    authentication_classes = [GatewayTokenAuthentication]
    permission_classes = [IsGatewaySource]

    @extend_schema(
        operation_id="gateway_status",
        summary="Customer status for a gateway key (cached)",
        parameters=[OpenApiParameter("key", str, required=True, description="The key the gateway reports.")],
        responses={200: STATUS_SCHEMA, 404: OpenApiResponse(description="Unknown key")},
    )
    def get(self, request):
        key = request.query_params.get("key", "").strip()
        if not key:
            return Response({"detail": "Pass the customer's gateway key as ?key=…"}, status=400)
        answer = status_for_key(source=request.auth, key=key)
        if answer is None:
            return Response({"detail": f"Unknown gateway key {key!r}."}, status=404)
        return Response(answer)
