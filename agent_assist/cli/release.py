"""``agent-assist verify`` and ``bundle create|install``: signed releases and offline bundles."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from agent_assist.errors import UsageError

__all__ = ["add_release_commands"]

EXIT_OK = 0
_KEY_HELP = (
    "trusted public key (minisign .pub); default: the machine-wide release.pub from IT, else "
    "the key built into this program (AGENT_ASSIST_RELEASE_KEY only on a machine without a "
    "machine-wide policy)"
)


def add_release_commands(sub: Any, parser_class: type[argparse.ArgumentParser]) -> None:
    verify = sub.add_parser(
        "verify",
        help="check a signed release or offline bundle",
        description=(
            "Check a release manifest's Ed25519 signature against a trusted key, then every "
            "artifact's size and SHA-256 (artifacts are looked up beside the manifest, or in --dir). "
            "Given a bundle (.zip), check its signature and every file in it. Given any other file "
            "(e.g. a .deb or .msi), check it against its detached signature (FILE.minisig, or "
            "--sig). Releases made with a throwaway test key are refused unless --allow-test. "
            "Prints what was verified; any mismatch is refused with one line on stderr and exit "
            "code 1."
        ),
    )
    verify.add_argument(
        "manifest", metavar="FILE", help="NAME.manifest.json, a bundle .zip, or a signed artifact"
    )
    verify.add_argument("--key", metavar="PUBKEY", help=_KEY_HELP)
    verify.add_argument("--dir", metavar="DIR", help="folder holding the artifacts")
    verify.add_argument(
        "--sig",
        metavar="FILE.minisig",
        help="the signature of a single artifact (default: beside it)",
    )
    verify.add_argument(
        "--allow-test", action="store_true", help="accept a release signed with a test key"
    )
    verify.set_defaults(run=_cmd_verify)

    bundle = sub.add_parser(
        "bundle",
        help="signed offline bundles of a model and/or the knowledge base",
        description=(
            "Offline bundles carry a speech model folder and/or a knowledge-base snapshot in one "
            "signed zip, for PCs without network access. Installing verifies the signature and "
            "every file first; nothing is installed from a bundle that does not verify."
        ),
    )
    bsub = bundle.add_subparsers(
        dest="action", metavar="ACTION", parser_class=parser_class, required=True
    )
    create = bsub.add_parser(
        "create",
        help="make a signed bundle",
        description=(
            "Write a signed bundle (a zip) holding --model and/or the articles of --kb. The secret "
            "key is a PEM file made by packaging/sign keygen; an encrypted one needs "
            "AGENT_ASSIST_SIGNING_PASSPHRASE."
        ),
    )
    create.add_argument("out", metavar="OUT.zip", help="bundle to write")
    create.add_argument("--key", metavar="SECRET_KEY", required=True, help="signing key (PEM)")
    create.add_argument("--model", metavar="NAME_OR_PATH", help="installed model or model folder")
    create.add_argument("--kb", metavar="DB", help="knowledge cache to export into the bundle")
    create.add_argument(
        "--kb-file", metavar="FILE.jsonl", help="an article export to bundle instead of --kb"
    )
    create.add_argument("--name", default="agent-assist-bundle", help="bundle name")
    create.add_argument("--version", default=None, help="bundle version (default: today, Y.M.D)")
    create.add_argument("--models-dir", metavar="DIR", help="models directory for --model NAME")
    create.set_defaults(run=_cmd_bundle_create)

    install = bsub.add_parser(
        "install",
        help="verify a bundle, then install its model and knowledge base",
        description=(
            "Verify BUNDLE against the trusted key, then install its model (atomically, like "
            "models install) and import its articles into the knowledge cache (all or nothing)."
        ),
    )
    install.add_argument("bundle", metavar="BUNDLE.zip")
    install.add_argument("--key", metavar="PUBKEY", help=_KEY_HELP)
    install.add_argument("--as", dest="install_name", metavar="NAME", help="model name to use")
    install.add_argument("--models-dir", metavar="DIR", help="models directory")
    install.add_argument(
        "--machine",
        action="store_true",
        help="install the model for every user of this PC (IT; needs root/Administrator)",
    )
    install.add_argument("--db", metavar="DB", help="knowledge cache (default: the user's)")
    install.add_argument(
        "--no-embed", action="store_true", help="skip embeddings (keyword search only)"
    )
    install.set_defaults(run=_cmd_bundle_install)


def _cmd_verify(args: argparse.Namespace) -> int:
    from agent_assist.bundle import is_bundle, open_bundle
    from agent_assist.release import TEST_MARK, Manifest, trusted_key, verify_release
    from agent_assist.signing import VerificationError, verify_file

    path = Path(args.manifest)
    if not path.is_file():
        raise UsageError(f"{path} does not exist")
    if args.sig and (path.name.endswith(".json") or is_bundle(path)):
        raise UsageError("--sig applies to a single artifact, not to a manifest or a bundle")
    key = trusted_key(args.key)
    manifest: Manifest
    if is_bundle(path):
        if args.dir:
            raise UsageError("--dir applies to a release manifest, not to a bundle")
        with tempfile.TemporaryDirectory(prefix="agent-assist-verify-") as scratch:
            manifest = open_bundle(path, Path(scratch), key=key)
    elif path.name.endswith(".json"):
        manifest = verify_release(path, key=key, directory=Path(args.dir) if args.dir else None)
    else:
        trusted = verify_file(path, key, signature=args.sig)
        test = TEST_MARK in trusted.split("\t")
        if test and not args.allow_test:
            raise VerificationError(
                f"{path.name}: refused, signed with a throwaway test key "
                "(a test release; --allow-test accepts it)"
            )
        print(
            f"verified: {path.name} ({path.stat().st_size} bytes), signed by key {key.id_hex}"
            f"{' (TEST release)' if test else ''}; trusted comment: {trusted}"
        )
        return EXIT_OK
    if manifest.test and not args.allow_test:
        raise VerificationError(
            f"{manifest.name} {manifest.version}: refused, a test release signed with a throwaway "
            "key (--allow-test accepts it)"
        )
    for artifact in manifest.artifacts:
        print(f"ok  {artifact.size:>12}  {artifact.sha256[:16]}  {artifact.name}")
    extra = f", expires {manifest.expires}" if manifest.expires else ""
    extra += f", channel {manifest.channel}" if manifest.channel else ""
    print(
        f"verified: {manifest.name} {manifest.version} ({manifest.kind}, created "
        f"{manifest.created}{extra}), {len(manifest.artifacts)} file(s), signed by key "
        f"{key.id_hex}{' (TEST release)' if manifest.test else ''}"
    )
    return EXIT_OK


def _signing_key(path: str) -> Any:
    from agent_assist.signing import load_signing_key

    passphrase = os.environ.get("AGENT_ASSIST_SIGNING_PASSPHRASE")
    return load_signing_key(path, passphrase.encode() if passphrase else None)


def _cmd_bundle_create(args: argparse.Namespace) -> int:
    import time

    from agent_assist.bundle import create_bundle

    if not (args.model or args.kb or args.kb_file):
        raise UsageError("give --model, --kb or --kb-file (or several)")
    if args.kb and args.kb_file:
        raise UsageError("use either --kb or --kb-file, not both")
    key = _signing_key(args.key)
    model_dir = model_name = None
    if args.model:
        from agent_assist.cli.audio import model_store

        found = model_store(args).find(args.model)
        model_dir, model_name = found.path, found.name
    today = time.localtime()
    version = args.version or f"{today.tm_year}.{today.tm_mon}.{today.tm_mday}"
    out = Path(args.out)
    with tempfile.TemporaryDirectory(prefix="agent-assist-bundle-") as scratch:
        kb_file = Path(args.kb_file) if args.kb_file else None
        if args.kb:
            kb_file = Path(scratch) / "articles.jsonl"
            count = _export_kb(args.kb, kb_file)
            print(f"exported {count} articles from {args.kb}", file=sys.stderr)
        try:
            manifest = create_bundle(
                out,
                key=key,
                name=args.name,
                version=version,
                model_dir=model_dir,
                kb_file=kb_file,
                model_name=model_name,
            )
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    total = sum(a.size for a in manifest.artifacts)
    print(
        f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB; {len(manifest.artifacts)} files, "
        f"{total / 1e6:.1f} MB unpacked), signed by key {key.public.id_hex}",
        file=sys.stderr,
    )
    return EXIT_OK


def _export_kb(db_path: str, out: Path) -> int:
    from kb_cache.exporter import export
    from kb_cache.store import open_cache

    if not Path(db_path).is_file():
        raise UsageError(f"{db_path} is not a knowledge cache file")
    with open(out, "w", encoding="utf-8") as f:
        count: int = export(open_cache(db_path), f)
    return count


def _cmd_bundle_install(args: argparse.Namespace) -> int:
    from agent_assist.bundle import open_bundle
    from agent_assist.release import trusted_key

    path = Path(args.bundle)
    if not path.is_file():
        raise UsageError(f"{path} does not exist")
    key = trusted_key(args.key)
    with tempfile.TemporaryDirectory(prefix="agent-assist-bundle-") as scratch:
        manifest = open_bundle(path, Path(scratch), key=key)
        print(f"verified {manifest.name} {manifest.version} (key {key.id_hex})", file=sys.stderr)
        model = manifest.contents.get("model")
        if model:
            from agent_assist.cli.audio import model_store

            folder = Path(scratch).joinpath(*model.split("/"))
            installed = model_store(args).install(
                str(folder), name=args.install_name or folder.name
            )
            print(f"installed model {installed.name} at {installed.path}", file=sys.stderr)
        kb = manifest.contents.get("kb")
        if kb:
            _import_kb(Path(scratch).joinpath(*kb.split("/")), args)
    return EXIT_OK


def _import_kb(articles: Path, args: argparse.Namespace) -> None:
    from kb_cache.cache import make_embedder, open_db
    from kb_cache.importer import import_path
    from kb_cache.store import default_db_path

    db_path = Path(args.db) if args.db else default_db_path()
    embedder = make_embedder(not args.no_embed)
    result = import_path(open_db(db_path), articles, embedder=embedder)
    print(
        f"imported articles into {db_path}: {result.added} new, {result.updated} updated, "
        f"{result.unchanged} unchanged",
        file=sys.stderr,
    )
