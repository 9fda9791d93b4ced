"""Layered settings: defaults < site policy < user settings, locked keys, clear problems."""

from __future__ import annotations

import dataclasses
import tomllib
from pathlib import Path

import platformdirs
import pytest

from agent_assist.config import (
    SCHEMA,
    Settings,
    load_settings,
    remove_user_setting,
    save_user_setting,
    site_policy_path,
    user_settings_path,
)
from agent_assist.errors import SettingLockedError, SettingsError
from agent_assist.locations import use_machine_paths

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "packaging" / "site.toml.example"


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def site(tmp_path: Path) -> Path:
    return tmp_path / "site.toml"


@pytest.fixture
def user(tmp_path: Path) -> Path:
    return tmp_path / "user" / "settings.toml"


def load(site: Path, user: Path) -> Settings:
    return load_settings(site=site, user=user)


# -- precedence -----------------------------------------------------------------


def test_without_files_every_key_has_its_built_in_default(site: Path, user: Path) -> None:
    settings = load(site, user)
    assert {s.key: s.value for s in settings} == {k: spec.default for k, spec in SCHEMA.items()}
    assert {s.source for s in settings} == {"default"}
    assert settings.path("ui.theme") is None
    assert settings.problems == settings.notices == ()


def test_the_site_policy_overrides_the_defaults(site: Path, user: Path) -> None:
    write(site, '[ui]\ntheme = "dark"\n')
    settings = load(site, user)
    assert (settings.get("ui.theme"), settings.source("ui.theme")) == ("dark", "site")
    assert settings.path("ui.theme") == str(site)
    assert settings.source("ui.dock") == "default"


def test_user_settings_override_the_site_policy(site: Path, user: Path) -> None:
    write(site, '[ui]\ntheme = "dark"\nfont_scale = 1.5\n')
    user.parent.mkdir()
    write(user, '[ui]\ntheme = "high-contrast"\n')
    settings = load(site, user)
    assert (settings.get("ui.theme"), settings.source("ui.theme")) == ("high-contrast", "user")
    assert settings.path("ui.theme") == str(user)
    assert (settings.get("ui.font_scale"), settings.source("ui.font_scale")) == (1.5, "site")


def test_settings_are_immutable(site: Path, user: Path) -> None:
    settings = load(site, user)
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.problems = ("x",)  # type: ignore[misc]


def test_typed_getters_return_the_schema_type_and_refuse_the_wrong_one(
    site: Path, user: Path
) -> None:
    write(site, "[ui]\nfont_scale = 2\n")  # TOML integer for a float key
    settings = load(site, user)
    assert settings.get("ui.font_scale") == 2.0
    assert isinstance(settings.get_float("ui.font_scale"), float)
    assert settings.get_bool("privacy.scrub_pii") is True
    with pytest.raises(TypeError, match=r"ui\.theme is a str setting"):
        settings.get_bool("ui.theme")
    with pytest.raises(KeyError, match=r"ui\.colour"):
        settings.get("ui.colour")


# -- locked keys ------------------------------------------------------------------


def test_a_locked_key_ignores_the_user_value_and_says_where_it_was(site: Path, user: Path) -> None:
    write(site, 'locked = ["server.url"]\n[server]\nurl = "wss://assist.example.com"\n')
    user.parent.mkdir()
    write(user, '[ui]\ntheme = "dark"\n[server]\nurl = "ws://elsewhere.example"\n')
    settings = load(site, user)
    assert settings.get("server.url") == "wss://assist.example.com"
    assert (settings.source("server.url"), settings.locked("server.url")) == ("site", True)
    assert settings.notices == (
        f"{user} line 4: server.url is locked by the site policy; the user value is ignored",
    )
    assert settings.problems == ()


def test_a_locked_key_the_site_does_not_set_stays_at_its_default(site: Path, user: Path) -> None:
    write(site, 'locked = ["privacy.store_transcripts"]\n')
    user.parent.mkdir()
    write(user, "[privacy]\nstore_transcripts = true\n")
    settings = load(site, user)
    assert settings.get("privacy.store_transcripts") is False
    assert settings.source("privacy.store_transcripts") == "default"


def test_table_star_locks_every_key_of_the_table(site: Path, user: Path) -> None:
    write(site, 'locked = ["privacy.*"]\n')
    settings = load(site, user)
    assert [s.key for s in settings if s.locked] == [k for k in SCHEMA if k.startswith("privacy.")]


