"""Export to the TF Hub format: a BERT encoder SavedModel and its preprocessor SavedModel.

What users of tfhub.dev's ``bert_en_uncased_L-12_H-768_A-12/4`` and ``bert_en_uncased_preprocess/3``
expect, so code written for Google's models runs on ours unchanged:

- ``encoder/``: called with a dict of int32 ``input_word_ids`` / ``input_mask`` / ``input_type_ids``
  ``[batch, seq]`` (any seq up to ``max_position_embeddings``) and ``training`` (a Python bool:
  dropout on or off), returns ``pooled_output``, ``sequence_output``, ``encoder_outputs`` (a list),
  ``default`` (= ``pooled_output``) and bertzoo's ``embedding_output``. It has ``variables``,
  ``trainable_variables`` and ``regularization_losses`` (empty) for ``hub.KerasLayer(...,
  trainable=True)``, a ``serving_default`` signature (``encoder_outputs`` flattened to
  ``encoder_outputs_0`` ...), the ``vocab_file`` asset and a ``do_lower_case`` variable.
  Variables carry TF Model Garden's names and layouts (``bertzoo.families.bert.checkpoints.tf_hub_encoder.HUB_NAMES``),
  so one reader reads ours and Google's; the full ``BertConfig`` is the ``bertzoo_config.json``
  asset (the activation cannot be read from shapes).
- ``preprocessor/``: ``.tokenize`` (strings ``[batch]`` -> int32 ``[batch, (words), (pieces)]``,
  with ``.get_special_tokens_dict()``), ``.bert_pack_inputs(segments, seq_length=...)`` (one
  segment or a pair -> the encoder's inputs, truncated as Google's ``_truncate_seq_pair``) and a
  call on a batch of strings (-> inputs at the bundle's ``seq_length``; also ``serving_default``).

The encoder's arithmetic is written in TensorFlow ops over those variables (the attention and
activation are bertzoo's own functions); the preprocessor is ``CorePreprocessor``. Both hold core
TensorFlow ops only, so they load without tensorflow-text or Keras.
"""

from __future__ import annotations

import os
import pathlib
import tempfile

import numpy as np
import tensorflow as tf

from bertzoo.families.bert.bert_config import BertConfig
from bertzoo.layers.activations import get_activation
from bertzoo.layers.attention import dot_product_attention
from bertzoo.export.core_ops_tokenizer import CoreOpsTokenizer
from bertzoo.export.core_preprocessor import CorePreprocessor
from bertzoo.atomic_directory import staged_directory
from bertzoo.families.bert.checkpoints.encoder_weights import read_encoder_weights
from bertzoo.families.bert.pretrained_bert import PretrainedBert
from bertzoo.families.bert.checkpoints.tf_hub_encoder import CONFIG_ASSET, hub_weight_name, hub_weight_shape

__all__ = ["export_hub"]

ENCODER_DIR = "encoder"
PREPROCESSOR_DIR = "preprocessor"
VOCAB_ASSET = "vocab.txt"

_INPUT_NAMES = ("input_word_ids", "input_mask", "input_type_ids")
_IDS = tf.TensorSpec([None, None], tf.int32)
_STRINGS = tf.TensorSpec([None], tf.string)


def export_hub(bert: PretrainedBert, out_dir: str | os.PathLike, *, overwrite: bool = False) -> dict[str, pathlib.Path]:
    """Writes ``bert`` as TF Hub SavedModels: ``out_dir/encoder`` and ``out_dir/preprocessor``.

    Args:
        bert: the bundle to export (its encoder weights, tokenizer and preprocessor seq_length).
        out_dir: the directory to write; created if missing.
        overwrite: replace a non-empty ``out_dir``; without it that is an error.

    Returns:
        ``{"encoder": path, "preprocessor": path}``.

    Raises:
        FileExistsError: ``out_dir`` exists, is not empty and ``overwrite`` is False.

    Example:
    >>> paths = export_hub(bert, "export/hub")  # doctest: +SKIP
    >>> encoder = hub.KerasLayer(str(paths["encoder"]), trainable=True)  # doctest: +SKIP
    """
    out_dir = pathlib.Path(out_dir)
    config = bert.encoder.bert_config.replace(do_lower_case=bert.tokenizer.lowercase)
    with tempfile.TemporaryDirectory() as assets, staged_directory(out_dir, overwrite) as staging:
        vocab_path = pathlib.Path(assets, VOCAB_ASSET)
        vocab_path.write_text("".join(t + "\n" for t in bert.tokenizer.vocabulary.tokens), encoding="utf-8")
        config_path = pathlib.Path(assets, CONFIG_ASSET)
        config.to_json(config_path)

        encoder = _HubEncoder(config, read_encoder_weights(bert.encoder), vocab_path, config_path)
        tf.saved_model.save(encoder, str(staging / ENCODER_DIR),
                            signatures={"serving_default": encoder.serving_signature()})
        preprocessor = _HubPreprocessor(CorePreprocessor.from_bert_preprocessor(bert.preprocessor),
                                        vocab_path)
        tf.saved_model.save(preprocessor, str(staging / PREPROCESSOR_DIR),
                            signatures={"serving_default": preprocessor.__call__.get_concrete_function()})
    return {"encoder": out_dir / ENCODER_DIR, "preprocessor": out_dir / PREPROCESSOR_DIR}


