"""A TF Serving client for bertzoo exports, over REST and gRPC: the example the README points to.

Serve an export with the stock model server (no tensorflow-text needed)::

    bertzoo export output/demo/model export/sentiment
    docker run -p 8500:8500 -p 8501:8501 -v $PWD/export/sentiment:/models/sentiment \\
        -e MODEL_NAME=sentiment tensorflow/serving

then ask it::

    python -m bertzoo.recipes.serving_client --model sentiment "Not bad at all." "Never again."
    python -m bertzoo.recipes.serving_client --model sentiment --grpc "Not bad at all."
    python -m bertzoo.recipes.serving_client --model squad --input question "Who?" --input context "Anna did."

REST is a POST of ``{"signature_name": ..., "inputs": {name: [strings]}}`` (the columnar format, so
several named inputs travel together) to ``/v1/models/NAME:predict``; the answer's ``outputs`` hold
one list per output (``probabilities``, ``label``, ...). gRPC sends a ``PredictRequest`` built with
``tensorflow-serving-api`` to ``PredictionService/Predict`` on port 8500.
"""

from __future__ import annotations

import argparse
import json
import urllib.request
from typing import Mapping, Sequence

from bertzoo.export.warmup_requests import predict_request

__all__ = ["rest_request", "grpc_request", "predict_rest", "predict_grpc", "main"]


def rest_request(inputs: Mapping[str, Sequence[str]], *, model: str, host: str = "localhost", port: int = 8501,
                 signature_name: str = "serving_default") -> tuple[str, bytes]:
    """The URL and JSON body of a REST predict call: named string inputs, one list each."""
    url = f"http://{host}:{port}/v1/models/{model}:predict"
    body = {"signature_name": signature_name, "inputs": {name: list(values) for name, values in inputs.items()}}
    return url, json.dumps(body, ensure_ascii=False).encode("utf-8")


def grpc_request(inputs: Mapping[str, Sequence[str]], *, model: str, signature_name: str = "serving_default"):
    """A ``tensorflow_serving.apis.predict_pb2.PredictRequest`` for the same call."""
    return predict_request(inputs, signature_name, model_name=model)


def predict_rest(inputs: Mapping[str, Sequence[str]], *, model: str, host: str = "localhost", port: int = 8501,
                 signature_name: str = "serving_default", timeout: float = 30.0) -> dict:
    """Sends the REST call; returns the server's ``outputs`` (output name -> list)."""
    url, body = rest_request(inputs, model=model, host=host, port=port, signature_name=signature_name)
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read())["outputs"]


def predict_grpc(inputs: Mapping[str, Sequence[str]], *, model: str, host: str = "localhost", port: int = 8500,
                 signature_name: str = "serving_default", timeout: float = 30.0) -> dict:
    """Sends the gRPC call; returns output name -> numpy array."""
    import grpc
    import tensorflow as tf
    from tensorflow_serving.apis import prediction_service_pb2_grpc

    with grpc.insecure_channel(f"{host}:{port}") as channel:
        stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
        response = stub.Predict(grpc_request(inputs, model=model, signature_name=signature_name), timeout)
    return {name: tf.make_ndarray(proto) for name, proto in response.outputs.items()}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bertzoo.recipes.serving_client", description=__doc__.split("\n")[0])
    parser.add_argument("texts", nargs="*", help="texts for the `text` input")
    parser.add_argument("--input", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                        help="a value of a named input (repeatable), e.g. --input text_pair '...'")
    parser.add_argument("--model", required=True, help="the model's name on the server (MODEL_NAME)")
    parser.add_argument("--host", default="localhost")
    parser.add_argument("--port", type=int, default=None, help="default 8501 for REST, 8500 for gRPC")
    parser.add_argument("--grpc", action="store_true", help="use gRPC instead of REST")
    parser.add_argument("--signature", default="serving_default")
    args = parser.parse_args(argv)
    inputs: dict[str, list[str]] = {"text": list(args.texts)} if args.texts else {}
    for name, value in args.input:
        inputs.setdefault(name, []).append(value)
    if not inputs:
        parser.error("give texts, or --input NAME VALUE")
    call = predict_grpc if args.grpc else predict_rest
    port = args.port or (8500 if args.grpc else 8501)
    outputs = call(inputs, model=args.model, host=args.host, port=port, signature_name=args.signature)
    print(json.dumps({name: getattr(value, "tolist", lambda v=value: v)() for name, value in outputs.items()},
                     default=lambda v: v.decode("utf-8") if isinstance(v, bytes) else str(v), indent=2))


if __name__ == "__main__":
    main()
