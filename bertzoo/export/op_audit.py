"""Audits a graph's ops against core TensorFlow: can a stock TensorFlow Serving load it?

``audit_core_ops`` and ``assert_core_ops_only`` check a written graph (a SavedModel, a GraphDef,
a ConcreteFunction, ...): an op is core when a Python process that imports only ``tensorflow``
has it registered (``core_op_names``).
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys

import tensorflow as tf
from tensorflow.core.framework import graph_pb2
from tensorflow.core.protobuf import meta_graph_pb2, saved_model_pb2

__all__ = ["assert_core_ops_only", "audit_core_ops", "core_op_names"]


_LIST_OPS = """
import json, sys
import tensorflow
from tensorflow.core.framework import op_def_pb2
from tensorflow.python.client import pywrap_tf_session
ops = op_def_pb2.OpList.FromString(pywrap_tf_session.TF_GetBuffer(pywrap_tf_session.TF_GetAllOpList()))
extras = sorted(m for m in sys.modules if m.split(".")[0] == "tensorflow_text")
json.dump({"ops": sorted({op.name for op in ops.op}), "tensorflow_text_modules": extras}, sys.stdout)
"""


@functools.lru_cache(maxsize=None)
def core_op_names() -> frozenset[str]:
    """Every op registered by a plain ``import tensorflow``, read in a fresh Python process.

    A subprocess, because this process may already have loaded custom-op libraries
    (tensorflow-text registers its ops on import, and they cannot be unregistered), so its own
    registry cannot tell core ops from custom ones. Cached per process.
    """
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    result = subprocess.run(
        [sys.executable, "-c", _LIST_OPS], capture_output=True, text=True, env=env, timeout=600
    )
    if result.returncode != 0:
        raise RuntimeError(f"Listing TensorFlow's core ops in a subprocess failed:\n{result.stderr[-2000:]}")
    listing = json.loads(result.stdout)
    if listing["tensorflow_text_modules"]:
        raise RuntimeError(
            "A plain `import tensorflow` also imported tensorflow_text "
            f"({', '.join(listing['tensorflow_text_modules'])}), so core ops cannot be told apart."
        )
    return frozenset(listing["ops"])


_TOP_LEVEL = "<top-level graph>"


def _graph_defs(source) -> list[graph_pb2.GraphDef]:
    if isinstance(source, graph_pb2.GraphDef):
        return [source]
    if isinstance(source, meta_graph_pb2.MetaGraphDef):
        return [source.graph_def]
    if isinstance(source, saved_model_pb2.SavedModel):
        return [meta_graph.graph_def for meta_graph in source.meta_graphs]
    if isinstance(source, tf.Graph):
        return [source.as_graph_def()]
    if hasattr(source, "graph") and isinstance(getattr(source, "graph"), tf.Graph):  # ConcreteFunction
        return [source.graph.as_graph_def()]
    if isinstance(source, (str, os.PathLike)):
        path = os.fspath(source)
        if os.path.isdir(path):
            path = os.path.join(path, "saved_model.pb")
        if not os.path.isfile(path):
            raise ValueError(f"No SavedModel at {os.fspath(source)}: {path} does not exist.")
        with open(path, "rb") as f:
            return _graph_defs(saved_model_pb2.SavedModel.FromString(f.read()))
    raise TypeError(
        "Expected a SavedModel directory, a GraphDef, a MetaGraphDef, a SavedModel proto, a tf.Graph "
        f"or a ConcreteFunction, got {type(source).__name__}."
    )


def _op_locations(source) -> dict[str, set[str]]:
    """op name -> names of the functions (or the top-level graph) whose nodes use it."""
    locations: dict[str, set[str]] = {}
    for graph_def in _graph_defs(source):
        # A node may call a library function by its name; that is a call, not an op.
        functions = {f.signature.name for f in graph_def.library.function}
        nodes = [(node.op, _TOP_LEVEL) for node in graph_def.node]
        for function in graph_def.library.function:
            nodes += [(node.op, function.signature.name) for node in function.node_def]
        for op, where in nodes:
            if op not in functions:
                locations.setdefault(op, set()).add(where)
    return locations


def audit_core_ops(source) -> list[str]:
    """The sorted names of the ops in ``source`` that are not core TensorFlow ops.

    Args:
        source: a SavedModel directory (or its ``saved_model.pb``), a ``SavedModel``,
            ``MetaGraphDef`` or ``GraphDef`` proto, a ``tf.Graph`` or a ``ConcreteFunction``.
            Every node counts, in the top-level graph and in every library function (while-loop
            bodies, cond branches, called ``tf.function`` s).
    """
    core = core_op_names()
    return sorted(op for op in _op_locations(source) if op not in core)


def assert_core_ops_only(source) -> None:
    """Raises ValueError naming each non-core op in ``source`` and the functions it sits in.

    Args:
        source: as for ``audit_core_ops``.
    """
    core = core_op_names()
    offending = {op: where for op, where in _op_locations(source).items() if op not in core}
    if not offending:
        return
    lines = []
    for op in sorted(offending):
        where = sorted(offending[op])
        shown = ", ".join(where[:3]) + (f" and {len(where) - 3} more" if len(where) > 3 else "")
        lines.append(f"  {op} (in {shown})")
    raise ValueError(
        f"{len(offending)} op(s) in the graph are not core TensorFlow ops, so a stock TensorFlow "
        "Serving cannot load it (custom ops, e.g. tensorflow-text's, are not in its binary):\n"
        + "\n".join(lines)
    )
