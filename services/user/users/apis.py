"""HTTP endpoints of the user service: thin views over services.py and selectors.py."""

from datetime import UTC

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from shared.http import fields
from shared.http.schema import error
from shared.http.views import APIView
from users import selectors, services


class UserOutputSerializer(serializers.Serializer):
    id = serializers.CharField()
    email = serializers.EmailField()
    name = serializers.CharField()


class ProfileOutputSerializer(UserOutputSerializer):
    is_staff = serializers.BooleanField()
    orders_count = serializers.IntegerField()
    orders_total = serializers.DecimalField(max_digits=14, decimal_places=2)
    created_at = serializers.DateTimeField(default_timezone=UTC)


class TokenPairSerializer(serializers.Serializer):
    access = serializers.CharField()
    refresh = serializers.CharField()


class RegisterApi(APIView):
    authentication_classes = []

    class InputSerializer(serializers.Serializer):
        email = fields.EmailField(max_length=254)
        password = fields.CharField(max_length=128, trim_whitespace=False)
        name = fields.CharField(max_length=150, required=False, allow_blank=True, default="")

    @extend_schema(request=InputSerializer, responses={201: UserOutputSerializer}, tags=["auth"])
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = services.user_register(**data.validated_data)
        return Response(UserOutputSerializer(user).data, status=status.HTTP_201_CREATED)


class LoginApi(APIView):
    authentication_classes = []

    class InputSerializer(serializers.Serializer):
        email = fields.EmailField(max_length=254)
        password = fields.CharField(max_length=128, trim_whitespace=False)

    @extend_schema(
        request=InputSerializer,
        responses={
            200: TokenPairSerializer,
            401: error("The e-mail or the password is wrong."),
            429: error("Too many failed logins for this account, or logins from this address (Retry-After)."),
        },
        tags=["auth"],
    )
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return Response(services.user_login(**data.validated_data))


class RefreshApi(APIView):
    authentication_classes = []

    class InputSerializer(serializers.Serializer):
        refresh = fields.CharField(max_length=4096)

    @extend_schema(request=InputSerializer, responses={200: TokenPairSerializer}, tags=["auth"])
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return Response(services.token_refresh(**data.validated_data))


class LogoutApi(APIView):
    """Revokes the refresh token given; access tokens already issued live out their 15 minutes."""

    authentication_classes = []

    class InputSerializer(serializers.Serializer):
        refresh = fields.CharField(max_length=4096)

    @extend_schema(request=InputSerializer, responses={204: None}, tags=["auth"])
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.token_revoke(**data.validated_data)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeApi(APIView):
    permission_classes = [IsAuthenticated]

    class UpdateInputSerializer(serializers.Serializer):
        name = fields.CharField(max_length=150, required=False, allow_blank=True)
        password = fields.CharField(max_length=128, required=False, trim_whitespace=False)
        current_password = fields.CharField(
            max_length=128, required=False, trim_whitespace=False, help_text="Required to change the password."
        )

    @extend_schema(responses={200: ProfileOutputSerializer}, tags=["users"])
    def get(self, request):
        user = selectors.user_get(user_id=int(request.user.id))
        return Response(ProfileOutputSerializer(user).data)

    @extend_schema(request=UpdateInputSerializer, responses={200: ProfileOutputSerializer}, tags=["users"])
    def patch(self, request):
        data = self.UpdateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = selectors.user_get(user_id=int(request.user.id))
        user = services.user_update(user=user, **data.validated_data)
        return Response(ProfileOutputSerializer(user).data)

    @extend_schema(responses={204: None}, tags=["users"])
    def delete(self, request):
        user = selectors.user_get(user_id=int(request.user.id))
        services.user_delete(user=user)
        return Response(status=status.HTTP_204_NO_CONTENT)
