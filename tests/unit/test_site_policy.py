"""The machine-wide site policy: it fails closed, the environment cannot move it, the registry.

The machine-wide folders are the test's own (the autouse ``machine`` fixture in conftest).
"""

from __future__ import annotations

import json
import logging
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from pathlib import Path

import pytest

from agent_assist.admx import adml, admx
from agent_assist.applog import LOG_NAME, log_settings_problems, open_log
from agent_assist.cli import main
from agent_assist.config import POLICY_UNREADABLE, SCHEMA, load_settings
from agent_assist.locations import MachinePaths, site_policy_path
from agent_assist.policy import current_settings, machine_policy_in_force
from agent_assist.winpolicy import GPO_KEY, MSI_KEY, RegistryUnreadable

USER_OVERRIDES = """\
[privacy]
store_transcripts = true
flag_feed = true
[server]
url = "ws://evil.example:1/"
[updates]
url = "http://evil.example/updates/"
[ui]
theme = "dark"
"""


@pytest.fixture
def user(tmp_path: Path) -> Path:
    path = tmp_path / "settings.toml"
    path.write_text(USER_OVERRIDES, encoding="utf-8")
    return path


def install_policy(machine: MachinePaths, text: str | bytes) -> Path:
    machine.policy_dir.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        machine.site_policy.write_bytes(text)
    else:
        machine.site_policy.write_text(text, encoding="utf-8")
    return machine.site_policy


def assert_safe(settings: object) -> None:
    from agent_assist.config import Settings

    assert isinstance(settings, Settings)
    assert settings.failed_closed
    assert settings.policy_problem == POLICY_UNREADABLE
    for key in SCHEMA:
        if key.split(".")[0] in ("server", "privacy", "updates"):
            assert settings.locked(key), key
            assert settings.source(key) != "user", key
    assert settings.get("privacy.store_transcripts") is False
    assert settings.get("privacy.flag_feed") is False
    assert settings.get("server.url") == ""
    assert settings.get("updates.url") == ""


# -- fail closed -------------------------------------------------------------------------


def test_a_policy_with_a_syntax_error_locks_the_safe_settings_against_the_users(
    machine: MachinePaths, user: Path
) -> None:
    site = install_policy(machine, 'locked = ["privacy.*"]\n[privacy]\nflag_feed = tru\n')
    settings = current_settings(user=user)
    assert_safe(settings)
    assert settings.get("ui.theme") == "dark"  # display preferences stay the user's
    assert settings.problems[0].startswith(f"{site} line 3: not valid TOML")
    assert (
        f"{user} line 5: server.url is locked by the site policy could not be read; "
        "the user value is ignored"
    ) in settings.notices


def test_a_policy_that_cannot_be_read_fails_closed(machine: MachinePaths, user: Path) -> None:
    machine.site_policy.mkdir(parents=True)  # exists, but reading it fails
    settings = current_settings(user=user)
    assert_safe(settings)
    assert "cannot read the file" in settings.problems[0]


def test_a_policy_that_is_not_utf8_fails_closed(machine: MachinePaths, user: Path) -> None:
    install_policy(machine, '[server]\nurl = "wss://a.example"\n'.encode("utf-16"))
    assert_safe(current_settings(user=user))


def test_a_malformed_locked_list_fails_closed_but_keeps_the_policy_values(
    machine: MachinePaths, user: Path
) -> None:
    install_policy(machine, 'locked = "privacy.*"\n[server]\nurl = "wss://assist.example"\n')
    settings = current_settings(user=user)
    assert settings.failed_closed
    assert settings.get("server.url") == "wss://assist.example"  # IT's own value, locked
    assert settings.locked("server.url")
    assert settings.get("privacy.store_transcripts") is False


