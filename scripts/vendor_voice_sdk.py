#!/usr/bin/env python3
"""Vendor Twilio's Voice JavaScript SDK into the console's static files (``make vendor-voice-sdk``).

    python3 scripts/vendor_voice_sdk.py            # fetch, verify, copy (re-creates the files)
    python3 scripts/vendor_voice_sdk.py --check    # exit 1 unless the committed copy is exact

The agents' softphone runs ``@twilio/voice-sdk`` in the browser. The console serves its own
copy (``agent_console/static/vendor/twilio-voice/``): no CDN at run time, so a desk works
from a hospital network that reaches Twilio's media servers but no JavaScript CDN, and the
code an agent's browser runs is the code that was reviewed. The copy is committed, so
``make demo`` and ``make test`` work offline; this script is how it was made and re-makes it
byte for byte:

1. download the package's tarball at :data:`VERSION` from the npm registry;
2. refuse it unless its SHA-512 is :data:`INTEGRITY` (the registry's own ``dist.integrity``,
   pinned here: a re-published or tampered tarball is never copied);
3. copy ``package/dist/twilio.min.js`` (the browser bundle: it defines ``window.Twilio.Device``
   and keeps a ``Twilio.Device`` already defined, which the browser tests rely on) and
   ``package/LICENSE.md`` (Apache-2.0) unchanged, and write ``VERSION``.

To move to a new version: change :data:`VERSION` and :data:`INTEGRITY` (``npm view
@twilio/voice-sdk@X dist.integrity``) and :data:`FILE_SHA256` (``sha256sum`` of the two
files in the verified tarball), run ``make vendor-voice-sdk``, read the SDK's
changelog for ``Device``/``Call`` changes, and commit the three files together.

Standard library only: it runs with the system python3, before the virtual environment.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import io
import sys
import tarfile
import urllib.request
from pathlib import Path

PACKAGE = "@twilio/voice-sdk"
VERSION = "2.18.5"
INTEGRITY = (
    "sha512-"
    "2/tw1IDAIn7j6yFDOln8p93v3aHIxNIN93JwL98cHIlbkSNeU/Jt9zGM/0TvDpNjo+k88lvAew4jgOjKlc9/KA=="
)
FILE_SHA256 = {
    "twilio.min.js": "35d3cb1b22e309f9884724a89250aecd2de4f1556ad7b67a7bc5e06c73dcb74a",
    "LICENSE.md": "f9fc33ee30f1bcaf4c6147221f085c0ce44d2be6030c7b6a03085dd9c2c874a1",
}
"""The copied files' SHA-256, from the verified tarball: lets the test suite check the
committed copy offline (tests/agent_console/test_vendored_voice_sdk.py)."""
REGISTRY = "https://registry.npmjs.org"
TARBALL = f"{REGISTRY}/{PACKAGE}/-/voice-sdk-{VERSION}.tgz"
FILES = {"package/dist/twilio.min.js": "twilio.min.js", "package/LICENSE.md": "LICENSE.md"}
ROOT = Path(__file__).resolve().parent.parent
TARGET = ROOT / "agent_console" / "static" / "vendor" / "twilio-voice"
TIMEOUT_SECONDS = 60  # a 300 kB tarball; a stuck registry connection gives up instead of hanging


def integrity_of(data: bytes) -> str:
    """npm's Subresource-Integrity string of ``data`` (``sha512-`` + base64 digest)."""
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode("ascii")


def version_text() -> str:
    return f"{PACKAGE} {VERSION}\n{TARBALL}\n{INTEGRITY}\n"


def extract(tarball: bytes) -> dict[str, bytes]:
    """The vendored files' contents, by their name under :data:`TARGET`."""
    got = integrity_of(tarball)
    if got != INTEGRITY:
        raise SystemExit(f"{TARBALL}: integrity {got}, expected {INTEGRITY}: not vendored")
    out: dict[str, bytes] = {}
    with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:gz") as tar:
        for member, name in FILES.items():
            handle = tar.extractfile(member)
            if handle is None:
                raise SystemExit(f"{TARBALL} has no file {member}")
            out[name] = handle.read()
    for name, data in out.items():
        if hashlib.sha256(data).hexdigest() != FILE_SHA256[name]:
            raise SystemExit(f"{name} in {TARBALL} is not the file pinned in FILE_SHA256")
    out["VERSION"] = version_text().encode()
    return out


def download() -> bytes:
    with urllib.request.urlopen(TARBALL, timeout=TIMEOUT_SECONDS) as response:
        return response.read()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare with the committed files")
    args = parser.parse_args(argv)
    files = extract(download())
    if args.check:
        differ = [n for n, data in files.items() if not (TARGET / n).is_file()
                  or (TARGET / n).read_bytes() != data]  # fmt: skip
        for name in differ:
            print(f"{TARGET / name} differs from {PACKAGE} {VERSION}", file=sys.stderr)
        return 1 if differ else 0
    TARGET.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (TARGET / name).write_bytes(data)
        print(f"{TARGET.relative_to(ROOT) / name} ({len(data)} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
