"""The database backend of every service: django-prometheus's PostgreSQL backend, and a commit is only
acknowledged once the synchronous standby has it (`base.DatabaseWrapper`). ENGINE `shared.db.backend`."""