def test_saving_a_locked_key_raises_and_leaves_the_file_alone(site: Path, user: Path) -> None:
    write(site, 'locked = ["ui.theme"]\n')
    user.parent.mkdir()
    write(user, '[ui]\ndock = "left"\n')
    with pytest.raises(SettingLockedError, match=r"ui\.theme is locked by the site policy"):
        save_user_setting(user, "ui.theme", "dark", settings=load(site, user))
    assert user.read_text(encoding="utf-8") == '[ui]\ndock = "left"\n'


def test_locked_in_user_settings_is_ignored_and_reported(site: Path, user: Path) -> None:
    user.parent.mkdir()
    write(user, 'locked = ["ui.theme"]\n')
    settings = load(site, user)
    assert not settings.locked("ui.theme")
    assert settings.problems == (
        f"{user} line 1: locked is only read from the site policy; ignored",
    )


def test_locking_an_unknown_key_names_the_line_and_keeps_the_other_locks(
    site: Path, user: Path
) -> None:
    write(site, 'locked = [\n  "server.url",\n  "ui.themes",\n]\n')
    settings = load(site, user)
    assert settings.locked("server.url")
    assert settings.problems == (
        f"{site} line 3: locked: unknown setting ui.themes (did you mean ui.theme?)",
    )


def test_locked_below_a_table_header_gets_a_hint(site: Path, user: Path) -> None:
    write(site, '[ui]\ntheme = "dark"\nlocked = ["ui.theme"]\n')
    settings = load(site, user)
    assert not settings.locked("ui.theme")
    assert settings.problems == (
        f"{site} line 3: unknown setting ui.locked "
        "(locked = [...] must come before the first [table])",
    )


# -- problems: named by file and line, never fatal ----------------------------------


def test_a_bad_value_is_named_with_file_and_line_and_the_default_stays(
    site: Path, user: Path
) -> None:
    write(site, '# IT policy\n\n[privacy]\nflag_feed = "yes"\nscrub_pii = true\n')
    settings = load(site, user)
    assert settings.problems == (
        f'{site} line 4: privacy.flag_feed must be true or false, not "yes"',
    )
    assert (settings.get("privacy.flag_feed"), settings.source("privacy.flag_feed")) == (
        False,
        "default",
    )
    assert settings.source("privacy.scrub_pii") == "site"


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("ui.theme = 3", "ui.theme must be a string (in double quotes), not 3"),
        (
            'ui.theme = "blue"',
            'ui.theme must be one of "system", "light", "dark", "high-contrast", not "blue"',
        ),
        ("ui.font_scale = 3.0", "ui.font_scale must be between 0.75 and 2.0, not 3.0"),
        ("ui.font_scale = nan", "ui.font_scale must be between 0.75 and 2.0, not nan"),
        (
            "knowledge.sync_interval_s = 5",
            "knowledge.sync_interval_s must be between 30 and 86400, not 5",
        ),
        (
            "knowledge.sync_interval_s = 60.5",
            "knowledge.sync_interval_s must be a whole number, not 60.5",
        ),
        ("coaching.dead_air_s = true", "coaching.dead_air_s must be a number, not true"),
        (
            'server.url = "https://assist.example.com"',
            'server.url must be a ws:// or wss:// URL, not "https://assist.example.com"',
        ),
        (
            'server.pin_sha256 = "abc123"',
            'server.pin_sha256 must be 64 hexadecimal digits (the SHA-256 of the server certificate), not "abc123"',
        ),
        (
            'models.mirror = "ftp://mirror.example"',
            'models.mirror must be an http(s) URL or a folder, not "ftp://mirror.example"',
        ),
        ('ui.colour = "red"', "unknown setting ui.colour"),
        (
            "knowledge.syncc = true",
            "unknown setting knowledge.syncc (did you mean knowledge.sync?)",
        ),
    ],
)
def test_each_bad_key_is_named_with_file_and_line(
    site: Path, user: Path, line: str, problem: str
) -> None:
    write(site, f'# site policy\n\n\n{line}\n[audio]\ninput = "Headset"\n')
    settings = load(site, user)
    assert settings.problems == (f"{site} line 4: {problem}",)
    assert settings.source("audio.input") == "site"  # the rest of the file still counts


def test_an_unknown_table_is_named_once_at_its_header(site: Path, user: Path) -> None:
    write(site, '[ui]\ntheme = "dark"\n[display]\ntheme = "dark"\nscale = 2\n')
    assert load(site, user).problems == (
        f"{site} line 3: unknown table [display] "
        "(expected one of audio, coaching, knowledge, models, privacy, scripts, server, share, ui, updates)",
    )


