"""Start-up refuses bad configuration with a message naming the variable; production passes check --deploy."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION_ENV = {
    "DISTRIBUTOR_ENV": "production",
    "SECRET_KEY": "k" * 20 + "-production-secret-with-enough-entropy-0123456789",
    "ALLOWED_HOSTS": "billing.example.com",
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/distributor",
    "FIELD_ENCRYPTION_KEYS": "0123456789abcdefghijklmnopqrstuvwxyzABCDEFG=",
}

# What the suite's environment sets that manage.py must not see; DJANGO_SETTINGS_MODULE names the test
# settings, and these tests are about the real ones.
NOT_INHERITED = {
    "DATABASE_URL",
    "REDIS_URL",
    "DISTRIBUTOR_ENV",
    "DJANGO_ALLOW_ASYNC_UNSAFE",
    "DJANGO_SETTINGS_MODULE",
}


def _start(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in NOT_INHERITED}
    return subprocess.run(
        [sys.executable, "manage.py", *(args or ("check",))],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"DATABASE_URL": "mysql://root@localhost/x"}, "DATABASE_URL"),
        ({"REDIS_URL": "http://localhost:6379"}, "REDIS_URL"),
        ({"TIME_ZONE": "Mars/Olympus_Mons"}, "TIME_ZONE"),
        ({"BASE_CURRENCY": "yuan"}, "BASE_CURRENCY"),
        ({"DEBUG": "maybe"}, "DEBUG"),
        ({"EMAIL_HOST": "smtp.example.com", "EMAIL_PORT": "twenty-five"}, "EMAIL_PORT"),
        ({"DISTRIBUTOR_ENV": "staging"}, "DISTRIBUTOR_ENV"),
        ({"USAGE_COST_CREDIT_KIND": "cash"}, "USAGE_COST_CREDIT_KIND"),
        ({"TOPUP_CARD_FEE_MODE": "split"}, "TOPUP_CARD_FEE_MODE"),
        ({**PRODUCTION_ENV, "SECRET_KEY": ""}, "SECRET_KEY"),
        ({**PRODUCTION_ENV, "SECRET_KEY": "short"}, "SECRET_KEY"),
        ({**PRODUCTION_ENV, "ALLOWED_HOSTS": ""}, "ALLOWED_HOSTS"),
        ({**PRODUCTION_ENV, "DATABASE_URL": ""}, "DATABASE_URL"),
        ({**PRODUCTION_ENV, "FIELD_ENCRYPTION_KEYS": "not-a-fernet-key"}, "FIELD_ENCRYPTION_KEYS"),
        ({**PRODUCTION_ENV, "DEBUG": "true"}, "DEBUG"),
    ],
)
def test_bad_settings_stop_start_up_naming_the_variable(env, named):
    result = _start(env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert named in result.stderr.strip().splitlines()[-1]


def test_no_settings_at_all_start_embedded():
    result = _start({})
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_production_settings_pass_check_deploy():
    result = _start(PRODUCTION_ENV, "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_starts_with_the_essentials_alone_and_check_deploy_asks_for_an_encryption_key():
    essentials = {key: value for key, value in PRODUCTION_ENV.items() if key != "FIELD_ENCRYPTION_KEYS"}
    result = _start(essentials, "check", "--deploy")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "distributor.W001" in result.stdout + result.stderr
