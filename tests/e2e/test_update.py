"""Signed updates end to end: a real marquee server on 127.0.0.1 serves /updates/<channel>/.

The PC's machine-wide policy (site.toml + release.pub) lives in the test's own machine
folders (the autouse ``machine`` fixture); the CLI runs in-process against it.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent_assist import __version__
from agent_assist.cli import main
from agent_assist.locations import MachinePaths
from agent_assist.marquee.store import MarqueeStore
from agent_assist.marquee.updates import PART
from agent_assist.release import Manifest, is_newer, sign_release
from agent_assist.signing import SigningKey, generate_key
from agent_assist.update import FolderSource, UpdateRefused, artifact_for, check, stage
from tests.support.marquee import Node, open_session

NEWER = "99.0.0"
ARCH = "amd64"


@pytest.fixture(scope="module")
def key() -> SigningKey:
    return generate_key()


def publish(
    updates: Path,
    key: SigningKey,
    version: str,
    *,
    channel: str = "stable",
    size: int = 200_000,
    expires_days: float | None = 30,
    signed_channel: str | None = None,
    test: bool = False,
) -> Path:
    """A signed release in ``updates/<channel>/``, as IT copies it there; returns the manifest."""
    folder = updates / channel
    folder.mkdir(parents=True, exist_ok=True)
    deb = folder / f"agent-assist_{version}_{ARCH}.deb"
    deb.write_bytes(os.urandom(size))
    (folder / f"agent-assist-{version}.msi").write_bytes(os.urandom(1000))
    files = [deb, folder / f"agent-assist-{version}.msi"]
    return sign_release(
        folder,
        key,
        name="agent-assist",
        version=version,
        files=files,
        expires_days=expires_days,
        channel=signed_channel,
        test=test,
    )


@pytest.fixture
def updates(tmp_path: Path) -> Path:
    folder = tmp_path / "updates"
    folder.mkdir()
    return folder


@pytest.fixture
def server(tmp_path: Path, updates: Path) -> Iterator[Node]:
    node = Node(lambda: MarqueeStore(tmp_path / "marquee.db"), updates=updates).start()
    yield node
    node.stop()


@pytest.fixture
def managed_pc(machine: MachinePaths, key: SigningKey, server: Node) -> MachinePaths:
    """A PC whose IT installed release.pub and a site policy pointing at the server."""
    machine.policy_dir.mkdir(parents=True, exist_ok=True)
    machine.release_key.write_text(key.public.to_text())
    machine.site_policy.write_text(f'[server]\nurl = "{server.url}"\n')
    return machine


def update(
    capsys: pytest.CaptureFixture[str], *args: str, user: Path | None = None
) -> tuple[int, str, str]:
    os.environ["AGENT_ASSIST_USER_SETTINGS"] = str(user or Path("/nonexistent/settings.toml"))
    try:
        code = main(["update", *args])
    finally:
        del os.environ["AGENT_ASSIST_USER_SETTINGS"]
    out, err = capsys.readouterr()
    return code, out, err


def one_refusal(code: int, err: str) -> str:
    assert code == 1
    assert err.count("\n") == 1, err
    assert err.startswith("agent-assist: update refused: ")
    return err


# -- update check against the server ---------------------------------------------------------


def test_a_newer_signed_release_is_offered(
    managed_pc: MachinePaths, updates: Path, key: SigningKey, capsys: pytest.CaptureFixture[str]
) -> None:
    publish(updates, key, "0.0.1")
    publish(updates, key, NEWER)
    code, out, err = update(capsys, "check")
    assert (code, err) == (0, "")
    assert out.splitlines()[0] == (
        f"update available: agent-assist {NEWER} (installed {__version__}, channel stable)"
    )
    assert f"agent-assist_{NEWER}_{ARCH}.deb  200000 bytes" in out
    assert f"signed by key {key.public.id_hex}" in out


def test_check_json_says_available_with_the_artifact(
    managed_pc: MachinePaths, updates: Path, key: SigningKey, capsys: pytest.CaptureFixture[str]
) -> None:
    publish(updates, key, NEWER)
    code, out, _ = update(capsys, "check", "--json")
    document = json.loads(out)
    assert (code, document["status"], document["version"]) == (0, "available", NEWER)
    assert document["artifact"]["name"] == f"agent-assist_{NEWER}_{ARCH}.deb"


def test_the_same_version_is_up_to_date(
    managed_pc: MachinePaths, updates: Path, key: SigningKey, capsys: pytest.CaptureFixture[str]
) -> None:
    publish(updates, key, __version__)
    code, out, _ = update(capsys, "check")
    assert (code, out) == (0, f"up to date: agent-assist {__version__} (channel stable)\n")


def test_a_tampered_manifest_is_refused(
    managed_pc: MachinePaths, updates: Path, key: SigningKey, capsys: pytest.CaptureFixture[str]
) -> None:
    manifest = publish(updates, key, NEWER)
    document = json.loads(manifest.read_text())
    document["artifacts"][0]["sha256"] = "0" * 64  # point it at another package
    manifest.write_text(json.dumps(document, indent=2) + "\n")
    code, out, err = update(capsys, "check")
    assert "the file was changed after it was signed" in one_refusal(code, err)
    assert out == ""


def test_an_expired_manifest_is_refused(
    managed_pc: MachinePaths, updates: Path, key: SigningKey, capsys: pytest.CaptureFixture[str]
) -> None:
    publish(updates, key, NEWER, expires_days=-1)
    code, _, err = update(capsys, "check")
    assert f"agent-assist {NEWER}'s signed manifest expired on" in one_refusal(code, err)


def test_a_manifest_without_expiry_is_refused(
    managed_pc: MachinePaths, updates: Path, key: SigningKey, capsys: pytest.CaptureFixture[str]
) -> None:
    publish(updates, key, NEWER, expires_days=None)
    code, _, err = update(capsys, "check")
    assert "has no expiry" in one_refusal(code, err)


def test_an_older_release_is_refused(
    managed_pc: MachinePaths, updates: Path, key: SigningKey, capsys: pytest.CaptureFixture[str]
) -> None:
    publish(updates, key, "0.0.1")
    code, _, err = update(capsys, "check")
    assert (
        f"0.0.1 on the stable channel is older than the installed {__version__} "
        "(no rollback unless IT pins a version)"
    ) in one_refusal(code, err)


def test_a_release_signed_with_another_key_is_refused(
    managed_pc: MachinePaths, updates: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    publish(updates, generate_key(), NEWER)
    code, _, err = update(capsys, "check")
    assert "not with the trusted key" in one_refusal(code, err)


def test_the_users_environment_cannot_bring_its_own_key(
    managed_pc: MachinePaths,
    updates: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    mine = generate_key()
    (tmp_path / "mine.pub").write_text(mine.public.to_text())
    monkeypatch.setenv("AGENT_ASSIST_RELEASE_KEY", str(tmp_path / "mine.pub"))
    publish(updates, mine, NEWER)
    code, _, err = update(capsys, "check")
    assert "not with the trusted key" in one_refusal(code, err)


def test_a_test_release_is_never_offered(
    managed_pc: MachinePaths, updates: Path, key: SigningKey, capsys: pytest.CaptureFixture[str]
) -> None:
    publish(updates, key, NEWER, test=True)
    code, _, err = update(capsys, "check")
    assert "is a test release" in one_refusal(code, err)


def test_a_release_signed_for_another_channel_is_refused(
    managed_pc: MachinePaths, updates: Path, key: SigningKey, capsys: pytest.CaptureFixture[str]
) -> None:
    publish(updates, key, NEWER, signed_channel="pilot")  # copied into stable/ by mistake
    code, _, err = update(capsys, "check")
    assert "was signed for the pilot channel, not stable" in one_refusal(code, err)


def test_the_pilot_channel_comes_from_the_site_policy(
    managed_pc: MachinePaths,
    updates: Path,
    key: SigningKey,
    server: Node,
    capsys: pytest.CaptureFixture[str],
) -> None:
    publish(updates, key, NEWER, channel="pilot", signed_channel="pilot")
    managed_pc.site_policy.write_text(
        f'locked = ["updates.*"]\n[server]\nurl = "{server.url}"\n[updates]\nchannel = "pilot"\n'
    )
    code, out, _ = update(capsys, "check")
    assert code == 0
    assert "channel pilot" in out
    with pytest.raises(SystemExit):
        update(capsys, "check", "--channel", "nightly")
    code, _, err = update(capsys, "check", "--channel", "stable")
    assert code == 2
    assert "updates.channel is locked by the site policy" in err


def test_it_can_pin_an_older_version_to_roll_back(
    managed_pc: MachinePaths,
    updates: Path,
    key: SigningKey,
    server: Node,
    capsys: pytest.CaptureFixture[str],
) -> None:
    publish(updates, key, "0.0.1")
    publish(updates, key, NEWER)
    managed_pc.site_policy.write_text(
        f'[server]\nurl = "{server.url}"\n[updates]\npin_version = "0.0.1"\n'
    )
    code, out, _ = update(capsys, "check")
    assert code == 0
    assert out.startswith("update available: agent-assist 0.0.1 ")


def test_updates_turned_off_by_the_policy_say_so(
    managed_pc: MachinePaths, server: Node, capsys: pytest.CaptureFixture[str]
) -> None:
    managed_pc.site_policy.write_text(
        f'[server]\nurl = "{server.url}"\n[updates]\nenabled = false\n'
    )
    code, _, err = update(capsys, "check")
    assert (code, err) == (
        1,
        "agent-assist: updates are turned off by the site policy (updates.enabled)\n",
    )


def test_an_unreachable_source_is_one_line(
    managed_pc: MachinePaths, capsys: pytest.CaptureFixture[str]
) -> None:
    managed_pc.site_policy.write_text('[updates]\nurl = "http://127.0.0.1:9/updates/"\n')
    code, _, err = update(capsys, "check")
    assert code == 1
    assert err.startswith("agent-assist: cannot reach the update server http://127.0.0.1:9/")
    assert err.count("\n") == 1


# -- update apply ---------------------------------------------------------------------------


def test_apply_downloads_in_parts_verifies_and_stages(
    managed_pc: MachinePaths, updates: Path, key: SigningKey, capsys: pytest.CaptureFixture[str]
) -> None:
    publish(updates, key, NEWER, size=2 * PART + 12_345)  # three range requests
    code, out, _ = update(capsys, "apply")
    staged = managed_pc.updates / f"agent-assist_{NEWER}_{ARCH}.deb"
    assert code == 0
    assert out.splitlines()[0].startswith(f"update available: agent-assist {NEWER} ")
    assert out.splitlines()[3] == f"verified and staged: {staged}"
    assert staged.read_bytes() == (updates / "stable" / staged.name).read_bytes()
    assert out.splitlines()[4].startswith(
        "install it with (as root/Administrator): apt-get install -y --no-install-recommends "
    )


def test_apply_refuses_a_package_changed_on_the_server_and_keeps_nothing(
    managed_pc: MachinePaths, updates: Path, key: SigningKey, capsys: pytest.CaptureFixture[str]
) -> None:
    publish(updates, key, NEWER)
    deb = updates / "stable" / f"agent-assist_{NEWER}_{ARCH}.deb"
    data = bytearray(deb.read_bytes())
    data[1000] ^= 1
    deb.write_bytes(bytes(data))
    code, _, err = update(capsys, "apply")
    assert "does not match the signed manifest (SHA-256 differs); deleted" in one_refusal(code, err)
    assert list(managed_pc.updates.iterdir()) == []


def test_apply_install_hands_the_verified_package_to_apt_with_consent(
    managed_pc: MachinePaths,
    updates: Path,
    key: SigningKey,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import agent_assist.update as update_module

    ran: list[list[str]] = []
    monkeypatch.setattr(update_module, "run_installer", lambda command: ran.append(command) or 0)
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    publish(updates, key, NEWER)
    code, out, _ = update(capsys, "apply", "--install", "--yes")
    staged = managed_pc.updates / f"agent-assist_{NEWER}_{ARCH}.deb"
    assert code == 0
    assert ran == [["apt-get", "install", "-y", "--no-install-recommends", str(staged)]]
    assert out.splitlines()[-1] == f"installed agent-assist {NEWER}"


def test_apply_install_without_root_says_how(
    managed_pc: MachinePaths,
    updates: Path,
    key: SigningKey,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    publish(updates, key, NEWER)
    code, _, err = update(capsys, "apply", "--install", "--yes")
    assert code == 1
    assert err.startswith("agent-assist: installing needs root: sudo apt-get install")


def test_stage_resumes_a_partial_download(tmp_path: Path, updates: Path, key: SigningKey) -> None:
    publish(updates, key, NEWER, size=2 * PART)
    source = FolderSource(updates)
    offer = check(source, key=key.public, channel="stable", installed="0.1.0", system="linux")
    assert offer is not None
    deb = updates / "stable" / offer.artifact.name
    staging = tmp_path / "staging"
    staging.mkdir()
    (staging / (offer.artifact.name + ".part")).write_bytes(deb.read_bytes()[:1000])
    reads: list[int] = []
    staged = stage(source, offer, staging, progress=lambda done, total: reads.append(done))
    assert staged.read_bytes() == deb.read_bytes()
    assert reads[0] == 1000 + PART  # the first request started where the last attempt stopped


def test_a_folder_source_works_like_the_server(updates: Path, key: SigningKey) -> None:
    publish(updates, key, NEWER)
    offer = check(FolderSource(updates), key=key.public, channel="stable", installed="0.1.0")
    assert offer is not None
    assert offer.version == NEWER


def test_windows_takes_the_msi_from_the_same_signed_manifest(
    updates: Path, key: SigningKey
) -> None:
    publish(updates, key, NEWER)
    offer = check(
        FolderSource(updates), key=key.public, channel="stable", installed="0.1.0", system="win32"
    )
    assert offer is not None
    assert offer.artifact.name == f"agent-assist-{NEWER}.msi"


def test_a_release_without_a_package_for_this_machine_is_refused(
    updates: Path, key: SigningKey
) -> None:
    folder = updates / "stable"
    folder.mkdir()
    (folder / "agent-assist-99.0.0-linux-x86_64.tar.gz").write_bytes(b"x")
    sign_release(folder, key, name="agent-assist", version=NEWER, expires_days=1)
    with pytest.raises(UpdateRefused, match=r"has no amd64 \.deb for this machine"):
        check(FolderSource(updates), key=key.public, channel="stable", installed="0.1.0")


def test_the_artifact_for_linux_is_the_deb_of_this_architecture() -> None:
    manifest = Manifest.from_bytes(
        json.dumps(
            {
                "format": 1,
                "kind": "release",
                "name": "agent-assist",
                "version": "1.0",
                "created": "2026-01-01T00:00:00Z",
                "artifacts": [
                    {"name": f"agent-assist_1.0_{a}.deb", "size": 1, "sha256": "0" * 64}
                    for a in ("arm64", ARCH)
                ],
            }
        ).encode()
    )
    found = artifact_for(manifest, system="linux")
    assert found is not None
    assert found.name == f"agent-assist_1.0_{ARCH}.deb"


# -- the server's /updates/ route -------------------------------------------------------------


def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, bytes, dict[str, str]]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read(), dict(response.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(), dict(exc.headers)


def test_the_server_lists_a_channel_and_serves_files_in_parts(
    server: Node, updates: Path, key: SigningKey
) -> None:
    publish(updates, key, NEWER, size=PART + 10)
    base = f"http://127.0.0.1:{server.port}/updates/stable/"
    status, body, _ = get(base)
    names = {f["name"]: f["size"] for f in json.loads(body)["files"]}
    assert status == 200
    assert names[f"agent-assist_{NEWER}_{ARCH}.deb"] == PART + 10
    deb = base + f"agent-assist_{NEWER}_{ARCH}.deb"
    status, body, headers = get(deb, {"Range": "bytes=100-199"})
    expected = (updates / "stable" / f"agent-assist_{NEWER}_{ARCH}.deb").read_bytes()
    assert (status, body) == (206, expected[100:200])
    assert headers["Content-Range"] == f"bytes 100-199/{PART + 10}"
    status, body, _ = get(deb)  # larger than a part and no Range: refused, not sent whole
    assert status == 416
    assert b"ask for parts" in body
    status, body, _ = get(base + f"agent-assist-{NEWER}.manifest.json")  # small: sent whole
    assert status == 200
    assert json.loads(body)["version"] == NEWER


@pytest.mark.parametrize(
    "path",
    [
        "/updates/stable/..%2Fsecret",
        "/updates/../secret",
        "/updates/Stable/x",
        "/updates/stable/.hidden",
    ],
)
def test_the_server_serves_nothing_outside_a_channel_folder(
    server: Node, updates: Path, path: str
) -> None:
    (updates / "secret").write_text("no")
    (updates / "stable").mkdir()
    (updates / "stable" / ".hidden").write_text("no")
    status, body, _ = get(f"http://127.0.0.1:{server.port}{path}")
    assert status == 404
    assert b"no" not in body.replace(b"not found", b"")


def test_versions_compare_for_the_fixture_release() -> None:
    assert is_newer(NEWER, __version__)


# -- fleet versions -----------------------------------------------------------------------------


def test_fleet_versions_lists_what_each_desktop_said_in_its_hello(
    server: Node, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = MarqueeStore(tmp_path / "marquee.db")
    agent = store.create_token(role="agent", name="ana", site="manila", team="cards")
    admin = store.create_token(role="admin", name="it")
    from agent_assist.marquee.client import MarqueeClient

    client = MarqueeClient(server.url, agent, on_message=lambda m: None, channel="pilot")
    client.start()
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not server.server.fleet:  # type: ignore[union-attr]
            time.sleep(0.05)
        code = main(["fleet", "versions", "--server", server.url, "--token", admin])
        out = capsys.readouterr().out
        assert code == 0
        row = next(line for line in out.splitlines() if line.startswith("ana"))
        assert row.split() == ["ana", "manila", "cards", __version__, "pilot", "connected"]
        code = main(["fleet", "versions", "--server", server.url, "--token", agent])
        assert code == 1
        assert (
            "HTTP 403: only supervisors and admins list the fleet's versions"
            in capsys.readouterr().err
        )
        for supervisor, site, sees_ana in (("maria", "manila", True), ("lee", "cebu", False)):
            token = store.create_token(role="supervisor", name=supervisor, site=site)
            code = main(["fleet", "versions", "--json", "--server", server.url, "--token", token])
            assert code == 0
            names = [c["name"] for c in json.loads(capsys.readouterr().out)]
            assert ("ana" in names) is sees_ana  # a supervisor sees its own sites' desktops
    finally:
        client.stop()


def test_a_hello_with_a_malformed_version_is_refused(server: Node, tmp_path: Path) -> None:
    from websockets.exceptions import ConnectionClosed
    from websockets.sync.client import connect

    token = MarqueeStore(tmp_path / "marquee.db").create_token(role="agent", name="bo")
    with connect(server.url, additional_headers={"Authorization": f"Bearer {token}"}) as ws:
        ws.send(json.dumps({"type": "hello", "v": 1, "version": "<script>", "channel": "stable"}))
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=5)
    assert "hello.version" in (closed.value.rcvd.reason if closed.value.rcvd else "")
    with contextlib.ExitStack() as stack:
        open_session(stack, server.url, token)  # an old client's hello (no version) still works
