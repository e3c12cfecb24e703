"""Fetch the pinned server sources (kernels/servers/releases.py) into a git-ignored cache.

    python3 -m kernels.servers.fetch          # both servers; does nothing when the cache is complete
    python3 -m kernels.servers.fetch vllm     # one server

Only the needed members of each wheel are read, with HTTP range requests: the zip's central directory
sits at the end of the wheel, so a few hundred KB locate every member (the vLLM wheel is 336 MB). The
wheel's RECORD is checked against the sha256 pinned in releases.py, then every member against the RECORD.
Where a server ignores range requests the whole wheel is downloaded and checked against PyPI's sha256.
Standard library only, so a bare CI machine can run it before anything else.

Environment:
    TRITUNE_SERVERS_DIR     the cache folder (default: .servers/ in the repository root)
    TRITUNE_SERVERS_MIRROR  a base URL that replaces https://files.pythonhosted.org (a PyPI mirror)
"""

import argparse
import base64
import csv
import hashlib
import io
import json
import os
import sys
import tempfile
import time
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

from .releases import RELEASES, Release

ROOT = Path(__file__).resolve().parents[2]
PYPI_FILES = "https://files.pythonhosted.org"
BLOCK = 1 << 18  # bytes per range request; a member is usually one or two blocks
MARKER = ".tritune-complete.json"  # written last: the cache folder of a release is complete when it exists
TIMEOUT_S = 60


class FetchError(Exception):
    """A download or integrity failure, with a one-line message naming the URL or file."""


def cache_root() -> Path:
    return Path(os.environ.get("TRITUNE_SERVERS_DIR") or ROOT / ".servers")


def release_dir(release: Release) -> Path:
    """Where a release's sources are extracted: <cache>/<name>-<version>/<name>/..."""
    return cache_root() / f"{release.name}-{release.version}"


def wheel_url(release: Release) -> str:
    mirror = os.environ.get("TRITUNE_SERVERS_MIRROR")
    return release.url.replace(PYPI_FILES, mirror.rstrip("/"), 1) if mirror else release.url


class _RangeReader(io.RawIOBase):
    """A seekable read-only view of a remote file that fetches BLOCK-sized ranges on demand (zipfile reads it)."""

    def __init__(self, url: str, size: int):
        self.url, self.size, self.pos = url, size, 0
        self.blocks: dict[int, bytes] = {}
        self.fetched = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.pos

    def seek(self, offset: int, whence: int = 0) -> int:
        self.pos = [offset, self.pos + offset, self.size + offset][whence]
        return self.pos

    def _block(self, i: int) -> bytes:
        if i not in self.blocks:
            lo, hi = i * BLOCK, min(self.size, (i + 1) * BLOCK) - 1
            request = urllib.request.Request(self.url, headers={"Range": f"bytes={lo}-{hi}"})
            with _open(request) as response:
                if response.status != 206:
                    raise _NoRanges()
                data = response.read()
            if len(data) != hi - lo + 1:
                raise FetchError(f"short read of bytes {lo}-{hi} from {self.url}")
            self.blocks[i] = data
            self.fetched += len(data)
        return self.blocks[i]

    def readinto(self, buffer) -> int:
        n = max(0, min(len(buffer), self.size - self.pos))
        done = 0
        while done < n:
            i, offset = divmod(self.pos, BLOCK)
            chunk = self._block(i)[offset : offset + n - done]
            buffer[done : done + len(chunk)] = chunk
            done += len(chunk)
            self.pos += len(chunk)
        return done


class _NoRanges(Exception):
    pass


def _open(request):
    url = request.full_url if isinstance(request, urllib.request.Request) else request
    try:
        return urllib.request.urlopen(request, timeout=TIMEOUT_S)
    except urllib.error.HTTPError as e:
        raise FetchError(f"could not fetch {url}: HTTP {e.code} {e.reason}") from None
    except (urllib.error.URLError, OSError) as e:
        raise FetchError(f"could not fetch {url}: {getattr(e, 'reason', e)}") from None


def _record_hashes(record: bytes) -> dict[str, str]:
    """path -> sha256 hex, from a wheel's RECORD (a CSV: paths with commas are quoted; hashes are urlsafe
    base64 without padding)."""
    hashes = {}
    for row in csv.reader(record.decode().splitlines()):
        if not row:
            continue
        path, digest, _size = row
        if digest.startswith("sha256="):
            raw = base64.urlsafe_b64decode(digest[len("sha256=") :] + "==")
            hashes[path] = raw.hex()
    return hashes


def _extract(release: Release, wheel: zipfile.ZipFile, where: str) -> dict[str, str]:
    """Check the RECORD against its pin and each member against the RECORD; write the members. Returns the hashes."""
    record = wheel.read(release.record_path)
    if hashlib.sha256(record).hexdigest() != release.record_sha256:
        raise FetchError(f"{release.record_path} in {where} does not match the sha256 pinned in kernels/servers/releases.py")
    expected = _record_hashes(record)
    target = release_dir(release)
    hashes = {}
    for member in release.members + _folder_files(release, expected):
        if member not in expected:
            raise FetchError(f"{member} is not in {release.wheel}'s RECORD (kernels/servers/releases.py lists it)")
        data = wheel.read(member)
        if hashlib.sha256(data).hexdigest() != expected[member]:
            raise FetchError(f"{member} from {where} does not match its sha256 in the wheel's RECORD")
        path = target / member
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_bytes(data)
        tmp.replace(path)
        hashes[member] = expected[member]
    return hashes