class _HubEncoder(tf.__internal__.tracking.AutoTrackable):
    """The encoder SavedModel's root: variables with Model Garden's names and the reusable-SavedModel
    attributes. A plain ``AutoTrackable`` (as Keras's own ``ExportArchive`` uses): a ``tf.Module``'s
    ``variables`` is a property, so it could not save ``variables`` / ``trainable_variables`` /
    ``regularization_losses`` as lists, and a ``tf.train.Checkpoint`` would add a ``save_counter``."""

    def __init__(self, config: BertConfig, weights: dict[str, np.ndarray], vocab_path: pathlib.Path,
                 config_path: pathlib.Path):
        super().__init__()
        heads = config.num_attention_heads
        weight_variables = {
            hub_weight_name(name): tf.Variable(
                tf.reshape(value, hub_weight_shape(name, value.shape, heads)), name=hub_weight_name(name))
            for name, value in weights.items()
        }
        self.vocab_file = tf.saved_model.Asset(str(vocab_path))
        self.bertzoo_config_file = tf.saved_model.Asset(str(config_path))
        self.do_lower_case = tf.Variable(bool(config.do_lower_case), trainable=False, name="do_lower_case")
        self.variables = list(weight_variables.values())
        self.trainable_variables = list(weight_variables.values())
        self.regularization_losses = []
        forward = _EncoderForward(config, weight_variables)
        self.__call__ = tf.function(forward.__call__, autograph=False)
        specs = {name: _IDS for name in _INPUT_NAMES}
        for training in (False, True):
            self.__call__.get_concrete_function(specs, training=training)
        self._forward = forward

    def serving_signature(self) -> tf.types.experimental.ConcreteFunction:
        """``serving_default``: the three inputs as keyword arguments -> a flat dict of outputs."""

        @tf.function(input_signature=[_IDS] * 3, autograph=False)
        def serve(input_word_ids, input_mask, input_type_ids):
            outputs = self._forward(dict(zip(_INPUT_NAMES, (input_word_ids, input_mask, input_type_ids))))
            flat = {k: v for k, v in outputs.items() if k != "encoder_outputs"}
            flat.update({f"encoder_outputs_{i}": v for i, v in enumerate(outputs["encoder_outputs"])})
            return flat

        return serve.get_concrete_function()


class _EncoderForward:
    """BERT's forward pass over Model Garden-named variables: the arithmetic of ``BertEncoder``
    (post-LayerNorm layers, tanh pooler on ``[CLS]``), with dropout when ``training``."""

    def __init__(self, config: BertConfig, variables: dict[str, tf.Variable]):
        self._config = config
        self._variables = variables
        self._activation = get_activation(config.hidden_act)

    def __call__(self, inputs: dict[str, tf.Tensor], training: bool = False) -> dict:
        config, v = self._config, self._variables
        word_ids, mask, type_ids = (inputs[name] for name in _INPUT_NAMES)
        seq_length = tf.shape(word_ids)[1]
        check = tf.debugging.assert_less_equal(
            seq_length, config.max_position_embeddings,
            message=f"sequence length exceeds max_position_embeddings ({config.max_position_embeddings})")
        with tf.control_dependencies([check]):
            positions = v["position_embedding/embeddings"][:seq_length]
        embeddings = (tf.gather(v["word_embeddings/embeddings"], word_ids)
                      + tf.gather(v["type_embeddings/embeddings"], type_ids) + positions[tf.newaxis])
        hidden = self._dropout(self._layer_norm(embeddings, "embeddings/layer_norm"), training)
        embedding_output = hidden
        encoder_outputs = []
        for i in range(config.num_hidden_layers):
            hidden = self._transformer_layer(hidden, mask, f"transformer/layer_{i}", training)
            encoder_outputs.append(hidden)
        pooled = tf.tanh(tf.matmul(hidden[:, 0], v["pooler_transform/kernel"]) + v["pooler_transform/bias"])
        return {"pooled_output": pooled, "sequence_output": hidden, "encoder_outputs": encoder_outputs,
                "default": pooled, "embedding_output": embedding_output}

    def _transformer_layer(self, hidden, mask, prefix: str, training: bool):
        v = self._variables
        attention = f"{prefix}/self_attention"

        def project(name):  # [batch, seq, hidden] -> [batch, seq, heads, head_size]
            return tf.einsum("bsh,hnd->bsnd", hidden, v[f"{attention}/{name}/kernel"]) + v[f"{attention}/{name}/bias"]

        context = dot_product_attention(
            project("query"), project("key"), project("value"), key_mask=mask,
            dropout=lambda p, training: self._dropout(p, training, self._config.attention_probs_dropout_prob),
            training=training)
        attention_output = (tf.einsum("bsnd,ndh->bsh", context, v[f"{attention}/attention_output/kernel"])
                            + v[f"{attention}/attention_output/bias"])
        attention_output = self._layer_norm(hidden + self._dropout(attention_output, training),
                                            f"{prefix}/self_attention_layer_norm")
        inner = self._activation(self._dense(attention_output, f"{prefix}/intermediate"))
        output = self._dropout(self._dense(inner, f"{prefix}/output"), training)
        return self._layer_norm(attention_output + output, f"{prefix}/output_layer_norm")

    def _dense(self, x, prefix: str):
        return tf.einsum("bsi,io->bso", x, self._variables[f"{prefix}/kernel"]) + self._variables[f"{prefix}/bias"]

    def _layer_norm(self, x, prefix: str):
        mean, variance = tf.nn.moments(x, axes=[-1], keepdims=True)
        normalized = (x - mean) * tf.math.rsqrt(variance + self._config.layer_norm_eps)
        return normalized * self._variables[f"{prefix}/gamma"] + self._variables[f"{prefix}/beta"]

    def _dropout(self, x, training: bool, rate: float | None = None):
        rate = self._config.hidden_dropout_prob if rate is None else rate
        return tf.nn.dropout(x, rate=rate) if training and rate > 0 else x


