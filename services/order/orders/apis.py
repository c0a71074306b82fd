"""HTTP endpoints of the order service: thin views over services.py and selectors.py."""

from datetime import UTC

from django.conf import settings
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from orders import selectors, services
from shared.http import fields
from shared.http.params import LARGEST_ID, CursorField, object_id, query
from shared.http.schema import error
from shared.http.views import APIView


class OrderItemOutputSerializer(serializers.Serializer):
    product_id = serializers.CharField()
    product_name = serializers.CharField()
    quantity = serializers.IntegerField()
    unit_price = serializers.DecimalField(max_digits=10, decimal_places=2)
    line_total = serializers.DecimalField(max_digits=14, decimal_places=2)


class StatusChangeOutputSerializer(serializers.Serializer):
    status = serializers.CharField()
    reason = serializers.CharField()
    at = serializers.DateTimeField(source="created_at", default_timezone=UTC)


class OrderOutputSerializer(serializers.Serializer):
    id = serializers.CharField()
    status = serializers.CharField()
    total = serializers.DecimalField(max_digits=14, decimal_places=2)
    items = OrderItemOutputSerializer(many=True)
    history = StatusChangeOutputSerializer(many=True)
    created_at = serializers.DateTimeField(default_timezone=UTC)
    updated_at = serializers.DateTimeField(default_timezone=UTC)


class OrderListOutputSerializer(serializers.Serializer):
    page_size = serializers.IntegerField()
    next = serializers.CharField(allow_null=True, help_text="Give it as `cursor` for the next page; null at the end.")
    results = OrderOutputSerializer(many=True)


class OrderItemInputSerializer(serializers.Serializer):
    product_id = fields.IntegerField(min_value=1, max_value=LARGEST_ID)
    quantity = fields.IntegerField(min_value=1, max_value=1000)


def _user_id(request) -> int:
    return int(request.user.id)


class OrderListApi(APIView):
    permission_classes = [IsAuthenticated]

    class InputSerializer(serializers.Serializer):
        items = OrderItemInputSerializer(many=True, allow_empty=False, max_length=settings.ORDER_MAX_ITEMS)

        def validate_items(self, items):
            ids = [item["product_id"] for item in items]
            if len(ids) != len(set(ids)):
                raise serializers.ValidationError("Each product may appear once; use its quantity.")
            return items

    class FilterSerializer(serializers.Serializer):
        cursor = CursorField(keyset=selectors.ORDER_LIST)
        page_size = fields.IntegerField(min_value=1, max_value=100, default=50)

    @extend_schema(
        operation_id="orders_list",
        parameters=[FilterSerializer],
        responses={200: OrderListOutputSerializer},
        tags=["orders"],
        description="Your orders, newest first, one page at a time: follow `next` with `?cursor=`.",
    )
    def get(self, request):
        filters = self.FilterSerializer(data=query(request))
        filters.is_valid(raise_exception=True)
        cursor = filters.validated_data.get("cursor") or None
        page_size = filters.validated_data["page_size"]
        page = selectors.order_list(
            user_id=_user_id(request), after=cursor.after if cursor else None, page_size=page_size
        )
        return Response(
            {
                "page_size": page_size,
                "next": selectors.ORDER_LIST.cursor("-created", page.items[-1]) if page.has_next else None,
                "results": OrderOutputSerializer(page.items, many=True).data,
            }
        )

    @extend_schema(
        request=InputSerializer,
        parameters=[OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER)],
        responses={202: OrderOutputSerializer, 409: error("This Idempotency-Key was used with a different request.")},
        tags=["orders"],
    )
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        key = request.headers.get("Idempotency-Key", "").strip()[:128] or None
        order = services.order_place(
            user_id=_user_id(request),
            items=data.validated_data["items"],
            authorization=request.headers.get("Authorization", ""),
            idempotency_key=key,
        )
        return Response(OrderOutputSerializer(order).data, status=status.HTTP_202_ACCEPTED)


class OrderDetailApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses={200: OrderOutputSerializer}, tags=["orders"])
    def get(self, request, order_id: str):
        order = selectors.order_get(user_id=_user_id(request), order_id=object_id(order_id))
        return Response(OrderOutputSerializer(order).data)


class OrderCancelApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        request=None,
        responses={200: OrderOutputSerializer, 409: error("The order is in a state that cannot be cancelled.")},
        tags=["orders"],
    )
    def post(self, request, order_id: str):
        order = services.order_cancel(user_id=_user_id(request), order_id=object_id(order_id))
        return Response(OrderOutputSerializer(order).data)
