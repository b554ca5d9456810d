"""TF Serving warm-up requests: ``assets.extra/tf_serving_warmup_requests`` in a SavedModel version.

TF Serving replays these ``PredictionLog`` records when it loads a version, before it marks the
version available, so the first user request does not pay for graph initialisation. The records are
built with the official ``tensorflow-serving-api`` protos and written as a TFRecord file.
"""

from __future__ import annotations

import os
import pathlib
from typing import Mapping, Sequence

import numpy as np
import tensorflow as tf
from tensorflow_serving.apis import model_pb2, predict_pb2, prediction_log_pb2

__all__ = ["WARMUP_FILE", "predict_request", "read_warmup_requests", "write_warmup_requests"]

WARMUP_FILE = os.path.join("assets.extra", "tf_serving_warmup_requests")


def predict_request(inputs: Mapping[str, Sequence | np.ndarray], signature_name: str = "serving_default",
                    model_name: str = "") -> predict_pb2.PredictRequest:
    """A gRPC ``PredictRequest`` for one signature, its inputs converted with ``tf.make_tensor_proto``.

    Strings become ``DT_STRING``, Python ints ``DT_INT32`` unless given as an int64 array.
    """
    request = predict_pb2.PredictRequest(
        model_spec=model_pb2.ModelSpec(name=model_name, signature_name=signature_name))
    for name, value in inputs.items():
        array = np.asarray(value)
        if array.dtype.kind in "iu" and array.dtype != np.int64:
            array = array.astype(np.int32)
        elif array.dtype.kind in "US":
            array = array.astype(object)
        request.inputs[name].CopyFrom(tf.make_tensor_proto(array))
    return request


def write_warmup_requests(version_dir: str | os.PathLike,
                          requests: Sequence[predict_pb2.PredictRequest]) -> pathlib.Path:
    """Writes ``requests`` as ``PredictionLog`` records into ``version_dir/assets.extra/``."""
    path = pathlib.Path(version_dir) / WARMUP_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    with tf.io.TFRecordWriter(str(path)) as writer:
        for request in requests:
            log = prediction_log_pb2.PredictionLog(predict_log=prediction_log_pb2.PredictLog(request=request))
            writer.write(log.SerializeToString())
    return path


def read_warmup_requests(version_dir: str | os.PathLike) -> list[predict_pb2.PredictRequest]:
    """The requests in a version's warm-up file, in order."""
    path = pathlib.Path(version_dir) / WARMUP_FILE
    return [prediction_log_pb2.PredictionLog.FromString(record.numpy()).predict_log.request
            for record in tf.data.TFRecordDataset(str(path))]