def test_malformed_toml_names_file_and_line_and_the_app_gets_safe_defaults(
    site: Path, user: Path
) -> None:
    write(site, "[privacy]\nflag_feed = true\nstore_transcripts = yes\n")
    user.parent.mkdir()
    write(user, '[ui]\ntheme = "dark"\n')
    settings = load(site, user)
    (problem,) = settings.problems
    assert problem.startswith(f"{site} line 3: not valid TOML: invalid value (column 21)")
    assert problem.endswith("the whole file is ignored")
    assert settings.get("privacy.flag_feed") is False
    assert settings.get("privacy.store_transcripts") is False
    assert settings.get("ui.theme") == "dark"  # the valid layer still applies


def test_malformed_user_settings_keep_the_site_policy(site: Path, user: Path) -> None:
    write(site, '[ui]\ntheme = "light"\n')
    user.parent.mkdir()
    write(user, '[ui]\ntheme = "dark\n')
    settings = load(site, user)
    assert settings.get("ui.theme") == "light"
    assert settings.problems[0].startswith(f"{user} line 2: not valid TOML")


def test_a_file_that_cannot_be_read_is_a_problem_not_a_crash(site: Path, user: Path) -> None:
    site.mkdir()
    settings = load(site, user)
    assert settings.problems == (
        f"{site}: cannot read the file (Is a directory); the whole file is ignored",
    )


def test_a_file_that_is_not_utf8_is_a_problem(site: Path, user: Path) -> None:
    site.write_bytes('[ui]\ntheme = "dark"\n'.encode("utf-16"))
    assert load(site, user).problems == (
        f"{site}: not UTF-8 text (save it as UTF-8); the whole file is ignored",
    )


def test_a_byte_order_mark_from_notepad_is_accepted(site: Path, user: Path) -> None:
    site.write_bytes(b'\xef\xbb\xbf[ui]\r\ntheme = "dark"\r\n')
    settings = load(site, user)
    assert (settings.get("ui.theme"), settings.problems) == ("dark", ())


def test_a_pin_with_colons_and_capitals_is_stored_as_plain_lower_hex(
    site: Path, user: Path
) -> None:
    digest = "AB:" * 31 + "CD"
    write(site, f'[server]\npin_sha256 = "{digest}"\n')
    assert load(site, user).get("server.pin_sha256") == "ab" * 31 + "cd"


# -- writing user settings -----------------------------------------------------------


def test_saving_creates_the_file_and_returns_the_settings_reloaded(site: Path, user: Path) -> None:
    updated = save_user_setting(user, "ui.font_scale", 1.25, settings=load(site, user))
    assert (updated.get("ui.font_scale"), updated.source("ui.font_scale")) == (1.25, "user")
    assert tomllib.loads(user.read_text(encoding="utf-8")) == {"ui": {"font_scale": 1.25}}
    assert [p.name for p in user.parent.iterdir()] == ["settings.toml"]  # no temp file left


def test_saving_keeps_the_other_user_keys_even_unknown_ones(site: Path, user: Path) -> None:
    user.parent.mkdir()
    write(user, '[ui]\ndock = "left"\n[future]\nthing = [1, 2]\n')
    save_user_setting(user, "privacy.flag_feed", True, settings=load(site, user))
    assert tomllib.loads(user.read_text(encoding="utf-8")) == {
        "ui": {"dock": "left"},
        "future": {"thing": [1, 2]},
        "privacy": {"flag_feed": True},
    }


@pytest.mark.parametrize(
    "name", ['Headset "Pro" (USB)', "C:\\Audio\\mic", "Micrófono – 耳机", "odd\x7f\tname"]
)
def test_saved_strings_read_back_exactly(site: Path, user: Path, name: str) -> None:
    updated = save_user_setting(user, "audio.input", name, settings=load(site, user))
    assert updated.get("audio.input") == name
    assert updated.problems == ()


def test_saving_an_invalid_value_raises_and_writes_nothing(site: Path, user: Path) -> None:
    with pytest.raises(SettingsError, match=r"ui\.font_scale must be between 0\.75 and 2\.0"):
        save_user_setting(user, "ui.font_scale", 5.0, settings=load(site, user))
    assert not user.exists()


