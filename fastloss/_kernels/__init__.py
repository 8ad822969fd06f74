"""Compiled epoch loops; they know nothing of scikit-learn."""
