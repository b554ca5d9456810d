"""The download layer against a server on 127.0.0.1: mirror, cache hits, offline, and every fault."""

from __future__ import annotations

import hashlib
import importlib
import io
import json
import os
import pathlib
import subprocess
import sys
import tarfile
import textwrap
import time
import zipfile

import numpy as np
import pytest

import bertzoo
from bertzoo import hub
from bertzoo.hub import cache
from hub_fixtures import clean_environment, encode, write_google_release
from model_server import ModelServer, zip_directory

transfer = importlib.import_module("bertzoo.hub.transfer")
BASE_PATH = "2018_10_18/uncased_L-12_H-768_A-12.zip"  # bert-base-uncased under Google's storage
TESTS = pathlib.Path(__file__).resolve().parent


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    """A tiny Google release and its zip, laid out like Google's (one top-level folder)."""
    directory = write_google_release(tmp_path_factory.mktemp("release") / "uncased_L-12_H-768_A-12")
    return directory, zip_directory(directory, "uncased_L-12_H-768_A-12")


@pytest.fixture
def server():
    with ModelServer() as running:
        yield running


@pytest.fixture
def home(tmp_path, monkeypatch):
    home = tmp_path / "home"
    clean_environment(monkeypatch, home)
    monkeypatch.setattr(transfer, "STREAM_CHUNK", 256)  # the tiny archive spans many reads, as a real one does
    yield home
    from bertzoo.hub import catalogue

    for name in list(catalogue._registered):
        hub.unregister_model(name)


def mirror(monkeypatch, server):
    monkeypatch.setenv("BERTZOO_MIRROR", server.url)


def nothing_cached(home: pathlib.Path, name: str = "uncased_L-12_H-768_A-12") -> None:
    """No entry folder and no staging folder left behind."""
    assert not cache.entry_dir(name).exists()
    assert not cache.partial_dir(name).exists()


def test_catalogue_name_through_a_mirror_loads_like_the_directory_then_hits_the_cache_and_works_offline(
        release, server, home, monkeypatch, capsys):
    directory, archive = release
    server.add(BASE_PATH, archive, goog_hash=True)
    mirror(monkeypatch, server)
    from_directory = bertzoo.load_pretrained(directory, seq_length=16)
    from_name = bertzoo.load_pretrained("bert-base-uncased", seq_length=16)
    assert from_name.format == "google"
    np.testing.assert_array_equal(encode(from_name), encode(from_directory))
    assert server.count(BASE_PATH) == 1
    folder = cache.entry_dir("uncased_L-12_H-768_A-12")
    assert pathlib.Path(from_name.source) == folder
    marker = json.loads((folder / cache.MARKER).read_text())
    assert marker["source"]["archive"]["sha256"] == hashlib.sha256(archive).hexdigest()
    assert "md5 (server's x-goog-hash)" in marker["source"]["archive"]["checks"]
    assert marker["files"]["vocab.txt"]["sha256"] == hashlib.sha256((directory / "vocab.txt").read_bytes()).hexdigest()
    assert not list(cache.models_dir().glob(".*.partial")), "the staging folder is removed"
    assert "downloading uncased_L-12_H-768_A-12" in capsys.readouterr().err  # plain progress lines off a terminal

    # A second call: no request, no re-extraction (the files keep their modification times).
    stamp = (folder / "vocab.txt").stat().st_mtime_ns
    assert bertzoo.download("BERT-BASE-UNCASED") == folder
    assert server.count(BASE_PATH) == 1 and (folder / "vocab.txt").stat().st_mtime_ns == stamp

    server.stop()
    monkeypatch.setenv("BERTZOO_OFFLINE", "1")
    offline = bertzoo.load_pretrained("uncased_L-12_H-768_A-12", seq_length=16)
    np.testing.assert_array_equal(encode(offline), encode(from_directory))


def test_offline_with_nothing_cached_names_model_file_and_cache_path(home, monkeypatch):
    monkeypatch.setenv("BERTZOO_OFFLINE", "1")
    with pytest.raises(hub.OfflineError) as error:
        bertzoo.download("bert-large-cased")
    message = str(error.value)
    assert "cased_L-24_H-1024_A-16" in message and "BERTZOO_OFFLINE=1" in message
    assert str(cache.entry_dir("cased_L-24_H-1024_A-16")) in message
    assert "https://storage.googleapis.com/bert_models/2018_10_18/cased_L-24_H-1024_A-16.zip" in message
    nothing_cached(home, "cased_L-24_H-1024_A-16")


