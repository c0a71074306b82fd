"""The large demo data set, defined once and the same on every run: users, products and orders.

Each service seeds its own part (`seed_users`, `seed_catalog --large`, `seed_orders`), without asking
another service anything: an order names its user and its products by ID, so every service must
derive the same IDs from the same numbers. They are made here by the platform's real rules:

- a row lives on the logical shard of its natural key (`shard_for_natural_key`: a user's e-mail, a
  product's SKU) and an order on its user's shard;
- its ID carries that shard (`ids.compose`), with a timestamp no ID made by the servers can have:
  seeded rows are "history", from the first days of 2026, before any stack ran; a millisecond per row
  and a sequence per row keep every ID unique.

The skew is that of real shops: user n places orders with a probability falling like n^-2/3 and
product n sells like n^-3/4 (a few far more active than the rest; user 1 has thousands of orders).
The random streams are seeded, so the order seed and the user seed (which keeps each user's order
count and total) walk the very same orders.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from shared.db import ids

USERS = 1_000_000
PRODUCTS = 2_000_000
ORDERS = 2_000_000

DAY_MS = 86_400_000
USERS_FROM_MS = ids.ID_EPOCH_MS + DAY_MS  # 2026-01-02
PRODUCTS_FROM_MS = ids.ID_EPOCH_MS + 2 * DAY_MS
ORDERS_FROM_MS = ids.ID_EPOCH_MS + 5 * DAY_MS

CATEGORIES = {
    "books": "Books",
    "electronics": "Electronics",
    "garden": "Garden",
    "kitchen": "Kitchen",
    "music": "Music",
    "outdoors": "Outdoors",
    "toys": "Toys",
    "tools": "Tools",
}
_SLUGS = sorted(CATEGORIES)
ADJECTIVES = ["Compact", "Classic", "Deluxe", "Eco", "Pro", "Smart", "Travel", "Vintage", "Rugged", "Silent"]
NOUNS = ["lamp", "kettle", "drill", "novel", "speaker", "tent", "puzzle", "rake", "guitar", "blender", "jacket", "mug"]


def natural_shard(key: str, logical_shards: int) -> int:
    """`shards.shard_for_natural_key` for a given shard count (the seed runs it millions of times)."""
    digest = hashlib.blake2b(key.strip().lower().encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % logical_shards


def _mix(n: int) -> int:
    """A cheap, stable integer hash: per-row attributes that do not depend on the order rows are made in."""
    n = (n ^ 0x9E3779B9) * 0x85EBCA6B & 0xFFFFFFFF
    return (n ^ (n >> 13)) * 0xC2B2AE35 & 0xFFFFFFFF


def at(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def _row_id(*, from_ms: int, number: int, shard: int) -> int:
    return ids.compose(timestamp_ms=from_ms + number, shard=shard, sequence=number)


# users ------------------------------------------------------------------------------------------------


def user_email(n: int) -> str:
    return f"seed-{n}@users.example.com"


def user_id(n: int, logical_shards: int) -> int:
    return _row_id(from_ms=USERS_FROM_MS, number=n, shard=natural_shard(user_email(n), logical_shards))


# products ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SeedProduct:
    number: int
    id: int
    sku: str
    name: str
    category: str
    price: Decimal
    stock: int
    is_active: bool
    created_ms: int


def product_sku(n: int) -> str:
    return f"L-{n:07d}"


def product(n: int, logical_shards: int) -> SeedProduct:
    h = _mix(n)
    slug = _SLUGS[h % len(_SLUGS)]
    sku = product_sku(n)
    return SeedProduct(
        number=n,
        id=_row_id(from_ms=PRODUCTS_FROM_MS, number=n, shard=natural_shard(sku, logical_shards)),
        sku=sku,
        name=f"{ADJECTIVES[(h >> 4) % len(ADJECTIVES)]} {CATEGORIES[slug]} {NOUNS[(h >> 8) % len(NOUNS)]} {n}",
        category=slug,
        price=Decimal(199 + (h >> 12) % 99_800) / 100,
        stock=(h >> 7) % 500,
        is_active=(h >> 20) % 50 != 0,  # 2% retired
        created_ms=PRODUCTS_FROM_MS + n,
    )


# orders -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SeedOrder:
    number: int
    user: int  # the user's number
    lines: list[tuple[int, int]]  # (product number, quantity)
    status: str
    created_ms: int


def orders(count: int = ORDERS, *, users: int = USERS, products: int = PRODUCTS) -> Iterator[SeedOrder]:
    """Every seeded order, in order, the same on every run (a seeded random stream)."""
    rng = random.Random(20260101)
    for m in range(1, count + 1):
        user = 1 + int(users * rng.random() ** 3)  # P(user <= k) = (k/users)^(1/3)
        lines = []
        for _ in range(1 + int(rng.random() * 3)):
            lines.append((1 + int(products * rng.random() ** 4), 1 + int(rng.random() * 3)))
        roll = rng.random()
        status = "confirmed" if roll < 0.9 else "rejected" if roll < 0.95 else "cancelled"
        yield SeedOrder(number=m, user=min(user, users), lines=lines, status=status, created_ms=ORDERS_FROM_MS + m)


def order_id(order: SeedOrder, logical_shards: int) -> int:
    shard = ids.shard_of(user_id(order.user, logical_shards))
    return _row_id(from_ms=ORDERS_FROM_MS, number=order.number, shard=shard)


def order_total(order: SeedOrder, logical_shards: int) -> Decimal:
    return sum((product(p, logical_shards).price * q for p, q in order.lines), Decimal("0.00"))
