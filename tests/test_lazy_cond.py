"""lazy_cond: tf.cond's results, with the If left functional in graphs."""

import numpy as np
import tensorflow as tf

from bertzoo.text.lazy_cond import lazy_cond


def branches(x):
    return lambda: tf.strings.length(x) * 2, lambda: tf.strings.length(x) + 100


def lowering_attrs(graph) -> list:
    return [op.get_attr("_lower_using_switch_merge") for op in graph.get_operations()
            if op.type in ("If", "StatelessIf")]


def test_same_results_as_tf_cond_eagerly_in_a_function_and_in_a_dataset_map():
    x = tf.constant(["ab", "cde"])
    for pred in (True, False):
        want = tf.cond(tf.constant(pred), *branches(x)).numpy()
        assert np.array_equal(lazy_cond(tf.constant(pred), *branches(x)).numpy(), want)
        graph_fn = tf.function(lambda p, s: lazy_cond(p, *branches(s)))
        assert np.array_equal(graph_fn(tf.constant(pred), x).numpy(), want)
        mapped = tf.data.Dataset.from_tensors(x).map(lambda s: lazy_cond(tf.constant(pred), *branches(s)))
        assert np.array_equal(next(iter(mapped)).numpy(), want)


def test_the_if_is_marked_not_to_be_lowered_and_tf_cond_s_is():
    x = tf.TensorSpec([None], tf.string)
    p = tf.TensorSpec([], tf.bool)
    lazy = tf.function(lambda pred, s: lazy_cond(pred, *branches(s))).get_concrete_function(p, x)
    plain = tf.function(lambda pred, s: tf.cond(pred, *branches(s))).get_concrete_function(p, x)
    assert lowering_attrs(lazy.graph) == [False]
    assert lowering_attrs(plain.graph) == [True]


def test_only_the_new_if_is_touched():
    def two_conds(pred, s):
        first = tf.cond(pred, *branches(s))
        return first + lazy_cond(pred, *branches(s))

    graph = tf.function(two_conds).get_concrete_function(tf.TensorSpec([], tf.bool), tf.TensorSpec([None], tf.string)).graph
    assert sorted(lowering_attrs(graph)) == [False, True]
