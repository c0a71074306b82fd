"""Staff pages on every service: Django's admin, one site per shard server, behind the one staff sign-in.

- Who is staff is the user service's to say: it holds the accounts and the staff session (`/ops/login/`,
  `cached_db` on redis-cache, `sessions.py`). Its own admin reads that session directly; the product and
  order admins ask the user service who the session's cookie belongs to (`remote.py`), so one sign-in
  reaches every admin, and signing out (or losing staff rights) ends them all within a few seconds.
- A sharded model lives on every shard server, so each server has its own admin site
  (`/ops/admin/<service>/<server>/`): its change lists read that server's primary, and what an operator
  changes goes through the service layer, as an API call's change does (`model_admins.py`, `sites.py`).
"""
