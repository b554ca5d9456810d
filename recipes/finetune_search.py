"""Recipe `bertzoo finetune --search`: the BERT paper's dev-set search over fine-tuning settings.

The paper picks each task's learning rate, epochs and batch size on the dev set from
{5e-5, 3e-5, 2e-5} x {2, 3, 4} x {16, 32}. KerasTuner's grid search (``keras_tuner.GridSearch``,
its oracle and its trial records under ``OUTPUT/search``) walks the grid; every trial is a
`bertzoo finetune` run into ``OUTPUT/trials/<id>`` scored on --eval (or, when no --eval is given, on
the last 10 % of the rows of --train, which the trials then do not train on). The best trial's
model is copied to ``OUTPUT/model``; ``OUTPUT/metrics.json`` holds the table of every trial and the
choice, and the console prints the table.
"""

from __future__ import annotations

import json
import pathlib
import shutil
from typing import Any

from bertzoo.errors import ConfigError
from bertzoo.recipes import finetune

PAPER_GRID: dict[str, list] = {"learning_rate": [5e-5, 3e-5, 2e-5], "epochs": [2, 3, 4], "global_batch_size": [16, 32]}
GRID_KEYS = ("learning_rate", "epochs", "global_batch_size")
SPLITTABLE_SUFFIXES = (".tsv", ".csv", ".jsonl")


def parse_grid(text: str | dict | None) -> dict[str, list]:
    """``"paper"`` (or None) -> ``PAPER_GRID``; a dict or its JSON -> a checked grid (missing keys take
    the paper's values)."""
    if text is None or text == "paper":
        return dict(PAPER_GRID)
    if isinstance(text, str):
        try:
            grid = json.loads(text)
        except json.JSONDecodeError as error:
            raise ConfigError(f"--search: expected 'paper' or a JSON object of lists, got {text!r} ({error})") from None
    else:
        grid = dict(text)
    if not isinstance(grid, dict):
        raise ConfigError(f"--search: expected a JSON object, got {type(grid).__name__}")
    unknown = sorted(set(grid) - set(GRID_KEYS))
    if unknown:
        raise ConfigError(f"--search: unknown setting(s) {unknown}; a grid may hold {list(GRID_KEYS)}")
    for key, values in grid.items():
        if not isinstance(values, list) or not values or not all(isinstance(v, (int, float)) for v in values):
            raise ConfigError(f"--search: field {key!r} must be a non-empty list of numbers, got {values!r}")
    return {key: list(grid.get(key, PAPER_GRID[key])) for key in GRID_KEYS}


def split_training_file(train: str, directory: pathlib.Path, fraction: float = 0.1) -> tuple[str, str]:
    """The first rows and the last ``fraction`` of a one-row-per-line file (header kept on both
    sides), written as ``directory/train.<ext>`` and ``dev.<ext>``."""
    source = pathlib.Path(train)
    if source.suffix.lower() not in SPLITTABLE_SUFFIXES:
        raise ConfigError(f"--search without --eval holds out part of --train, which works for "
                          f"{', '.join(SPLITTABLE_SUFFIXES)} files; give --eval for {source.name}")
    lines = source.read_text(encoding="utf-8").splitlines(keepends=True)
    header = [] if source.suffix.lower() == ".jsonl" else lines[:1]
    rows = lines[len(header):]
    held = max(1, int(round(len(rows) * fraction)))
    if len(rows) - held < 2:
        raise ConfigError(f"{source}: {len(rows)} rows are too few to hold {held} out for the search; give --eval")
    directory.mkdir(parents=True, exist_ok=True)
    train_path, dev_path = directory / f"train{source.suffix}", directory / f"dev{source.suffix}"
    train_path.write_text("".join(header + rows[:-held]), encoding="utf-8")
    dev_path.write_text("".join(header + rows[-held:]), encoding="utf-8")
    return str(train_path), str(dev_path)


