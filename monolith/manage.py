#!/usr/bin/env python
"""The monolith's manage.py. A command that works on one domain's data runs for the domain DOMAIN names:
`DOMAIN=product python manage.py seed_catalog` (shared/domains.py)."""

import os

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    if os.environ.get("DOMAIN"):
        from shared import domains

        domains.enter(os.environ["DOMAIN"])
    from shared.manage import main

    main()
