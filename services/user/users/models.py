from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.db import models


class User(AbstractBaseUser):
    """An account. Lives on the logical shard chosen by its e-mail; its ID carries that shard."""

    id = models.BigIntegerField(primary_key=True)
    email = models.EmailField(max_length=254, unique=True)  # stored lower-cased: unique case-insensitively
    name = models.CharField(max_length=150, blank=True)
    is_staff = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)
    orders_count = models.PositiveIntegerField(default=0)
    orders_total = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = BaseUserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.email


class RefreshTokenRecord(models.Model):
    """Every refresh token issued, on its user's shard; a rotated or revoked one cannot be used again,
    except a rotated one within its grace window (`grace_until`, see `users.services.token_refresh`)."""

    jti = models.CharField(max_length=64, primary_key=True)
    user_id = models.BigIntegerField(db_index=True)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    # set when the token is rotated: until then, presenting it again gets a fresh pair, not a replay alarm
    grace_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]
