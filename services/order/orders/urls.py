from django.urls import path, register_converter

from orders import apis
from shared.db.apis import ShardReportApi
from shared.http.params import IdConverter

register_converter(IdConverter, "id")

urlpatterns = [
    path("orders/admin/shards/", ShardReportApi.as_view(), name="shard-report"),
    path("orders/", apis.OrderListApi.as_view(), name="order-list"),
    path("orders/<id:order_id>/", apis.OrderDetailApi.as_view(), name="order-detail"),
    path("orders/<id:order_id>/cancel/", apis.OrderCancelApi.as_view(), name="order-cancel"),
]
