"""Named-entity recognition on raw strings inside one graph of core TensorFlow ops, for TF Serving.

``NerServing.entities`` does in-graph what ``bertzoo predict`` does for a fine-tuned NER model
(``recipes/tasks/ner.py``): split the text into words with offsets (``split_words``), tokenize
each word alone, cut long texts into rows of whole words (``encode_tagged_sentences``), run the
tagger on every row at once, read each word's tag at its first piece (``decode_tags``) and turn
the tags into entities with conlleval's rules (``entities_with_offsets``). A word's probability is
the softmax probability of its tag there (``tag_probabilities``); an entity's ``score`` is the
mean over its words. Measured equal to ``predict_records`` (tests/test_ner_serving.py).
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
import tensorflow as tf

from bertzoo.export.core_ops_tokenizer import CoreOpsTokenizer
from bertzoo.export.core_word_splitter import CoreWordSplitter, code_point_spans
from bertzoo.metrics.entity_metrics import _split_tag
from bertzoo.families.bert.bert_preprocessor import check_seq_length

__all__ = ["NerServing"]

_OUTSIDE = "O"
# Tag prefixes as conlleval reads them (``entity_metrics``); any other first character is _OTHER.
_O, _B, _I, _E, _S, _DOT, _OTHER = range(7)
_PREFIXES = {"O": _O, "B": _B, "I": _I, "E": _E, "S": _S, ".": _DOT}
_NO_TYPE = -1  # the type before a text's first word, unequal to every tag's (extract_entities' "")


def _is(prefix: tf.Tensor, *codes: int) -> tf.Tensor:
    """Whether each prefix code ``[n]`` is one of ``codes``."""
    return tf.reduce_any(tf.equal(prefix[:, tf.newaxis], tf.constant(codes, tf.int32)), axis=1)


class NerServing(tf.Module):
    """Raw strings -> entities with character offsets, from a fine-tuned ``BertTagger``, in core ops.

    ``entities`` takes tf.string ``[batch]`` and returns dense tensors, padded per text to the
    batch's largest count, that a TF Serving REST client reads as JSON:

    - ``entity_type``, ``entity_text``: tf.string ``[batch, max_entities]``, padded ``""``;
    - ``start_char``, ``end_char``: int32, code-point offsets (``text[start:end] == entity_text``
      in Python), padded -1;
    - ``score``: float32, the mean probability of the entity's word tags, padded 0;
    - ``num_entities``: int32 ``[batch]``;
    - ``words``, ``tags``: tf.string ``[batch, max_words]``, each word and its tag (as the
      ``words`` and ``tags`` of a ``bertzoo predict`` line), padded ``""``; ``num_words`` int32.

    Args:
        model: a ``BertTagger`` (``model(inputs, training=False)["logits"]`` is
            ``[rows, seq_length, num_labels]``).
        tokenizer: a ``CoreOpsTokenizer`` with the checkpoint's vocabulary and casing.
        seq_length: the model's row length.
        label_names: the tag set, index = label id.
        name: the module's name.

    Example:
    >>> ner = NerServing.from_finetuned(load_finetuned("out/ner"))  # doctest: +SKIP
    >>> ner.entities(tf.constant(["Ada Lovelace met Babbage."]))["entity_text"]  # doctest: +SKIP
    <tf.Tensor: shape=(1, 2), dtype=string, numpy=array([[b'Ada Lovelace', b'Babbage']], dtype=object)>
    """

    def __init__(self, model: keras.Model, tokenizer: CoreOpsTokenizer, seq_length: int,
                 label_names: Sequence[str], name: str | None = None):
        super().__init__(name=name)
        if not isinstance(tokenizer, CoreOpsTokenizer):
            raise TypeError(f"tokenizer must be a CoreOpsTokenizer, got {type(tokenizer).__name__}.")
        label_names = [str(label) for label in label_names]
        if not label_names:
            raise ValueError("label_names is empty; pass the tag set, e.g. ['O', 'B-PER', 'I-PER'].")
        self.model = model
        self.tokenizer = tokenizer
        self.word_splitter = CoreWordSplitter()
        self.seq_length = check_seq_length(seq_length)
        self.label_names = label_names
        # A word without pieces is tagged as decode_tags tags it.
        self._default_label = label_names.index(_OUTSIDE) if _OUTSIDE in label_names else 0

        # Each label's prefix and type for the entity rules; one more label, an "O" that closes the
        # last entity of each text (as extract_entities appends one).
        split = [_split_tag(label) for label in label_names] + [("O", "_")]
        self._type_names = list(dict.fromkeys(type_ for _, type_ in split))
        with tf.init_scope():
            self._labels = tf.constant(label_names)
            self._prefixes = tf.constant([_PREFIXES.get(prefix, _OTHER) for prefix, _ in split], tf.int32)
            self._types = tf.constant([self._type_names.index(type_) for _, type_ in split], tf.int32)
            self._type_strings = tf.constant(self._type_names)

    @classmethod
    def from_finetuned(cls, finetuned, name: str | None = None) -> NerServing:
        """The serving module of a ``FinetunedModel`` of task ``ner`` (its model, vocabulary,
        casing, sequence length and tags)."""
        if finetuned.task != "ner":
            raise ValueError(f"NerServing serves task 'ner', got a fine-tuned model of task {finetuned.task!r}.")
        tokenizer = CoreOpsTokenizer.from_wordpiece_tokenizer(finetuned.bert.tokenizer)
        return cls(finetuned.model, tokenizer, finetuned.seq_length, finetuned.label_names, name=name)

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string)], autograph=False)
    def entities(self, text: tf.Tensor) -> dict[str, tf.Tensor]:
        """The entities of each text of a batch (tf.string ``[batch]``); see the class docstring."""
        split = self.word_splitter.split(text)
        word_row, word_offset, word_size, pieces, num_rows = self._rows_of_words(split.words)
        inputs = self._pack(word_row, word_offset, word_size, pieces, num_rows)
        logits = tf.cast(self.model(inputs, training=False)["logits"], tf.float32)

        # Each word's tag and its probability at the word's first piece, as decode_tags reads it.
        first_piece = tf.gather_nd(logits, tf.stack([word_row, word_offset], axis=1))
        has_piece = word_size > 0
        tag = tf.where(has_piece, tf.argmax(first_piece, axis=-1, output_type=tf.int32), self._default_label)
        probability = tf.where(has_piece, tf.reduce_max(tf.nn.softmax(first_piece), axis=-1), 0.0)
        tags = split.words.with_flat_values(tag)

        text_of_entity, word_start, word_end, entity_type = self._read_entities(tags)
        first_word = tf.gather(split.words.row_splits, text_of_entity) + word_start
        last_word = tf.gather(split.words.row_splits, text_of_entity) + word_end - 1
        start_char = tf.gather(split.starts.flat_values, first_word)
        end_char = tf.gather(split.ends.flat_values, last_word)
        # The mean of the words' probabilities, from a float64 running sum (exact enough on long texts).
        running = tf.concat([tf.zeros([1], tf.float64), tf.cumsum(tf.cast(probability, tf.float64))], 0)
        score = (tf.gather(running, last_word + 1) - tf.gather(running, first_word)) / tf.cast(
            word_end - word_start, tf.float64)

        def by_text(values):
            return tf.RaggedTensor.from_value_rowids(values, text_of_entity, nrows=split.words.nrows(),
                                                     validate=False)

        entity_text = code_point_spans(split.code_points, text_of_entity, start_char, end_char)
        return {
            "entity_type": by_text(tf.gather(self._type_strings, entity_type)).to_tensor(""),
            "entity_text": by_text(entity_text).to_tensor(""),
            "start_char": by_text(start_char).to_tensor(-1),
            "end_char": by_text(end_char).to_tensor(-1),
            "score": by_text(tf.cast(score, tf.float32)).to_tensor(0.0),
            "num_entities": tf.cast(by_text(entity_type).row_lengths(), tf.int32),
            "words": split.words.to_tensor(""),
            "tags": tf.gather(self._labels, tags).to_tensor(""),
            "num_words": tf.cast(split.words.row_lengths(), tf.int32),
        }

    def _rows_of_words(self, words: tf.RaggedTensor):
        """Tokenizes each word alone and cuts each text into rows of whole words, as ``_chunks``.

        A row starts at a text's next word and takes the following words of that text while their
        pieces fit in ``seq_length - 2`` (a pieceless word always fits; a word with more pieces
        is cut to fill a row alone). One loop step makes the next row of every unfinished text;
        a text without words has none.

        Args:
            words: tf.string ``[batch, (words)]``.

        Returns:
            ``(row, offset, size, pieces, num_rows)``: for each word (int64 ``[words]``) its row,
            the position of its first piece in the row and its number of pieces kept; the pieces
            of each word (int32 ``[words, (pieces)]``); the number of rows.
        """
        max_pieces = self.seq_length - 2
        pieces = self.tokenizer.tokenize(words.flat_values)
        size = tf.minimum(pieces.row_lengths(), max_pieces)
        through = tf.cumsum(size)  # the pieces of all words up to this one, this one included
        before = through - size
        num_words = tf.shape(size, out_type=tf.int64)[0]
        text_end = words.row_splits[1:]

        def make_rows(next_word, row_starts):
            unfinished = tf.where(next_word < text_end)
            first = tf.gather_nd(next_word, unfinished)
            end = tf.searchsorted(through, tf.gather(before, first) + max_pieces, side="right", out_type=tf.int64)
            end = tf.minimum(end, tf.gather_nd(text_end, unfinished))
            return tf.tensor_scatter_nd_update(next_word, unfinished, end), row_starts.write(row_starts.size(), first)

        row_starts = tf.TensorArray(tf.int64, size=1, dynamic_size=True, infer_shape=False, element_shape=[None])
        _, row_starts = tf.while_loop(
            lambda next_word, _: tf.reduce_any(next_word < text_end),
            make_rows,
            (words.row_splits[:-1], row_starts.write(0, tf.zeros([0], tf.int64))),  # concat() needs one element
        )
        row_starts = tf.sort(row_starts.concat())
        row = tf.searchsorted(row_starts, tf.range(num_words), side="right", out_type=tf.int64) - 1
        offset = 1 + before - tf.gather(before, tf.gather(row_starts, row))
        return row, offset, size, pieces, tf.shape(row_starts, out_type=tf.int64)[0]

    def _pack(self, word_row, word_offset, word_size, pieces, num_rows) -> dict[str, tf.Tensor]:
        """Rows ``[CLS] pieces [SEP] [PAD]...`` of ``seq_length``: the model inputs."""
        piece_word = pieces.value_rowids()
        piece_index = tf.range(tf.shape(piece_word, out_type=tf.int64)[0]) - tf.gather(pieces.row_splits, piece_word)
        kept = piece_index < tf.gather(word_size, piece_word)
        piece_word = tf.boolean_mask(piece_word, kept)
        piece_at = tf.stack(
            [tf.gather(word_row, piece_word), tf.gather(word_offset, piece_word) + tf.boolean_mask(piece_index, kept)],
            axis=1)
        row_pieces = tf.math.unsorted_segment_sum(word_size, word_row, num_rows)
        rows = tf.range(num_rows)
        cls_at = tf.stack([rows, tf.zeros_like(rows)], axis=1)
        sep_at = tf.stack([rows, row_pieces + 1], axis=1)
        ids = tf.tensor_scatter_nd_update(
            tf.fill(tf.stack([num_rows, self.seq_length]), tf.constant(self.tokenizer.pad_id, tf.int32)),
            tf.concat([cls_at, piece_at, sep_at], 0),
            tf.concat([tf.fill([num_rows], tf.constant(self.tokenizer.cls_id, tf.int32)),
                       tf.boolean_mask(pieces.flat_values, kept),
                       tf.fill([num_rows], tf.constant(self.tokenizer.sep_id, tf.int32))], 0))
        return {
            "input_word_ids": ids,
            "input_mask": tf.sequence_mask(row_pieces + 2, self.seq_length, dtype=tf.int32),
            "input_type_ids": tf.zeros_like(ids),
        }

    def _read_entities(self, tags: tf.RaggedTensor):
        """Entities of each text's tag ids ``[batch, (words)]`` by ``extract_entities``' rules.

        Each position is compared with the one before it (at a text's start, the state
        ("O", no type)); an "O" after each text's last word closes its last entity. An entity ends
        where conlleval's ``endOfChunk`` holds and began at the last position before it where
        ``startOfChunk`` held (the text's start if none).

        Returns:
            ``(text, word_start, word_end, type)`` for each entity (int64, int64, int64, int32):
            its text, its words ``[word_start, word_end)`` in that text, its type's index.
        """
        closing = tf.fill(tf.stack([tags.nrows(), 1]), tf.constant(len(self.label_names), tf.int32))
        extended = tf.concat([tags, tf.RaggedTensor.from_tensor(closing)], axis=1)
        text = extended.value_rowids()
        text_start = tf.gather(extended.row_splits, text)
        at_text_start = tf.equal(tf.range(tf.shape(text, out_type=tf.int64)[0]), text_start)
        prefix = tf.gather(self._prefixes, extended.flat_values)
        type_ = tf.gather(self._types, extended.flat_values)
        previous_prefix = tf.where(at_text_start, _O, tf.concat([[_O], prefix[:-1]], 0))
        previous_type = tf.where(at_text_start, _NO_TYPE, tf.concat([[_NO_TYPE], type_[:-1]], 0))
        type_changes = tf.not_equal(previous_type, type_)

        ends = (_is(previous_prefix, _E, _S)
                | (_is(previous_prefix, _B, _I) & _is(prefix, _B, _S, _O))
                | (tf.logical_not(_is(previous_prefix, _O, _DOT)) & type_changes))
        starts = (_is(prefix, _B, _S)
                  | (_is(previous_prefix, _E, _S, _O) & _is(prefix, _E, _I))
                  | (tf.logical_not(_is(prefix, _O, _DOT)) & type_changes))

        end_at = tf.where(ends)[:, 0]
        # The last start strictly before each end: index k of the start list, 0 meaning none.
        start_at = tf.concat([tf.zeros([1], tf.int64), tf.where(starts)[:, 0]], 0)
        starts_before = tf.gather(tf.cumsum(tf.cast(starts, tf.int64), exclusive=True), end_at)
        entity_text_start = tf.gather(text_start, end_at)
        begin = tf.maximum(tf.gather(start_at, starts_before), entity_text_start)
        return (tf.gather(text, end_at), begin - entity_text_start, end_at - entity_text_start,
                tf.gather(previous_type, end_at))