def test_pinned_sha256_mismatch_is_refused_and_nothing_is_cached(release, server, home, monkeypatch):
    _, archive = release
    server.add("private/our_bert.zip", archive)
    bertzoo.register_model("our-bert", server.url + "private/our_bert.zip", sha256="0" * 64, format="google",
                           family="bert")
    with pytest.raises(hub.ChecksumError, match=r"sha256 [0-9a-f]{64} differs from the pinned 0{64}"):
        bertzoo.download("our-bert")
    nothing_cached(home, "our-bert")
    # The right digest passes and is recorded as checked.
    bertzoo.register_model("our-bert", server.url + "private/our_bert.zip",
                           sha256=hashlib.sha256(archive).hexdigest(), format="google", family="bert")
    folder = bertzoo.download("our-bert")
    marker = json.loads((folder / cache.MARKER).read_text())
    assert "sha256 (pinned)" in marker["source"]["archive"]["checks"]


def test_server_checksum_header_that_disagrees_with_the_bytes_is_refused(release, server, home, monkeypatch):
    _, archive = release
    server.add(BASE_PATH, archive, goog_hash=hashlib.md5(b"other bytes").digest())
    mirror(monkeypatch, server)
    with pytest.raises(hub.ChecksumError, match="differs from the server's x-goog-hash md5"):
        bertzoo.download("bert-base-uncased")
    nothing_cached(home)