class _HubPreprocessor(tf.Module):
    """The preprocessor SavedModel's root, shaped like tfhub.dev's ``bert_en_uncased_preprocess/3``."""

    def __init__(self, core: CorePreprocessor, vocab_path: pathlib.Path):
        super().__init__()
        self._core = core
        self.tokenize = _HubTokenize(core.tokenizer)
        self.bert_pack_inputs = _HubPackInputs(core)
        self.vocab_file = tf.saved_model.Asset(str(vocab_path))
        self.do_lower_case = tf.Variable(core.tokenizer.lowercase, trainable=False, name="do_lower_case")

    @tf.function(input_signature=[_STRINGS], autograph=False)
    def __call__(self, strings: tf.Tensor) -> dict[str, tf.Tensor]:
        """A batch of strings -> the encoder's inputs at the default ``seq_length``."""
        return self._core(strings)


class _HubTokenize(tf.Module):
    """``preprocessor.tokenize``: strings -> WordPiece ids grouped by word, and the special ids."""

    def __init__(self, tokenizer: CoreOpsTokenizer):
        super().__init__()
        self._tokenizer = tokenizer

    @tf.function(input_signature=[_STRINGS], autograph=False)
    def __call__(self, strings: tf.Tensor) -> tf.RaggedTensor:
        return self._tokenizer.tokenize_words(strings)

    @tf.function(input_signature=[], autograph=False)
    def get_special_tokens_dict(self) -> dict[str, tf.Tensor]:
        """Google's special-token dict: vocabulary size and the ids ``bert_pack_inputs`` uses."""
        t = self._tokenizer
        return {name: tf.constant(value, tf.int32) for name, value in (
            ("vocab_size", t.vocabulary_size), ("start_of_sequence_id", t.cls_id),
            ("end_of_segment_id", t.sep_id), ("padding_id", t.pad_id), ("mask_id", t.mask_id))}


class _HubPackInputs(tf.Module):
    """``preprocessor.bert_pack_inputs(segments, seq_length=None)``: a list of one segment or a pair,
    each the ``[batch, (words), (pieces)]`` output of ``tokenize``, -> the encoder's inputs at
    ``seq_length`` (an int, or left out for the default). Traced for those four cases only (each
    trace costs export time): other shapes or more segments do not match a saved function."""

    def __init__(self, core: CorePreprocessor):
        super().__init__()
        self._core = core
        self.__call__ = tf.function(self._pack, autograph=False)
        segment = tf.RaggedTensorSpec([None, None, None], tf.int32, ragged_rank=2, row_splits_dtype=tf.int64)
        for num_segments in (1, 2):
            self.__call__.get_concrete_function([segment] * num_segments)
            self.__call__.get_concrete_function([segment] * num_segments, tf.TensorSpec([], tf.int32))

    def _pack(self, segments: list[tf.RaggedTensor], seq_length: tf.Tensor | None = None) -> dict[str, tf.Tensor]:
        return self._core.pack_token_ids([s.merge_dims(1, 2) for s in segments], seq_length)