def test_a_sound_policy_does_not_fail_closed(machine: MachinePaths, user: Path) -> None:
    install_policy(machine, '[server]\nurl = "wss://assist.example"\n')
    settings = current_settings(user=user)
    assert not settings.failed_closed
    assert settings.policy_problem is None
    assert settings.get("server.url") == "ws://evil.example:1/"  # not locked: the user's


def test_a_bad_value_alone_does_not_fail_closed(machine: MachinePaths, user: Path) -> None:
    install_policy(machine, 'locked = ["privacy.*"]\n[privacy]\nflag_feed = "yes"\n')
    settings = current_settings(user=user)
    assert not settings.failed_closed
    assert settings.get("privacy.flag_feed") is False  # locked at its default
    assert settings.get("server.url") == "ws://evil.example:1/"


def test_policy_show_says_the_policy_failed_closed(
    machine: MachinePaths, user: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    install_policy(machine, "[privacy\n")
    code = main(["policy", "show", "--check", "--user", str(user)])
    out, err = capsys.readouterr()
    assert code == 1
    assert f"# {POLICY_UNREADABLE}" in out.splitlines()
    assert err.splitlines()[0] == f"agent-assist: {POLICY_UNREADABLE}"
    assert err.count("not valid TOML") == 1  # each problem once
    line = next(x for x in out.splitlines() if x.startswith("privacy.store_transcripts = "))
    assert line.split()[2:] == ["false", "#", "default,", "locked"]


def test_the_problem_goes_to_the_rotating_log_with_file_and_line(
    machine: MachinePaths, user: Path, tmp_path: Path
) -> None:
    site = install_policy(machine, "[privacy]\nflag_feed = \n")
    logger = logging.getLogger("agent_assist")
    before = list(logger.handlers)
    try:
        path = open_log(tmp_path / "logs")
        assert path == tmp_path / "logs" / LOG_NAME
        log_settings_problems(current_settings(user=user))
        for handler in logger.handlers:
            handler.flush()
        text = path.read_text(encoding="utf-8")
    finally:
        for handler in logger.handlers[len(before) :]:
            handler.close()
            logger.removeHandler(handler)
    assert POLICY_UNREADABLE in text
    assert f"{site} line 2: not valid TOML" in text


# -- the environment cannot move a machine-wide policy ------------------------------------


def test_the_environment_names_the_policy_only_without_a_machine_wide_one(
    machine: MachinePaths, tmp_path: Path
) -> None:
    mine = tmp_path / "empty.toml"
    mine.write_text("")
    environ = {"AGENT_ASSIST_SITE_POLICY": str(mine)}
    assert site_policy_path(environ=environ) == mine
    install_policy(machine, 'locked = ["server.url"]\n')
    assert site_policy_path(environ=environ) == machine.site_policy


def test_a_user_cannot_unlock_the_policy_with_the_environment(
    machine: MachinePaths, user: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    install_policy(machine, 'locked = ["privacy.*", "server.url"]\n')
    (tmp_path / "empty.toml").write_text("")
    monkeypatch.setenv("AGENT_ASSIST_SITE_POLICY", str(tmp_path / "empty.toml"))
    settings = current_settings(user=user)
    assert settings.site_path == str(machine.site_policy)
    assert settings.get("privacy.store_transcripts") is False
    assert settings.get("server.url") == ""


def test_a_release_key_alone_is_a_machine_wide_policy(machine: MachinePaths) -> None:
    assert not machine_policy_in_force()
    machine.policy_dir.mkdir(parents=True)
    machine.release_key.write_text("untrusted comment: x\n")
    assert machine_policy_in_force()


# -- the Windows registry, read through a fake -------------------------------------------


class FakeRegistry:
    """HKLM as a dictionary: key path -> values; ``locked_out`` keys cannot be opened."""

    def __init__(
        self, keys: Mapping[str, Mapping[str, object]], locked_out: tuple[str, ...] = ()
    ) -> None:
        self.keys = {k.lower(): dict(v) for k, v in keys.items()}
        self.locked_out = {k.lower() for k in locked_out}

    def values(self, key: str) -> Mapping[str, object] | None:
        if key.lower() in self.locked_out:
            raise RegistryUnreadable(f"HKLM\\{key}: Access is denied")
        return self.keys.get(key.lower())


def test_group_policy_values_apply_and_are_locked(machine: MachinePaths, user: Path) -> None:
    registry = FakeRegistry(
        {
            GPO_KEY: {},
            f"{GPO_KEY}\\server": {"url": "wss://gpo.example:8765/"},
            f"{GPO_KEY}\\privacy": {"flag_feed": 0, "store_transcripts": 0},
            f"{GPO_KEY}\\ui": {"font_scale": "1.25"},
        }
    )
    settings = current_settings(user=user, registry=registry)
    assert settings.get("server.url") == "wss://gpo.example:8765/"
    assert settings.locked("server.url")
    assert settings.path("server.url") == f"HKLM\\{GPO_KEY}"
    assert settings.get("privacy.store_transcripts") is False
    assert settings.get("ui.font_scale") == 1.25
    assert settings.get("ui.theme") == "dark"  # not set by GPO: the user's
    assert settings.problems == ()


def test_group_policy_wins_over_site_toml_which_wins_over_the_msi(
    machine: MachinePaths, tmp_path: Path
) -> None:
    install_policy(machine, '[server]\nurl = "wss://file.example/"\nca_file = "C:/ca.pem"\n')
    registry = FakeRegistry(
        {
            MSI_KEY: {"ServerUrl": "wss://msi.example/", "CaFile": "D:/msi.pem", "ModelPath": "m"},
            f"{GPO_KEY}\\server": {"url": "wss://gpo.example/"},
        }
    )
    settings = current_settings(user=tmp_path / "none.toml", registry=registry)
    assert settings.get("server.url") == "wss://gpo.example/"
    assert settings.get("server.ca_file") == "C:/ca.pem"
    assert settings.get("models.path") == "m"
    assert not settings.locked("models.path")


def test_the_msi_values_are_read_and_its_locked_list_applies(
    machine: MachinePaths, user: Path
) -> None:
    registry = FakeRegistry(
        {
            MSI_KEY: {
                "ServerUrl": "wss://msi.example:8765/",
                "ServerPin": "",  # properties not given on the msiexec line are empty
                "CaFile": "",
                "ModelPath": "",
                "Locked": "server.url, privacy.*",
            }
        }
    )
    settings = current_settings(user=user, registry=registry)
    assert settings.get("server.url") == "wss://msi.example:8765/"
    assert settings.locked("server.url")
    assert settings.get("privacy.flag_feed") is False
    assert settings.get("server.pin_sha256") == ""
    assert machine_policy_in_force(registry)  # the registry counts as a machine-wide policy


def test_a_group_policy_key_that_cannot_be_read_fails_closed(
    machine: MachinePaths, user: Path
) -> None:
    registry = FakeRegistry({GPO_KEY: {}}, locked_out=(f"{GPO_KEY}\\privacy",))
    settings = current_settings(user=user, registry=registry)
    assert_safe(settings)
    assert "Access is denied" in settings.problems[0]


def test_a_wrongly_typed_registry_value_is_a_problem_with_its_key(
    machine: MachinePaths, user: Path
) -> None:
    registry = FakeRegistry({f"{GPO_KEY}\\privacy": {"flag_feed": 7, "colour": "red"}})
    settings = current_settings(user=user, registry=registry)
    assert settings.problems == (
        f"HKLM\\{GPO_KEY}\\privacy: privacy.flag_feed must be a DWORD 0 or 1, not 7",
        f"HKLM\\{GPO_KEY}\\privacy: unknown value colour",
    )
    assert settings.get("privacy.flag_feed") is False
    assert not settings.failed_closed


# -- Group Policy templates ---------------------------------------------------------------

NS = "{http://schemas.microsoft.com/GroupPolicy/2006/07/PolicyDefinitions}"


def test_the_templates_are_xml_with_one_policy_per_setting_and_every_string_defined() -> None:
    definitions = ET.fromstring(admx())
    resources = ET.fromstring(adml())
    policies = list(definitions.iter(f"{NS}policy"))
    assert sorted(p.get("name", "").replace("_", ".", 1) for p in policies) == sorted(SCHEMA)
    strings = {s.get("id") for s in resources.iter(f"{NS}string")}
    presentations = {p.get("id") for p in resources.iter(f"{NS}presentation")}
    refs = set()
    for element in definitions.iter():
        for attribute in ("displayName", "explainText", "presentation"):
            value = element.get(attribute, "")
            if value.startswith("$("):
                kind, _, ident = value[2:-1].partition(".")
                refs.add((kind, ident))
    assert {i for k, i in refs if k == "string"} <= strings
    assert {i for k, i in refs if k == "presentation"} == presentations
    categories = {c.get("name") for c in definitions.iter(f"{NS}category")}
    assert {p.get("ref") for p in definitions.iter(f"{NS}parentCategory")} <= categories


def _what_group_policy_writes(definitions: ET.Element) -> dict[str, dict[str, object]]:
    """Every policy enabled with a typical value, as the Group Policy client would store it."""
    decimals = {"font_scale": "1.5", "dead_air_s": "30.5"}  # REG_SZ text for float settings
    keys: dict[str, dict[str, object]] = {}
    for policy in definitions.iter(f"{NS}policy"):
        key = policy.get("key", "")
        values = keys.setdefault(key, {})
        enabled = policy.find(f"{NS}enabledValue/{NS}decimal")
        if enabled is not None:
            values[policy.get("valueName", "")] = int(enabled.get("value", ""))
        for element in policy.iterfind(f"{NS}elements/*"):
            name = element.get("valueName", "")
            if element.tag == f"{NS}decimal":
                values[name] = int(element.get("maxValue", ""))
            elif element.tag == f"{NS}enum":
                first = element.find(f"{NS}item/{NS}value/{NS}string")
                assert first is not None
                values[name] = first.text or ""
            else:
                values[name] = decimals.get(name, "")
    keys[f"{GPO_KEY}\\server"]["url"] = "wss://gpo.example/"
    return keys


def test_what_the_templates_write_is_what_the_app_reads(
    machine: MachinePaths, tmp_path: Path
) -> None:
    registry = FakeRegistry(_what_group_policy_writes(ET.fromstring(admx())))
    settings = current_settings(user=tmp_path / "none.toml", registry=registry)
    assert settings.problems == ()
    assert settings.get("server.url") == "wss://gpo.example/"
    assert settings.get("privacy.flag_feed") is True  # enabled bool policy -> DWORD 1
    assert settings.get("knowledge.sync_interval_s") == 86400
    assert settings.get("ui.font_scale") == 1.5
    assert settings.get("coaching.dead_air_s") == 30.5
    assert settings.get("ui.theme") == "system"
    assert settings.get("updates.channel") == "stable"
    assert all(settings.locked(k) for k in ("server.url", "privacy.flag_feed", "ui.theme"))


def test_policy_templates_writes_the_two_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["policy", "templates", "--out", str(tmp_path / "gpo")]) == 0
    ET.parse(tmp_path / "gpo" / "AgentAssist.admx")
    ET.parse(tmp_path / "gpo" / "en-US" / "AgentAssist.adml")
    assert "AgentAssist.admx" in capsys.readouterr().err


def test_load_settings_json_reports_fail_closed(
    machine: MachinePaths, user: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    install_policy(machine, "[[[")
    main(["policy", "show", "--json", "--user", str(user)])
    document = json.loads(capsys.readouterr().out)
    assert document["failed_closed"] is True
    assert document["settings"]["server.url"]["locked"] is True
    assert load_settings(site=None, user=None).failed_closed is False
