"""TF Serving exports: the raw-text signature answers as `bertzoo predict` does, in this process and in
a fresh environment holding only `tensorflow`; ids signatures, warm-up requests, the version layout,
the golden `saved_model_cli` description, refusals, the CLI and the client's requests."""

import json
import pathlib
import re
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
import tensorflow as tf

import bertzoo
from bertzoo.cli import main as cli_main
from bertzoo.export.saved_model_export import EXPORT_MANIFEST, SERVING_DEFAULT, saved_model
from bertzoo.export.warmup_requests import read_warmup_requests
from bertzoo.models.finetuned import FinetunedModel, assign_head_weights, load_finetuned, read_head_weights, save_finetuned
from bertzoo.models import BertClassifier, BertSpanLabeler, BertTagger
from bertzoo.recipes.predict import predict_records
from bertzoo.recipes.serving_client import grpc_request, rest_request
from finetune_data import write_tiny_pretrained
from tf_only_env import tf_only_python

GOLDEN = pathlib.Path(__file__).parent / "data" / "serving_signatures"
SEQ_LENGTH = 16
LONG_TEXT = ("Anna saw the red place in Paris, and then we saw Oslo. " * 200)[:10_000]
TEXTS = ["anna saw paris", "", "The FOOD was góod, really good!", "東京 and Lima 😀 \x07 yes?", LONG_TEXT,
         "   ", "a" * 300]
PAIRS = ["yes", "no it was bad", "", "Quito?", "red blue", LONG_TEXT, "x"]
NER_LABELS = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]
CONTEXT = "Anna flew from Paris to Oslo on Monday. Then Boris took the train to Lima, and Carla stayed."


def _models(bert):
    return {
        "classify": (lambda e: BertClassifier(e, num_classes=3), ["neg", "neu", "pos"], {}),
        "pair": (lambda e: BertClassifier(e, num_classes=2), ["no", "yes"], {"text_pair_column": "sentence2"}),
        "regression": (lambda e: BertClassifier(e, num_classes=1, problem_type="regression"), None, {}),
        "multilabel": (lambda e: BertClassifier(e, num_classes=3, problem_type="multi_label"), ["red", "blue", "green"],
                       {}),
        "squad": (lambda e: BertSpanLabeler(e), None, {"doc_stride": 6, "max_query_length": 6, "n_best_size": 5,
                                                       "max_answer_length": 8, "version_2": False,
                                                       "null_score_diff_threshold": 0.0}),
        "ner": (lambda e: BertTagger(e, num_classes=len(NER_LABELS)), NER_LABELS, {}),
    }


@pytest.fixture(scope="module")
def model_dirs(tmp_path_factory):
    """A fine-tuned directory per task, random heads scaled up so the answers differ between inputs."""
    root = tmp_path_factory.mktemp("serving")
    keras.utils.set_random_seed(0)  # the random encoder, so the answers do not depend on the tests run before
    bert = bertzoo.load_pretrained(write_tiny_pretrained(root / "pretrained"), seq_length=SEQ_LENGTH)
    rng = np.random.default_rng(0)
    dirs = {}
    for task, (make_model, labels, settings) in _models(bert).items():
        model = make_model(bert.encoder)
        model.build()
        head = {name: rng.normal(0.0, 2.0, value.shape).astype(np.float32)
                for name, value in read_head_weights(model).items()}
        assign_head_weights(model, head, source="test")
        if task != "squad":
            settings = {"dropout_rate": 0.1, **settings}
        dirs[task] = save_finetuned(FinetunedModel(task, model, bert, labels, settings), root / task)
    return dirs


class _Exports(dict):
    """Task -> version directory, each exported on first use."""

    def __init__(self, model_dirs, root):
        super().__init__()
        self.model_dirs, self.root = model_dirs, root

    def __missing__(self, task):
        self[task] = saved_model(self.model_dirs[task], self.root / task)
        return self[task]


@pytest.fixture(scope="module")
def exports(model_dirs, tmp_path_factory):
    return _Exports(model_dirs, tmp_path_factory.mktemp("exports"))


