"""HTTP endpoints of the product service: thin views over services.py and selectors.py."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from products import selectors, services
from products.serializers import ProductOutputSerializer
from shared.auth.permissions import IsStaffOrReadOnly
from shared.http.errors import ApplicationError
from shared.http.params import bounded_int, id_list, object_id


class ProductPageSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    page = serializers.IntegerField()
    page_size = serializers.IntegerField()
    next_page = serializers.IntegerField(allow_null=True)
    results = ProductOutputSerializer(many=True)


class ProductInputSerializer(serializers.Serializer):
    sku = serializers.RegexField(r"^[A-Za-z0-9._-]{1,64}$")
    name = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    category = serializers.SlugField(max_length=64)
    price = serializers.DecimalField(max_digits=10, decimal_places=2, min_value=0)
    stock = serializers.IntegerField(min_value=0, default=0)
    is_active = serializers.BooleanField(default=True)


class ProductUpdateSerializer(ProductInputSerializer):
    sku = None  # the SKU decides the shard


LIST_PARAMETERS = [
    OpenApiParameter("category", str),
    OpenApiParameter("search", str),
    OpenApiParameter("ordering", str, enum=list(selectors.ORDERINGS)),
    OpenApiParameter("page", int),
    OpenApiParameter("page_size", int),
    OpenApiParameter("ids", str, description="comma-separated product IDs (no paging)"),
]


class ProductListApi(APIView):
    permission_classes = [IsStaffOrReadOnly]

    @extend_schema(
        operation_id="products_list",
        parameters=LIST_PARAMETERS,
        responses={200: ProductPageSerializer},
        tags=["products"],
    )
    def get(self, request):
        params = request.query_params
        if "ids" in params:
            products = selectors.products_by_ids(product_ids=id_list(params["ids"]))
            data = ProductOutputSerializer(products, many=True).data
            return Response({"count": len(data), "page": 1, "page_size": len(data), "next_page": None, "results": data})
        ordering = params.get("ordering", "-created")
        if ordering not in selectors.ORDERINGS:
            raise ApplicationError(
                "The request is invalid.",
                code="validation_error",
                fields={"ordering": [f"One of {', '.join(selectors.ORDERINGS)}."]},
            )
        return Response(
            selectors.product_page_data(
                category=params.get("category") or None,
                search=(params.get("search") or "").strip()[:100] or None,
                ordering=ordering,
                page=bounded_int(params.get("page"), field="page", default=1, low=1, high=200),
                page_size=bounded_int(params.get("page_size"), field="page_size", default=20, low=1, high=100),
            )
        )

    @extend_schema(request=ProductInputSerializer, responses={201: ProductOutputSerializer}, tags=["products"])
    def post(self, request):
        data = ProductInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        product = services.product_create(**data.validated_data)
        return Response(ProductOutputSerializer(product).data, status=status.HTTP_201_CREATED)


class ProductDetailApi(APIView):
    permission_classes = [IsStaffOrReadOnly]

    @extend_schema(responses={200: ProductOutputSerializer}, tags=["products"])
    def get(self, request, product_id: str):
        return Response(selectors.product_detail_data(product_id=object_id(product_id)))

    @extend_schema(request=ProductUpdateSerializer, responses={200: ProductOutputSerializer}, tags=["products"])
    def patch(self, request, product_id: str):
        data = ProductUpdateSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        product = services.product_update(product_id=object_id(product_id), **data.validated_data)
        return Response(ProductOutputSerializer(product).data)

    @extend_schema(responses={204: None}, tags=["products"])
    def delete(self, request, product_id: str):
        services.product_delete(product_id=object_id(product_id))
        return Response(status=status.HTTP_204_NO_CONTENT)
