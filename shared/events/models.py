from django.db import models


class OutboxEvent(models.Model):
    """An event written in the same transaction as the change that caused it; `sent_at` once relayed."""

    id = models.UUIDField(primary_key=True)
    event_type = models.CharField(max_length=64)
    envelope = models.JSONField()
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at"]
        indexes = [
            models.Index(fields=["created_at"], name="outbox_unsent", condition=models.Q(sent_at=None)),
            # pruning (shared/events/pruning.py) finds sent rows by age
            models.Index(fields=["sent_at"], name="outbox_sent", condition=models.Q(sent_at__isnull=False)),
        ]


class InboxEvent(models.Model):
    """An event (or one step of it) already applied here; its key is written with the effect."""

    key = models.CharField(max_length=100, primary_key=True)
    event_type = models.CharField(max_length=64)
    result = models.CharField(max_length=32, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at"]
        indexes = [models.Index(fields=["created_at"], name="inbox_created")]  # pruning by age


class DeadLetter(models.Model):
    """An event that could not be applied: malformed, unknown, or failing after every retry."""

    id = models.BigAutoField(primary_key=True)
    event_id = models.CharField(max_length=64, blank=True)
    event_type = models.CharField(max_length=64, blank=True)
    envelope = models.JSONField()
    error = models.TextField()
    attempts = models.PositiveIntegerField(default=0)
    replayed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
