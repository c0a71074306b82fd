"""The data tier every service shares: shard map, shard-carrying IDs, replica choice and the router.

Import what services use from here::

    from shared.db import shards
    alias = shards.primary_for_id(order_id)
"""
