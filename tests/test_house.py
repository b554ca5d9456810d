"""The house: the public names, which way imports go, the family registry, directories written
before the move, and a quiet command line."""

import ast
import os
import pathlib
import re
import subprocess
import sys

import numpy as np
import pytest

import bertzoo
from bertzoo.families import registry

ROOT = pathlib.Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "bertzoo"
LEGACY = ROOT / "tests" / "data" / "legacy"

PUBLIC_NAMES = {
    "BertClassifier", "BertConfig", "BertEncoder", "BertPreprocessor", "BertPretrainer", "BertSpanLabeler",
    "BertTagger", "ConfigError", "FinetunedModel", "Pretrained", "PretrainedBert", "Vocabulary",
    "WordPieceTokenizer", "detect_format", "export", "features", "load_finetuned", "load_pretrained",
    "register_family", "save_finetuned", "save_pretrained", "download", "register_model", "hub",
    "PretrainedTransformer", "TransformerConfig", "TransformerEncoder", "TransformerSeq2Seq",
    "BertMultipleChoice", "MultipleChoice", "TextClassifier", "SpanQuestionAnswerer", "TokenTagger",
    "PretrainedWordVectors", "VectorTable", "WordVectorEncoder",
    "GPTConfig", "GPTDecoder", "GPTGenerator", "PretrainedGPT",
}


def test_public_names_are_the_documented_ones_and_all_resolve():
    assert set(bertzoo.__all__) == PUBLIC_NAMES
    for name in bertzoo.__all__:
        assert getattr(bertzoo, name) is not None, name
    assert callable(bertzoo.features.sentence_embeddings) and callable(bertzoo.features.word_embeddings)
    assert callable(bertzoo.export.saved_model) and callable(bertzoo.export.export_hub)


