#!/usr/bin/env bash
# Fills the nginx.conf template from the environment (only the NGINX_* variables) and runs nginx.
set -o errexit -o pipefail -o nounset
: "${NGINX_MAX_BODY:=1m}" "${NGINX_LOGIN_RATE:=5r/m}" "${NGINX_LOGIN_BURST:=3}"
: "${NGINX_API_RATE:=50r/s}" "${NGINX_API_BURST:=200}" "${NGINX_CONN_LIMIT:=200}" "${NGINX_TRUSTED_PROXIES:=}"
export NGINX_MAX_BODY NGINX_LOGIN_RATE NGINX_LOGIN_BURST NGINX_API_RATE NGINX_API_BURST NGINX_CONN_LIMIT NGINX_TRUSTED_PROXIES
# the token every purge must carry (only the product worker has it); the well-known default is refused
# unless ALLOW_INSECURE_DEFAULTS=1. It may come from the file NGINX_PURGE_TOKEN_FILE names (Swarm secrets).
. /usr/local/lib/secret-env.sh
secret_env NGINX_PURGE_TOKEN
: "${NGINX_PURGE_TOKEN:?}" "${ALLOW_INSECURE_DEFAULTS:=0}"
if [ "$NGINX_PURGE_TOKEN" = edge-purge-dev ] && [ "$ALLOW_INSECURE_DEFAULTS" != 1 ]; then
  echo "refusing to start with the well-known EDGE_PURGE_TOKEN: run \`make env\`," \
    "or set ALLOW_INSECURE_DEFAULTS=1 on a development machine." >&2
  exit 1
fi
export NGINX_PURGE_TOKEN
# X-Forwarded-For is believed only from the proxies listed (addresses or CIDRs, comma- or space-separated);
# none by default, so a client cannot choose the address its rate limits are counted on.
: >/etc/nginx/trusted_proxies.conf
for proxy in ${NGINX_TRUSTED_PROXIES//,/ }; do
  echo "set_real_ip_from $proxy;" >>/etc/nginx/trusted_proxies.conf
done
envsubst "$(env | awk -F= '/^NGINX_/ {printf "${%s} ", $1}')" </etc/nginx/nginx.conf.template >/etc/nginx/nginx.conf
mkdir -p /var/cache/nginx/api /etc/nginx/upstreams

# The gateway's replicas, from Docker's DNS: one `server` line each (open-source nginx resolves an
# upstream's names only at start, so a watcher rewrites the list and reloads nginx gracefully).
render_upstreams() {
  local addresses
  addresses=$(getent ahostsv4 "${GATEWAY_HOST:-gateway}" | awk '{print $1}' | sort -u)
  [ -n "$addresses" ] || return 1
  for address in $addresses; do
    echo "server $address:${GATEWAY_PORT:-8000} max_fails=3 fail_timeout=5s;"
  done
}

watch_upstreams() {
  while sleep "${NGINX_RESOLVE_SECONDS:-2}"; do
    if next=$(render_upstreams) && [ "$next" != "$(cat /etc/nginx/upstreams/gateway.conf)" ]; then
      echo "$next" >/etc/nginx/upstreams/gateway.conf
      echo "gateway replicas changed: $(echo "$next" | wc -l) now; reloading nginx" >&2
      nginx -s reload
    fi
  done
}

until render_upstreams >/etc/nginx/upstreams/gateway.conf; do
  echo "waiting for the gateway to appear in DNS" >&2
  sleep 1
done
nginx -t -q
watch_upstreams &
exec nginx -g 'daemon off;'
