from django.urls import path

from users import apis

urlpatterns = [
    path("auth/register/", apis.RegisterApi.as_view(), name="register"),
    path("auth/login/", apis.LoginApi.as_view(), name="login"),
    path("auth/refresh/", apis.RefreshApi.as_view(), name="refresh"),
    path("users/me/", apis.MeApi.as_view(), name="me"),
]
