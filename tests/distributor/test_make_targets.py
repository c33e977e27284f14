"""Where `make run`, `make serve` and `make serve-prod` listen, read from the commands make would run."""

import os
import runpy
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def make_dry_run(*args: str) -> list[str]:
    if shutil.which("make") is None:
        pytest.skip("needs GNU make")
    env = {name: value for name, value in os.environ.items() if name not in {"HOST", "PORT"}}
    result = subprocess.run(
        ["make", "--dry-run", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


def _serving(commands: list[str]) -> str:
    """The recipe that picks the port, loads the demo and serves, as one line."""
    return " ".join(line.rstrip("\\").strip() for line in commands if "free_port" in line or "$port" in line)


def test_make_run_listens_on_this_machine_only_by_default():
    recipe = _serving(make_dry_run("run"))
    assert "-m distributor.free_port 127.0.0.1 8000" in recipe, recipe
    # The demo prints, and the server listens on, the same port: the one free_port found.
    assert "manage.py load_demo --host 127.0.0.1 --port $port" in recipe
    assert recipe.endswith("manage.py runserver 127.0.0.1:$port")


def test_make_run_serves_and_prints_the_host_and_port_it_is_given():
    recipe = _serving(make_dry_run("run", "HOST=0.0.0.0", "PORT=9001"))
    assert "-m distributor.free_port 0.0.0.0 9001" in recipe, recipe
    # load_demo prints the sign-in address from these (tests/demo/test_demo.py).
    assert "manage.py load_demo --host 0.0.0.0 --port $port" in recipe
    assert recipe.endswith("manage.py runserver 0.0.0.0:$port")


def test_make_serve_prod_migrates_collects_and_serves_with_gunicorn():
    commands = make_dry_run("serve-prod", "PORT=9001")
    steps = [
        next(i for i, line in enumerate(commands) if line.endswith(suffix))
        for suffix in (
            "manage.py migrate --noinput",
            "manage.py collectstatic --noinput",
            "HOST=127.0.0.1 PORT=9001 .venv/bin/gunicorn",
        )
    ]
    assert steps == sorted(steps), commands
    assert not any("runserver" in line or "load_demo" in line for line in commands)


@pytest.mark.parametrize(
    ("env", "bind"),
    [
        ({}, "127.0.0.1:8000"),
        # gunicorn by itself would listen on 0.0.0.0 whenever PORT is set.
        ({"PORT": "9001"}, "127.0.0.1:9001"),
        ({"HOST": "0.0.0.0", "PORT": "9001"}, "0.0.0.0:9001"),
        ({"HOST": "::1"}, "[::1]:8000"),
    ],
)
def test_gunicorn_listens_where_host_and_port_say(monkeypatch, env, bind):
    monkeypatch.delenv("HOST", raising=False)
    monkeypatch.delenv("PORT", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    config = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    assert config["bind"] == bind
    assert config["wsgi_app"] == "distributor.wsgi:application"


def test_gunicorn_refuses_a_worker_count_that_is_not_a_number(monkeypatch):
    monkeypatch.setenv("WEB_CONCURRENCY", "many")
    with pytest.raises(SystemExit, match="WEB_CONCURRENCY"):
        runpy.run_path(str(ROOT / "gunicorn.conf.py"))
