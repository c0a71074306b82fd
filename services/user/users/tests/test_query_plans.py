"""Login by e-mail and a user's profile are index lookups on one server whatever the number of users:
EXPLAIN shows no sequential scan of the user tables for the reads of users/query_plans.py.

The planner chooses freely (no `enable_seqscan = off`): the test loads 30,000 users with the large
seed's own loader (COPY, shared/seeding) and runs ANALYZE, as autovacuum would. The reads are called,
every statement they send is captured and EXPLAINed on the server it ran on.
"""

from __future__ import annotations

import pytest
from django.db import connections

from shared.db import plans, shards
from shared.seeding import dataset
from users import query_plans
from users.models import User
from users.seeding import users_seed_large
from users.services import user_login

pytestmark = pytest.mark.django_db(databases="__all__")
USERS = 30_000


@pytest.fixture
def user_base() -> None:
    users_seed_large(password="plan-check-Passw0rd", count=USERS, orders=0, report=lambda line: None)
    for alias in shards.primaries():
        with connections[alias].cursor() as cursor:
            cursor.execute("SELECT reltuples FROM pg_class WHERE relname = 'users_user'")
            assert cursor.fetchone()[0] > USERS / 3  # the planner knows the table is large


def test_login_and_profile_reads_are_index_lookups(user_base):
    # given: users from both ends of each server
    users = [user for alias in shards.primaries() for user in User.objects.using(alias).order_by("id")[:: USERS // 8]]
    reads = query_plans.public_reads(users=users)
    # when
    aliases = [alias for alias in connections if alias != "default"]
    count, scans = plans.check(
        reads, tables=query_plans.LARGE_TABLES, mentioning=query_plans.MENTIONING, aliases=aliases
    )
    # then: every read reached the user table, each statement through an index
    assert count >= len(reads)
    assert scans == [], f"{len(scans)} of {count} statements scan a user table:\n\n" + "\n\n".join(scans[:5])


def test_the_seeded_users_can_log_in_and_are_on_the_shard_of_their_email(user_base):
    # given
    email = dataset.user_email(12_345)
    # when
    tokens = user_login(email=email, password="plan-check-Passw0rd")
    user = User.objects.using(shards.primary_for_shard(shards.shard_for_natural_key(email))).get(email=email)
    # then
    assert tokens["access"] and user.id == dataset.user_id(12_345, shards.shard_map().logical_shards)
