import pytest

from shared.db import shards
from shared.db.databases import databases_from_env, topology_from_env
from shared.db.shardmap import ShardMap, ShardServer, UnknownShard


def test_parse_shard_map_with_ranges_and_singles():
    shard_map = ShardMap.parse("db0:0-6,15 db1:7-14", 16)
    assert shard_map.server_of(0) == "db0"
    assert shard_map.server_of(15) == "db0"
    assert shard_map.shards_on("db1") == list(range(7, 15))


def test_parse_refuses_a_map_with_holes():
    with pytest.raises(ValueError):
        ShardMap.parse("db0:0-6 db1:8-15", 16)


def test_even_map_and_move():
    shard_map = ShardMap.even(["db0", "db1"], 16)
    assert shard_map.shards_on("db0") == list(range(8))
    moved = shard_map.moved(3, "db1")
    assert moved.server_of(3) == "db1" and shard_map.server_of(3) == "db0"
    assert moved.describe() == "db0:0,1,2,4,5,6,7 db1:3,8,9,10,11,12,13,14,15"


def test_unknown_shard():
    with pytest.raises(UnknownShard):
        ShardMap.even(["db0"], 4).server_of(7)


def test_id_of_an_unknown_shard_is_refused():
    from shared.db import ids

    foreign = ids.compose(timestamp_ms=ids.ID_EPOCH_MS, shard=500, sequence=1)
    with pytest.raises(UnknownShard):
        shards.primary_for_id(foreign)


def test_natural_key_hash_is_stable_case_insensitive_and_spread():
    assert shards.shard_for_natural_key("Alice@Example.com") == shards.shard_for_natural_key("alice@example.com ")
    counts = [0] * 16
    for n in range(1600):
        counts[shards.shard_for_natural_key(f"user{n}@example.com")] += 1
    assert min(counts) > 50  # about 100 each


def test_databases_setting_has_a_primary_and_replica_alias_per_server(monkeypatch):
    monkeypatch.setenv("SHARD_TOPOLOGY", '{"db0": {"db0_replica": 1}, "db1": {"db1_replica": 2}}')
    databases = databases_from_env()
    assert set(databases) == {"default", "db0", "db0_replica", "db1", "db1_replica"}
    assert databases["db0_replica"]["TEST"] == {"MIRROR": "db0"}
    assert databases["db0"]["DISABLE_SERVER_SIDE_CURSORS"] is True
    assert databases["db0"]["OPTIONS"]["prepare_threshold"] is None
    assert topology_from_env()["db1"].replicas == {"db1_replica": 2}


def test_home_primary_is_the_first_server_of_the_topology(settings):
    settings.SHARD_TOPOLOGY = {"db1": ShardServer("db1"), "db0": ShardServer("db0")}
    assert shards.home_primary() == "db1"
