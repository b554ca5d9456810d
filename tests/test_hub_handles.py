"""References handled by other ecosystems' clients: hf:// (huggingface_hub against a local endpoint),
TF Hub handles (tensorflow_hub with a pre-filled TFHUB_CACHE_DIR), KerasHub presets (kagglehub with
a pre-filled cache), and TensorFlow filesystem URLs (ram://, as gs:// would be)."""

from __future__ import annotations

import hashlib
import json
import pathlib

import numpy as np
import pytest
import tensorflow as tf

import bertzoo
from bertzoo import hub
from bertzoo.families.bert.checkpoints.hf_safetensors import write_hf_safetensors
from checkpoint_factory import random_canonical_weights
from hub_fixtures import TEXTS, TINY_CONFIG, VOCAB, clean_environment, encode, write_google_release
from model_server import ModelServer

COMMIT = "0123456789abcdef0123456789abcdef01234567"


@pytest.fixture
def home(tmp_path, monkeypatch):
    clean_environment(monkeypatch, tmp_path / "home")
    return tmp_path / "home"


def _hf_files(weights_dir):
    config = dict(TINY_CONFIG, model_type="bert", architectures=["BertModel"], layer_norm_eps=1e-12)
    write_hf_safetensors(random_canonical_weights(num_layers=2, hidden=8, intermediate=16, vocab=len(VOCAB),
                                                  max_positions=16, seed=3), weights_dir / "model.safetensors")
    return {
        "config.json": json.dumps(config).encode(),
        "vocab.txt": "".join(t + "\n" for t in VOCAB).encode(),
        "tokenizer_config.json": json.dumps({"do_lower_case": True}).encode(),
        "model.safetensors": (weights_dir / "model.safetensors").read_bytes(),
        "pytorch_model.bin": b"pickled weights bertzoo must not fetch",
        "README.md": b"# tiny",
    }


def test_hf_handle_downloads_through_huggingface_hub_from_a_local_endpoint_then_works_offline(
        home, tmp_path, monkeypatch):
    files = _hf_files(tmp_path)
    with ModelServer() as server:
        def api(handler):
            path = handler.path.split("?")[0]
            if path.startswith("/api/models/org/tiny-bert"):
                if "/tree/" in path:  # huggingface_hub's list_repo_tree
                    answer = [{"type": "file", "path": name, "size": len(body),
                               "oid": hashlib.sha1(body).hexdigest()} for name, body in files.items()]
                else:  # repo_info
                    answer = {"id": "org/tiny-bert", "sha": COMMIT,
                              "siblings": [{"rfilename": name} for name in files]}
                body = json.dumps(answer).encode()
                handler.send_response(200)
                handler.send_header("Content-Type", "application/json")
                handler.send_header("Content-Length", str(len(body)))
                handler.end_headers()
                handler.wfile.write(body)
                return True
            return False

        server.handler_hook = api
        for name, body in files.items():
            for revision in ("main", COMMIT):
                server.add(f"org/tiny-bert/resolve/{revision}/{name}", body,
                           headers={"X-Repo-Commit": COMMIT, "ETag": f'"{hashlib.sha256(body).hexdigest()}"'})
        monkeypatch.setenv("HF_ENDPOINT", server.url.rstrip("/"))
        monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf-cache"))
        monkeypatch.setenv("HF_HUB_DISABLE_XET", "1")
        bert = bertzoo.load_pretrained("hf://org/tiny-bert", seq_length=16)
        assert bert.format == "hugging_face"
        fetched = {path for method, path, _ in server.requests if method == "GET" and "/resolve/" in path}
        assert not any(path.endswith(("pytorch_model.bin", "README.md")) for path in fetched)
        assert any(path.endswith("model.safetensors") for path in fetched)
    # Server gone: the Hugging Face cache serves it in offline mode, Hugging Face's or bertzoo's.
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert bertzoo.hub.resolve("hf://org/tiny-bert").directory == pathlib.Path(bert.source)
    monkeypatch.delenv("HF_HUB_OFFLINE")
    monkeypatch.setenv("BERTZOO_OFFLINE", "1")
    again = bertzoo.load_pretrained("hf://org/tiny-bert", seq_length=16)
    np.testing.assert_array_equal(encode(again), encode(bert))
    with pytest.raises(hub.OfflineError, match="hf://org/other is not in the Hugging Face cache"):
        bertzoo.load_pretrained("hf://org/other")


