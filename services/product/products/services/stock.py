"""Stock reservation, the product side of the order saga: reserve the items of a placed order on
every shard server all or nothing (never below zero), and give them back when the order is cancelled."""

from __future__ import annotations

from django.db import connections, transaction
from django.db.models import F

from products.caching import product_stock_changed
from products.models import Product
from shared.db import shards
from shared.db.scatter import group_ids_by_server
from shared.events.envelope import derived_event_id
from shared.events.inbox import inbox, inbox_apply, inbox_result, set_inbox_result
from shared.events.models import OutboxEvent
from shared.events.outbox import outbox_effect, outbox_row, publish_row, relay_on_commit


def _quantities_by_server(items: list[dict]) -> dict[str, dict[int, int]]:
    quantities = {int(item["product_id"]): int(item["quantity"]) for item in items}
    return {
        alias: {product_id: quantities[product_id] for product_id in product_ids}
        for alias, product_ids in sorted(group_ids_by_server(list(quantities)).items())
    }


class _Shortage(Exception):
    pass


def _stock_changed(alias: str, product_id: int) -> None:
    """When the transaction (or savepoint) that changed the stock commits, the product shows the new stock."""
    transaction.on_commit(lambda: product_stock_changed(product_ids=[product_id]), using=alias)


# Taking stock: one conditional UPDATE, all or nothing for its row, never below zero. `{claimed}` is the
# inbox claim when the take is the whole effect of an event (`inbox_apply`), else true.
_TAKE = (
    f"UPDATE {Product._meta.db_table} SET stock = stock - %(quantity)s "
    "WHERE id = %(product_id)s AND is_active AND stock >= %(quantity)s AND {claimed} RETURNING id"
)


def _take(alias: str, product_id: int, quantity: int) -> bool:
    with connections[alias].cursor() as cursor:
        cursor.execute(_TAKE.format(claimed="true"), {"product_id": product_id, "quantity": quantity})
        taken = cursor.fetchone() is not None
    if taken:
        _stock_changed(alias, product_id)
    return taken


def _reserve_on_server(alias: str, quantities: dict[int, int]) -> bool:
    """Take every quantity on one server, all or nothing; a row never goes below zero."""
    if len(quantities) == 1:  # one conditional UPDATE is all or nothing by itself: no savepoint
        ((product_id, quantity),) = quantities.items()
        return bool(_take(alias, product_id, quantity))
    try:
        with transaction.atomic(using=alias):  # a savepoint inside the caller's inbox transaction
            for product_id, quantity in sorted(quantities.items()):
                if not _take(alias, product_id, quantity):
                    raise _Shortage
    except _Shortage:
        return False
    return True


def stock_reserve_for_order(envelope: dict) -> None:
    """Reserve the stock of every item of a placed order, or none of it; answer with the outcome.

    Items may sit on several shard servers, so each server is one transaction that records in its
    inbox, with the stock change, what it did for this event. A redelivered event reuses what each
    server recorded; when one server cannot supply its items, the servers that reserved give their
    stock back (each once).
    """
    payload = envelope["payload"]
    by_server = _quantities_by_server(payload["items"])
    known = sum(len(quantities) for quantities in by_server.values())
    rejected = known < len(payload["items"])  # an ID of no shard we know
    if not rejected and len(by_server) == 1:
        _reserve_on_one_server(envelope, *next(iter(by_server.items())))
        return
    reserved_on: list[str] = []
    for alias, quantities in [] if rejected else by_server.items():
        with inbox(envelope, using=alias) as fresh:
            if fresh:
                result = "reserved" if _reserve_on_server(alias, quantities) else "rejected"
                set_inbox_result(envelope, using=alias, result=result)
        if inbox_result(envelope, using=alias) != "reserved":
            rejected = True
            break
        reserved_on.append(alias)
    if rejected:
        for alias in reserved_on:
            _give_back(envelope, alias, by_server[alias], step="compensation")
    home = next(iter(by_server), shards.home_primary())
    with transaction.atomic(using=home):
        _publish_outcome(envelope, using=home, rejected=rejected)


def _reserve_on_one_server(envelope: dict, alias: str, quantities: dict[int, int]) -> None:
    """Every item on one server (the common case): reservation and outcome in one transaction."""
    if len(quantities) == 1:
        _reserve_one_item(envelope, alias, *next(iter(quantities.items())))
        return
    with inbox(envelope, using=alias) as fresh:
        if fresh:
            _publish_outcome(envelope, using=alias, rejected=not _reserve_on_server(alias, quantities))


def _reserve_one_item(envelope: dict, alias: str, product_id: int, quantity: int) -> None:
    """One item: the claim, the take and the outcome's outbox row are one statement, so one transaction
    without BEGIN and COMMIT. Both outcomes are prepared (one event ID); the one that fits is written."""
    reserved, rejected = _outcome_row(envelope, rejected=False), _outcome_row(envelope, rejected=True)
    reserved_sql, reserved_params = outbox_effect(
        reserved, when="{claimed} AND EXISTS (SELECT FROM taken)", using=alias, name="reserved"
    )
    rejected_sql, rejected_params = outbox_effect(
        rejected, when="{claimed} AND NOT EXISTS (SELECT FROM taken)", using=alias, name="rejected"
    )
    fresh, taken = inbox_apply(
        envelope,
        using=alias,
        effects={"taken": _TAKE, "reserved": reserved_sql, "rejected": rejected_sql},
        params={"product_id": product_id, "quantity": quantity, **reserved_params, **rejected_params},
        result="SELECT id FROM taken",
    )
    if fresh:
        if taken:
            _stock_changed(alias, product_id)
        relay_on_commit(alias, [(reserved if taken else rejected).envelope])


def _outcome_row(envelope: dict, *, rejected: bool) -> OutboxEvent:
    payload = envelope["payload"]
    return outbox_row(
        "stock.rejected" if rejected else "stock.reserved",
        {
            "order_id": payload["order_id"],
            "user_id": payload["user_id"],
            "reason": "insufficient stock" if rejected else "",
        },
        event_id=derived_event_id(envelope["id"], "outcome"),
    )


def _publish_outcome(envelope: dict, *, using: str, rejected: bool) -> None:
    publish_row(_outcome_row(envelope, rejected=rejected), using=using)


def _give_back(envelope: dict, alias: str, quantities: dict[int, int], *, step: str) -> None:
    with inbox(envelope, using=alias, step=step) as fresh:
        if fresh:
            for product_id, quantity in quantities.items():
                Product.objects.using(alias).filter(id=product_id).update(stock=F("stock") + quantity)
                _stock_changed(alias, product_id)


def stock_release_for_order(envelope: dict) -> None:
    """Give back the stock of a cancelled order (once per server, however often the event comes)."""
    for alias, quantities in _quantities_by_server(envelope["payload"]["items"]).items():
        _give_back(envelope, alias, quantities, step="release")
