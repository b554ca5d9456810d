"""The catalogue (Google's 33 releases, every family's presets, the schema's checks) and the CLI's
`models`, `download` and `cache` commands."""

from __future__ import annotations

import json
import re

import pytest

import bertzoo
from bertzoo import hub
from bertzoo.cli import main as cli_main
from bertzoo.hub import cache
from bertzoo.hub.catalogue import entry_from_dict
from hub_fixtures import clean_environment, write_google_release
from model_server import ModelServer, zip_directory

GOOGLE = "https://storage.googleapis.com/bert_models/"
# google-research/bert README and multilingual.md, verbatim.
GOOGLE_URLS = {
    "bert-base-uncased": "2018_10_18/uncased_L-12_H-768_A-12.zip",
    "bert-large-uncased": "2018_10_18/uncased_L-24_H-1024_A-16.zip",
    "bert-base-cased": "2018_10_18/cased_L-12_H-768_A-12.zip",
    "bert-large-cased": "2018_10_18/cased_L-24_H-1024_A-16.zip",
    "bert-large-uncased-whole-word-masking": "2019_05_30/wwm_uncased_L-24_H-1024_A-16.zip",
    "bert-large-cased-whole-word-masking": "2019_05_30/wwm_cased_L-24_H-1024_A-16.zip",
    "bert-base-multilingual-cased": "2018_11_23/multi_cased_L-12_H-768_A-12.zip",
    "bert-base-multilingual-uncased": "2018_11_03/multilingual_L-12_H-768_A-12.zip",
    "bert-base-chinese": "2018_11_03/chinese_L-12_H-768_A-12.zip",
    "bert-tiny": "2020_02_20/uncased_L-2_H-128_A-2.zip",
    "bert-mini": "2020_02_20/uncased_L-4_H-256_A-4.zip",
    "bert-small": "2020_02_20/uncased_L-4_H-512_A-8.zip",
    "bert-medium": "2020_02_20/uncased_L-8_H-512_A-8.zip",
    "bert-base-uncased-2020": "2020_02_20/uncased_L-12_H-768_A-12.zip",
}


@pytest.fixture
def home(tmp_path, monkeypatch):
    clean_environment(monkeypatch, tmp_path / "home")
    return tmp_path / "home"


def google_entries():
    return {name: entry for name, entry in hub.entries().items()
            if entry.archive and entry.archive.startswith(GOOGLE)}


def test_all_33_google_releases_with_their_exact_urls_and_cards(home):
    entries = google_entries()
    assert len(entries) == 33
    for alias, path in GOOGLE_URLS.items():
        assert hub.get_entry(alias).archive == GOOGLE + path, alias
    miniatures = [e for e in entries.values() if "/2020_02_20/" in e.archive]
    assert len(miniatures) == 24
    assert {(e.card["layers"], e.card["hidden"]) for e in miniatures} == {
        (layers, hidden) for layers in (2, 4, 6, 8, 10, 12) for hidden in (128, 256, 512, 768)}
    for entry in entries.values():
        stem = entry.archive.rsplit("/", 1)[1][:-len(".zip")]
        layers, hidden, heads = map(int, re.search(r"L-(\d+)_H-(\d+)_A-(\d+)", stem).groups())
        assert (entry.card["layers"], entry.card["hidden"], entry.card["heads"]) == (layers, hidden, heads)
        assert heads == hidden // 64
        assert entry.family == "bert" and entry.format == "google" and entry.card["license"] == "Apache-2.0"
        assert entry.card["paper"].startswith("https://arxiv.org/abs/")
        assert entry.card["cased"] == stem.startswith(("cased", "multi_cased", "wwm_cased"))
        assert entry.load_options == {"do_lower_case": not entry.card["cased"]}
        assert entry.size > 0 and entry.card["languages"] and entry.sha256 == {}
    # The 2020 Base is a separate checkpoint from the 2018 one; Google flags Multilingual Uncased.
    assert hub.get_entry("bert-base-uncased").name != hub.get_entry("bert-base-uncased-2020").name
    assert hub.get_entry("bert-base-multilingual-uncased").card["recommended"] is False
    assert "not recommended" in hub.get_entry("bert-base-multilingual-uncased").card["description"]


