"""Fine-tuned directories: save/load round trip for every task model, refusal to overwrite, and
clear errors for a damaged directory."""

import json

import numpy as np
import pytest
import safetensors.numpy

import bertzoo
from bertzoo.models.finetuned import FinetunedModel, load_finetuned, save_finetuned
from bertzoo.models import BertClassifier, BertSpanLabeler, BertTagger
from finetune_data import write_tiny_pretrained


@pytest.fixture(scope="module")
def bert(tmp_path_factory):
    return bertzoo.load_pretrained(write_tiny_pretrained(tmp_path_factory.mktemp("tiny") / "pretrained"),
                                   seq_length=16)


@pytest.mark.parametrize("make_model,task,labels", [
    (lambda e: BertClassifier(e, num_classes=3, problem_type="multi_label"), "multilabel", ["a", "b", "c"]),
    (lambda e: BertSpanLabeler(e), "squad", None),
    (lambda e: BertTagger(e, num_classes=2), "ner", ["O", "B-PER"]),
])
def test_round_trip_gives_the_same_outputs(bert, tmp_path, make_model, task, labels):
    model = make_model(bert.encoder)
    inputs = {name: np.asarray(value) for name, value in bert.preprocessor(["anna saw paris", "red"]).items()}
    expected = model(inputs)
    save_finetuned(FinetunedModel(task, model, bert, labels, {"dropout_rate": 0.1}), tmp_path / "model")
    loaded = load_finetuned(tmp_path / "model")
    assert (loaded.task, loaded.label_names, loaded.seq_length) == (task, labels, 16)
    assert type(loaded.model) is type(model)
    for name, value in loaded.model(inputs).items():
        np.testing.assert_array_equal(np.asarray(value), np.asarray(expected[name]))
    assert bertzoo.load_pretrained(tmp_path / "model" / "encoder", seq_length=16).format == "bertzoo"


def test_refusals_and_damage_are_clear(bert, tmp_path):
    finetuned = FinetunedModel("classify", BertClassifier(bert.encoder, num_classes=2), bert, ["neg", "pos"])
    save_finetuned(finetuned, tmp_path / "model")
    with pytest.raises(FileExistsError, match="overwrite=True"):
        save_finetuned(finetuned, tmp_path / "model")
    save_finetuned(finetuned, tmp_path / "model", overwrite=True)

    head = tmp_path / "model" / "head.safetensors"
    weights = safetensors.numpy.load_file(str(head))
    name = next(iter(weights))
    safetensors.numpy.save_file({key: value[..., :1] if key == name else value for key, value in weights.items()},
                                str(head))
    with pytest.raises(ValueError, match=f"weight '{name}' has shape"):
        load_finetuned(tmp_path / "model")

    manifest = tmp_path / "model" / "task.json"
    manifest.write_text(json.dumps(dict(json.loads(manifest.read_text()), model_class="BertRanker")))
    with pytest.raises(ValueError, match="model_class"):
        load_finetuned(tmp_path / "model")
    with pytest.raises(FileNotFoundError, match="not a fine-tuned bertzoo model"):
        load_finetuned(tmp_path / "model" / "encoder")
