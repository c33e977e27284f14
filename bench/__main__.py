"""Run every benchmark module in this package (or those named on the command line).

Each module defines ``run() -> None`` that prints ``name: value`` lines. Benchmarks need
Django set up; heavy ones expect PostgreSQL (DATABASE_URL) and say so when it is missing.
"""

import importlib
import os
import pkgutil
import sys

import django


def main(argv: list[str]) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "distributor.settings")
    django.setup()
    import bench

    names = argv or sorted(m.name for m in pkgutil.iter_modules(bench.__path__) if not m.name.startswith("_"))
    for name in names:
        module = importlib.import_module(f"bench.{name}")
        print(f"# {name}", flush=True)
        module.run()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
