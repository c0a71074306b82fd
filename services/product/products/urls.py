from django.urls import path

from products import apis

urlpatterns = [
    path("products/", apis.ProductListApi.as_view(), name="product-list"),
    path("products/<str:product_id>/", apis.ProductDetailApi.as_view(), name="product-detail"),
]
