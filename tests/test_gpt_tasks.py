"""GPT-1's fine-tuning: the input transformations, the task model (classify-token head, similarity's
summed orders, multiple choice) and its auxiliary LM loss, against independent computations."""

import numpy as np
import pytest
import tensorflow as tf

import bertzoo
from bertzoo.families.gpt.gpt1_tokenizer import GPT1Tokenizer
from bertzoo.models.gpt_task_inputs import frame, transform
from bertzoo.models.gpt_task_model import GPTTaskModel, gpt_task_loss_terms
from gpt_cases import write_checkpoint, write_gpt1_vocabulary

SEQ = 12


@pytest.fixture(scope="module")
def gpt1(tmp_path_factory):
    return bertzoo.load_pretrained(write_checkpoint("openai_gpt1_npy", tmp_path_factory.mktemp("g") / "npy"),
                                   seq_length=SEQ, num_attention_heads=2)


@pytest.fixture(scope="module")
def tokenizer():
    letters = "abcdefghijklmnopqrstuvwxyz"
    encoder = {c: i for i, c in enumerate(letters)}
    encoder.update({c + "</w>": 26 + i for i, c in enumerate(letters)})
    encoder.update({"th": 52, "the</w>": 53, ".</w>": 54})
    return GPT1Tokenizer(encoder, [("t", "h"), ("th", "e</w>")])


def test_framing_follows_the_paper():
    assert frame([[1, 2, 3]], 8, 100, 101, 102) == [100, 1, 2, 3, 102]
    assert frame([[1, 2, 3, 4, 5], [6, 7, 8, 9]], 9, 100, 101, 102) == [100, 1, 2, 3, 101, 6, 7, 8, 102]
    with pytest.raises(ValueError, match="seq_length 3 leaves no room"):
        frame([[1], [2]], 3, 100, 101, 102)


def test_transformations(tokenizer):
    start, delimiter, classify = tokenizer.start_id, tokenizer.delimiter_id, tokenizer.classify_id
    the, a = tokenizer.encode("the"), tokenizer.encode("a")
    assert the == [53]
    classification = transform(tokenizer, "classification", SEQ, texts=["the", "a"])
    assert classification["input_word_ids"].shape == (2, 1, SEQ)
    assert classification["input_word_ids"][0, 0, :3].tolist() == [start, 53, classify]
    assert classification["input_mask"][0, 0].tolist() == [1] * 3 + [0] * (SEQ - 3)
    similarity = transform(tokenizer, "similarity", SEQ, texts=["the"], text_pairs=["a"])
    assert similarity["input_word_ids"][0, :, :5].tolist() == [[start, *the, delimiter, *a, classify],
                                                                [start, *a, delimiter, *the, classify]]
    choices = transform(tokenizer, "multiple_choice", SEQ, texts=["the", "a"], choices=[["a", "b", "c"], ["x", "y", "z"]])
    assert choices["input_word_ids"].shape == (2, 3, SEQ)
    with pytest.raises(ValueError, match="same number of choices"):
        transform(tokenizer, "multiple_choice", SEQ, texts=["a", "b"], choices=[["a"], ["b", "c"]])


def test_task_model_heads_and_auxiliary_loss(gpt1, tokenizer):
    decoder = gpt1.decoder
    inputs = transform(tokenizer, "similarity", SEQ, texts=["the cab", "a dog"], text_pairs=["a bed", "the"],
                       config=gpt1.config)
    model = GPTTaskModel(decoder, "similarity", num_classes=3, dropout_rate=0.0)
    outputs = model(inputs)
    # Summing both orders makes similarity symmetric: swapped pairs give the same logits.
    swapped = {name: value[:, ::-1] for name, value in inputs.items()}
    np.testing.assert_allclose(model(swapped)["logits"], outputs["logits"], atol=1e-5)
    # The head reads the hidden state at the classify token.
    flat = {name: value.reshape(-1, SEQ) for name, value in inputs.items()}
    hidden = decoder(dict(flat, input_type_ids=0 * flat["input_word_ids"]))["sequence_output"].numpy()
    classify_position = (flat["input_word_ids"] == gpt1.config.classify_token_id).argmax(axis=1)
    pooled = hidden[np.arange(4), classify_position].reshape(2, 2, -1).sum(axis=1)
    kernel, bias = model.head.get_weights()
    np.testing.assert_allclose(outputs["logits"], pooled @ kernel + bias, atol=1e-4)
    # The auxiliary LM loss: mean next-token cross-entropy over real tokens, averaged over a row's sequences.
    logits = hidden @ decoder.embeddings.wte.numpy().T
    log_probs = logits - np.log(np.exp(logits - logits.max(-1, keepdims=True)).sum(-1, keepdims=True)) - \
        logits.max(-1, keepdims=True)
    expected = []
    for row in range(4):
        n = flat["input_mask"][row].sum()
        expected.append(-np.mean([log_probs[row, t - 1, flat["input_word_ids"][row, t]] for t in range(1, n)]))
    np.testing.assert_allclose(outputs["lm_loss"], np.reshape(expected, (2, 2)).mean(axis=1), rtol=1e-4)
    terms = gpt_task_loss_terms()({"labels": np.array([0, 2])}, outputs)
    assert float(terms["lm"][0]) == pytest.approx(0.5 * float(np.sum(outputs["lm_loss"])), rel=1e-5)