def test_connection_cut_mid_file_resumes_with_a_range_request(release, server, home, monkeypatch):
    _, archive = release
    server.add(BASE_PATH, archive, goog_hash=True, cut_after=len(archive) // 3, cuts_left=2)
    mirror(monkeypatch, server)
    folder = bertzoo.download("bert-base-uncased")
    ranges = server.ranges(BASE_PATH)
    assert ranges[0] is None and len(ranges) == 3
    # Each retry asks only for what is missing (a cut loses at most the read in flight).
    first, second = (int(value.split("=")[1].rstrip("-")) for value in ranges[1:])
    assert len(archive) // 3 - 256 < first <= len(archive) // 3
    assert first < second <= first + len(archive) // 3
    assert cache.complete_entry(hub.get_entry("bert-base-uncased")) == folder


def test_connection_cut_every_time_is_a_clear_error_and_the_next_call_resumes(release, server, home, monkeypatch):
    _, archive = release
    served = server.add(BASE_PATH, archive, cut_after=1000, cuts_left=100)
    mirror(monkeypatch, server)
    monkeypatch.setenv("BERTZOO_DOWNLOAD_RETRIES", "2")
    with pytest.raises(hub.DownloadError, match=r"giving up after 3 attempts .*next download resumes"):
        bertzoo.download("bert-base-uncased")
    assert not cache.entry_dir("uncased_L-12_H-768_A-12").exists()
    part = cache.partial_dir("uncased_L-12_H-768_A-12") / "uncased_L-12_H-768_A-12.zip.part"
    kept = part.stat().st_size
    assert 0 < kept < len(archive)
    served.cuts_left = 0
    bertzoo.download("bert-base-uncased")
    assert server.ranges(BASE_PATH)[-1] == f"bytes={kept}-"
    nothing_cached_but_entry = not cache.partial_dir("uncased_L-12_H-768_A-12").exists()
    assert nothing_cached_but_entry


def test_truncated_archive_is_a_clear_error(release, server, home, monkeypatch):
    _, archive = release
    server.add(BASE_PATH, archive[: len(archive) // 2])  # the server's own copy is cut short
    mirror(monkeypatch, server)
    with pytest.raises(hub.DamagedArchiveError, match="uncased_L-12_H-768_A-12.zip is (damaged or truncated|neither)"):
        bertzoo.download("bert-base-uncased")
    nothing_cached(home)


def _zip_with(members: dict[str, bytes], symlink: tuple[str, str] | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zipped:
        for name, data in members.items():
            zipped.writestr(name, data)
        if symlink:
            info = zipfile.ZipInfo(symlink[0])
            info.external_attr = (0o120777 << 16)
            zipped.writestr(info, symlink[1])
    return buffer.getvalue()


@pytest.mark.parametrize("kind", ["dotdot", "absolute", "symlink", "tar_link"])
def test_archive_members_escaping_the_target_are_refused(server, home, tmp_path, kind):
    if kind == "tar_link":
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w:gz") as tarred:
            info = tarfile.TarInfo("model/vocab.txt")
            info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
            tarred.addfile(info)
        body, name = buffer.getvalue(), "evil.tar.gz"
    else:
        members = {"model/vocab.txt": b"[PAD]\n"}
        if kind == "dotdot":
            members["model/../../escaped.txt"] = b"x"
        if kind == "absolute":
            members["/tmp/escaped-by-bertzoo-test.txt"] = b"x"
        body, name = _zip_with(members, ("model/link", "/etc/passwd") if kind == "symlink" else None), "evil.zip"
    server.add(name, body)
    bertzoo.register_model("evil", server.url + name, family="bert", format="google")
    with pytest.raises(hub.UnsafeArchiveError, match="refused, nothing extracted"):
        bertzoo.download("evil")
    nothing_cached(home, "evil")
    assert not (home / "escaped.txt").exists() and not (home.parent / "escaped.txt").exists()
    assert not pathlib.Path("/tmp/escaped-by-bertzoo-test.txt").exists()


def test_archive_without_the_files_its_format_needs_is_not_a_cache_entry(server, home):
    server.add("half.zip", _zip_with({"half/vocab.txt": b"[PAD]\n", "half/bert_config.json": b"{}"}))
    bertzoo.register_model("half", server.url + "half.zip", family="bert", format="google")
    with pytest.raises(hub.DamagedArchiveError, match=r"lacks files its format \(google\) needs: \*\.ckpt\*\.index"):
        bertzoo.download("half")
    nothing_cached(home, "half")


def test_full_disk_is_refused_before_writing(release, server, home, monkeypatch):
    _, archive = release
    server.add(BASE_PATH, archive)
    mirror(monkeypatch, server)

    class Usage:
        free = 10_000_000  # less than the margin bertzoo keeps free

    monkeypatch.setattr(transfer, "disk_usage", lambda path: Usage)
    with pytest.raises(hub.NotEnoughSpaceError, match="only 10.0 MB is free; set BERTZOO_HOME"):
        bertzoo.download("bert-base-uncased")
    nothing_cached(home)


def test_disk_filling_up_during_the_write_is_a_clear_error(release, server, home, monkeypatch):
    _, archive = release
    server.add(BASE_PATH, archive)
    mirror(monkeypatch, server)
    real_open = open

    class FullFile(io.FileIO):
        def write(self, data):
            raise OSError(28, "No space left on device")

    def opener(path, mode="r", *args, **kwargs):
        if str(path).endswith(".part") and "b" in mode and ("w" in mode or "+" in mode):
            return FullFile(path, "w")
        return real_open(path, mode, *args, **kwargs)

    monkeypatch.setattr(transfer, "open", opener, raising=False)
    with pytest.raises(hub.NotEnoughSpaceError, match="is full; the partial file was removed"):
        bertzoo.download("bert-base-uncased")
    nothing_cached(home)


def test_an_entry_with_missing_files_does_not_count_and_is_downloaded_again(release, server, home, monkeypatch):
    _, archive = release
    server.add(BASE_PATH, archive)
    mirror(monkeypatch, server)
    folder = bertzoo.download("bert-base-uncased")
    (folder / "bert_model.ckpt.index").unlink()
    assert cache.complete_entry(hub.get_entry("bert-base-uncased")) is None
    assert bertzoo.download("bert-base-uncased") == folder
    assert server.count(BASE_PATH) == 2 and (folder / "bert_model.ckpt.index").is_file()


_DOWNLOADER = textwrap.dedent("""
    import pathlib, sys
    import bertzoo
    pathlib.Path(sys.argv[2]).touch()  # imports done: about to download
    print(bertzoo.download(sys.argv[1]))
""")


def test_two_processes_downloading_one_entry_both_succeed_with_one_transfer(release, server, home, monkeypatch):
    _, archive = release
    server.add(BASE_PATH, archive)
    mirror(monkeypatch, server)
    script = home.parent / "downloader.py"
    script.write_text(_DOWNLOADER)
    ready = [home.parent / f"ready-{index}" for index in range(2)]

    def hold_until_both_started(handler):
        # The first transfer ends only once both processes are past their imports (plus a second),
        # so the second one finds the entry locked and waits.
        deadline = time.monotonic() + 60
        while not all(path.exists() for path in ready) and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(1.0)
        return False

    server.handler_hook = hold_until_both_started
    environment = dict(os.environ, PYTHONPATH=str(TESTS))
    processes = [subprocess.Popen([sys.executable, str(script), "bert-base-uncased", str(path)], env=environment,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for path in ready]
    results = [process.communicate(timeout=180) for process in processes]
    server.handler_hook = None
    assert all(process.returncode == 0 for process in processes), results
    assert {out.strip() for out, _ in results} == {str(cache.entry_dir("uncased_L-12_H-768_A-12"))}
    assert server.count(BASE_PATH) == 1
    assert sum("waiting for uncased_L-12_H-768_A-12: process" in err for _, err in results) == 1


_CRASHER = textwrap.dedent("""
    import os, pathlib, sys
    from bertzoo.hub import cache
    from bertzoo.hub.entry_lock import EntryLock
    lock = EntryLock(cache.lock_path("uncased_L-12_H-768_A-12"), "uncased_L-12_H-768_A-12").__enter__()
    staging = cache.partial_dir("uncased_L-12_H-768_A-12")
    staging.mkdir(parents=True, exist_ok=True)
    data = pathlib.Path(sys.argv[1]).read_bytes()
    (staging / "uncased_L-12_H-768_A-12.zip.part").write_bytes(data[:1000])
    os._exit(9)  # dies holding the lock, without cleaning up
""")


def test_a_lock_left_by_a_dead_process_is_taken_over_and_its_part_resumed(release, server, home, monkeypatch, capsys):
    _, archive = release
    server.add(BASE_PATH, archive)
    mirror(monkeypatch, server)
    source = home.parent / "release.zip"
    source.write_bytes(archive)
    crasher = home.parent / "crasher.py"
    crasher.write_text(_CRASHER)
    finished = subprocess.run([sys.executable, str(crasher), str(source)], env=dict(os.environ), timeout=120)
    assert finished.returncode == 9
    assert cache.lock_path("uncased_L-12_H-768_A-12").with_suffix(".lock.json").exists()
    bertzoo.download("bert-base-uncased")
    assert "taking over uncased_L-12_H-768_A-12 from process" in capsys.readouterr().err
    assert server.ranges(BASE_PATH) == ["bytes=1000-"]


def test_bertzoo_models_file_adds_entries_without_code(release, server, home, monkeypatch, tmp_path):
    directory, _ = release
    server.add("team/vocab.txt", (directory / "vocab.txt").read_bytes())
    server.add("team/bert_config.json", (directory / "bert_config.json").read_bytes())
    for path in directory.glob("bert_model.ckpt*"):
        server.add(f"team/{path.name}", path.read_bytes())
    entries = [{"name": "team-bert", "family": "bert", "format": "google", "description": "our checkpoint",
                "files": {path.name: server.url + f"team/{path.name}" for path in directory.iterdir()},
                "load_options": {"do_lower_case": True}}]
    listing = tmp_path / "models.json"
    listing.write_text(json.dumps(entries))
    monkeypatch.setenv("BERTZOO_MODELS", str(listing))
    assert hub.get_entry("team-bert").card["description"] == "our checkpoint"
    bert = bertzoo.load_pretrained("team-bert", seq_length=16)
    np.testing.assert_array_equal(encode(bert), encode(bertzoo.load_pretrained(directory, seq_length=16)))
    listing.write_text(json.dumps([{"name": "broken"}]))
    with pytest.raises(hub.CatalogueError, match=r"models.json: entry 'broken' needs a field 'url'"):
        hub.entries()


def test_cache_verify_reports_a_changed_file_and_purge_removes_the_entry(release, server, home, monkeypatch):
    _, archive = release
    server.add(BASE_PATH, archive)
    mirror(monkeypatch, server)
    folder = bertzoo.download("bert-base-uncased")
    assert [result.ok for result in cache.verify()] == [True]
    with open(folder / "vocab.txt", "r+b") as vocab:
        vocab.write(b"X")
    (problem,) = cache.verify(["uncased_L-12_H-768_A-12"])
    assert not problem.ok and "vocab.txt: sha256" in problem.problems[0]
    from bertzoo.hub.entry_lock import EntryLock

    with EntryLock(cache.lock_path("uncased_L-12_H-768_A-12"), "uncased_L-12_H-768_A-12"):
        assert cache.purge(["bert-base-uncased"]) == []  # a download holds it: left alone
    assert folder.exists()
    assert cache.purge(["bert-base-uncased"]) == [folder]
    assert not folder.exists() and cache.list_cached() == []


def test_cache_home_defaults_under_the_user_cache_or_keras_home(monkeypatch, tmp_path):
    from bertzoo.hub import settings

    monkeypatch.delenv("BERTZOO_HOME", raising=False)
    monkeypatch.delenv("KERAS_HOME", raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    assert settings.home() == pathlib.Path.home() / ".cache" / "bertzoo"
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    assert settings.home() == tmp_path / "keras" / "bertzoo"
    monkeypatch.setenv("BERTZOO_HOME", str(tmp_path / "mine"))
    assert settings.home() == tmp_path / "mine"


def test_mirror_replaces_googles_base_url_and_other_hosts_by_pairs(monkeypatch):
    from bertzoo.hub import settings

    google = "https://storage.googleapis.com/bert_models/2018_10_18/uncased_L-12_H-768_A-12.zip"
    monkeypatch.setenv("BERTZOO_MIRROR", "http://mirror.local/bert")
    assert settings.mirrored(google) == "http://mirror.local/bert/2018_10_18/uncased_L-12_H-768_A-12.zip"
    assert settings.mirrored("https://example.com/x.zip") == "https://example.com/x.zip"
    monkeypatch.setenv("BERTZOO_MIRROR",
                       "http://m/g/, https://openaipublic.blob.core.windows.net/gpt-2/=http://m/gpt2/")
    assert settings.mirrored(google).startswith("http://m/g/2018_10_18/")
    assert settings.mirrored("https://openaipublic.blob.core.windows.net/gpt-2/models/124M/hparams.json") == \
        "http://m/gpt2/models/124M/hparams.json"


def test_http_error_names_the_url_and_nothing_is_cached(server, home, monkeypatch):
    mirror(monkeypatch, server)
    with pytest.raises(hub.DownloadError, match=r"HTTP 404 .*is the mirror missing this file"):
        bertzoo.download("bert-tiny")
    nothing_cached(home, "uncased_L-2_H-128_A-2")


def test_unknown_name_suggests_close_ones(home):
    with pytest.raises(hub.UnknownModelError, match="did you mean bert-base-uncased"):
        bertzoo.load_pretrained("bert-base-uncase")
    with pytest.raises(FileNotFoundError, match="checkpoint directory not found: ./no/such/dir"):
        bertzoo.load_pretrained("./no/such/dir")


def test_downloads_go_through_the_proxy_the_environment_names(release, server, home, monkeypatch):
    _, archive = release
    server.add(BASE_PATH, archive)
    monkeypatch.setenv("BERTZOO_MIRROR", "http://bert-mirror.invalid/")  # resolvable only by the proxy
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", server.url)
    monkeypatch.setenv("http_proxy", server.url)
    assert bertzoo.download("bert-base-uncased") == cache.entry_dir("uncased_L-12_H-768_A-12")
    assert server.count(BASE_PATH) == 1


def test_ca_bundle_comes_from_the_usual_variables(monkeypatch, tmp_path):
    from bertzoo.hub import settings

    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE"):
        monkeypatch.delenv(name, raising=False)
    assert settings.ca_bundle() is True
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "site.pem"))
    assert settings.ca_bundle() == str(tmp_path / "site.pem")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tmp_path / "requests.pem"))
    assert settings.ca_bundle() == str(tmp_path / "requests.pem")


def test_progress_is_a_bar_on_a_terminal_and_plain_lines_otherwise(monkeypatch, capsys):
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    progress = transfer.Progress("model.zip", 20_000_000, 0)
    progress.update(20_000_000)
    progress.close()
    drawn = terminal.getvalue()
    assert drawn.startswith("\rmodel.zip:") and "|" in drawn and "19.1M" in drawn  # a tqdm bar, redrawn in place
    monkeypatch.undo()
    progress = transfer.Progress("model.zip", 20_000_000, 5_000_000)
    for _ in range(3):
        progress.update(5_000_000)
    lines = capsys.readouterr().err.splitlines()
    assert lines == ["bertzoo: downloading model.zip (20.0 MB, resuming at 5.0 MB)",
                     "bertzoo: model.zip: 50% (10.0 MB of 20.0 MB)", "bertzoo: model.zip: 75% (15.0 MB of 20.0 MB)",
                     "bertzoo: model.zip: 100% (20.0 MB of 20.0 MB)"]