def format_table(trials: list[dict], metric: str) -> str:
    """One line per trial: its settings and its score, the best marked."""
    best = max(trials, key=lambda t: t["objective"]) if trials else None
    lines = [f"{'trial':>5}  {'learning_rate':>13}  {'epochs':>6}  {'batch':>5}  {metric:>12}"]
    for trial in trials:
        mark = "  <- best" if trial is best else ""
        lines.append(f"{trial['trial']:>5}  {trial['learning_rate']:>13g}  {trial['epochs']:>6g}  "
                     f"{trial['global_batch_size']:>5d}  {trial['score']:>12.4f}{mark}")
    return "\n".join(lines)


def run(*, grid: dict[str, list] | None = None, task: str, train: str, eval: str | None = None,
        output: str = "output/finetune_search", verbose: bool = True, **options: Any) -> dict:
    """Runs every point of ``grid`` (default ``PAPER_GRID``) as a fine-tuning run, keeps the best.

    Args:
        grid: ``{"learning_rate": [...], "epochs": [...], "global_batch_size": [...]}``.
        task, train, eval, output: as ``finetune.run``; without ``eval``, 10 % of ``train`` is held out.
        options: the other ``finetune.run`` arguments, the same for every trial.

    Returns:
        ``{"metric", "best", "trials"}``, also written to ``output/metrics.json``.
    """
    import keras_tuner

    grid = parse_grid(grid)
    out_dir = pathlib.Path(output)
    out_dir.mkdir(parents=True, exist_ok=True)
    if eval is None:
        train, eval = split_training_file(train, out_dir / "search_split")
        _say(verbose, f"no --eval: selecting on the last 10% of --train ({eval})")
    options.pop("epochs", None), options.pop("learning_rate", None), options.pop("global_batch_size", None)
    hyperparameters = keras_tuner.HyperParameters()
    for key in GRID_KEYS:
        hyperparameters.Choice(key, grid[key], ordered=True)
    trials: list[dict] = []
    metric: dict[str, Any] = {}

    class FinetuneSearch(keras_tuner.GridSearch):
        def run_trial(self, trial, *args, **kwargs):
            values = trial.hyperparameters.values
            number = len(trials) + 1
            _say(verbose, f"-- trial {number}: lr {values['learning_rate']:g}, {values['epochs']:g} epochs, "
                          f"batch {values['global_batch_size']}")
            result = finetune.run(task=task, train=train, eval=eval, output=str(out_dir / "trials" / trial.trial_id),
                                  learning_rate=float(values["learning_rate"]), epochs=float(values["epochs"]),
                                  global_batch_size=int(values["global_batch_size"]), keep_best_epoch=False,
                                  verbose=verbose, **options)
            name, larger = finetune.task_selection_metric(result["eval"])
            metric.update(name=name, larger_is_better=larger)
            score = float(result["eval"][name])
            trials.append({"trial": number, "trial_id": trial.trial_id, **{k: values[k] for k in GRID_KEYS},
                           "score": score, "objective": score if larger else -score, "eval": result["eval"]})
            return {"objective": score if larger else -score}

    tuner = FinetuneSearch(objective=keras_tuner.Objective("objective", "max"), hyperparameters=hyperparameters,
                           directory=str(out_dir), project_name="search", overwrite=True,
                           tune_new_entries=False, allow_new_entries=False)
    tuner.search()
    if not trials:
        raise RuntimeError("the search ran no trial")
    best = max(trials, key=lambda t: t["objective"])
    best_model = out_dir / "trials" / best["trial_id"] / "model"
    if (out_dir / "model").exists():
        shutil.rmtree(out_dir / "model")
    shutil.copytree(best_model, out_dir / "model")
    table = format_table(trials, metric["name"])
    _say(verbose, f"search on {eval} ({metric['name']}):\n{table}\nkept trial {best['trial']}: {out_dir / 'model'}")
    summary = {"metric": metric["name"], "eval_file": str(eval), "grid": grid,
               "best": {k: best[k] for k in ("trial", *GRID_KEYS, "score")},
               "trials": [{k: t[k] for k in ("trial", *GRID_KEYS, "score", "eval")} for t in trials]}
    finetune.update_metrics_file(out_dir / "metrics.json", {"search": summary})
    return summary


def _say(verbose: bool, message: str) -> None:
    if verbose:
        print(message, flush=True)
