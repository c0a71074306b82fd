#!/bin/bash
# One etcd member. MEMBER (= service name) and CLUSTER_MEMBERS ("etcd-0 etcd-1 etcd-2")
# give the static initial cluster; all URLs are derived from the names. (No ETCD_* env vars:
# etcd 3.4 exits if an ETCD_* variable duplicates a command-line flag.)
set -euo pipefail
: "${MEMBER:?}" "${CLUSTER_MEMBERS:?}"
cluster=""
for m in $CLUSTER_MEMBERS; do cluster="${cluster:+$cluster,}$m=http://$m:2380"; done
exec etcd \
  --name "$MEMBER" \
  --data-dir /var/lib/etcd/data \
  --listen-client-urls http://0.0.0.0:2379 \
  --advertise-client-urls "http://$MEMBER:2379" \
  --listen-peer-urls http://0.0.0.0:2380 \
  --initial-advertise-peer-urls "http://$MEMBER:2380" \
  --initial-cluster "$cluster" \
  --initial-cluster-state new \
  --initial-cluster-token "${CLUSTER_TOKEN:-patroni-lab}" \
  --heartbeat-interval 250 \
  --election-timeout 2500
