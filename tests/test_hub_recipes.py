"""Everywhere a checkpoint is taken, a name works: `bertzoo convert NAME`, `--pretrained NAME`
(features), and `bertzoo export --format hub NAME`, each served by a mirror on 127.0.0.1."""

from __future__ import annotations

import json

import numpy as np
import pytest

import bertzoo
from bertzoo.cli import main as cli_main
from hub_fixtures import clean_environment, encode, write_google_release
from model_server import ModelServer, zip_directory

TINY_PATH = "2020_02_20/uncased_L-2_H-128_A-2.zip"


@pytest.fixture
def served(tmp_path, monkeypatch):
    clean_environment(monkeypatch, tmp_path / "home")
    release = write_google_release(tmp_path / "release")
    with ModelServer() as server:
        server.add(TINY_PATH, zip_directory(release, None))
        monkeypatch.setenv("BERTZOO_MIRROR", server.url)
        yield release, server


def test_convert_takes_a_catalogue_name(served, tmp_path):
    release, server = served
    assert cli_main(["convert", "bert-tiny", str(tmp_path / "converted")]) == 0
    summary = json.loads((tmp_path / "converted" / "conversion.json").read_text())
    assert summary["source"] == "bert-tiny" and summary["verification_max_abs_difference"] == 0.0
    np.testing.assert_array_equal(encode(bertzoo.load_pretrained(tmp_path / "converted", seq_length=16)),
                                  encode(bertzoo.load_pretrained(release, seq_length=16)))
    assert server.count(TINY_PATH) == 1


@pytest.mark.slow
def test_features_pretrained_takes_a_catalogue_name(served, tmp_path):
    release, server = served
    texts = tmp_path / "texts.txt"
    texts.write_text("the cat sat on the mat\nhello world\n")
    assert cli_main(["features", "--pretrained", "bert-tiny", "--input", str(texts), "--output",
                     str(tmp_path / "features"), "--seq-length", "16", "--strategy", "cpu"]) == 0
    manifest = json.loads((tmp_path / "features" / "features.json").read_text())
    assert manifest["pretrained"] == "bert-tiny"
    assert cli_main(["features", "--pretrained", "bert-tiny", "--input", str(texts), "--output",
                     str(tmp_path / "again"), "--seq-length", "16", "--strategy", "cpu"]) == 0
    assert server.count(TINY_PATH) == 1  # downloaded once for both runs
