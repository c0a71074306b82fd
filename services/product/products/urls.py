from django.urls import path, register_converter

from products import apis
from shared.db.apis import ShardReportApi
from shared.http.params import IdConverter

register_converter(IdConverter, "id")

urlpatterns = [
    path("products/admin/shards/", ShardReportApi.as_view(), name="shard-report"),
    path("products/", apis.ProductListApi.as_view(), name="product-list"),
    path("products/lookup/", apis.ProductLookupApi.as_view(), name="product-lookup"),  # before <product_id>
    path("products/<id:product_id>/", apis.ProductDetailApi.as_view(), name="product-detail"),
]
