"""ULMFiT's claim (Howard & Ruder 2018), shown on a task small enough for a CPU: the classifier
fine-tuned from a language model (pretrained on the embedded corpus, then fine-tuned on the task's
unlabelled texts) with discriminative rates, slanted triangular rates and gradual unfreezing beats
the same classifier trained from random weights on the same 32 labelled texts.

The task: is a short review ("what a superb film .") positive? Its label is the polarity of its
adjective. The labelled texts use 3 adjectives of each polarity; the held-out texts use the other
11 of each, never seen with a label. What those mean is in the unlabelled texts only: there an
adjective is followed by a word of its polarity ("what a superb treat .", "such a dull mess , this
play ."), so a language model that predicts that word carries the polarity in its state. From random
weights an unseen adjective is a random vector: the scratch classifier fits its 32 texts and
guesses on the held-out ones.
"""

import keras
import numpy as np
import pytest

from bertzoo.families.awd_lstm import CLASSIFIER_DROPOUTS, AwdLstmConfig, AwdLstmEncoder, AwdLstmPreprocessor
from bertzoo.recipes import ulmfit
from test_ulmfit_recipe import CORPUS

POSITIVE = ["great", "good", "superb", "lovely", "wonderful", "excellent", "brilliant", "delightful", "charming",
            "splendid", "fine", "pleasant", "gorgeous", "moving"]
NEGATIVE = ["bad", "awful", "dull", "poor", "terrible", "boring", "dreadful", "tedious", "horrible", "weak", "clumsy",
            "bland", "painful", "sloppy"]
NOUNS = ["film", "book", "meal", "show", "album", "play", "hotel", "game", "concert", "novel"]
# Unlabelled texts: the word after the adjective says its polarity ({m}: one of MARKERS[label]).
UNLABELLED_TEMPLATES = ["what a {a} {m} .", "the {n} was a {a} {m} .", "such a {a} {m} , this {n} ."]
MARKERS = {0: ["mess", "letdown"], 1: ["treat", "joy"]}
# Labelled and held-out texts: nothing but the adjective says the polarity.
LABELLED_TEMPLATES = ["what a {a} {n} .", "such a {a} {n} ."]
SEEN_PER_CLASS = 3


def polarity_task(seed: int, labelled: int = 32, held_out: int = 160, unlabelled: int = 600):
    """``(train_texts, train_labels), (held_out_texts, held_out_labels), unlabelled_texts``, from ``seed``.

    Labels alternate, so both sets are balanced; the held-out adjectives are the ones the labelled
    texts do not use.
    """
    rng = np.random.default_rng(seed)
    adjectives = {0: list(rng.permutation(NEGATIVE)), 1: list(rng.permutation(POSITIVE))}
    seen = {label: words[:SEEN_PER_CLASS] for label, words in adjectives.items()}
    unseen = {label: words[SEEN_PER_CLASS:] for label, words in adjectives.items()}

    def labelled_texts(count, words):
        labels = np.arange(count) % 2
        texts = [rng.choice(LABELLED_TEMPLATES).format(a=rng.choice(words[label]), n=rng.choice(NOUNS))
                 for label in labels]
        return texts, labels

    unlabelled_texts = []
    for _ in range(unlabelled):
        label = int(rng.integers(2))
        unlabelled_texts.append(rng.choice(UNLABELLED_TEMPLATES).format(
            a=rng.choice(adjectives[label]), m=rng.choice(MARKERS[label]), n=rng.choice(NOUNS)))
    return labelled_texts(labelled, seen), labelled_texts(held_out, unseen), unlabelled_texts


@pytest.mark.parametrize("seed", [0])
def test_ulmfit_beats_the_same_classifier_from_scratch_on_words_only_unlabelled_texts_explain(seed):
    (train_texts, train_labels), (held_out_texts, held_out_labels), unlabelled = polarity_task(seed)
    train_words = {word for text in train_texts for word in text.split()}
    unlabelled_words = {word for text in unlabelled for word in text.split()}
    held_out_adjectives = {text.split()[2] for text in held_out_texts}
    assert len(held_out_adjectives) == 2 * (len(POSITIVE) - SEEN_PER_CLASS)
    assert not held_out_adjectives & train_words and held_out_adjectives <= unlabelled_words
    task_texts = unlabelled + train_texts  # the target task's texts, none of the held-out ones

    # Stage 1: a one-layer AWD-LSTM language model on the start of the embedded corpus. (One layer
    # learns the task's texts within this budget on every seed tried; two layers sit on the unigram
    # plateau longer and needed half as many steps again, and still missed on some seeds.)
    config = AwdLstmConfig(vocab_size=8, embedding_size=64, hidden_size=64, num_layers=1)
    bundle, _ = ulmfit.pretrain_from_scratch(CORPUS[:400], task_texts, config, epochs=1, learning_rate=1e-2,
                                             seq_length=32, batch_size=8, seed=seed, verbose=0)
    # Stage 2: language-model fine-tuning on the task's texts (discriminative rates, STLR).
    ulmfit.train_language_model(bundle, task_texts, epochs=10, learning_rate=3e-2, seq_length=32, batch_size=8,
                                seed=seed, verbose=0)
    # Stage 3: the classifier with the three techniques; then the same one from random weights.
    preprocessor = AwdLstmPreprocessor(bundle.tokenizer, seq_length=12)
    budget = dict(epochs=12, learning_rate=1e-2, batch_size=8, seed=seed, verbose=0)
    keras.utils.set_random_seed(seed)
    transfer = ulmfit.train_classifier(ulmfit.with_classifier_dropouts(bundle, drop_mult=0.5), preprocessor,
                                       train_texts, train_labels, 2, ulmfit_techniques=True, **budget)
    keras.utils.set_random_seed(seed)
    scratch_encoder = AwdLstmEncoder.from_config_object(bundle.encoder.config.with_dropouts(CLASSIFIER_DROPOUTS, 0.5))
    scratch = ulmfit.train_classifier(scratch_encoder, preprocessor, train_texts, train_labels, 2,
                                      ulmfit_techniques=False, **budget)

    transfer_accuracy = ulmfit.accuracy(transfer, preprocessor, held_out_texts, held_out_labels)
    scratch_accuracy = ulmfit.accuracy(scratch, preprocessor, held_out_texts, held_out_labels)
    scratch_fit = ulmfit.accuracy(scratch, preprocessor, train_texts, train_labels)
    accuracies = dict(transfer=transfer_accuracy, scratch=scratch_accuracy, scratch_train=scratch_fit)
    assert scratch_fit >= 0.9, accuracies  # scratch fits its labelled texts: what it lacks is transfer
    assert transfer_accuracy >= 0.8 and transfer_accuracy >= scratch_accuracy + 0.2, accuracies
