"""Classification accuracy from predicted scores, in numpy: top-k, per class, and the confusion matrix."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


class Scores(NamedTuple):
    top1: float
    top5: float  # top-min(5, classes)
    per_class: tuple[float | None, ...]  # top-1 within each true class; None for a class with no samples
    confusion: tuple[tuple[int, ...], ...]  # rows: true class, columns: predicted class


def topk_accuracy(scores: np.ndarray, labels: np.ndarray, k: int) -> float:
    """The share of samples whose true label is among the ``k`` highest scores."""
    k = min(k, scores.shape[1])
    top = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    return float(np.mean(np.any(top == labels[:, None], axis=1))) if len(labels) else 0.0


def confusion_matrix(predicted: np.ndarray, labels: np.ndarray, classes: int) -> np.ndarray:
    out = np.zeros((classes, classes), np.int64)
    np.add.at(out, (labels, predicted), 1)
    return out


def score(scores: np.ndarray, labels: np.ndarray) -> Scores:
    """All the accuracy figures of ``scores`` (N, classes) against integer ``labels`` (N,)."""
    scores, labels = np.asarray(scores, np.float64), np.asarray(labels, np.int64)
    matrix = confusion_matrix(scores.argmax(axis=1), labels, scores.shape[1])
    totals = matrix.sum(axis=1)
    per_class = tuple(float(matrix[c, c] / t) if t else None for c, t in enumerate(totals))
    return Scores(topk_accuracy(scores, labels, 1), topk_accuracy(scores, labels, 5), per_class,
                  tuple(tuple(int(v) for v in row) for row in matrix))
