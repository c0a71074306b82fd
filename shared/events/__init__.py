"""Events between services, never lost and never applied twice.

- `publish()` writes the event to the outbox inside the caller's transaction, on the shard being
  written; right after commit the relay sends it to the consumers' Celery queues, and a periodic
  sweep re-sends whatever is still unsent (e.g. after a broker outage).
- Consumers register handlers with `@consumer("type")`; a handler wraps its effect in `inbox()`,
  which records the event ID in the same transaction, so a redelivered event has no second effect.
  An effect that SQL can write as a chain of data-modifying statements goes with its claim in one
  statement instead (`inbox_apply()`: one round trip, not one per statement).
- A handler that keeps failing is retried with exponential backoff and jitter, then stored as a
  dead letter (`manage.py dead_letters` lists and replays them).

What each event type means, its payload and which service consumes it are declared once, outside
shared/, in `contracts/events.py`.
"""