def _requests(task: str) -> tuple[dict[str, list[str]], list]:
    """Serving inputs and the matching `bertzoo predict` records."""
    if task == "squad":
        # bertzoo predict refuses blank questions and contexts; tests/test_squad_serving.py has those.
        questions = ["Who flew to Oslo?", "Where did Boris go?", "What?", "who stayed"]
        contexts = [CONTEXT, CONTEXT, LONG_TEXT, LONG_TEXT[:600]]
        return ({"question": questions, "context": contexts},
                [{"question": q, "context": c} for q, c in zip(questions, contexts)])
    if task == "pair":
        return {"text": TEXTS, "text_pair": PAIRS}, [{"text": t, "text_pair": p} for t, p in zip(TEXTS, PAIRS)]
    return {"text": TEXTS}, list(TEXTS)


def _expected(task: str, finetuned, records) -> dict[str, np.ndarray]:
    """What `bertzoo predict` says, in the serving signature's layout."""
    lines = predict_records(finetuned, records)
    if task in ("classify", "pair"):
        return {"probabilities": np.array([[line["probabilities"][n] for n in finetuned.label_names] for line in lines]),
                "label": np.array([line["label"].encode() for line in lines], object),
                "label_id": np.array([line["label_id"] for line in lines])}
    if task == "regression":
        return {"score": np.array([line["score"] for line in lines])}
    if task == "multilabel":
        names = finetuned.label_names
        return {"probabilities": np.array([[line["probabilities"][n] for n in names] for line in lines]),
                "labels": np.array([[n.encode() if n in line["labels"] else b"" for n in names] for line in lines],
                                   object)}
    if task == "squad":
        # Where no span is valid, predict prints Google's placeholder "empty" (probability 1) and
        # serving answers "" with score 0 (documented in bertzoo/export/squad_serving.py).
        no_span = [line["answer"] == "empty" for line in lines]
        return {"answer": np.array([b"" if empty else line["answer"].encode() for line, empty in zip(lines, no_span)],
                                   object),
                "score": np.array([0.0 if empty else line["probability"] for line, empty in zip(lines, no_span)])}
    entities = [line["entities"] for line in lines]
    width = max(1, max(len(e) for e in entities))

    def padded(key, fill, convert=lambda v: v):
        return np.array([[convert(e[key]) for e in row] + [fill] * (width - len(row)) for row in entities])
    return {"num_entities": np.array([len(row) for row in entities]),
            "entity_type": padded("type", b"", str.encode).astype(object),
            "entity_text": padded("text", b"", str.encode).astype(object),
            "start_char": padded("start", -1), "end_char": padded("end", -1), "score": padded("score", 0.0)}


def assert_same_answers(task: str, actual: dict, expected: dict) -> None:
    for name, value in expected.items():
        got = np.asarray(actual[name])
        if name in ("entity_type", "entity_text", "start_char", "end_char", "score") and task == "ner":
            got = got[:, : value.shape[1]]  # the export pads to the batch's widest row; predict to its own
        if value.dtype == object:
            assert got.tolist() == value.tolist(), (task, name)
        elif value.dtype.kind == "f":
            np.testing.assert_allclose(got, value, atol=1e-5, rtol=0, err_msg=f"{task} {name}")
        else:
            np.testing.assert_array_equal(got, value, err_msg=f"{task} {name}")


TASKS = ["classify", "pair", "regression", "multilabel", "squad", "ner"]


@pytest.mark.parametrize("task", TASKS)
def test_serving_default_answers_like_bertzoo_predict(task, model_dirs, exports):
    inputs, records = _requests(task)
    signature = tf.saved_model.load(str(exports[task])).signatures[SERVING_DEFAULT]
    actual = {name: value.numpy() for name, value in signature(**{k: tf.constant(v) for k, v in inputs.items()}).items()}
    assert_same_answers(task, actual, _expected(task, load_finetuned(model_dirs[task]), records))
    if task == "squad":  # real answers are compared, and offsets point at them in the context
        assert sum(answer != b"" for answer in actual["answer"]) >= 2, actual["answer"]
        for context, answer, start, end in zip(inputs["context"], actual["answer"], actual["start_char"],
                                               actual["end_char"]):
            assert context[start:end] == answer.decode() if start >= 0 else answer == b""