def test_saving_an_unknown_key_raises(site: Path, user: Path) -> None:
    with pytest.raises(
        SettingsError, match=r"unknown setting ui\.them \(did you mean ui\.theme\?\)"
    ):
        save_user_setting(user, "ui.them", "dark", settings=load(site, user))


def test_saving_refuses_to_overwrite_a_user_file_that_is_not_valid_toml(
    site: Path, user: Path
) -> None:
    user.parent.mkdir()
    write(user, "[ui\n")
    with pytest.raises(SettingsError, match="fix or delete the file"):
        save_user_setting(user, "ui.theme", "dark", settings=load(site, user))
    assert user.read_text(encoding="utf-8") == "[ui\n"


def test_removing_a_user_setting_falls_back_to_the_site_value(site: Path, user: Path) -> None:
    write(site, '[ui]\ntheme = "light"\n')
    settings = save_user_setting(user, "ui.theme", "dark", settings=load(site, user))
    settings = remove_user_setting(user, "ui.theme", settings=settings)
    assert (settings.get("ui.theme"), settings.source("ui.theme")) == ("light", "site")


# -- where the files are ----------------------------------------------------------------


def test_environment_variables_name_both_files() -> None:
    environ = {
        "AGENT_ASSIST_SITE_POLICY": "/srv/policy.toml",
        "AGENT_ASSIST_USER_SETTINGS": "/tmp/me.toml",
    }
    assert site_policy_path(environ=environ) == Path("/srv/policy.toml")
    assert user_settings_path(environ=environ) == Path("/tmp/me.toml")


@pytest.mark.parametrize(
    ("platform", "environ", "expected"),
    [
        ("linux", {}, "/etc/agent-assist/site.toml"),
        ("darwin", {}, "/Library/Application Support/AgentAssist/site.toml"),
        # %ProgramData% comes from the shell, never from an environment a user can change
        ("win32", {"ProgramData": "D:\\PD"}, "C:\\ProgramData\\AgentAssist\\site.toml"),
        ("win32", {}, "C:\\ProgramData\\AgentAssist\\site.toml"),
    ],
)
def test_the_site_policy_has_one_machine_wide_path_per_platform(
    platform: str, environ: dict[str, str], expected: str
) -> None:
    with use_machine_paths(None):  # the real places, not the test fixture's
        assert str(site_policy_path(environ=environ, platform=platform)) == expected


@pytest.mark.parametrize(
    ("platform", "environ", "expected"),
    [
        ("linux", {"HOME": "/home/a"}, "/home/a/.config/agent-assist/settings.toml"),
        ("linux", {"HOME": "/home/a", "XDG_CONFIG_HOME": "/x"}, "/x/agent-assist/settings.toml"),
        (
            "darwin",
            {"HOME": "/Users/a"},
            "/Users/a/Library/Application Support/agent-assist/settings.toml",
        ),
        (
            "win32",
            {"LOCALAPPDATA": "C:\\Users\\a\\AppData\\Local"},
            "C:\\Users\\a\\AppData\\Local\\agent-assist\\settings.toml",
        ),
    ],
)
def test_user_settings_live_in_the_user_config_dir(
    platform: str, environ: dict[str, str], expected: str
) -> None:
    assert str(user_settings_path(environ=environ, platform=platform)) == expected


@pytest.mark.parametrize("xdg", [None, "/tmp/xdg-config"])
def test_the_user_config_dir_is_the_one_platformdirs_reports_here(
    monkeypatch: pytest.MonkeyPatch, xdg: str | None
) -> None:
    monkeypatch.delenv("AGENT_ASSIST_USER_SETTINGS", raising=False)
    if xdg is None:
        monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    else:
        monkeypatch.setenv("XDG_CONFIG_HOME", xdg)
    expected = Path(platformdirs.user_config_dir("agent-assist", appauthor=False))
    assert user_settings_path() == expected / "settings.toml"


# -- the template for IT ------------------------------------------------------------------


def test_the_site_policy_template_loads_without_problems(user: Path) -> None:
    settings = load_settings(site=TEMPLATE, user=user)
    assert settings.problems == ()
    assert {s.key: s.value for s in settings} == {k: spec.default for k, spec in SCHEMA.items()}


def test_the_site_policy_template_documents_every_key() -> None:
    data = tomllib.loads(TEMPLATE.read_text(encoding="utf-8"))
    keys = {f"{table}.{key}" for table, keys in data.items() if table != "locked" for key in keys}
    assert keys == set(SCHEMA)
    assert data["locked"] == []
