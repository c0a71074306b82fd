#!/usr/bin/env bash
# One member of the etcd cluster Patroni uses. ETCD_MEMBER (its name, = the compose service) and
# ETCD_CLUSTER_MEMBERS ("etcd-0 etcd-1 etcd-2") give the static initial cluster; every URL is derived
# from the names. Only flags: etcd 3.4 exits when an ETCD_<FLAG> variable duplicates a flag, hence
# the names of these two, which are no etcd flag.
# Heartbeat 250 ms and election 2.5 s: a new etcd leader within about 3 s, at little idle CPU.
set -o errexit -o pipefail -o nounset
: "${ETCD_MEMBER:?}" "${ETCD_CLUSTER_MEMBERS:?}"
cluster=""
for member in $ETCD_CLUSTER_MEMBERS; do cluster="${cluster:+$cluster,}$member=http://$member:2380"; done
exec etcd \
  --name "$ETCD_MEMBER" \
  --data-dir /var/lib/etcd/data \
  --listen-client-urls http://0.0.0.0:2379 \
  --advertise-client-urls "http://$ETCD_MEMBER:2379" \
  --listen-peer-urls http://0.0.0.0:2380 \
  --initial-advertise-peer-urls "http://$ETCD_MEMBER:2380" \
  --initial-cluster "$cluster" \
  --initial-cluster-state new \
  --initial-cluster-token shard-servers \
  --heartbeat-interval 250 \
  --election-timeout 2500