def _folder_files(release: Release, record: dict[str, str]) -> tuple[str, ...]:
    """Every file the RECORD lists under one of the release's folders (sorted); a folder with none is an error."""
    files = []
    for folder in release.folders:
        found = sorted(path for path in record if path.startswith(folder))
        if not found:
            raise FetchError(f"no file under {folder} in {release.wheel}'s RECORD (kernels/servers/releases.py lists it)")
        files += found
    return tuple(files)


def _download_whole(release: Release, url: str, into: Path) -> None:
    digest = hashlib.sha256()
    with _open(url) as response, open(into, "wb") as out:
        while chunk := response.read(1 << 20):
            digest.update(chunk)
            out.write(chunk)
    if digest.hexdigest() != release.wheel_sha256:
        raise FetchError(f"{url} does not match the wheel sha256 pinned in kernels/servers/releases.py")


def is_complete(release: Release) -> bool:
    """True when the cache holds every member with the hash the RECORD gives it (checked file by file)."""
    marker = release_dir(release) / MARKER
    try:
        written = json.loads(marker.read_text())
        recorded, folders, record_sha = written["members"], written["folders"], written["record_sha256"]
    except (OSError, ValueError, KeyError):
        return False
    # the folders' file lists come from the pinned RECORD, so a marker written under the same pin lists them all
    if record_sha != release.record_sha256 or folders != list(release.folders):
        return False
    in_folders = [m for m in recorded if m.startswith(tuple(release.folders))] if release.folders else []
    if sorted(set(recorded) - set(in_folders)) != sorted(release.members) or (release.folders and not in_folders):
        return False
    for member, sha in recorded.items():
        try:
            if hashlib.sha256((release_dir(release) / member).read_bytes()).hexdigest() != sha:
                return False
        except OSError:
            return False
    return True


def fetch(release: Release, log=print) -> bool:
    """Make the cache hold `release`'s members; False when it already did (nothing fetched)."""
    if is_complete(release):
        return False
    url = wheel_url(release)
    start = time.monotonic()
    reader = _RangeReader(url, release.size)
    try:
        hashes = _extract(release, zipfile.ZipFile(reader), url)
        fetched = reader.fetched
    except _NoRanges:
        log(f"{url} ignores range requests: downloading the whole wheel ({release.size / 2**20:.0f} MiB)")
        with tempfile.TemporaryDirectory() as tmp:
            local = Path(tmp) / release.wheel
            _download_whole(release, url, local)
            with zipfile.ZipFile(local) as wheel:
                hashes = _extract(release, wheel, url)
        fetched = release.size
    except zipfile.BadZipFile as e:
        raise FetchError(f"{url} is not a readable wheel: {e}") from None
    release_dir(release).mkdir(parents=True, exist_ok=True)
    marker = {"wheel": release.wheel, "record_sha256": release.record_sha256, "folders": list(release.folders),
              "members": hashes}
    (release_dir(release) / MARKER).write_text(json.dumps(marker, indent=2) + "\n")
    log(
        f"{release.name} {release.version}: {len(hashes)} files into {release_dir(release)} "
        f"({fetched / 2**20:.1f} MiB read in {time.monotonic() - start:.1f} s)"
    )
    return True


def shipped_moe_configs(release: Release) -> Path:
    """The cached folder of the fused-MoE configs a release ships: for vLLM the folder its get_moe_configs falls
    back to (flat files); for SGLang the `configs` folder that holds one `triton_<x_y_z>` folder per Triton
    version (SGLANG_MOE_CONFIG_DIR names its parent)."""
    if not release.moe_configs:
        raise FetchError(f"{release.name} {release.version} lists no shipped MoE configs in kernels/servers/releases.py")
    return release_dir(release) / release.moe_configs


def shipped_block_configs(release: Release) -> Path:
    """The cached folder of the block-quantized W8A8 GEMM configs a release ships (flat files): the folder the server's
    get_w8a8_block_*_configs reads, its own module's `configs/` (neither server reads another)."""
    if not release.block_configs:
        raise FetchError(f"{release.name} {release.version} lists no shipped block GEMM configs in kernels/servers/releases.py")
    return release_dir(release) / release.block_configs


def record_sha256(release: Release) -> str:
    """The sha256 of the wheel's RECORD as the server hands it out (for pinning a new release)."""
    wheel = zipfile.ZipFile(_RangeReader(wheel_url(release), release.size))
    return hashlib.sha256(wheel.read(release.record_path)).hexdigest()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m kernels.servers.fetch", description=__doc__.split("\n")[0])
    parser.add_argument("servers", nargs="*", help=f"any of {', '.join(RELEASES)} (default: all)")
    parser.add_argument("--print-record-sha256", action="store_true", help="print the RECORD sha256 and exit")
    args = parser.parse_args(argv)
    unknown = [name for name in args.servers if name not in RELEASES]
    if unknown:
        print(f"tritune: unknown server {unknown[0]!r} (known: {', '.join(RELEASES)})", file=sys.stderr)
        return 2
    try:
        for name in args.servers or RELEASES:
            release = RELEASES[name]
            if args.print_record_sha256:
                print(f"{name}: {record_sha256(release)}")
            else:
                fetch(release)
    except FetchError as e:
        print(f"tritune: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
