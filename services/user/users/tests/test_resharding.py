"""Moving a logical shard of users to the other server (shared/db/resharding.py on real tables)."""

import pytest
from django.db import OperationalError, connections

from shared.db import ids, pinning, roles, shards
from shared.db.models import ShardAssignment
from shared.db.resharding import MoveError, move_shard, shard_report
from shared.errors import ShardMoving
from users.models import RefreshTokenRecord, User
from users.selectors import user_get
from users.services import user_login, user_register

pytestmark = pytest.mark.django_db(databases="__all__", transaction=True)
PASSWORD = "correct-horse-battery-9"


@pytest.fixture(autouse=True)
def quick_map_refresh(settings):
    settings.SHARD_MAP_REFRESH_SECONDS = 0
    shards.map_store.forget()
    yield
    shards.map_store.forget()


def _users_on_shard(shard: int, count: int) -> list[User]:
    made, n = [], 0
    while len(made) < count:
        email = f"move{n}@example.com"
        if shards.shard_for_natural_key(email) == shard:
            made.append(user_register(email=email, password=PASSWORD))
            user_login(email=email, password=PASSWORD)
        n += 1
    return made


def test_move_copies_verifies_flips_and_deletes():
    # given: users (and their refresh tokens) on logical shard 2, which starts on db0
    assert shards.primary_for_shard(2) == "db0"
    users = _users_on_shard(2, 3)
    bystander = _users_on_shard(3, 1)[0]
    # when
    counts = move_shard(shard=2, to_server="db1", log=lambda line: None)
    # then: the rows are on db1 only, the map sends shard 2 there, and nothing else moved
    assert counts == {"users.User": 3, "users.RefreshTokenRecord": 3}
    ids_moved = [u.id for u in users]
    assert User.objects.using("db1").filter(id__in=ids_moved).count() == 3
    assert not User.objects.using("db0").filter(id__in=ids_moved).exists()
    assert RefreshTokenRecord.objects.using("db1").filter(user_id__in=ids_moved).count() == 3
    assert shards.primary_for_shard(2) == "db1"
    assert user_get(user_id=users[0].id).email == users[0].email
    assert user_login(email=users[0].email, password=PASSWORD)["access"]
    assert User.objects.using("db0").filter(id=bystander.id).exists()
    report = {row["server"]: row for row in shard_report()}
    assert 2 in report["db1"]["logical_shards"] and 2 not in report["db0"]["logical_shards"]


def test_move_refuses_a_target_that_already_holds_rows_of_the_shard():
    users = _users_on_shard(5, 1)
    User.objects.using("db1").create(id=users[0].id, email="copy@example.com", password="x")
    with pytest.raises(MoveError):
        move_shard(shard=5, to_server="db1", log=lambda line: None)
    assert shards.primary_for_shard(5) == "db0"


def test_a_moving_shard_refuses_writers_but_not_readers():
    ShardAssignment.objects.using("db0").create(shard=4, server="db0", moving=True)
    shards.map_store.forget()
    with pytest.raises(ShardMoving):
        shards.primary_for_shard(4)
    token = pinning._read_only.set(True)
    try:
        assert shards.primary_for_shard(4) == "db0"
    finally:
        pinning._read_only.reset(token)
    assert ids.shard_of(shards.new_id(shard=6)) == 6  # other shards are untouched


def test_a_server_whose_roles_cannot_be_read_is_reported_and_its_connections_are_not_reused(monkeypatch):
    def broken(primary, replicas):
        connections[primary].ensure_connection()
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(roles, "server_roles", broken)
    report = {row["server"]: row for row in shard_report()}
    assert report["db0"]["roles"] == "unknown (OperationalError)"
    assert connections["db0"].connection is None  # closed: the next query opens a new one
