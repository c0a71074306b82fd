#!/bin/bash
# Host-side failover test. Usage: tests/failover.sh kill|disconnect|standby
#   kill       : SIGKILL the leader during an insert loop (:5000), restart it later
#   disconnect : cut the leader off the network during an insert loop, reconnect later
#   standby    : SIGKILL the standby during a read loop (:5001), restart it later
# Output: tests/out/<mode>/ (loop logs, role polls, patroni/haproxy logs, summary.txt)
set -euo pipefail
cd "$(dirname "$0")/.."
mode=$1
P=(docker compose -p patroni-lab)
NET=patroni-lab_db
members=(order-db-0 order-db-0-replica)
out=tests/out/$mode; rm -rf "$out"; mkdir -p "$out"
now() { date +%s.%3N; }
ctr() { echo "patroni-lab-$1-1"; }
say() { echo "$*" | tee -a "$out/summary.txt"; }
plist() {   # patronictl list (json) from whichever member answers
  local m; for m in "${members[@]}"; do
    docker exec "$(ctr "$m")" timeout 5 patronictl -c /etc/patroni.yml list -f json 2>/dev/null && return 0
  done; return 1; }
member_with_role() { plist | jq -r --arg r "$1" '.[] | select(.Role==$r) | .Member'; }

leader=$(member_with_role Leader); standby=$(member_with_role "Sync Standby")
[ -n "$leader" ] && [ -n "$standby" ] || { echo "cluster not healthy"; plist; exit 1; }
say "mode=$mode leader=$leader sync_standby=$standby"
"${P[@]}" exec -T client psql -X -q -p 5000 -c \
  "CREATE TABLE IF NOT EXISTS failover_test (id bigserial PRIMARY KEY, at timestamptz DEFAULT clock_timestamp())"

case $mode in
  kill|disconnect) target=$leader; loop=write-loop; dur=100 ;;
  standby)         target=$standby; loop=read-loop; dur=70 ;;
  *) echo "usage: $0 kill|disconnect|standby" >&2; exit 2 ;;
esac
tc=$(ctr "$target")
for m in "${members[@]}"; do docker exec -d "$(ctr "$m")" /tests/role-poll.sh $((dur+20)) "/tests/out/$mode/roles-$m.log"; done
"${P[@]}" exec -d client /tests/$loop.sh $dur "/tests/out/$mode/loop.log"
sleep 8

t0=$(now)
case $mode in
  kill|standby) docker kill -s KILL "$tc" >/dev/null ;;
  disconnect)   docker network disconnect "$NET" "$tc" ;;
esac
say "t0 (fault injected on $target) = $t0"
sleep $([ "$mode" = standby ] && echo 25 || echo 45)

t1=$(now)
case $mode in
  kill|standby) docker start "$tc" >/dev/null ;;
  # the service-name alias must be given again, or "$target" stops resolving
  disconnect)   docker network connect --alias "$target" "$NET" "$tc" ;;
esac
say "t1 (fault removed) = $t1 (+$(echo "$t1 - $t0" | bc) s)"

# wait until the target is back as a streaming sync standby with 0 lag
for _ in $(seq 120); do
  st=$(plist | jq -r --arg m "$target" '.[] | select(.Member==$m) | "\(.Role)|\(.State)|\(."Lag in MB")"' || true)
  [ "$st" = "Sync Standby|running|0" ] && break
  sleep 1
done
say "target back: '$st' at +$(echo "$(now) - $t1" | bc) s after the fault was removed"
while "${P[@]}" exec -T client pgrep -f "$loop.sh" >/dev/null; do sleep 2; done
docker exec "$(ctr "${members[0]}")" patronictl -c /etc/patroni.yml list | tee -a "$out/summary.txt"
for m in "${members[@]}" db-haproxy; do docker logs --since "$(echo "$t0 - 15" | bc | cut -d. -f1)" "$(ctr "$m")" > "$out/log-$m.txt" 2>&1 || true; done

# ---- analysis ----
L=$out/loop.log
say "attempts=$(wc -l < "$L") ok=$(grep -c ' ok ' "$L" || true) fail=$(grep -c ' fail ' "$L" || true)"
awk -v t0="$t0" '
  $3=="fail" && $2>t0 && !ff {ff=$1}
  $3=="ok" && ff && $1>=ff && !r {r=$2}
  $3=="ok" && $2<=t0 {lastok=$2}
  END { if (!ff) print "no failed request after t0";
        else printf "last ok ack before fault: %+.3f s; first failure: %+.3f s; first ok after failures (ack): %+.3f s after t0\n", lastok-t0, ff-t0, r-t0 }' "$L" | tee -a "$out/summary.txt"
if [ "$mode" = standby ]; then
  say "reads answered by: $(awk '$3=="ok"{print $4, $5}' "$L" | sort | uniq -c | tr '\n' ';')"
  say "slowest read: $(awk '{d=$2-$1; if (d>m) {m=d; t=$1}} END{printf "%.3f s (started %+.3f s after t0)", m, t-'"$t0"'}' "$L")"
  say "reads back on a standby (t) from: $(awk -v t1="$t1" '$1>t1 && $4=="t"{printf "%+.3f s after restart", $1-t1; exit}' "$L")"
else
  ids="{$(awk '$3=="ok"{print $4}' "$L" | paste -sd,)}"
  acked=$(awk '$3=="ok"' "$L" | wc -l)
  found=$("${P[@]}" exec -T client psql -X -At -p 5000 -v ids="$ids" <<'SQL'
SELECT count(*) FROM failover_test WHERE id = ANY (:'ids'::bigint[]);
SQL
)
  say "acknowledged ids: $acked, present on new leader: $found, lost: $((acked - found))"
fi
# split-brain check: last f of the old leader vs first f of the other member (after t0)
old=$leader; new=$([ "$leader" = "${members[0]}" ] && echo "${members[1]}" || echo "${members[0]}")
lf=$(awk '$2=="f"{t=$1} END{print t}' "$out/roles-$old.log")
ff=$(awk '$2=="f"{print $1; exit}' "$out/roles-$new.log")
say "roles: $old last answered f at $(echo "$lf - $t0" | bc) s; $new first answered f at $( [ -n "$ff" ] && echo "$ff - $t0" | bc || echo never) s (rel. t0)"
[ -n "$ff" ] && say "both primary at the same time: $(awk -v a="$lf" -v b="$ff" 'BEGIN{print (b<=a) ? "YES (overlap " a-b " s)" : "no (gap " b-a " s)"}')"
say "role samples: $(for m in "${members[@]}"; do echo -n "$m: $(awk '{print $2}' "$out/roles-$m.log" | uniq -c | tr -s ' ' | tr '\n' ','); "; done)"
