"""gunicorn, the production web server: `make serve-prod` runs it from this directory, which loads this file.

Settings: https://docs.gunicorn.org/en/stable/settings.html. Anything else goes in GUNICORN_CMD_ARGS (e.g.
``--timeout 60``); gunicorn also reads FORWARDED_ALLOW_IPS itself.
"""

import multiprocessing
import os

wsgi_app = "distributor.wsgi:application"

# gunicorn alone listens on every interface whenever PORT is set; here only HOST widens it. The app expects a
# reverse proxy in front that terminates HTTPS and sets X-Forwarded-Proto (SECURE_PROXY_SSL_HEADER).
_host = (os.environ.get("HOST") or "127.0.0.1").strip("[]")
_port = os.environ.get("PORT") or "8000"
bind = f"[{_host}]:{_port}" if ":" in _host else f"{_host}:{_port}"

# gunicorn's rule of thumb, (2 × cores) + 1: a worker busy on PostgreSQL or a PDF leaves the others free.
_workers = os.environ.get("WEB_CONCURRENCY") or str(multiprocessing.cpu_count() * 2 + 1)
if not _workers.isdigit() or int(_workers) < 1:
    raise SystemExit(f"WEB_CONCURRENCY must be a whole number of workers, not {_workers!r}.")
workers = int(_workers)

accesslog = "-"

# The app is served at the root of its host: no proxy header may set SCRIPT_NAME or PATH_INFO (gunicorn takes
# both from trusted peers by default, and a client's header would pass through a proxy that keeps it).
forwarder_headers = ""
