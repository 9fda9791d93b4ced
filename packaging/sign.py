"""Release signing for Agent Assist (run through ``packaging/sign``).

  packaging/sign keygen DIR                      new key pair: DIR/release.key (secret, PEM,
                                                 mode 0600) and DIR/release.pub (minisign)
  packaging/sign pubkey KEY OUT                  write the public key of secret key KEY
  packaging/sign release DIR --key KEY [--name N] --version V [--expires-days D]
                       [--channel C] [--test]    sign every artifact in DIR (NAME.minisig) and
                                                 write the signed manifest, which expires in D
                                                 days (default 180); --test labels a release
                                                 signed with a throwaway key
  packaging/sign authenticode FILE --cert C --key K | --pkcs12 P [--out F] [--ca CA]
                                                 Authenticode-sign a Windows .exe/.msi with
                                                 osslsigncode, then verify it

The secret key may be encrypted: AGENT_ASSIST_SIGNING_PASSPHRASE holds its passphrase
(for keygen, it encrypts the new key). Never commit a secret key: keep it offline or in
the CI secret store. Authenticode passwords come from AGENT_ASSIST_CODESIGN_PASSWORD and
a timestamp server from AGENT_ASSIST_TIMESTAMP_URL (both optional).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agent_assist.errors import AgentAssistError
from agent_assist.release import sign_release
from agent_assist.signing import generate_key, load_signing_key


def _passphrase() -> bytes | None:
    value = os.environ.get("AGENT_ASSIST_SIGNING_PASSPHRASE")
    return value.encode() if value else None


def keygen(directory: Path) -> int:
    secret, public = directory / "release.key", directory / "release.pub"
    for path in (secret, public):
        if path.exists():
            print(f"sign: {path} exists; refusing to overwrite a key", file=sys.stderr)
            return 1
    directory.mkdir(parents=True, exist_ok=True)
    key = generate_key()
    fd = os.open(secret, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(key.to_pem(_passphrase()))
    public.write_text(key.public.to_text(), encoding="utf-8")
    print(f"secret key {secret} (keep it secret; never commit it)")
    print(f"public key {public} (key id {key.public.id_hex}; give this to IT and verifiers)")
    return 0


def pubkey(key_path: Path, out: Path) -> int:
    key = load_signing_key(key_path, _passphrase())
    out.write_text(key.public.to_text(), encoding="utf-8")
    print(f"{out}: public key {key.public.id_hex}")
    return 0


def release(args: argparse.Namespace) -> int:
    key = load_signing_key(args.key, _passphrase())
    manifest = sign_release(
        args.dir,
        key,
        name=args.name,
        version=args.version,
        expires_days=args.expires_days,
        channel=args.channel,
        test=args.test,
    )
    label = " (a TEST release: throwaway key)" if args.test else ""
    print(f"{manifest} signed by key {key.public.id_hex}{label}")
    return 0


def authenticode(args: argparse.Namespace) -> int:
    tool = shutil.which("osslsigncode")
    if tool is None:
        print("sign: osslsigncode is missing (apt-get install osslsigncode)", file=sys.stderr)
        return 1
    source = Path(args.file)
    out = Path(args.out) if args.out else source.with_name(source.stem + ".signed" + source.suffix)
    command = [tool, "sign", "-h", "sha256", "-n", "Agent Assist"]
    if args.pkcs12:
        command += ["-pkcs12", args.pkcs12]
    elif args.cert and args.key:
        command += ["-certs", args.cert, "-key", args.key]
    else:
        print("sign: give --cert and --key, or --pkcs12", file=sys.stderr)
        return 2
    password = os.environ.get("AGENT_ASSIST_CODESIGN_PASSWORD")
    scratch = tempfile.TemporaryDirectory(prefix="sign-")
    if password:  # from a private file, not the command line other users can read
        pass_file = Path(scratch.name) / "pass"
        pass_file.write_text(password, encoding="utf-8")
        command += ["-readpass", str(pass_file)]
    timestamp = os.environ.get("AGENT_ASSIST_TIMESTAMP_URL")
    if timestamp:
        command += ["-ts", timestamp]
    out.unlink(missing_ok=True)
    with scratch:
        signed = subprocess.run([*command, "-in", str(source), "-out", str(out)], check=False)
    if signed.returncode != 0:
        print(f"sign: osslsigncode could not sign {source}", file=sys.stderr)
        return 1
    check = [tool, "verify", "-in", str(out)]
    if args.ca:
        check += ["-CAfile", args.ca]
    verified = subprocess.run(check, capture_output=True, text=True, check=False)
    if verified.returncode != 0:
        print(verified.stdout + verified.stderr, file=sys.stderr)
        print(f"sign: the signature on {out} does not verify", file=sys.stderr)
        return 1
    print(f"{out} Authenticode-signed and verified")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="packaging/sign", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    kg = sub.add_parser("keygen", help="make a new release key pair")
    kg.add_argument("dir", type=Path)
    pk = sub.add_parser("pubkey", help="write the public key of a secret key")
    pk.add_argument("key", type=Path)
    pk.add_argument("out", type=Path)
    rel = sub.add_parser("release", help="sign the artifacts in a folder and write the manifest")
    rel.add_argument("dir", type=Path)
    rel.add_argument("--key", type=Path, required=True, help="secret key (PEM)")
    rel.add_argument("--name", default="agent-assist")
    rel.add_argument("--version", required=True)
    rel.add_argument(
        "--expires-days",
        type=float,
        default=180.0,
        help="the manifest expires this many days from now (default 180); updates refuse it after",
    )
    rel.add_argument("--channel", help="sign for this update channel only (stable, pilot)")
    rel.add_argument(
        "--test", action="store_true", help="label it a test release (signed with a throwaway key)"
    )
    ac = sub.add_parser("authenticode", help="Authenticode-sign a Windows .exe or .msi")
    ac.add_argument("file")
    ac.add_argument("--cert", help="certificate chain (PEM)")
    ac.add_argument("--key", help="private key (PEM)")
    ac.add_argument("--pkcs12", help="certificate and key in one .pfx/.p12 file")
    ac.add_argument("--out", help="signed file (default: NAME.signed.EXT)")
    ac.add_argument("--ca", help="CA file to verify against (e.g. a test certificate)")
    args = parser.parse_args(argv)
    try:
        if args.command == "keygen":
            return keygen(args.dir)
        if args.command == "pubkey":
            return pubkey(args.key, args.out)
        if args.command == "release":
            return release(args)
        return authenticode(args)
    except (AgentAssistError, ValueError, OSError) as exc:
        print(f"sign: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
