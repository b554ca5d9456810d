"""read_scalars reads back what the trainer's write_scalar logs (the notebooks plot loss curves from it)."""

import tensorflow as tf

from bertzoo.training import read_scalars
from bertzoo.training.trainer import write_scalar


def test_read_scalars_round_trip_with_subdirectories_and_resumed_steps(tmp_path):
    with tf.summary.create_file_writer(str(tmp_path / "logs")).as_default():
        for step, loss in [(20, 2.5), (10, 3.0), (20, 2.0)]:  # out of order; step 20 logged again (resumed)
            tf.summary.experimental.set_step(step)
            write_scalar("loss", loss)
    with tf.summary.create_file_writer(str(tmp_path / "logs" / "eval")).as_default(step=0):
        write_scalar("eval/accuracy", 0.75)
    curves = read_scalars(tmp_path / "logs")
    assert curves["loss"] == [(10, 3.0), (20, 2.0)]
    assert curves["eval/accuracy"] == [(0, 0.75)]
    assert read_scalars(tmp_path / "nothing-here") == {}
