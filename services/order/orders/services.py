"""Writes of the order service, on the owner's shard primary: placing and cancelling orders, and the
order's side of the saga (confirm, reject, archive), each applied once per event through the inbox."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from prometheus_client import Counter

from orders import clients
from orders.models import Order, OrderItem, OrderStatusChange
from shared.db import shards
from shared.db.ids import shard_of
from shared.db.inserts import insert_together
from shared.db.scatter import on_shards
from shared.errors import Conflict, NotFound, ValidationFailed
from shared.events.envelope import derived_event_id
from shared.events.inbox import inbox, inbox_apply
from shared.events.outbox import outbox_row, publish, relay_on_commit

# The saga's steps as they commit: placed (pending), confirmed, rejected (product had no stock), timed_out
# (rejected by order_expire_pending), cancelled (by the customer) and released (a reservation that came
# after a cancel or a timeout, given back). Counted on commit, so a rolled-back step is not counted.
SAGA_OUTCOMES = Counter("order_saga_outcomes_total", "Order saga steps committed, by outcome", ["outcome"])


def _count_on_commit(outcome: str, *, alias: str) -> None:
    transaction.on_commit(SAGA_OUTCOMES.labels(outcome).inc, using=alias)


# the first total Order.total (max_digits 14, decimal_places 2) cannot hold
_TOTAL_FIELD = Order._meta.get_field("total")
_TOTAL_LIMIT = Decimal(10) ** (_TOTAL_FIELD.max_digits - _TOTAL_FIELD.decimal_places)


def _fingerprint(items: list[dict]) -> str:
    canonical = json.dumps(sorted([str(i["product_id"]), i["quantity"]] for i in items))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _existing_for_key(*, alias: str, user_id: int, key: str, fingerprint: str) -> Order | None:
    order = Order.objects.using(alias).filter(user_id=user_id, idempotency_key=key).first()
    if order is not None and order.request_fingerprint != fingerprint:
        raise Conflict("This Idempotency-Key was used with a different request.", code="idempotency_key_reused")
    return order


def _priced_lines(items: list[dict]) -> list[OrderItem]:
    """The order's lines at the product service's current names and prices (never the client's)."""
    catalog = clients.products_priced(product_ids=[item["product_id"] for item in items])
    errors = {
        str(index): {"product_id": ["No such product, or it is not for sale."]}
        for index, item in enumerate(items)
        if not catalog.get(item["product_id"], {}).get("is_active")
    }
    if errors:
        raise ValidationFailed({"items": errors})
    return [
        OrderItem(
            product_id=item["product_id"],
            product_name=catalog[item["product_id"]]["name"],
            quantity=item["quantity"],
            unit_price=catalog[item["product_id"]]["price"],
        )
        for item in items
    ]


def order_place(*, user_id: int, items: list[dict], authorization: str, idempotency_key: str | None = None) -> Order:
    """Check the user and price the items over REST, then store the order as pending.

    With an `idempotency_key`, a retried request returns the order the first one made; the same key
    with different items is refused (409).
    """
    alias = shards.primary_for_id(user_id)
    fingerprint = _fingerprint(items)
    if idempotency_key:
        existing = _existing_for_key(alias=alias, user_id=user_id, key=idempotency_key, fingerprint=fingerprint)
        if existing is not None:
            return existing

    clients.user_check(user_id=user_id, authorization=authorization)
    lines = _priced_lines(items)
    total = sum((line.unit_price * line.quantity for line in lines), Decimal("0.00"))
    if total >= _TOTAL_LIMIT:
        raise ValidationFailed({"items": [f"The order's total must be under {_TOTAL_LIMIT}."]})
    order_id = shards.new_id(shard=shard_of(user_id))  # before the order's statement: see shared/db/ids.py
    order = Order(
        id=order_id,
        user_id=user_id,
        total=total,
        idempotency_key=idempotency_key or None,
        request_fingerprint=fingerprint,
    )
    for line in lines:
        line.order_id = order.id
    placed = OrderStatusChange(order_id=order.id, status=Order.Status.PENDING)
    event = outbox_row(
        "order.placed",
        {
            "order_id": str(order.id),
            "user_id": str(user_id),
            "items": [{"product_id": str(line.product_id), "quantity": line.quantity} for line in lines],
        },
    )
    try:
        # the order, its lines, its history and its event: one statement, one transaction
        insert_together([order], lines, [placed], [event], using=alias)
    except IntegrityError:
        # a concurrent retry with the same key won the race: answer with its order
        existing = _existing_for_key(alias=alias, user_id=user_id, key=idempotency_key or "", fingerprint=fingerprint)
        if existing is None:
            raise
        return existing
    _count_on_commit("placed", alias=alias)
    relay_on_commit(alias, [event.envelope])
    return _as_written(order, items=lines, history=[placed])


def _as_written(order: Order, *, items: list[OrderItem], history: list[OrderStatusChange]) -> Order:
    """`order` with the lines and history rows just written, as `prefetch_related` would attach them:
    the response is built from what was written, without reading it back (three statements less)."""
    order._prefetched_objects_cache = {"items": items, "history": history}
    return order


def order_items_payload(order: Order) -> list[dict]:
    """An order's lines as events carry them (IDs as strings)."""
    return [{"product_id": str(item.product_id), "quantity": item.quantity} for item in order.items.all()]


def _order_read(*, alias: str, order_id: int) -> Order:
    """An order read back from the server it was just written on (a replica may not have it yet)."""
    return Order.objects.using(alias).prefetch_related("items", "history").get(id=order_id)


def _transition(order: Order, *, alias: str, status: str, reason: str = "") -> None:
    """Write `order`'s new status and its history row (inside the caller's transaction)."""
    order.status = status
    order.save(using=alias, update_fields=["status", "updated_at"])
    OrderStatusChange.objects.using(alias).create(order=order, status=status, reason=reason)
    _count_on_commit("timed_out" if reason == TIMED_OUT else str(status), alias=alias)


CANCELLABLE = {Order.Status.PENDING, Order.Status.CONFIRMED}


def order_cancel(*, user_id: int, order_id: int) -> Order:
    """Cancel a pending or confirmed order of `user_id`; a confirmed one's stock is given back."""
    if shard_of(order_id) != shard_of(user_id):
        raise NotFound("No such order.")
    alias = shards.primary_for_id(user_id)
    with transaction.atomic(using=alias):
        order = Order.objects.using(alias).select_for_update().filter(id=order_id, user_id=user_id).first()
        if order is None:
            raise NotFound("No such order.")
        if order.status not in CANCELLABLE:
            raise Conflict(f"An order that is {order.status} cannot be cancelled.", code="invalid_state")
        if order.status == Order.Status.CONFIRMED:
            # its stock was reserved: product gives it back
            publish("order.cancelled", {"order_id": str(order.id), "items": order_items_payload(order)}, using=alias)
        _transition(order, alias=alias, status=Order.Status.CANCELLED, reason="cancelled by the customer")
    return _order_read(alias=alias, order_id=order_id)


def _claim_and_settle(
    envelope: dict, *, alias: str, order_id: int, status: str, reason: str
) -> tuple[bool, tuple[int, Decimal] | None]:
    """Claim product's answer in the inbox and, if the order is still pending, move it to `status` and
    add the step to its history, all in one statement. Returns whether the answer was new, and the
    order's user and total if it was settled now (None when it was no longer pending, or not there).

    One data-modifying `WITH` (`inbox_apply`: the claim, the UPDATE ... RETURNING, then the history
    INSERT from what it returned) where the ORM needs four statements: the claim, a `SELECT ... FOR
    UPDATE`, the UPDATE (Django's `update()` returns only a count) and the INSERT. The UPDATE's row lock
    holds until the caller's transaction ends, and a concurrent cancel is seen: the UPDATE waits for
    its lock, then finds the row no longer pending, and nothing is written.
    """
    settled = (
        f"UPDATE {Order._meta.db_table} SET status = %(status)s, updated_at = now() "
        "WHERE id = %(order_id)s AND status = %(pending)s AND {claimed} RETURNING id, user_id, total"
    )
    logged = (
        f"INSERT INTO {OrderStatusChange._meta.db_table} (order_id, status, reason, created_at, updated_at) "
        "SELECT id, %(status)s, %(reason)s, now(), now() FROM settled"
    )
    fresh, rows = inbox_apply(
        envelope,
        using=alias,
        effects={"settled": settled, "logged": logged},
        params={"status": status, "order_id": order_id, "pending": Order.Status.PENDING, "reason": reason},
        result="SELECT user_id, total FROM settled",
    )
    return fresh, rows[0] if rows else None


def _stock_outcome_apply(envelope: dict, *, reserved: bool) -> None:
    """Apply product's answer to an order's stock reservation, once per event."""
    payload = envelope["payload"]
    order_id = int(payload["order_id"])
    alias = shards.primary_for_id(order_id)
    status = Order.Status.CONFIRMED if reserved else Order.Status.REJECTED
    reason = "" if reserved else payload.get("reason", "")
    with transaction.atomic(using=alias):
        fresh, settled = _claim_and_settle(envelope, alias=alias, order_id=order_id, status=status, reason=reason)
        if not fresh:
            return
        if settled is not None:
            user_id, total = settled
            _count_on_commit(str(status), alias=alias)
            if reserved:
                confirmed = {"order_id": str(order_id), "user_id": str(user_id), "total": str(total)}
                event_id = derived_event_id(envelope["id"], "order.confirmed")
                publish("order.confirmed", confirmed, using=alias, event_id=event_id)
            return
        order = Order.objects.using(alias).select_for_update().get(id=order_id)
        if reserved and order.status in (Order.Status.CANCELLED, Order.Status.REJECTED):
            # cancelled, or rejected as timed out (order_expire_pending), while the reservation was
            # under way: give the stock back (product answers an order once, so a reservation for a
            # rejected order can only come after its timeout)
            released = {"order_id": str(order.id), "items": order_items_payload(order)}
            _count_on_commit("released", alias=alias)
            publish(
                "order.cancelled", released, using=alias, event_id=derived_event_id(envelope["id"], "order.cancelled")
            )


TIMED_OUT = "timed out"


def order_expire_pending(*, older_than_seconds: float | None = None, batch: int = 100) -> int:
    """Reject every order still pending after ORDER_PENDING_TIMEOUT_SECONDS, with the reason "timed out".

    No order stays pending forever (a lost reservation outcome, a shard move): each becomes rejected
    through the same transition as product's answer. Should product reserve its stock later, that
    `stock.reserved` finds the order rejected and gives the stock back (`_stock_outcome_apply`).
    Runs on every shard primary in batches (rows locked by a handler are left for the next run), on
    the logical shards the map gives it that are not moving (a moving shard's orders wait for the
    move to end, like every other write to it); returns how many orders it rejected.
    """
    seconds = settings.ORDER_PENDING_TIMEOUT_SECONDS if older_than_seconds is None else older_than_seconds
    cutoff = timezone.now() - timedelta(seconds=seconds)
    expired = 0
    for alias in shards.primaries():
        while True:
            current = shards.shard_map()
            writable = [shard for shard in current.shards_on(alias) if shard not in current.moving]
            if not writable:
                break
            pending = Order.objects.using(alias).filter(status=Order.Status.PENDING, created_at__lt=cutoff)
            with transaction.atomic(using=alias):
                orders = list(
                    on_shards(pending, "id", writable)
                    .select_for_update(skip_locked=True)
                    .order_by("created_at")[:batch]
                )
                for order in orders:
                    _transition(order, alias=alias, status=Order.Status.REJECTED, reason=TIMED_OUT)
            expired += len(orders)
            if len(orders) < batch:
                break
    return expired


def order_confirm(*, envelope: dict) -> None:
    """`stock.reserved`: a pending order becomes confirmed and `order.confirmed` is announced."""
    _stock_outcome_apply(envelope, reserved=True)


def order_reject(*, envelope: dict) -> None:
    """`stock.rejected`: a pending order becomes rejected, with product's reason."""
    _stock_outcome_apply(envelope, reserved=False)


def order_archive_for_user(*, envelope: dict) -> None:
    """`user.deleted`: the user's orders are archived (kept, no longer listed), once per event."""
    user_id = int(envelope["payload"]["user_id"])
    alias = shards.primary_for_id(user_id)
    with inbox(envelope, using=alias) as fresh:
        if fresh:
            Order.objects.using(alias).filter(user_id=user_id, archived_at=None).update(archived_at=timezone.now())