def test_every_familys_presets_are_collected(home, monkeypatch):
    from bertzoo.families import registry
    from bertzoo.hub import catalogue

    # Every family folder with a presets.py contributes, whatever its name.
    with_presets = {path.parent.name for path in catalogue._FAMILIES.glob("*/presets.py")}
    assert "bert" in with_presets and with_presets <= set(registry.family_names())
    # A family may list no entries yet (the Transformer's presets.py is empty on purpose).
    families_with_entries = {entry.family for entry in hub.entries().values()}
    assert families_with_entries <= with_presets
    assert {"bert", "awd_lstm", "elmo", "gpt"} <= families_with_entries
    before = len(hub.entries())
    # A family living outside bertzoo adds its entries beside its register_family.
    presets = {"toy-model": {"format": "toy_format", "files": {"weights.bin": "https://x/w.bin"},
                             "aliases": ["toy"], "description": "a toy"}}
    monkeypatch.setattr(catalogue, "_plugin_presets", {})
    hub.register_presets("toy", presets)
    assert hub.get_entry("TOY").name == "toy-model" and hub.get_entry("toy").family == "toy"
    assert len(hub.entries()) == before + 1


@pytest.mark.parametrize("data, message", [
    ({"family": "bert"}, "exactly one of 'files'"),
    ({"archive": "storage/x.zip"}, "not an absolute URL"),
    ({"archive": "https://x/a.zip", "sha256": "abc"}, "not 64 hex digits"),
    ({"files": {"../up.txt": "https://x/u"}}, "leaves the entry's folder"),
    ({"files": {"a": "https://x/a", "b": "https://x/b"}, "sha256": "0" * 64}, "give a mapping"),
    ({"archive": "https://x/a.zip", "size": "big"}, "field 'size'"),
    ({"archive": "https://x/a.zip", "aliases": "one"}, "field 'aliases'"),
])
def test_malformed_entries_name_origin_entry_and_field(data, message):
    with pytest.raises(hub.CatalogueError, match=re.escape(message)) as error:
        entry_from_dict("mine", data, origin="somewhere.json")
    assert str(error.value).startswith("somewhere.json: entry 'mine'")


def test_register_model_refuses_an_alias_of_another_entry(home):
    with pytest.raises(hub.CatalogueError, match="alias 'bert-base-uncased' of 'mine' already names"):
        bertzoo.register_model("mine", "https://example.com/mine.zip", aliases=["bert-base-uncased"])
    assert hub.find_entry("mine") is None


def test_models_command_table_and_json(home, capsys):
    assert cli_main(["models"]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split()[:4] == ["name", "family", "size", "layers/hidden"]
    assert "casing" in table[0] and "cached" in table[0]
    row = next(line for line in table if line.startswith("multi_cased_L-12_H-768_A-12 "))
    assert "12/768" in row and "cased" in row and "714 MB" in row
    assert sum(line.split()[1] == "bert" for line in table[1:-1]) >= 33
    assert cli_main(["models", "--json", "--family", "bert"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == 33 and all(row["cached"] is False for row in rows)
    chinese = next(row for row in rows if row["name"] == "chinese_L-12_H-768_A-12")
    assert chinese["archive"] == GOOGLE + "2018_11_03/chinese_L-12_H-768_A-12.zip"
    assert chinese["load_options"] == {"do_lower_case": True} and chinese["languages"] == ["zh"]


def test_download_and_cache_commands(home, tmp_path, monkeypatch, capsys):
    release = write_google_release(tmp_path / "release")
    with ModelServer() as server:
        server.add("2020_02_20/uncased_L-2_H-128_A-2.zip", zip_directory(release, None), goog_hash=True)
        monkeypatch.setenv("BERTZOO_MIRROR", server.url)
        assert cli_main(["download", "bert-tiny"]) == 0
        out = capsys.readouterr().out
        folder = cache.entry_dir("uncased_L-2_H-128_A-2")
        assert out.strip() == f"bert-tiny\t{folder}"
        assert (folder / "vocab.txt").is_file()  # the 2020 zips hold their files at the top level
    assert cli_main(["models", "--cached", "--json"]) == 0
    assert [row["name"] for row in json.loads(capsys.readouterr().out)] == ["uncased_L-2_H-128_A-2"]
    assert cli_main(["cache", "list", "--json"]) == 0
    (listed,) = json.loads(capsys.readouterr().out)
    assert listed["state"] == "complete" and listed["path"] == str(folder)
    assert cli_main(["cache", "verify"]) == 0
    assert "uncased_L-2_H-128_A-2: ok" in capsys.readouterr().out
    (folder / "bert_config.json").write_text("{}")
    assert cli_main(["cache", "verify", "bert-tiny"]) == 2
    captured = capsys.readouterr()
    assert "bert_config.json" in captured.out and "failed verification" in captured.err
    assert cli_main(["cache", "purge"]) == 2
    assert "--all" in capsys.readouterr().err
    assert cli_main(["cache", "purge", "bert-tiny"]) == 0
    assert not folder.exists()
    monkeypatch.setenv("BERTZOO_OFFLINE", "1")
    assert cli_main(["download", "bert-tiny"]) == 2
    assert "BERTZOO_OFFLINE=1 forbids downloading" in capsys.readouterr().err
