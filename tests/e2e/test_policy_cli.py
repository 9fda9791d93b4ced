"""``agent-assist policy show``: effective settings, their sources and locks; --check for IT."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from agent_assist.config import SCHEMA

TEMPLATE = Path(__file__).resolve().parents[2] / "packaging" / "site.toml.example"


def policy(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "agent_assist", "policy", *args],
        capture_output=True,
        text=True,
        timeout=240,
        env={**os.environ, **(env or {})},
        check=False,
    )


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    site = tmp_path / "site.toml"
    site.write_text(
        'locked = ["server.url"]\n[server]\nurl = "wss://assist.example.com"\n'
        '[ui]\ntheme = "light"\n',
        encoding="utf-8",
    )
    user = tmp_path / "settings.toml"
    user.write_text('[ui]\ntheme = "dark"\n[server]\nurl = "ws://other.example"\n', "utf-8")
    return site, user


def line_for(stdout: str, key: str) -> str:
    return next(line for line in stdout.splitlines() if line.startswith(f"{key} = "))


def test_show_prints_every_key_with_its_source_and_marks_locks(files: tuple[Path, Path]) -> None:
    site, user = files
    out = policy("show", "--site", str(site), "--user", str(user))
    assert out.returncode == 0, out.stderr
    assert [line.split(" = ")[0] for line in out.stdout.splitlines()[2:]] == list(SCHEMA)
    assert line_for(out.stdout, "server.url").split() == [
        "server.url", "=", '"wss://assist.example.com"', "#", "site", f"{site},", "locked"
    ]  # fmt: skip
    assert line_for(out.stdout, "ui.theme").split()[2:] == ['"dark"', "#", "user", str(user)]
    assert line_for(out.stdout, "ui.dock").split()[2:] == ['"right"', "#", "default"]


def test_show_reports_ignored_user_values_of_locked_keys_on_stderr(
    files: tuple[Path, Path],
) -> None:
    site, user = files
    out = policy("show", "--site", str(site), "--user", str(user))
    assert out.stderr == (
        f"agent-assist: note: {user} line 4: server.url is locked by the site policy; "
        "the user value is ignored\n"
    )


def test_show_json_gives_value_source_path_and_lock_for_every_key(
    files: tuple[Path, Path],
) -> None:
    site, user = files
    out = policy("show", "--json", "--site", str(site), "--user", str(user))
    document = json.loads(out.stdout)
    assert list(document["settings"]) == list(SCHEMA)
    assert document["settings"]["server.url"] == {
        "value": "wss://assist.example.com",
        "source": "site",
        "path": str(site),
        "locked": True,
    }
    assert document["settings"]["ui.font_scale"] == {
        "value": 1.0,
        "source": "default",
        "path": None,
        "locked": False,
    }
    assert document["site_policy"] == {"path": str(site), "exists": True}
    assert document["problems"] == []
    assert len(document["notices"]) == 1


def test_problems_go_to_stderr_and_without_check_the_exit_code_is_0(tmp_path: Path) -> None:
    site = tmp_path / "site.toml"
    site.write_text('[privacy]\nflag_feed = "yes"\n', encoding="utf-8")
    out = policy("show", "--site", str(site), "--user", str(tmp_path / "none.toml"))
    assert out.returncode == 0
    assert out.stderr == (
        f'agent-assist: {site} line 2: privacy.flag_feed must be true or false, not "yes"\n'
    )
    assert line_for(out.stdout, "privacy.flag_feed").split()[2:] == ["false", "#", "default"]


def test_check_exits_1_when_a_file_has_problems(tmp_path: Path) -> None:
    site = tmp_path / "site.toml"
    site.write_text("[ui]\ntheme = \n", encoding="utf-8")
    out = policy("show", "--check", "--site", str(site), "--user", str(tmp_path / "none.toml"))
    assert out.returncode == 1
    assert f"{site} line 2: not valid TOML" in out.stderr
    assert out.stderr.endswith("agent-assist: policy check: 1 problem\n")


def test_check_exits_0_for_the_template_it_ships(tmp_path: Path) -> None:
    out = policy("show", "--check", "--site", str(TEMPLATE), "--user", str(tmp_path / "none"))
    assert out.returncode == 0, out.stderr
    assert out.stderr == "agent-assist: policy check: no problems\n"
    assert out.stdout.splitlines()[1] == f"# user settings: {tmp_path / 'none'} (no such file)"


def test_without_options_the_environment_names_the_files(files: tuple[Path, Path]) -> None:
    site, user = files
    env = {"AGENT_ASSIST_SITE_POLICY": str(site), "AGENT_ASSIST_USER_SETTINGS": str(user)}
    out = policy("show", env=env)
    assert out.stdout.splitlines()[:2] == [f"# site policy:   {site}", f"# user settings: {user}"]
    assert line_for(out.stdout, "ui.theme").split()[-1] == str(user)


def test_a_site_file_that_does_not_exist_is_a_usage_error(tmp_path: Path) -> None:
    out = policy("show", "--site", str(tmp_path / "typo.toml"))
    assert out.returncode == 2
    assert out.stderr == f"agent-assist: error: --site {tmp_path / 'typo.toml'}: no such file\n"


def test_policy_show_explains_itself() -> None:
    out = policy("show", "--help")
    assert out.returncode == 0
    assert "--check" in out.stdout
    assert "locks" in out.stdout
