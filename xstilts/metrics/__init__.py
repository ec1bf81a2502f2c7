"""Metric functions, pure Python: classification, tagging, QA (SQuAD, MLQA) and retrieval."""