def test_multiple_choice_and_training(gpt1, tokenizer, tmp_path):
    from bertzoo.training import Trainer, create_optimizer, resolve_strategy

    contexts = ["the cab", "a dog", "the bed", "a cat"] * 4
    choices = [["a", "the"], ["the", "a"]] * 8
    labels = np.array([1, 0] * 8)
    inputs = transform(tokenizer, "multiple_choice", SEQ, texts=contexts, choices=choices, config=gpt1.config)
    weights = gpt1.decoder.get_weights()

    def build_model():
        decoder = bertzoo.GPTDecoder.from_gpt_config(gpt1.config)
        model = GPTTaskModel(decoder, "multiple_choice", dropout_rate=0.0)
        model.build()
        decoder.set_weights(weights)
        return model

    dataset = tf.data.Dataset.from_tensor_slices((inputs, {"labels": labels})).repeat().batch(8, drop_remainder=True)
    trainer = Trainer(resolve_strategy("cpu"), build_model, lambda: create_optimizer(3e-3, 40, 4),
                      gpt_task_loss_terms(), global_batch_size=8, output_dir=tmp_path, log_every=40,
                      checkpoint_every=40, verbose=False)
    trainer.train(dataset, 40)
    logits = trainer.model(inputs)["logits"].numpy()
    assert logits.shape == (16, 2)
    assert (logits.argmax(-1) == labels).mean() == 1.0  # the answer pattern is learnable from the text
    path = tmp_path / "model.keras"
    trainer.model.save(path)
    loaded = __import__("keras").saving.load_model(path)
    np.testing.assert_allclose(loaded(inputs)["logits"], logits, atol=1e-5)


def write_gpt1_with_tokenizer(directory):
    """The tiny GPT-1 checkpoint with a GPT-1 vocabulary of its 300 token rows."""
    write_checkpoint("openai_gpt1_npy", directory)
    return write_gpt1_vocabulary(directory, "encoder_bpe_40000.json", "vocab_40000.bpe")


@pytest.mark.slow
def test_finetune_command_dispatches_to_gpt(tmp_path):
    from bertzoo.cli import main

    model_dir = write_gpt1_with_tokenizer(tmp_path / "gpt1")
    gpt = bertzoo.load_pretrained(model_dir, seq_length=SEQ, num_attention_heads=2)
    assert gpt.tokenizer.classify_id == gpt.config.classify_token_id == 302
    ids = gpt.tokenizer.encode("the cat")
    np.testing.assert_array_equal(gpt.preprocessor(["the cat"])["input_word_ids"][0, : len(ids) + 3],
                                  [300, *ids, 302, 0])
    rows = ["sentence\tlabel"] + [f"{text}\t{label}" for text, label in
                                  [("the cat sat", "yes"), ("a dog ran", "no")] * 8]
    (tmp_path / "train.tsv").write_text("\n".join(rows) + "\n")
    bertzoo.save_pretrained(gpt, tmp_path / "ours")  # a format with the heads count recorded
    code = main(["finetune", "--pretrained", str(tmp_path / "ours"), "--task", "classify", "--train",
                 str(tmp_path / "train.tsv"), "--eval", str(tmp_path / "train.tsv"), "--seq-length", str(SEQ),
                 "--epochs", "10", "--learning-rate", "1e-3", "--global-batch-size", "8", "--strategy", "cpu",
                 "--output", str(tmp_path / "run")])
    assert code == 0
    metrics = __import__("json").loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["eval"]["accuracy"] == 1.0
    assert (tmp_path / "run" / "model" / "model.keras").is_file()
    again = bertzoo.load_pretrained(tmp_path / "run" / "model" / "pretrained", seq_length=SEQ)
    assert again.config == gpt.config
