"""The large data set's rules (shared/seeding/dataset.py): the same on every run, on the real shards."""

import time

from shared.db import ids
from shared.seeding import dataset

LOGICAL = 16


def test_a_users_id_carries_the_shard_of_its_email_and_ids_are_unique_and_in_the_past():
    # when
    made = {n: dataset.user_id(n, LOGICAL) for n in range(1, 50_001)}
    # then
    assert len(set(made.values())) == len(made)
    for n in (1, 2, 777, 50_000):
        assert ids.shard_of(made[n]) == dataset.natural_shard(dataset.user_email(n), LOGICAL)
    assert max(ids.timestamp_ms_of(i) for i in made.values()) < time.time() * 1000


def test_a_products_id_carries_the_shard_of_its_sku_and_the_product_is_the_same_every_time():
    # when
    products = [dataset.product(n, LOGICAL) for n in range(1, 20_001)]
    # then
    assert len({p.id for p in products}) == len({p.sku for p in products}) == len(products)
    assert all(ids.shard_of(p.id) == dataset.natural_shard(p.sku, LOGICAL) for p in products[:500])
    assert dataset.product(1234, LOGICAL) == products[1233]
    assert all(p.price > 0 and p.category in dataset.CATEGORIES for p in products)


def test_orders_are_the_same_on_every_walk_live_on_their_users_shard_and_are_skewed():
    # when
    first, second = list(dataset.orders(5000)), list(dataset.orders(5000))
    # then
    assert first == second
    for order in first[:200]:
        assert ids.shard_of(dataset.order_id(order, LOGICAL)) == ids.shard_of(dataset.user_id(order.user, LOGICAL))
    per_user: dict[int, int] = {}
    for order in first:
        per_user[order.user] = per_user.get(order.user, 0) + 1
    busiest = sorted(per_user.values(), reverse=True)
    assert busiest[0] >= 20 and len(per_user) > 2000  # a few users place many orders, most place one
    assert len({dataset.order_id(order, LOGICAL) for order in first}) == len(first)
