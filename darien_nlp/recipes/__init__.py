"""Experiment recipes: one module per kind of run (see :mod:`darien_nlp.experiments`)."""