def test_fresh_tensorflow_only_environment_gives_the_same_answers(model_dirs, exports, tmp_path):
    """The user of a stock TF Serving: only `tensorflow` installed, no tensorflow-text, no bertzoo."""
    requests = {task: _requests(task)[0] for task in TASKS}
    (tmp_path / "requests.json").write_text(json.dumps({str(exports[t]): r for t, r in requests.items()}))
    script = textwrap.dedent("""
        import importlib.util, json, sys
        import tensorflow as tf
        answers = {"missing": [m for m in ("tensorflow_text", "keras_hub", "bertzoo")
                               if importlib.util.find_spec(m) is None]}
        for path, inputs in json.load(open(sys.argv[1])).items():
            signature = tf.saved_model.load(path).signatures["serving_default"]
            outputs = signature(**{k: tf.constant(v) for k, v in inputs.items()})
            answers[path] = {k: {"string": v.dtype == tf.string,
                                 "value": (tf.strings.unicode_transcode(v, "UTF-8", "UTF-8") if v.dtype == tf.string
                                           else v).numpy().tolist()} for k, v in outputs.items()}
        json.dump(answers, open(sys.argv[2], "w"), default=lambda b: b.decode())
    """)
    (tmp_path / "serve.py").write_text(script)
    result = subprocess.run([str(tf_only_python()), str(tmp_path / "serve.py"), str(tmp_path / "requests.json"),
                             str(tmp_path / "answers.json")], capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    answers = json.loads((tmp_path / "answers.json").read_text())
    assert answers.pop("missing") == ["tensorflow_text", "keras_hub", "bertzoo"]
    for task in TASKS:
        got = answers[str(exports[task])]
        encode = np.vectorize(str.encode, otypes=[object])
        got = {k: encode(np.array(v["value"], object)) if v["string"] else np.array(v["value"])
               for k, v in got.items()}
        assert_same_answers(task, got, _expected(task, load_finetuned(model_dirs[task]), _requests(task)[1]))


@pytest.mark.parametrize("task", ["classify", "squad"])
def test_ids_signatures_take_int32_and_int64(task, model_dirs, exports):
    loaded = tf.saved_model.load(str(exports[task]))
    finetuned = load_finetuned(model_dirs[task])
    inputs = {k: v.numpy() for k, v in finetuned.bert.preprocessor(tf.constant(TEXTS[:3])).items()}
    expected = finetuned.model(inputs)
    for name, dtype in (("serving_ids", np.int32), ("serving_ids_int64", np.int64)):
        outputs = loaded.signatures[name](**{k: tf.constant(v.astype(dtype)) for k, v in inputs.items()})
        if task == "classify":
            probabilities = tf.nn.softmax(expected["logits"]).numpy()
            np.testing.assert_allclose(outputs["probabilities"].numpy(), probabilities, atol=1e-6)
        else:
            for key in ("start_logits", "end_logits"):
                np.testing.assert_allclose(outputs[key].numpy(), expected[key].numpy(), atol=1e-5)


def test_warmup_requests_replay_and_manifest(exports):
    for task in ("pair", "squad"):
        version_dir = exports[task]
        loaded = tf.saved_model.load(str(version_dir))
        requests = read_warmup_requests(version_dir)
        assert [r.model_spec.signature_name for r in requests] == ["serving_default", "serving_ids"]
        for request in requests:
            inputs = {name: tf.make_ndarray(proto) for name, proto in request.inputs.items()}
            outputs = loaded.signatures[request.model_spec.signature_name](**inputs)
            assert all(int(value.shape[0]) == len(next(iter(inputs.values()))) for value in outputs.values())
        manifest = json.loads((version_dir / EXPORT_MANIFEST).read_text())
        assert manifest["task"] == task and manifest["seq_length"] == SEQ_LENGTH
        assert manifest["signatures"]["serving_default"] == (["text", "text_pair"] if task == "pair"
                                                             else ["question", "context"])


def _describe(version_dir: pathlib.Path) -> str:
    """`saved_model_cli show --all`, with the op set sorted (Python prints a set in any order)."""
    result = subprocess.run([str(pathlib.Path(sys.executable).parent / "saved_model_cli"), "show", "--all", "--dir", str(version_dir)], capture_output=True,
                            text=True, check=True)
    text = result.stdout.split("MetaGraphDef with tag-set", 1)[1]
    return re.sub(r"contains the following ops: \{(.*?)\}",
                  lambda m: "contains the following ops:\n" + "\n".join(sorted(m.group(1).replace("'", "").split(", "))),
                  "MetaGraphDef with tag-set" + text).strip() + "\n"


@pytest.mark.parametrize("task", ["classify", "pair", "squad", "ner"])
def test_saved_model_cli_matches_the_golden_description(task, exports, request):
    description = _describe(exports[task])
    golden = GOLDEN / f"{task}.txt"
    if request.config.getoption("--update-golden"):
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(description)
    assert description == golden.read_text(), "regenerate with pytest --update-golden if the change is intended"


def test_versions_and_refusals(model_dirs, tmp_path):
    first = saved_model(model_dirs["classify"], tmp_path / "out", audit=False)
    second = saved_model(model_dirs["classify"], tmp_path / "out", audit=False)
    assert (first.name, second.name) == ("1", "2")
    with pytest.raises(FileExistsError, match=r"out/2 already exists.*overwrite"):
        saved_model(model_dirs["classify"], tmp_path / "out", version=2, audit=False)
    assert saved_model(model_dirs["classify"], tmp_path / "out", version=2, overwrite=True, audit=False) == second
    with pytest.raises(ValueError, match="version must be a non-negative integer"):
        saved_model(model_dirs["classify"], tmp_path / "out", version=-1)
    pretrained = model_dirs["classify"] / "encoder"
    with pytest.raises(FileNotFoundError, match="not a fine-tuned bertzoo model.*pretrained checkpoint"):
        saved_model(pretrained, tmp_path / "out")
    finetuned = load_finetuned(model_dirs["classify"])
    finetuned.task = "summarize"
    with pytest.raises(ValueError, match="cannot export task 'summarize'"):
        saved_model(finetuned, tmp_path / "out")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["1", "2"]  # nothing half written


def test_cli_export_reports_and_refuses(model_dirs, tmp_path, capsys):
    assert cli_main(["export", str(model_dirs["pair"]), str(tmp_path / "exp"), "--version", "7"]) == 0
    out = capsys.readouterr().out
    assert "exp/7" in out and "answers its first warm-up request" in out
    assert cli_main(["export", str(model_dirs["pair"]), str(tmp_path / "exp"), "--version", "7"]) == 2
    assert "already exists" in capsys.readouterr().err
    assert cli_main(["export", str(model_dirs["pair"] / "encoder"), str(tmp_path / "exp")]) == 2
    err = capsys.readouterr().err
    assert "not a fine-tuned bertzoo model" in err and "--format hub" in err


def test_client_requests_run_against_the_export(exports):
    inputs = {"text": ["anna saw paris", "good"], "text_pair": ["yes", "no"]}
    url, body = rest_request(inputs, model="pairs", host="serving", port=8501)
    assert url == "http://serving:8501/v1/models/pairs:predict"
    assert json.loads(body) == {"signature_name": "serving_default", "inputs": inputs}
    request = grpc_request(inputs, model="pairs")
    assert (request.model_spec.name, request.model_spec.signature_name) == ("pairs", "serving_default")
    # What the server would do with the gRPC request: run the signature on its tensors.
    signature = tf.saved_model.load(str(exports["pair"])).signatures["serving_default"]
    via_request = signature(**{name: tf.make_ndarray(proto) for name, proto in request.inputs.items()})
    direct = signature(**{name: tf.constant(values) for name, values in inputs.items()})
    np.testing.assert_array_equal(via_request["probabilities"].numpy(), direct["probabilities"].numpy())


def test_bad_requests_get_clear_errors(exports):
    signature = tf.saved_model.load(str(exports["pair"])).signatures["serving_default"]
    with pytest.raises(tf.errors.InvalidArgumentError, match="The two segments of a pair differ in batch size"):
        signature(text=tf.constant(["a", "b"]), text_pair=tf.constant(["c"]))
    empty = signature(text=tf.constant([], tf.string), text_pair=tf.constant([], tf.string))
    assert empty["probabilities"].shape == (0, 2) and empty["label"].shape == (0,)


def test_cli_export_hub_format_from_a_finetuned_model(model_dirs, tmp_path):
    assert cli_main(["export", str(model_dirs["classify"]), str(tmp_path / "hub"), "--format", "hub"]) == 0
    reread = bertzoo.load_pretrained(tmp_path / "hub" / "encoder", seq_length=SEQ_LENGTH)
    original = load_finetuned(model_dirs["classify"]).bert
    assert reread.format == "tf_hub" and reread.config.hidden_size == original.config.hidden_size
    inputs = original.preprocessor(tf.constant(["anna saw paris"]))
    np.testing.assert_allclose(reread.encoder(inputs)["pooled_output"].numpy(),
                               original.encoder(inputs)["pooled_output"].numpy(), atol=1e-5)
