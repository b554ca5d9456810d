"""What a TPU pod needs, checked on this CPU: the whole training path (text corpus, TFRecords,
checkpoints, logs, metrics) goes through TensorFlow's filesystems, so gs:// works as a local path
does (TensorFlow's in-memory ram:// filesystem stands in for a bucket); the compiled train step
holds no host-side Python; steps_per_execution > 1 and XLA work on those files."""

import json

import numpy as np
import tensorflow as tf

from bertzoo import BertEncoder
from bertzoo.data.pretraining_data import create_pretraining_tfrecords, pretraining_dataset
from bertzoo.families.bert.bert_pretrainer import BertPretrainer, pretraining_loss_terms, pretraining_metric_terms
from bertzoo.text import Vocabulary
from bertzoo.families.bert import WordPieceTokenizer
from bertzoo.training import Trainer, create_optimizer, resolve_strategy

WORDS = ["the", "cat", "sat", "on", "mat", "dog", "ran", "far", "and", "then", "slept", "."]
HOST_PYTHON_OPS = {"PyFunc", "EagerPyFunc", "PyFuncStateless"}


def write_corpus(path: str) -> None:
    rng = np.random.default_rng(0)
    documents = ["\n".join(" ".join(rng.choice(WORDS[:-1], 6)) + " ." for _ in range(8)) for _ in range(6)]
    with tf.io.gfile.GFile(path, "w") as f:
        f.write("\n\n".join(documents) + "\n")


def make_trainer(output_dir: str, steps: int, vocab_size: int) -> Trainer:
    config = dict(vocab_size=vocab_size, hidden_size=8, num_hidden_layers=2, num_attention_heads=2,
                  intermediate_size=16, max_position_embeddings=32)
    return Trainer(resolve_strategy("cpu"), lambda: BertPretrainer(BertEncoder(**config)),
                   lambda: create_optimizer(1e-3, num_train_steps=steps, warmup_steps=1), pretraining_loss_terms,
                   metrics_fn=pretraining_metric_terms, global_batch_size=4, output_dir=output_dir,
                   steps_per_execution=2, log_every=2, checkpoint_every=2, jit_compile=True, seed=1, verbose=False)


def _ops(concrete_function) -> set[str]:
    graph_def = concrete_function.graph.as_graph_def()
    ops = {node.op for node in graph_def.node}
    for function in graph_def.library.function:
        ops.update(node.op for node in function.node_def)
    return ops


def test_training_path_runs_on_a_tensorflow_filesystem():
    root = "ram://bertzoo-tpu-readiness"
    tokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + WORDS
    tokenizer = WordPieceTokenizer(Vocabulary(tokens), lowercase=True)
    write_corpus(f"{root}/corpus.txt")
    create_pretraining_tfrecords(f"{root}/corpus.txt", tokenizer, f"{root}/data/pretraining", max_seq_length=16,
                                 max_predictions_per_seq=3, dupe_factor=2, progress=False)
    assert tf.io.gfile.glob(f"{root}/data/pretraining*")

    def dataset():
        return pretraining_dataset(f"{root}/data/pretraining*", seq_length=16, max_predictions_per_seq=3,
                                   global_batch_size=4, seed=0)

    first = make_trainer(f"{root}/run", steps=4, vocab_size=len(tokens))
    first.train(dataset(), 4)
    assert tf.io.gfile.exists(f"{root}/run/checkpoints/ckpt-4.index")
    assert tf.io.gfile.glob(f"{root}/run/logs/events.out.tfevents.*")
    # The compiled loop is pure TensorFlow: nothing calls back into Python on the host.
    loops = first._train_loop._list_all_concrete_functions()
    assert loops and not any(_ops(loop) & HOST_PYTHON_OPS for loop in loops)

    resumed = make_trainer(f"{root}/run", steps=6, vocab_size=len(tokens))
    final = resumed.train(dataset(), 6)
    with tf.io.gfile.GFile(f"{root}/run/metrics.json") as f:
        metrics = json.load(f)
    assert (metrics["resumed_from_step"], metrics["steps"], metrics["steps_this_run"]) == (4, 6, 2)
    assert np.isfinite(final["loss"])


def test_recipes_write_their_runs_to_a_tensorflow_filesystem_url(tmp_path):
    """`--output gs://...`: checkpoints, logs, metrics and the finished model all land under the URL
    (ram:// stands in for a bucket)."""
    from bertzoo.cli import main as cli_main
    from bertzoo.models.finetuned import load_finetuned
    from bertzoo.training.run_directory import copy_tree
    from finetune_data import write_task_files, write_tiny_pretrained

    root = "ram://bertzoo-recipe-outputs"
    assert cli_main(["pretrain", "--output", f"{root}/pretrain", "--steps", "4", "--vocab-size", "300",
                     "--seq-length", "16", "--global-batch-size", "8", "--dupe-factor", "1",
                     "--max-predictions-per-seq", "3", "--checkpoint-every", "2", "--strategy", "cpu"]) == 0
    assert tf.io.gfile.exists(f"{root}/pretrain/checkpoints/ckpt-4.index")
    assert tf.io.gfile.exists(f"{root}/pretrain/pretrained/model.safetensors")
    assert tf.io.gfile.exists(f"{root}/pretrain/vocab.txt")
    with tf.io.gfile.GFile(f"{root}/pretrain/metrics.json") as f:
        figures = json.load(f)
    assert figures["steps"] == 4 and "unigram_baseline_accuracy" in figures

    train, evaluation = write_task_files(tmp_path, "classify", n_train=16, n_eval=8)
    pretrained = write_tiny_pretrained(tmp_path / "pretrained")
    assert cli_main(["finetune", "--task", "classify", "--pretrained", str(pretrained), "--train", train,
                     "--eval", evaluation, "--output", f"{root}/finetune", "--epochs", "1", "--seq-length", "16",
                     "--global-batch-size", "8", "--strategy", "cpu"]) == 0
    for name in ("model/task.json", "model/encoder/model.safetensors", "eval_predictions.jsonl", "metrics.json"):
        assert tf.io.gfile.exists(f"{root}/finetune/{name}"), name
    assert tf.io.gfile.glob(f"{root}/finetune/logs/eval/events.out.tfevents.*")
    copy_tree(f"{root}/finetune/model", str(tmp_path / "model"))  # and back, to predict with it
    assert load_finetuned(tmp_path / "model").task == "classify"
