"""TF Hub export (bertzoo.export.hub_format) and reading a TF Hub encoder back (bertzoo.families.bert.checkpoints.tf_hub_encoder)."""

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_hub as hub
import tf_keras

import bertzoo
from bertzoo.export.hub_format import export_hub
from bertzoo.export.op_audit import assert_core_ops_only
from bertzoo.families import UnknownCheckpointFormatError
from bertzoo.families.bert import BertPreprocessor
from finetune_data import write_tiny_pretrained

SEQ_LENGTH = 16
TEXTS = ["the day was good", "Anna saw PARIS and oslo ?", "", "reds blue codes xyz " * 6]
SECOND = ["what is code ?", "yes", "the very really good food place " * 3, ""]


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """A tiny bundle and its TF Hub export (exported once: the preprocessor takes seconds to save)."""
    root = tmp_path_factory.mktemp("hub")
    bert = bertzoo.load_pretrained(write_tiny_pretrained(root / "tiny"), seq_length=SEQ_LENGTH)
    return bert, export_hub(bert, root / "export")


def encoder_inputs(bert, length=SEQ_LENGTH):
    inputs = bert.preprocessor((tf.constant(TEXTS), tf.constant(SECOND)))
    return {name: value[:, :length] for name, value in inputs.items()}


def assert_same_outputs(actual, expected):
    np.testing.assert_allclose(actual["pooled_output"], expected["pooled_output"], atol=1e-5)
    np.testing.assert_allclose(actual["sequence_output"], expected["sequence_output"], atol=1e-5)
    assert len(actual["encoder_outputs"]) == len(expected["encoder_outputs"])
    for layer_actual, layer_expected in zip(actual["encoder_outputs"], expected["encoder_outputs"]):
        np.testing.assert_allclose(layer_actual, layer_expected, atol=1e-5)


def test_hub_encoder_outputs_equal_bert_encoder(exported):
    bert, paths = exported
    encoder = hub.load(str(paths["encoder"]))
    for length in (SEQ_LENGTH, 7):  # any sequence length up to max_position_embeddings
        inputs = encoder_inputs(bert, length)
        expected = bert.encoder(inputs)
        outputs = encoder(inputs, training=False)
        assert_same_outputs(outputs, expected)
        np.testing.assert_allclose(outputs["default"], expected["pooled_output"], atol=1e-5)
        np.testing.assert_allclose(outputs["embedding_output"], expected["embedding_output"], atol=1e-5)
        assert_same_outputs(encoder(inputs, training=True), expected)  # the tiny bundle has no dropout

    served = encoder.signatures["serving_default"](**encoder_inputs(bert))
    expected = bert.encoder(encoder_inputs(bert))
    np.testing.assert_allclose(served["pooled_output"], expected["pooled_output"], atol=1e-5)
    np.testing.assert_allclose(served["encoder_outputs_1"], expected["encoder_outputs"][1], atol=1e-5)

    names = {v.name for v in encoder.variables}
    assert {"word_embeddings/embeddings:0", "transformer/layer_1/self_attention/query/kernel:0",
            "pooler_transform/kernel:0"} <= names
    assert len(encoder.trainable_variables) == len(bert.encoder.weights) and not encoder.regularization_losses
    assert encoder.do_lower_case.numpy()
    with open(encoder.vocab_file.asset_path.numpy(), encoding="utf-8") as f:
        assert f.read().split("\n")[:-1] == bert.tokenizer.vocabulary.tokens


def test_hub_keras_layer_in_tf_keras_model(exported):
    bert, paths = exported
    inputs = {name: tf_keras.Input(shape=(None,), dtype=tf.int32, name=name)
              for name in ("input_word_ids", "input_mask", "input_type_ids")}
    layer = hub.KerasLayer(str(paths["encoder"]), trainable=True)
    outputs = layer(inputs)
    model = tf_keras.Model(inputs, {"pooled_output": outputs["pooled_output"],
                                    "sequence_output": outputs["sequence_output"],
                                    "encoder_outputs": outputs["encoder_outputs"]})
    assert len(model.trainable_weights) == len(bert.encoder.weights)
    assert_same_outputs(model(encoder_inputs(bert), training=False), bert.encoder(encoder_inputs(bert)))