def test_tf_hub_handle_from_a_prefilled_tfhub_cache(home, tmp_path, monkeypatch):
    from bertzoo.export import hub_format
    from bertzoo.families.bert.checkpoints.encoder_weights import read_encoder_weights

    google = write_google_release(tmp_path / "google")
    bert = bertzoo.load_pretrained(google, seq_length=16)
    handle = "https://tfhub.dev/tensorflow/bert_en_uncased_L-2_H-8_A-2/1"
    cache_dir = tmp_path / "tfhub"
    # The encoder half of bertzoo's export_hub (its preprocessor half takes long to save and is not read).
    assets = tmp_path / "assets"
    assets.mkdir()
    (assets / hub_format.VOCAB_ASSET).write_text("".join(t + "\n" for t in VOCAB), encoding="utf-8")
    bert.config.to_json(assets / hub_format.CONFIG_ASSET)
    encoder = hub_format._HubEncoder(bert.config, read_encoder_weights(bert.encoder), assets / hub_format.VOCAB_ASSET,
                                     assets / hub_format.CONFIG_ASSET)
    tf.saved_model.save(encoder, str(cache_dir / hashlib.sha1(handle.encode()).hexdigest()),
                        signatures={"serving_default": encoder.serving_signature()})
    monkeypatch.setenv("TFHUB_CACHE_DIR", str(cache_dir))
    loaded = bertzoo.load_pretrained(handle, seq_length=16)
    assert loaded.format == "tf_hub"
    np.testing.assert_allclose(encode(loaded), encode(bert), atol=1e-5)
    monkeypatch.setenv("BERTZOO_OFFLINE", "1")
    assert bertzoo.hub.resolve(handle).kind == "tf_hub"
    with pytest.raises(hub.OfflineError, match="is not in the TF Hub cache"):
        bertzoo.hub.resolve("https://tfhub.dev/tensorflow/other/1")


def test_keras_hub_preset_name_from_a_prefilled_kagglehub_cache(home, tmp_path, monkeypatch):
    import keras
    import keras_hub
    from kagglehub.cache import Cache, get_cached_path
    from kagglehub.handle import parse_model_handle

    monkeypatch.setenv("KAGGLEHUB_CACHE", str(tmp_path / "kaggle"))
    handle = parse_model_handle("keras/bert/keras/bert_tiny_en_uncased/3")
    keras.utils.set_random_seed(0)
    backbone = keras_hub.models.BertBackbone(vocabulary_size=len(VOCAB), num_layers=2, num_heads=2, hidden_dim=8,
                                             intermediate_dim=16, max_sequence_length=16, dropout=0.0)
    folder = get_cached_path(handle)
    backbone.save_to_preset(folder)
    keras_hub.models.BertTokenizer(vocabulary=VOCAB, lowercase=True).save_to_preset(folder)
    Cache().mark_as_complete(handle)
    for offline in ("", "1"):
        monkeypatch.setenv("BERTZOO_OFFLINE", offline)
        resolved = bertzoo.hub.resolve("bert_tiny_en_uncased")
        assert resolved.kind == "keras_hub" and str(resolved.directory) == folder
    bert = bertzoo.load_pretrained("bert_tiny_en_uncased", seq_length=16)
    assert bert.format == "keras_hub"
    inputs = bert.preprocessor(TEXTS)
    expected = backbone({"token_ids": inputs["input_word_ids"], "segment_ids": inputs["input_type_ids"],
                         "padding_mask": inputs["input_mask"]})["sequence_output"]
    np.testing.assert_allclose(encode(bert), np.asarray(expected), atol=1e-5)
    with pytest.raises(hub.OfflineError, match="is not in the Kaggle cache"):
        bertzoo.hub.resolve("bert_small_en_uncased")


def test_tensorflow_filesystem_directory_is_copied_verified_and_reused(home, tmp_path, monkeypatch):
    google = write_google_release(tmp_path / "google")
    remote = "ram://bucket/models/tiny"
    for path in google.iterdir():
        tf.io.gfile.makedirs(remote)
        tf.io.gfile.copy(str(path), f"{remote}/{path.name}", overwrite=True)
    bert = bertzoo.load_pretrained(remote, seq_length=16)
    np.testing.assert_array_equal(encode(bert), encode(bertzoo.load_pretrained(google, seq_length=16)))
    local = bertzoo.hub.resolve(remote).directory
    assert local.parent == home / "remote" and (local / "vocab.txt").read_bytes() == (google / "vocab.txt").read_bytes()
    stamp = (local / "vocab.txt").stat().st_mtime_ns
    assert bertzoo.hub.resolve(remote).directory == local and (local / "vocab.txt").stat().st_mtime_ns == stamp
    monkeypatch.setenv("BERTZOO_OFFLINE", "1")
    assert bertzoo.hub.resolve(remote).directory == local
    with pytest.raises(hub.OfflineError, match="ram://bucket/other has no local copy"):
        bertzoo.hub.resolve("ram://bucket/other")
