from django.urls import path

from shared.db.apis import ShardReportApi
from users import apis

urlpatterns = [
    path("users/admin/shards/", ShardReportApi.as_view(), name="shard-report"),
    path("auth/register/", apis.RegisterApi.as_view(), name="register"),
    path("auth/login/", apis.LoginApi.as_view(), name="login"),
    path("auth/refresh/", apis.RefreshApi.as_view(), name="refresh"),
    path("auth/logout/", apis.LogoutApi.as_view(), name="logout"),
    path("users/me/", apis.MeApi.as_view(), name="me"),
]
