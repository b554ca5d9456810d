"""The ``bertzoo`` subcommands, one module each: ``add_parser(commands)`` declares its options (argparse
only, so ``bertzoo --help`` imports no TensorFlow) and ``run(args)`` calls its recipe.

A new subcommand is a module here plus one entry in ``COMMANDS``. Shared option groups live in
``common``. Imports recipes only inside ``run``.
"""

# subcommand module names, in the order ``bertzoo --help`` lists them.
COMMANDS = [
    "pretrain",
    "pretrain_elmo",
    "finetune",
    "evaluate",
    "predict",
    "features",
    "feature_ner",
    "train_word_vectors",
    "export",
    "convert",
    "ulmfit",
    "demo",
    "generate",
    "models",
    "download",
    "cache",
    "translate",
]
