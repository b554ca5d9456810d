"""bertzoo/metrics: evaluation metrics computed as the official tools compute them."""
