from django.urls import path

from orders import apis
from shared.db.apis import ShardReportApi

urlpatterns = [
    path("orders/admin/shards/", ShardReportApi.as_view(), name="shard-report"),
    path("orders/", apis.OrderListApi.as_view(), name="order-list"),
    path("orders/<str:order_id>/", apis.OrderDetailApi.as_view(), name="order-detail"),
    path("orders/<str:order_id>/cancel/", apis.OrderCancelApi.as_view(), name="order-cancel"),
]
