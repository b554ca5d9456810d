"""GPT-1 fine-tuning for `bertzoo finetune --pretrained <gpt model>`: the paper's input transformations
and the auxiliary language-model loss, on the same task files as BERT.

`bertzoo finetune` dispatches here when the pretrained model's family is gpt. The BERT task reads the
files and scores the predictions; this recipe encodes them with GPT-1's transformations (classify:
classification; pair: entailment; regression: similarity, both orders summed; multiple_choice: one
sequence per ending, softmax over them), trains
`GPTTaskModel` (task loss + 0.5 x LM loss) with the bertzoo trainer, and writes `output/model`:
`model.keras` (the task model), `pretrained/` (the decoder and tokenizer, bertzoo_gpt format) and
`finetuned.json` (task, transformation, labels, seq_length, the task's settings), which
`bertzoo evaluate` / `predict` read (``bertzoo.models.finetuned.load_finetuned``; ``GPTTask`` below
encodes their files).
"""

from __future__ import annotations

import dataclasses
import json
import pathlib
from typing import Any

import numpy as np
import tensorflow as tf

from bertzoo.errors import ConfigError
from bertzoo.families.gpt.gpt_decoder import GPTDecoder
from bertzoo.models.gpt_task_inputs import transform
from bertzoo.models.gpt_task_model import GPTTaskModel, gpt_task_loss_terms
from bertzoo.pretrained import save_pretrained
from bertzoo.recipes.tasks import Encoded
from bertzoo.training import Trainer, create_optimizer
from bertzoo.training.run_directory import update_json_file

# bertzoo task -> GPT-1 transformation
TRANSFORMATIONS = {"classify": "classification", "pair": "entailment", "regression": "similarity",
                   "multiple_choice": "multiple_choice"}


def encode(task_name: str, examples, gpt, seq_length: int) -> dict[str, np.ndarray]:
    transformation = TRANSFORMATIONS[task_name]
    if transformation == "multiple_choice":
        return transform(gpt.tokenizer, transformation, seq_length, texts=examples.contexts,
                         choices=[[str(ending) for ending in row] for row in examples.endings], config=gpt.config)
    return transform(gpt.tokenizer, transformation, seq_length, texts=examples.texts, text_pairs=examples.text_pairs,
                     config=gpt.config)


class GPTTask:
    """A bertzoo task (reading, scoring, prediction lines) whose examples are encoded with GPT-1's
    transformation: what `bertzoo evaluate` / `predict` use on a GPT fine-tuned directory."""

    def __init__(self, task, seq_length: int):
        if task.name not in TRANSFORMATIONS:
            raise ConfigError(f"task {task.name!r} has no GPT-1 transformation; GPT models take "
                              f"{sorted(TRANSFORMATIONS)}")
        self.task = task
        self.seq_length = seq_length

    def __getattr__(self, name: str):
        return getattr(self.task, name)

    def encode(self, examples, gpt, *, training: bool) -> Encoded:
        labels = getattr(examples, "labels", None)
        return Encoded(encode(self.task.name, examples, gpt, self.seq_length),
                       None if labels is None else {"labels": np.asarray(labels)})


def run(*, gpt, task_name: str, fine_tuning, train: str, eval: str | None, run_dir, distribution, seq_length: int,
        epochs: float, learning_rate: float, warmup_fraction: float, weight_decay: float, global_batch_size: int,
        trainer_options: dict[str, Any], verbose: bool = True) -> dict:
    """Fine-tunes a GPT bundle on a BERT task's files; see the module docstring."""
    if task_name not in TRANSFORMATIONS:
        raise ConfigError(f"--task {task_name} is not available for GPT models; GPT-1's transformations cover "
                          f"{sorted(TRANSFORMATIONS)}")
    if gpt.config.num_special_tokens < 3 or gpt.tokenizer is None:
        raise ConfigError("GPT fine-tuning needs GPT-1's start/delimiter/classify tokens and its tokenizer files")
    epochs = 3.0 if epochs is None else epochs  # GPT-1's fine-tuning: 3 epochs, lr 6.25e-5
    learning_rate = 6.25e-5 if learning_rate is None else learning_rate
    examples = fine_tuning.read(train, training=True)
    inputs = encode(task_name, examples, gpt, seq_length)
    labels = {"labels": np.asarray(examples.labels)}
    rows = len(inputs["input_word_ids"])
    steps = max(1, int(epochs * rows) // global_batch_size)
    problem_type = "regression" if task_name == "regression" else "single_label"
    num_classes = 1 if problem_type == "regression" or task_name == "multiple_choice" else len(fine_tuning.label_names)
    if verbose:
        print(f"GPT {task_name} ({TRANSFORMATIONS[task_name]}): {rows} rows, {steps} steps of {global_batch_size}",
              flush=True)
    weights = gpt.decoder.get_weights()

    def build_model():
        decoder = GPTDecoder.from_gpt_config(gpt.config)
        model = GPTTaskModel(decoder, TRANSFORMATIONS[task_name], num_classes=num_classes)
        model.build()
        decoder.set_weights(weights)
        return model

    def build_optimizer():
        return create_optimizer(learning_rate, num_train_steps=steps, warmup_steps=int(warmup_fraction * steps),
                                weight_decay=weight_decay)

    dataset = (tf.data.Dataset.from_tensor_slices((inputs, labels)).shuffle(rows, seed=0).repeat()
               .batch(global_batch_size, drop_remainder=True).prefetch(2))
    trainer = Trainer(distribution, build_model, build_optimizer, gpt_task_loss_terms(problem_type),
                      global_batch_size=global_batch_size, output_dir=run_dir.location, verbose=verbose,
                      **trainer_options)
    final = trainer.train(dataset, steps)
    out_dir = run_dir.local
    if trainer.is_chief:
        model_dir = out_dir / "model"
        model_dir.mkdir(parents=True, exist_ok=True)
        trainer.model.save(model_dir / "model.keras")
        save_pretrained(dataclasses.replace(gpt, encoder=trainer.model.decoder), model_dir / "pretrained",
                        overwrite=True)
        (model_dir / "finetuned.json").write_text(json.dumps({
            "family": "gpt", "task": task_name, "transformation": TRANSFORMATIONS[task_name],
            "label_names": fine_tuning.label_names, "seq_length": seq_length, "settings": fine_tuning.settings()},
            indent=2) + "\n")
        run_dir.publish("model")
    if eval:  # the same scoring and eval_predictions.jsonl as `bertzoo evaluate`
        from bertzoo.models.finetuned import FinetunedModel
        from bertzoo.recipes.finetune import evaluate_examples

        finetuned = FinetunedModel(task=task_name, model=trainer.model,
                                   bert=dataclasses.replace(gpt, encoder=trainer.model.decoder),
                                   label_names=fine_tuning.label_names, settings=fine_tuning.settings())
        results = evaluate_examples(GPTTask(fine_tuning, seq_length), finetuned, fine_tuning.read(eval, training=False),
                                    out_dir, strategy=distribution, global_batch_size=global_batch_size,
                                    write=trainer.is_chief, verbose=verbose)
        final = dict(final, eval=results)
        if trainer.is_chief:
            run_dir.publish("eval_predictions.jsonl", "logs")
            update_json_file(run_dir.path("metrics.json"), {"eval": results, "eval_file": str(eval)})
    return final
