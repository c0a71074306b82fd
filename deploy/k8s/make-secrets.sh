#!/usr/bin/env bash
# Writes the secret files the Kubernetes base reads (deploy/k8s/base/secrets/, ignored by git) with fresh
# random values and a new RS256 key pair for the JWTs; files already there are kept. Needs openssl.
#   bash deploy/k8s/make-secrets.sh && kubectl apply -k deploy/k8s/overlays/dev
# ADMIN_EMAIL is not secret: it is in base/django.env. To reuse compose's values, write them into the
# files yourself (no trailing newline: the files are taken byte for byte).
set -o errexit -o pipefail -o nounset
dir="$(cd "$(dirname "$0")" && pwd)/base/secrets"
mkdir -p "$dir"
umask 077

random() { openssl rand -base64 48 | tr -d '\n/+=' | cut -c1-40; }
write() {  # name value
  if [ -s "$dir/$1" ]; then echo "kept    $dir/$1"; else printf '%s' "$2" >"$dir/$1"; echo "made    $dir/$1"; fi
}

write django-secret-key "$(random)$(random)"
write admin-password "$(random)"
write db-app-password "$(random)"
write db-postgres-password "$(random)"
write db-replication-password "$(random)"
write pgbouncer-admin-password "$(random)"
write edge-purge-token "$(random)"
write redis-cache-password "$(random)"
write redis-broker-password "$(random)"
if [ -s "$dir/jwt_private.pem" ] && [ -s "$dir/jwt_public.pem" ]; then
  echo "kept    the JWT key pair in $dir"
else
  openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$dir/jwt_private.pem" 2>/dev/null
  openssl pkey -in "$dir/jwt_private.pem" -pubout -out "$dir/jwt_public.pem"
  echo "made    the JWT key pair in $dir"
fi
echo "the admin account's password is in $dir/admin-password"
