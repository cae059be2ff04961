"""Synthetic data with known ground truth: the metrics history and the learning stream."""
