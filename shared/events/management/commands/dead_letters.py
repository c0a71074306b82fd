"""`manage.py dead_letters [--replay ID ... | --replay-all]`: list dead letters, or replay them."""

from django.core.management.base import BaseCommand

from shared.events.consumers import dead_letter_alias
from shared.events.consumers import replay as replay_letter
from shared.events.models import DeadLetter


class Command(BaseCommand):
    help = "List this service's dead-lettered events, or send them to its worker again."

    def add_arguments(self, parser):
        parser.add_argument("--replay", nargs="+", type=int, default=[], metavar="ID")
        parser.add_argument("--replay-all", action="store_true", help="replay every letter not replayed yet")

    def handle(self, *args, replay: list[int], replay_all: bool, **options):
        letters = DeadLetter.objects.using(dead_letter_alias())
        if replay_all:
            chosen = list(letters.filter(replayed_at=None))
        else:
            chosen = list(letters.filter(id__in=replay))
        for letter in chosen:
            replay_letter(letter)
            self.stdout.write(f"replayed {letter.id} {letter.event_type} {letter.event_id}")
        if chosen:
            return
        for letter in letters.order_by("id"):
            state = f"replayed {letter.replayed_at:%Y-%m-%d %H:%M:%S}" if letter.replayed_at else "waiting"
            self.stdout.write(f"{letter.id}\t{letter.event_type}\t{letter.event_id}\t{state}\t{letter.error[:120]}")