def _imported_modules(path: pathlib.Path) -> set[str]:
    """Every bertzoo module a file imports, at any depth (function-level imports included)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
    package = module.rsplit(".", 1)[0] if path.name != "__init__.py" else module.removesuffix(".__init__")
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return {name for name in found if name.startswith("bertzoo")}


def _area(module: str) -> str:
    """The part of the house a module belongs to: 'families.bert', 'layers', 'recipes', ..."""
    parts = module.split(".")
    if len(parts) < 2:
        return "top"
    if parts[1] == "families" and len(parts) > 2 and parts[2] not in ("registry",):
        return f"families.{parts[2]}"
    return parts[1]


# What each part of the house may import (besides itself); "families.*" means any family.
ALLOWED = {
    "errors": set(),
    "native_log_filter": set(),
    "atomic_directory": {"errors"},  # DiskFullError: a full disk is reported with the path and free space
    "text": {"errors"},
    "layers": {"errors"},
    "hub": {"errors", "atomic_directory"},
    "families": {"errors", "layers", "text", "hub", "atomic_directory"},     # the registry
    "family": {"errors", "layers", "text", "hub", "families", "atomic_directory"},  # one family's folder
    "heads": {"errors", "layers"},
}


def test_imports_point_one_way():
    problems = []
    for path in sorted(PACKAGE.rglob("*.py")):
        module = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        area = _area(module)
        kind = "family" if area.startswith("families.") else area
        for imported in _imported_modules(path):
            target = _area(imported)
            if target == area or imported == "bertzoo":
                continue
            if target == "recipes" and not (area == "commands"):
                problems.append(f"{module} imports {imported}: nothing but bertzoo/commands imports recipes")
            if kind in ALLOWED:
                allowed = ALLOWED[kind]
                target_kind = "family" if target.startswith("families.") else target
                if target_kind == "family" and kind == "family":
                    problems.append(f"{module} imports another family: {imported}")
                elif target_kind not in allowed and target_kind != "family":
                    problems.append(f"{module} ({kind}) imports {imported} ({target})")
                elif target_kind == "family" and kind != "families":
                    problems.append(f"{module} ({kind}) imports a family: {imported}")
    assert not problems, "\n".join(problems)


def test_every_family_folder_is_registered_once():
    folders = {path.name for path in (PACKAGE / "families").iterdir()
               if path.is_dir() and (path / "__init__.py").exists()}
    assert folders == set(registry.BUILT_IN_FAMILIES)
    for name in folders:
        family = registry.get_family(name)
        assert family.name == name and callable(family.detect) and callable(family.load)


def test_a_family_plugs_in_by_registration_alone(tmp_path):
    """A family outside bertzoo: one register_family call, and load_pretrained and the error message find it."""
    loaded = []

    def detect(directory):
        return "toy" if (directory / "toy.json").exists() else None

    def load(directory, *, seq_length, **options):
        loaded.append((directory, seq_length, options))
        return registry.Pretrained(config={"toy": True}, encoder=None, tokenizer=None, preprocessor=None)

    registry.register_family(registry.Family(name="toy", detect=detect, load=load, save=None,
                                             looked_for="a toy.json"))
    try:
        (tmp_path / "toy.json").write_text("{}")
        bundle = bertzoo.load_pretrained(tmp_path, seq_length=7, answer=42)
        assert bundle.config == {"toy": True}
        assert loaded == [(tmp_path, 7, {"answer": 42})]
        empty = tmp_path / "empty"
        empty.mkdir()
        with pytest.raises(registry.UnknownCheckpointFormatError) as error:
            bertzoo.load_pretrained(empty)
        message = str(error.value)
        assert "toy: a toy.json" in message and "bert: bertzoo (bertzoo.json)" in message
        assert "Found: nothing" in message
    finally:
        registry._registered.pop("toy")


def test_the_family_argument_skips_detection(tmp_path):
    with pytest.raises(ValueError, match=r"unknown model family 'gpt9'; bertzoo knows \["):
        bertzoo.load_pretrained(LEGACY / "pretrained", family="gpt9")
    bert = bertzoo.load_pretrained(LEGACY / "pretrained", seq_length=16, family="bert")
    assert bert.family == "bert" and bert.format == "bertzoo"


def test_a_hugging_face_directory_of_another_model_type_is_not_read_as_bert(tmp_path):
    (tmp_path / "config.json").write_text('{"model_type": "gpt2", "n_layer": 2}')
    (tmp_path / "model.safetensors").write_bytes(b"")
    from bertzoo.families.bert.pretrained_bert import bert_format

    assert bert_format(tmp_path) is None


def test_a_bertzoo_manifest_of_another_family_is_not_read_as_bert(tmp_path):
    from bertzoo.families.bert.pretrained_bert import bert_format

    (tmp_path / "bertzoo.json").write_text('{"format": "bertzoo", "family": "gpt"}')
    assert bert_format(tmp_path) is None
    (tmp_path / "bertzoo.json").write_text('{"format": "bertzoo", "family": "bert"}')
    assert bert_format(tmp_path) == "bertzoo"


def test_directories_written_before_the_move_still_load():
    expected = np.load(LEGACY / "expected_outputs.npz")
    texts = [str(text) for text in expected["texts"]]
    bert = bertzoo.load_pretrained(LEGACY / "pretrained", seq_length=16)
    assert (bert.family, bert.format) == ("bert", "bertzoo")
    inputs = {name: np.asarray(value) for name, value in bert.preprocessor(texts).items()}
    np.testing.assert_allclose(np.asarray(bert.encoder(inputs)["sequence_output"]),
                               expected["pretrained_sequence_output"], atol=1e-6)
    for task, key in (("classify", "classify_logits"), ("ner", "ner_logits")):
        finetuned = bertzoo.load_finetuned(LEGACY / task)
        assert finetuned.task == task
        outputs = finetuned.model(inputs)
        logits = outputs["logits"] if isinstance(outputs, dict) else outputs
        np.testing.assert_allclose(np.asarray(logits), expected[key], atol=1e-6)


NATIVE_LOG = re.compile(r"^[IWE]\d{4} \d\d:\d\d:\d\d\.\d+ |^WARNING: All log messages before absl", re.M)


def test_the_command_line_shows_bertzoo_lines_only(tmp_path):
    command = [sys.executable, "-m", "bertzoo.cli", "convert", str(LEGACY / "pretrained"), str(tmp_path / "out")]
    env = {key: value for key, value in os.environ.items() if key != "TF_CPP_MIN_LOG_LEVEL"}
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr
    assert not NATIVE_LOG.search(result.stderr), result.stderr
    assert result.stdout.splitlines()[0].startswith("reading "), result.stdout
    failed = subprocess.run(command[:-2] + [str(tmp_path / "missing"), str(tmp_path / "out2")], capture_output=True,
                            text=True, env=env, timeout=300)
    assert failed.returncode == 2
    assert failed.stderr.strip().splitlines() == [
        f"bertzoo convert: error: checkpoint directory not found: {tmp_path / 'missing'}"]
