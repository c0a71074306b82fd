"""The events of a service in its staff admin: outbox and inbox of each server, read-only, and the dead
letters (kept on the home server) with the one action operators need: replay."""

from django.contrib import admin

from shared.events import consumers
from shared.events.models import DeadLetter, InboxEvent, OutboxEvent
from shared.staff.model_admins import ShardedModelAdmin, register


@register(OutboxEvent)
class OutboxEventAdmin(ShardedModelAdmin):
    list_display = ("id", "event_type", "created_at", "sent_at", "attempts")


@register(InboxEvent)
class InboxEventAdmin(ShardedModelAdmin):
    list_display = ("key", "event_type", "result", "created_at")


@register(DeadLetter, home_only=True)
class DeadLetterAdmin(ShardedModelAdmin):
    list_display = ("id", "event_type", "event_id", "attempts", "replayed_at", "created_at")
    actions = ("replay",)

    @admin.action(description="Replay the selected dead letters (their inbox still prevents doubles)")
    def replay(self, request, queryset):
        letters = list(queryset)
        for letter in letters:
            consumers.replay(letter)
            self._audit(request, "replayed", letter, letter.event_type)
        self.message_user(request, f"{len(letters)} dead letter(s) sent to this service's queue again.")