def test_hub_preprocessor_equals_bert_preprocessor(exported):
    bert, paths = exported
    preprocessor = hub.load(str(paths["preprocessor"]))
    a, b = tf.constant(TEXTS), tf.constant(SECOND)

    tokens = preprocessor.tokenize(a)
    assert tokens.to_list() == bert.tokenizer.tokenize_words(a).to_list()
    specials = {k: int(v) for k, v in preprocessor.tokenize.get_special_tokens_dict().items()}
    assert specials == {"vocab_size": len(bert.tokenizer.vocabulary.tokens),
                        "start_of_sequence_id": bert.tokenizer.cls_id,
                        "end_of_segment_id": bert.tokenizer.sep_id, "padding_id": bert.tokenizer.pad_id,
                        "mask_id": bert.tokenizer.mask_id}

    def assert_equal_inputs(actual, expected):
        assert set(actual) == set(expected)
        for name in expected:
            assert actual[name].dtype == tf.int32
            np.testing.assert_array_equal(actual[name], expected[name], err_msg=name)

    assert_equal_inputs(preprocessor(a), bert.preprocessor(a))
    assert_equal_inputs(preprocessor.signatures["serving_default"](strings=a), bert.preprocessor(a))
    pair = [tokens, preprocessor.tokenize(b)]
    assert_equal_inputs(preprocessor.bert_pack_inputs([tokens]), bert.preprocessor(a))
    assert_equal_inputs(preprocessor.bert_pack_inputs(pair), bert.preprocessor((a, b)))
    assert_equal_inputs(preprocessor.bert_pack_inputs(pair, seq_length=9),  # Google's pair truncation
                        BertPreprocessor(bert.tokenizer, seq_length=9)((a, b)))


def test_hub_exports_hold_core_ops_only(exported):
    _, paths = exported
    assert_core_ops_only(paths["preprocessor"])
    assert_core_ops_only(paths["encoder"])


def test_load_pretrained_reads_hub_encoder(exported):
    bert, paths = exported
    loaded = bertzoo.load_pretrained(paths["encoder"], seq_length=SEQ_LENGTH)
    assert loaded.format == "tf_hub"
    assert loaded.config == bert.config
    assert loaded.unused_weights == ()
    assert loaded.tokenizer.lowercase and loaded.tokenizer.vocabulary.tokens == bert.tokenizer.vocabulary.tokens
    assert_same_outputs(loaded.encoder(encoder_inputs(bert)), bert.encoder(encoder_inputs(bert)))


def test_export_refuses_non_empty_directory(exported, tmp_path):
    bert, paths = exported
    with pytest.raises(FileExistsError, match="not empty; pass overwrite=True"):
        export_hub(bert, paths["encoder"].parent)
    assert sorted(p.name for p in paths["encoder"].parent.iterdir()) == ["encoder", "preprocessor"]


def test_load_pretrained_names_missing_variables_of_non_bert_savedmodel(tmp_path):
    module = tf.Module()
    module.weight = tf.Variable(tf.zeros([3, 4]), name="dense/kernel")
    module.double = tf.function(lambda x: 2.0 * module.weight * x,
                                input_signature=[tf.TensorSpec([], tf.float32)])
    tf.saved_model.save(module, str(tmp_path / "not_bert"))
    with pytest.raises(ValueError, match=r"not a TF Hub BERT encoder: variables missing .*word_embeddings/embeddings"):
        bertzoo.load_pretrained(tmp_path / "not_bert")


def test_detect_format_names_tf_hub_files(tmp_path):
    with pytest.raises(UnknownCheckpointFormatError, match=r"saved_model.pb \+ variables/"):
        bertzoo.load_pretrained(tmp_path)
