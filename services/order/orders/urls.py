from django.urls import path

from orders import apis

urlpatterns = [
    path("orders/", apis.OrderListApi.as_view(), name="order-list"),
    path("orders/<str:order_id>/", apis.OrderDetailApi.as_view(), name="order-detail"),
    path("orders/<str:order_id>/cancel/", apis.OrderCancelApi.as_view(), name="order-cancel"),
]
