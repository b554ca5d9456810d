"""Metrics computed as the official tools compute them (GLUE, SQuAD, conlleval). Plain NumPy/Python on
predictions and labels: imports no family, model, training or recipe."""
