"""Settings come from the environment only, fail loudly, and are all documented."""

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _variables_read_by_settings() -> set[str]:
    source = (ROOT / "portal/settings.py").read_text()
    return set(re.findall(r'env_(?:str|bool|int|list|url)\(\s*"([A-Z_0-9]+)"', source)) | set(
        re.findall(r'os\.environ(?:\.get)?[\(\[]\s*"([A-Z_0-9]+)"', source)
    )


def test_every_setting_is_in_env_example_and_readme():
    documented = (ROOT / ".env.example").read_text()
    readme = (ROOT / "README.md").read_text()
    variables = _variables_read_by_settings() - {"DJANGO_SETTINGS_MODULE"}
    assert variables, "no settings found"
    assert sorted(v for v in variables if f"{v}=" not in documented) == []
    assert sorted(v for v in variables if v not in readme) == []


def _start_with(env: dict) -> subprocess.CompletedProcess:
    code = "import django, os; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'portal.settings'); django.setup()"
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", **env},
        capture_output=True,
        text=True,
    )


def test_malformed_values_stop_the_start(tmp_path):
    base = {"GATEHOUSE_VAR_DIR": str(tmp_path)}
    for name, value in [
        ("GATEHOUSE_OPEN_SIGNUP", "maybe"),
        ("GATEHOUSE_SUDO_SECONDS", "ten"),
        ("GATEHOUSE_URL", "localhost:8000"),
    ]:
        result = _start_with({**base, name: value})
        assert result.returncode != 0
        assert name in result.stderr


def test_a_database_needs_a_secret_key(tmp_path):
    result = _start_with(
        {"GATEHOUSE_VAR_DIR": str(tmp_path), "DATABASE_URL": "postgres://x@127.0.0.1/x"}
    )
    assert result.returncode != 0 and "SECRET_KEY" in result.stderr


def test_embedded_mode_needs_nothing(tmp_path):
    assert _start_with({"GATEHOUSE_VAR_DIR": str(tmp_path)}).returncode == 0
