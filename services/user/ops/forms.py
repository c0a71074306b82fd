from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError

from shared.http.fields import no_control_characters
from users import services
from users.throttle import LoginThrottled


class StaffLoginForm(forms.Form):
    """E-mail and password of a staff account, checked as the API's login checks them
    (`users.services.user_authenticate`, with its per-account throttle); text with control characters is
    refused as the API refuses it."""

    email = forms.EmailField(max_length=254, validators=[no_control_characters])
    password = forms.CharField(
        max_length=4096, strip=False, widget=forms.PasswordInput, validators=[no_control_characters]
    )

    def __init__(self, request=None, *args, **kwargs):
        self.request = request  # LoginView passes the request first, as to Django's AuthenticationForm
        self.user = None
        self.retry_after: int | None = None
        super().__init__(*args, **kwargs)

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        try:
            user = services.user_authenticate(email=data["email"], password=data["password"])
        except LoginThrottled as exc:
            self.retry_after = exc.retry_after
            raise ValidationError(exc.message) from exc
        except services.InvalidCredentials as exc:
            raise ValidationError(exc.message) from exc
        if not user.is_staff:
            raise ValidationError("Only staff accounts may sign in here.")
        self.user = user
        return data

    def get_user(self):
        return self.user
