"""A WSGI application that tells what its gunicorn worker holds (test_gunicorn_conf.py): the process that
imported it, what the collector has frozen, and whether the Django URLconf was imported before any request."""

import gc
import json
import os
import sys

import django
from django.conf import settings

django.setup(set_prefix=False)  # as Django's get_wsgi_application() does
LOADED_IN = os.getpid()


def application(environ, start_response):
    body = json.dumps(
        {
            "pid": os.getpid(),
            "loaded_in": LOADED_IN,
            "frozen": gc.get_freeze_count(),
            "urlconf_imported": settings.ROOT_URLCONF in sys.modules,
        }
    ).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]
