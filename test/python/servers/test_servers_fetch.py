"""The fetcher's integrity checks, on a small wheel built here and served from a file:// URL (no network)."""

import base64
import hashlib
import zipfile

import pytest

from kernels.servers import fetch
from kernels.servers.releases import Release


def record_line(path, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{path},sha256={digest},{len(data)}"


def make_wheel(tmp_path, files, tamper=None):
    """A wheel holding `files` and a RECORD of them; `tamper` replaces one member's bytes after the RECORD is made."""
    record = "\n".join([record_line(p, d) for p, d in files.items()] + ["toy-1.0.dist-info/RECORD,,"]).encode() + b"\n"
    wheel = tmp_path / "toy-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as z:
        for path, data in files.items():
            z.writestr(path, tamper[1] if tamper and tamper[0] == path else data)
        z.writestr("toy-1.0.dist-info/RECORD", record)
    blob = wheel.read_bytes()
    return Release("toy", "1.0", wheel.name, wheel.as_uri(), len(blob), hashlib.sha256(blob).hexdigest(),
                   hashlib.sha256(record).hexdigest(), tuple(files))


FILES = {"toy/a.py": b"A = 1\n", "toy/sub/b.py": b"B = 2\n"}


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TRITUNE_SERVERS_DIR", str(tmp_path / "cache"))


def test_fetch_extracts_checks_and_is_idempotent(tmp_path):
    release = make_wheel(tmp_path, FILES)
    assert fetch.fetch(release, log=lambda _: None)  # file:// answers no range request: the whole-wheel path
    assert (fetch.release_dir(release) / "toy/sub/b.py").read_bytes() == b"B = 2\n"
    assert fetch.is_complete(release)
    assert not fetch.fetch(release, log=lambda _: None)  # a second run does nothing
    (fetch.release_dir(release) / "toy/a.py").write_bytes(b"A = 3\n")
    assert not fetch.is_complete(release)  # an edited file is noticed, and fetched again
    assert fetch.fetch(release, log=lambda _: None)
    assert (fetch.release_dir(release) / "toy/a.py").read_bytes() == b"A = 1\n"


def test_a_member_that_does_not_match_the_record_is_refused(tmp_path):
    release = make_wheel(tmp_path, FILES, tamper=("toy/a.py", b"A = 666\n"))
    with pytest.raises(fetch.FetchError, match="toy/a.py .* does not match its sha256"):
        fetch.fetch(release, log=lambda _: None)
    assert not fetch.is_complete(release)


def test_a_record_that_does_not_match_its_pin_is_refused(tmp_path):
    release = make_wheel(tmp_path, FILES)
    wrong = Release(**{**release.__dict__, "record_sha256": "0" * 64})
    with pytest.raises(fetch.FetchError, match="RECORD .* does not match the sha256 pinned"):
        fetch.fetch(wrong, log=lambda _: None)


def test_a_wheel_that_does_not_match_its_pin_is_refused(tmp_path):
    release = make_wheel(tmp_path, FILES)
    wrong = Release(**{**release.__dict__, "wheel_sha256": "0" * 64})
    with pytest.raises(fetch.FetchError, match="does not match the wheel sha256"):
        fetch.fetch(wrong, log=lambda _: None)


def test_an_unreachable_url_is_one_line_naming_it(tmp_path):
    release = make_wheel(tmp_path, FILES)
    missing = Release(**{**release.__dict__, "url": (tmp_path / "nope.whl").as_uri()})
    with pytest.raises(fetch.FetchError, match="could not fetch file://.*nope.whl"):
        fetch.fetch(missing, log=lambda _: None)


def test_record_hashes_are_read_as_hex():
    assert fetch._record_hashes(record_line("x.py", b"x").encode()) == {"x.py": hashlib.sha256(b"x").hexdigest()}


def test_a_folder_is_extracted_file_by_file_from_the_record(tmp_path):
    """Every file the RECORD lists under a folder is extracted and checked; RECORD quotes paths with commas."""
    import csv
    import io

    files = {**FILES, "toy/configs/E=8,N=16,block_shape=[128, 128].json": b"{}\n", "toy/configs/v1/x.json": b"[]\n"}
    rows = io.StringIO()
    writer = csv.writer(rows, lineterminator="\n")
    for path, data in files.items():
        writer.writerow(record_line(path, data).rsplit(",", 2))
    writer.writerow(["toy-1.0.dist-info/RECORD", "", ""])
    record = rows.getvalue().encode()
    assert b'"toy/configs/E=8,N=16,block_shape=[128, 128].json"' in record
    wheel = tmp_path / "toy-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as z:
        for path, data in files.items():
            z.writestr(path, data)
        z.writestr("toy-1.0.dist-info/RECORD", record)
    blob = wheel.read_bytes()
    release = Release("toy", "1.0", wheel.name, wheel.as_uri(), len(blob), hashlib.sha256(blob).hexdigest(),
                      hashlib.sha256(record).hexdigest(), ("toy/a.py",), ("toy/configs/",), "toy/configs")
    assert fetch.fetch(release, log=lambda _: None)
    shipped = fetch.shipped_moe_configs(release)
    assert sorted(p.relative_to(shipped).as_posix() for p in shipped.rglob("*") if p.is_file()) == [
        "E=8,N=16,block_shape=[128, 128].json", "v1/x.json"]
    assert not (fetch.release_dir(release) / "toy/sub/b.py").exists()  # neither a member nor in a folder
    assert not fetch.fetch(release, log=lambda _: None)
    (shipped / "v1/x.json").unlink()
    assert not fetch.is_complete(release)  # a missing folder file is noticed
    empty = Release(**{**release.__dict__, "folders": ("toy/nothing/",)})
    with pytest.raises(fetch.FetchError, match="no file under toy/nothing/"):
        fetch.fetch(empty, log=lambda _: None)

