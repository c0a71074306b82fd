#!/usr/bin/env bash
# Fills the nginx.conf template from the environment (only the NGINX_* variables) and runs nginx.
set -o errexit -o pipefail -o nounset
: "${NGINX_MAX_BODY:=1m}" "${NGINX_LOGIN_RATE:=5r/m}" "${NGINX_LOGIN_BURST:=3}"
: "${NGINX_API_RATE:=50r/s}" "${NGINX_API_BURST:=200}" "${NGINX_CONN_LIMIT:=200}" "${NGINX_TRUSTED_PROXIES:=172.16.0.0/12}"
export NGINX_MAX_BODY NGINX_LOGIN_RATE NGINX_LOGIN_BURST NGINX_API_RATE NGINX_API_BURST NGINX_CONN_LIMIT NGINX_TRUSTED_PROXIES
envsubst "$(env | awk -F= '/^NGINX_/ {printf "${%s} ", $1}')" </etc/nginx/nginx.conf.template >/etc/nginx/nginx.conf
mkdir -p /var/cache/nginx/api
nginx -t -q
exec nginx -g 'daemon off;'
