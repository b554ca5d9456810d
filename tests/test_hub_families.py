"""The gate is generic: another family's catalogue entry (ELMo's bilm-tf files, served by a mirror
of allennlp's storage) downloads as single files and loads by name, equal to the same files read
from a directory. The files are allennlp 0.9.0's own test ELMo (options.json + weights)."""

from __future__ import annotations

import numpy as np

import bertzoo
from hub_fixtures import clean_environment
from model_server import ModelServer
from package_files import package_file, read_member

ALLENNLP = "https://allennlp.s3.amazonaws.com/models/elmo/"
FIXTURE = "allennlp/tests/fixtures/elmo/"


def test_elmo_entry_downloads_through_a_mirror_and_loads_like_its_directory(tmp_path, monkeypatch):
    clean_environment(monkeypatch, tmp_path / "home")
    wheel = package_file("allennlp==0.9.0")
    files = {"options.json": read_member(wheel, FIXTURE + "options.json"),
             "weights.hdf5": read_member(wheel, FIXTURE + "lm_weights.hdf5")}
    directory = tmp_path / "elmo"
    directory.mkdir()
    for name, body in files.items():
        (directory / name).write_bytes(body)
    entry = bertzoo.hub.get_entry("elmo-small")
    with ModelServer() as server:
        for name, url in entry.files.items():
            server.add("elmo/" + url[len(ALLENNLP):], files[name])
        monkeypatch.setenv("BERTZOO_MIRROR", f"{ALLENNLP}={server.url}elmo/")
        by_name = bertzoo.load_pretrained("elmo-small", seq_length=8)
        assert by_name.family == "elmo"
        assert all(server.count("elmo/" + url[len(ALLENNLP):]) == 1 for url in entry.files.values())
    from_directory = bertzoo.load_pretrained(directory, seq_length=8)
    texts = ["the cat sat", "hello world ."]

    def encode(bundle):
        return np.asarray(bundle.encoder(bundle.preprocessor(texts))["sequence_output"])

    np.testing.assert_array_equal(encode(by_name), encode(from_directory))
