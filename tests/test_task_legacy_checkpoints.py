"""Fine-tuned directories written before the classification and tagging heads became one
``DenseHead`` (tests/data/legacy, written by the pre-house code) still load and give the outputs
they gave then."""

from __future__ import annotations

import pathlib

import numpy as np
import safetensors.numpy

import bertzoo

LEGACY = pathlib.Path(__file__).parent / "data" / "legacy"


def expected():
    with np.load(LEGACY / "expected_outputs.npz") as outputs:
        return {key: outputs[key] for key in outputs.files}


def test_pretrained_directory_gives_its_recorded_sequence_output():
    outputs = expected()
    bert = bertzoo.load_pretrained(LEGACY / "pretrained", seq_length=16)
    inputs = bert.preprocessor(list(outputs["texts"]))
    sequence = np.asarray(bert.encoder(inputs)["sequence_output"])
    np.testing.assert_allclose(sequence, outputs["pretrained_sequence_output"], atol=1e-6)


def test_finetuned_directories_load_with_unchanged_variable_paths_and_outputs():
    outputs = expected()
    for task, head_name, key in (("classify", "classification_head", "classify_logits"),
                                 ("ner", "tagging_head", "ner_logits")):
        finetuned = bertzoo.load_finetuned(LEGACY / task)
        stored = safetensors.numpy.load_file(str(LEGACY / task / "head.safetensors"))
        assert sorted(stored) == [f"{head_name}/dense/bias", f"{head_name}/dense/kernel"]
        head = getattr(finetuned.model, head_name)
        assert type(head).__name__ == "DenseHead"
        np.testing.assert_array_equal(np.asarray(head.dense.kernel), stored[f"{head_name}/dense/kernel"])
        inputs = finetuned.bert.preprocessor(list(outputs["texts"]))
        logits = np.asarray(finetuned.model(inputs, training=False)["logits"])
        np.testing.assert_allclose(logits, outputs[key], atol=1e-6)
