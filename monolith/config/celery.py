"""The monolith's Celery app: one worker (`monolith-worker`) consumes every domain's queue.

The queues are the services' (`user`, `product`, `order`), so events reach the monolith and any
service that has taken a domain over alike. A task runs for the domain whose queue it came from; a task
sent without a queue goes to the queue of the domain that sends it.
"""

from __future__ import annotations

from celery import signals

from shared import domains
from shared.celery import make_celery_app

app = make_celery_app("monolith")
_entered: dict[str, object] = {}  # task id -> the token to leave its domain with, in the process running it


def route_to_domain(name, args, kwargs, options, task=None, **kw) -> dict | None:
    try:
        return {"queue": domains.current()}
    except domains.NoDomain:
        return None


@signals.task_prerun.connect
def _enter_domain(task_id=None, task=None, **kwargs) -> None:
    queue = (task.request.delivery_info or {}).get("routing_key")
    if queue in domains.names():
        _entered[task_id] = domains.enter(queue)


@signals.task_postrun.connect
def _leave_domain(task_id=None, **kwargs) -> None:
    token = _entered.pop(task_id, None)
    if token is not None:
        domains.leave(token)
