"""Export for TensorFlow Serving: preprocessing from core TensorFlow ops only, and op audits."""
