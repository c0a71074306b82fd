"""HTTP endpoints of the product service: thin views over services/, selectors.py and caching.py."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from products import caching, selectors
from products.serializers import ProductOutputSerializer
from products.services import catalog
from shared.auth.permissions import IsStaffOrReadOnly
from shared.http import fields
from shared.http.params import CursorField, IdListField, object_id, query
from shared.http.views import APIView


class ProductPageSerializer(serializers.Serializer):
    count = serializers.IntegerField(help_text="Active products the filters match (see `count_is_estimate`).")
    count_is_estimate = serializers.BooleanField(
        help_text="True when `count` is the database planner's estimate (a large result), false when counted."
    )
    page = serializers.IntegerField(
        allow_null=True, help_text="This page's number: for the first page and pages asked for by `page`."
    )
    page_size = serializers.IntegerField()
    next_page = serializers.IntegerField(allow_null=True, help_text="The next page's number (the slow way).")
    next = serializers.CharField(allow_null=True, help_text="Give it as `cursor` for the next page; null at the end.")
    results = ProductOutputSerializer(many=True)


class ProductInputSerializer(serializers.Serializer):
    # bounds match the columns of Product
    sku = serializers.RegexField(r"^[A-Za-z0-9._-]{1,64}$")
    name = fields.CharField(max_length=200)
    description = fields.CharField(required=False, allow_blank=True, default="")
    category = serializers.SlugField(max_length=64)
    price = fields.DecimalField(max_digits=10, decimal_places=2, min_value=0)
    stock = fields.IntegerField(min_value=0, max_value=fields.INT32_MAX, default=0)
    is_active = serializers.BooleanField(default=True)


class ProductUpdateSerializer(ProductInputSerializer):
    sku = None  # the SKU decides the shard


class ProductLookupOutputSerializer(serializers.Serializer):
    results = ProductOutputSerializer(many=True)


class ProductListApi(APIView):
    permission_classes = [IsStaffOrReadOnly]

    class FilterSerializer(serializers.Serializer):
        category = fields.CharField(default="", allow_blank=True, help_text="A category slug.")
        search = fields.CharField(
            default="",
            allow_blank=True,
            help_text="Part of the name (3 characters or more), or the exact SKU (the first 100 characters count).",
        )
        ordering = serializers.ChoiceField(
            choices=list(selectors.ORDERINGS),
            default="-created",
            help_text="A leading `-` sorts descending. With a cursor: the cursor's ordering (or leave it out).",
        )
        cursor = CursorField(keyset=selectors.CATALOG)
        page = fields.IntegerField(
            min_value=1,
            max_value=selectors.PAGE_NUMBER_MAX,
            required=False,
            help_text="A page number: the slow way, up to 200 (follow `next` with `cursor` instead).",
        )
        page_size = fields.IntegerField(min_value=1, max_value=100, default=20)

        def validate(self, attrs):
            cursor = attrs.get("cursor")
            if cursor:
                if "page" in attrs:
                    raise serializers.ValidationError({"cursor": ["Give a cursor or a page number, not both."]})
                if self.initial_data.get("ordering") and attrs["ordering"] != cursor.ordering:
                    raise serializers.ValidationError({"ordering": ["The cursor belongs to another ordering."]})
                attrs["ordering"] = cursor.ordering
            return attrs

    @extend_schema(
        operation_id="products_list",
        parameters=[FilterSerializer],
        responses={200: ProductPageSerializer},
        tags=["products"],
        description=(
            "The active catalog, one page at a time. Follow `next` with `?cursor=` (and the same filters): "
            "each page costs the same however deep it is. `page` numbers are the bounded slow way. "
            "`count` is exact for small results and the planner's estimate for large ones (`count_is_estimate`)."
        ),
    )
    def get(self, request):
        filters = self.FilterSerializer(data=query(request))
        filters.is_valid(raise_exception=True)
        wanted = filters.validated_data
        cursor = wanted.get("cursor") or None
        return Response(
            caching.product_page_data(
                category=wanted["category"] or None,
                search=wanted["search"][:100] or None,
                ordering=wanted["ordering"],
                after=cursor.after if cursor else None,
                page=wanted.get("page"),
                page_size=wanted["page_size"],
            )
        )

    @extend_schema(request=ProductInputSerializer, responses={201: ProductOutputSerializer}, tags=["products"])
    def post(self, request):
        data = ProductInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        product = catalog.product_create(**data.validated_data)
        return Response(ProductOutputSerializer(product).data, status=status.HTTP_201_CREATED)


class ProductLookupApi(APIView):
    """Products by ID, active or not, in one call (no paging): how the order service prices an order."""

    permission_classes = [AllowAny]

    class FilterSerializer(serializers.Serializer):
        ids = IdListField(max_ids=100)

    @extend_schema(
        operation_id="products_lookup",
        parameters=[FilterSerializer],
        responses={200: ProductLookupOutputSerializer},
        tags=["products"],
    )
    def get(self, request):
        filters = self.FilterSerializer(data=query(request))
        filters.is_valid(raise_exception=True)
        products = selectors.products_by_ids(product_ids=filters.validated_data["ids"])
        return Response({"results": ProductOutputSerializer(products, many=True).data})


class ProductDetailApi(APIView):
    permission_classes = [IsStaffOrReadOnly]

    @extend_schema(responses={200: ProductOutputSerializer}, tags=["products"])
    def get(self, request, product_id: str):
        return Response(caching.product_detail_data(product_id=object_id(product_id)))

    @extend_schema(request=ProductUpdateSerializer, responses={200: ProductOutputSerializer}, tags=["products"])
    def patch(self, request, product_id: str):
        data = ProductUpdateSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        product = catalog.product_update(product_id=object_id(product_id), **data.validated_data)
        return Response(ProductOutputSerializer(product).data)

    @extend_schema(responses={204: None}, tags=["products"])
    def delete(self, request, product_id: str):
        catalog.product_delete(product_id=object_id(product_id))
        return Response(status=status.HTTP_204_NO_CONTENT)
