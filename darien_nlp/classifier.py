"""``PolicyClassifier``: a scikit-learn multi-label estimator over an embedding backend.

Pipeline: texts -> embedder (``static``, ``minilm`` or ``tfidf``) -> one
logistic regression per label (class-weighted for the rare labels) ->
per-label Platt calibration fitted on out-of-fold scores -> per-label
thresholds chosen on the same out-of-fold probabilities to maximise F1.
Everything is stored as arrays and JSON (see :mod:`darien_nlp.persistence`).

>>> clf = PolicyClassifier(backend="tfidf")
>>> clf.get_params()["backend"]
'tfidf'
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Sequence

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import NotFittedError

from .embed import BACKENDS, make_embedder, resolve_backend
from .embed.base import check_texts
from .embed.context import split_items
from .scope import check_scope_options, gate
from .taxonomy import LABELS, labels_to_matrix

__all__ = ["PolicyClassifier", "NotFittedError"]

logger = logging.getLogger(__name__)

_HEADS = ("logreg.v1", "finetune.v1")
_THRESHOLDS = ("f1", "f1_source_mean", "fixed")
_SOURCE_WEIGHTS = (None, "sqrt", "balanced")
#: The source of synthetic passages (``GoldPassage.corpus``): :func:`source_weights` leaves them at weight 1.
SYNTHETIC_SOURCE = "synthetic"
#: A source takes part in a label's ``f1_source_mean`` threshold only with this many positives of it.
MIN_SOURCE_POSITIVES = 10


def _as_label_matrix(Y) -> np.ndarray:
    """Accept a (n, 5) indicator matrix or a list of label-id lists."""
    if hasattr(Y, "toarray"):
        Y = Y.toarray()
    if isinstance(Y, np.ndarray) and Y.ndim == 2:
        matrix = Y
    else:
        rows = list(Y)
        if rows and all(isinstance(row, (list, tuple, set, frozenset)) and all(isinstance(x, str) for x in row) for row in rows):
            return labels_to_matrix(rows).astype(np.int64)
        matrix = np.asarray(rows)
    if matrix.ndim != 2 or matrix.shape[1] != len(LABELS):
        raise ValueError(
            f"Y must be a (n_samples, {len(LABELS)}) indicator matrix in the order {list(LABELS)} "
            f"or a list of label-id lists; got shape {getattr(matrix, 'shape', None)}"
        )
    if not np.isin(matrix, (0, 1)).all():
        raise ValueError("Y must hold only 0 and 1")
    return matrix.astype(np.int64)


def _check_X(X, *, pairs: bool = False) -> list:
    """Texts as a list of str; with a ``context`` backend also ``(text, context)`` pairs."""
    if pairs:
        texts, contexts = split_items(X, name="X")
        return [text if context is None else (text, context) for text, context in zip(texts, contexts)]
    items = X if isinstance(X, (str, bytes)) else list(X)
    for position, item in enumerate(items if isinstance(items, list) else []):
        if isinstance(item, tuple):
            raise TypeError(f"X[{position}] is a (text, context) pair; only backend='context' reads document "
                            "context. Pass strings, or use the 'context' backend.")
    return check_texts(items, name="X")


def _reads_context(backend) -> bool:
    return bool(getattr(backend, "uses_context", False))


def _sources(groups) -> np.ndarray:
    """The source of each ``groups`` key: its part before ``"|"`` (``"corpus|document"`` -> ``"corpus"``)."""
    return np.array([str(g).split("|", 1)[0] for g in groups])


def source_weights(groups, scheme: str | None) -> np.ndarray | None:
    """Per-passage weights for ``PolicyClassifier(source_weight=scheme)``: ``n_s ** -0.5`` (``"sqrt"``) or
    ``1 / n_s`` (``"balanced"``) for the ``n_s`` passages of each source (the part of each ``groups`` key
    before ``"|"``; every training row counts, teacher-labelled ones included), rescaled to a mean of 1;
    synthetic passages (source ``"synthetic"``) keep weight 1; ``None`` for ``scheme=None``.

    >>> source_weights(["a|1", "a|2", "a|3", "b|9"], "balanced").round(2).tolist()
    [0.67, 0.67, 0.67, 2.0]
    """
    if scheme is None:
        return None
    if scheme not in _SOURCE_WEIGHTS:
        raise ValueError(f"source_weight must be one of {_SOURCE_WEIGHTS}; got {scheme!r}")
    if groups is None:
        raise ValueError(f"source_weight={scheme!r} needs fit(..., groups=...) with 'source|document' keys")
    groups = list(groups)
    if groups and not any("|" in str(g) for g in groups):
        logger.warning("source_weight=%r: no groups key holds 'source|document', so every key counts as its own "
                       "source", scheme)
    sources = _sources(groups)
    weights = np.ones(len(sources), dtype=np.float64)
    real = sources != SYNTHETIC_SOURCE  # passages written from the guide are no publisher: they keep weight 1
    if real.any():
        _, inverse, counts = np.unique(sources[real], return_inverse=True, return_counts=True)
        per_source = counts.astype(np.float64) ** (-0.5 if scheme == "sqrt" else -1.0)
        weights[real] = per_source[inverse] * (real.sum() / per_source[inverse].sum())
    return weights


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-np.clip(z, -50, 50)))


class PolicyClassifier(ClassifierMixin, BaseEstimator):
    """Multi-label classifier for the five policy categories.

    Parameters (keyword-only, stored as given; validated in ``fit``):

    backend : ``"static"`` (default), ``"minilm"``, ``"tfidf"`` or a versioned name.  With
        ``"context"`` (a wrapper around another backend) ``X`` may also hold ``(text, context)``
        pairs: the passage and the text around it in its document.
    backend_options : dict passed to the backend, e.g. ``{"path": "models/static-minilm-v1"}``.
    head : ``"logreg.v1"``: one class-weighted logistic regression per label; ``"finetune.v1"``:
        a linear head trained jointly with a tunable backend (``minilm_tuned``), whose
        calibration and thresholds are fitted on a held-out ``1/cv`` of the documents.
    C : inverse regularisation strength of the logistic regressions.
    class_weight : ``"balanced"`` or ``None``.
    calibration : ``"sigmoid"`` (Platt scaling on out-of-fold scores) or ``None``.
    thresholds : ``"f1"`` (tune per label on out-of-fold probabilities), ``"f1_source_mean"`` (tune per
        label for the mean of the F1s of each source, the part of each ``groups`` key before ``"|"``
        (``"corpus|document"``), over sources with at least :data:`MIN_SOURCE_POSITIVES` positives of
        that label, the rows of all other sources counting as one more: a large source no longer sets
        every threshold alone; a small one can pull a threshold below the large one's negatives) or
        ``"fixed"`` (0.5).
    source_weight : ``None`` (every training passage weighs 1), ``"sqrt"`` or ``"balanced"``: each
        passage weighs ``n_s ** -0.5`` or ``1 / n_s`` for ``n_s`` passages of its source (the part of its
        ``groups`` key before ``"|"``), rescaled to a mean of 1, so a small source (a publisher with a
        hundred gold passages beside one with thousands) moves the label heads, their Platt calibration
        and the F1 of their thresholds more than its count alone would.  The scope head is unweighted.
    shared_share : 0 (default) to 1: for a seeded share of training rows, the label heads also fit a copy
        that keeps only the block English and Spanish share (the bilingual static vector of ``static_lex``
        with ``bilingual``; other columns zero), same labels and weights; calibration and thresholds see
        real rows only. The heads then score a passage from that block alone, meant for a language the
        gold barely covers (leave-one-corpus-out on the Mexican Presidency with 0.3: 0.259 -> 0.340 with
        seed 13, 0.276 -> 0.293 with seed 14); it costs a little where the gold covers it (see README).
    cv : folds for the out-of-fold scores (grouped by ``groups`` when given).
    random_state : seed for the folds and the solver.
    scope : ``None`` or a dict (see :mod:`darien_nlp.scope`): also fit a scope head, the
        probability that a passage is about human mobility at all, on its own embedding
        (``backend``, ``backend_options``; not a fine-tuned one: a trainable one, e.g. TF-IDF, learns its
        weights from the scope passages without their labels), regularised by ``C``, cut so that
        ``keep`` of the labelled training passages pass.  Below the cut no label is given.
        ``fit(..., scope_negatives=...)`` adds label-less passages for this head only.

    Learned attributes: ``classes_``, ``coef_``, ``intercept_``, ``calibration_``,
    ``thresholds_``, ``embedder_``; with ``scope`` also ``scope_embedder_``, ``scope_coef_``,
    ``scope_intercept_``, ``scope_calibration_`` and ``scope_threshold_``.

    >>> clf = PolicyClassifier(backend="tfidf", cv=2).fit(
    ...     ["close the smuggling routes"] * 4 + ["open lawful pathways"] * 4,
    ...     [["enforcement"]] * 4 + [["lawful_pathways"]] * 4)
    >>> clf.predict_labels(["dismantle smuggling routes"])[0]
    ('enforcement',)
    """

    def __init__(self, *, backend: str = "static", backend_options: dict | None = None,
                 head: str = "logreg.v1", C: float = 4.0, class_weight: str | None = "balanced",
                 calibration: str | None = "sigmoid", thresholds: str = "f1", cv: int = 5,
                 random_state: int = 0, scope: dict | None = None, source_weight: str | None = None,
                 shared_share: float = 0.0):
        self.backend = backend
        self.backend_options = backend_options
        self.head = head
        self.C = C
        self.class_weight = class_weight
        self.calibration = calibration
        self.thresholds = thresholds
        self.cv = cv
        self.random_state = random_state
        self.scope = scope
        self.source_weight = source_weight
        self.shared_share = shared_share

    # -- validation ---------------------------------------------------------------------------
    def _validate_params(self) -> None:
        resolve_backend(self.backend)
        checks = [
            ("head", self.head, set(_HEADS)),
            ("class_weight", self.class_weight, {"balanced", None}),
            ("calibration", self.calibration, {"sigmoid", None}),
            ("thresholds", self.thresholds, set(_THRESHOLDS)),
            ("source_weight", self.source_weight, set(_SOURCE_WEIGHTS)),
        ]
        for name, value, allowed in checks:
            if value not in allowed:
                raise ValueError(
                    f"The '{name}' parameter of PolicyClassifier must be one of "
                    f"{sorted(allowed, key=str)}. Got {value!r} instead."
                )
        if not (isinstance(self.C, (int, float)) and self.C > 0):
            raise ValueError(f"The 'C' parameter of PolicyClassifier must be a float > 0. Got {self.C!r} instead.")
        if not (isinstance(self.cv, int) and self.cv >= 2):
            raise ValueError(f"The 'cv' parameter of PolicyClassifier must be an int >= 2. Got {self.cv!r} instead.")
        check_scope_options(self.scope)
        share = self.shared_share
        if isinstance(share, bool) or not isinstance(share, (int, float)) or not 0.0 <= share <= 1.0:
            raise ValueError(f"The 'shared_share' parameter of PolicyClassifier must be a number in [0, 1]. "
                             f"Got {share!r} instead.")
        if self.source_weight is not None and self.head == "finetune.v1":
            raise ValueError("The 'source_weight' parameter of PolicyClassifier is not supported with head='finetune.v1'")
        if self.backend_options is not None and not isinstance(self.backend_options, dict):
            raise ValueError(
                f"The 'backend_options' parameter of PolicyClassifier must be a dict or None. Got {self.backend_options!r} instead."
            )

    # -- fitting ------------------------------------------------------------------------------
    def fit(self, X: Sequence[str], Y, *, groups: Sequence | None = None, scope_negatives: Sequence | None = None,
            scope_negative_groups: Sequence | None = None) -> "PolicyClassifier":
        """Fit on texts ``X`` and labels ``Y`` (indicator matrix or label-id lists).

        ``scope_negatives`` (texts or ``(text, context)`` pairs, with ``scope_negative_groups`` for
        their documents) are label-less passages that train only the scope head (``scope``)."""
        self._validate_params()
        groups = None if groups is None else list(groups)  # read more than once (folds, scope, thresholds)
        if scope_negatives is not None and self.scope is None:
            raise ValueError("scope_negatives train the scope head; pass scope={...} to use them")
        texts = _check_X(X, pairs=_reads_context(BACKENDS[resolve_backend(self.backend)]))
        labels = _as_label_matrix(Y)
        if len(texts) != labels.shape[0]:
            raise ValueError(f"X has {len(texts)} texts but Y has {labels.shape[0]} rows")
        if groups is not None and len(groups) != len(texts):
            raise ValueError(f"groups has {len(groups)} entries for {len(texts)} texts")
        if len(texts) < 2:
            raise ValueError("PolicyClassifier needs at least 2 training texts")
        weights = source_weights(groups, self.source_weight)
        embedder = make_embedder(self.backend, **(self.backend_options or {}))
        if self.scope is not None:
            self._fit_scope(texts, labels, groups, scope_negatives, scope_negative_groups)
        if self.head == "finetune.v1":
            return self._fit_finetuned(embedder, texts, labels, groups)
        if getattr(embedder, "tunable", False):
            raise ValueError(f"The backend {self.backend!r} is tuned with its head: use head='finetune.v1'")
        embedder.fit(texts)
        features = embedder.encode(texts)
        out_of_fold = self._out_of_fold_scores(texts, labels, groups,
                                               features=None if embedder.trainable else features, weights=weights,
                                               shared=None if embedder.trainable else self._shared_columns(embedder))
        coef, intercept = self._fit_heads(features, labels, weights, shared=self._shared_columns(embedder))
        self.embedder_ = embedder
        self.coef_ = coef
        self.intercept_ = intercept
        self.classes_ = np.array(LABELS)
        self.calibration_ = self._fit_calibration(out_of_fold, labels, weights)
        probabilities = self._calibrate(out_of_fold)
        self.thresholds_ = self._fit_thresholds(probabilities, labels, groups, weights)
        self.n_features_in_ = int(features.shape[1])
        self.training_size_ = len(texts)
        return self

    def _fit_scope(self, texts, labels, groups, negatives, negative_groups) -> None:
        """The scope head: any label vs none, on its own embedding; cut from out-of-fold scores."""
        from sklearn.linear_model import LogisticRegression
        from sklearn.model_selection import GroupKFold

        options = check_scope_options(self.scope)
        embedder = make_embedder(options["backend"], **options["backend_options"])
        if getattr(embedder, "tunable", False):
            raise ValueError(f"The scope head needs a backend that is not fine-tuned; "
                             f"{options['backend']!r} {options['backend_options']} tunes its encoder")
        negatives = [] if negatives is None else _check_X(negatives, pairs=True)
        negative_groups = None if negative_groups is None else list(negative_groups)
        if negative_groups is not None and len(negative_groups) != len(negatives):
            raise ValueError(f"scope_negative_groups has {len(negative_groups)} entries for {len(negatives)} negatives")
        items = list(texts) + list(negatives)
        target = np.concatenate([labels.any(axis=1), np.zeros(len(negatives), dtype=bool)]).astype(np.int64)
        if target.min() == target.max():
            raise ValueError("The scope head needs passages with labels and passages without any")
        # With groups for both, a negative and a labelled passage of one document share a group, so no fold
        # trains on a document it then scores (negatives may come from training-gold documents).
        own = [f"_passage{i}" for i in range(len(texts))] if groups is None else [str(g) for g in groups]
        other = ([f"_negative{i}" for i in range(len(negatives))] if negative_groups is None
                 else [str(g) if groups is not None else f"_negative|{g}" for g in negative_groups])
        all_groups = np.asarray(own + other)
        if getattr(embedder, "trainable", False):  # e.g. TF-IDF weights: learnt from every scope passage, no labels
            embedder.fit(self._scope_items(embedder, items))
        features = embedder.encode(self._scope_items(embedder, items))
        model = lambda: LogisticRegression(C=options["C"], class_weight="balanced", max_iter=2000,  # noqa: E731
                                           random_state=self.random_state)
        out_of_fold = np.zeros(len(items))
        n_splits = min(self.cv, len(np.unique(all_groups)))
        for train_index, test_index in GroupKFold(n_splits=n_splits).split(features, target, all_groups):
            if target[train_index].min() == target[train_index].max():
                raise ValueError("A scope fold holds only one class; give more passages with and without labels")
            out_of_fold[test_index] = model().fit(features[train_index], target[train_index]).decision_function(
                features[test_index])
        platt = LogisticRegression(C=1e4, max_iter=1000).fit(out_of_fold[:, None], target)
        calibration = np.array([platt.coef_[0, 0], platt.intercept_[0]])
        in_scope = _sigmoid(out_of_fold * calibration[0] + calibration[1])[target == 1]
        final = model().fit(features, target)
        self.scope_embedder_ = embedder
        self.scope_coef_ = final.coef_[0].astype(np.float64)
        self.scope_intercept_ = float(final.intercept_[0])
        self.scope_calibration_ = calibration
        self.scope_threshold_ = float(np.quantile(in_scope, 1.0 - options["keep"]))
        self.scope_training_ = {"passages": len(texts), "negatives": len(negatives), "in_scope": int(target.sum())}

    @staticmethod
    def _scope_items(embedder, items) -> list:
        """What the scope embedder reads: pairs for a context backend, bare texts otherwise."""
        if _reads_context(embedder):
            return list(items)
        return [item[0] if isinstance(item, tuple) else item for item in items]

    @property
    def has_scope(self) -> bool:
        return getattr(self, "scope_embedder_", None) is not None

    def scope_proba(self, X: Sequence[str]) -> np.ndarray:
        """The scope score of each item: probability that it is about human mobility (needs ``scope``)."""
        self._check_fitted()
        if not self.has_scope:
            raise ValueError("This model has no scope head; train it with scope={...}")
        items = _check_X(X, pairs=True)
        decision = self.scope_embedder_.project(self._scope_items(self.scope_embedder_, items),
                                                np.asarray(self.scope_coef_).reshape(1, -1)).ravel() + self.scope_intercept_
        return _sigmoid(decision * self.scope_calibration_[0] + self.scope_calibration_[1])

    def _fit_finetuned(self, embedder, texts, labels, groups) -> "PolicyClassifier":
        """Tune the backend with a linear head on all but a held-out ``1/cv`` of the documents,
        then fit calibration and thresholds on the held-out part (the tuned encoder never saw it)."""
        from sklearn.model_selection import GroupShuffleSplit, ShuffleSplit

        if not getattr(embedder, "tunable", False):
            raise ValueError(f"head='finetune.v1' needs a tunable backend ('minilm_tuned'); got {self.backend!r}")
        if self.class_weight is None:
            logger.info("finetune.v1 always weighs positives by sqrt(negatives / positives); class_weight=None ignored")
        splitter_options = {"n_splits": 1, "test_size": 1.0 / self.cv, "random_state": self.random_state}
        if groups is not None:
            tune_index, held_index = next(GroupShuffleSplit(**splitter_options).split(texts, labels, list(groups)))
        else:
            tune_index, held_index = next(ShuffleSplit(**splitter_options).split(texts))
        coef, intercept = embedder.tune([texts[i] for i in tune_index], labels[tune_index])
        held_scores = np.asarray(embedder.encode([texts[i] for i in held_index]) @ coef.T) + intercept
        self.embedder_ = embedder
        self.coef_ = coef
        self.intercept_ = intercept
        self.classes_ = np.array(LABELS)
        self.calibration_ = self._fit_calibration(held_scores, labels[held_index])
        self.thresholds_ = self._fit_thresholds(self._calibrate(held_scores), labels[held_index],
                                                None if groups is None else [groups[i] for i in held_index])
        self.n_features_in_ = int(coef.shape[1])
        self.training_size_ = len(texts)
        return self

    def _shared_columns(self, embedder) -> np.ndarray | None:
        """The embedder's language-shared columns when ``shared_share`` asks for them (else None)."""
        if not self.shared_share:
            return None
        shared = getattr(embedder, "shared_columns", lambda: None)()
        if shared is None:
            raise ValueError(f"shared_share needs a backend with a block English and Spanish share (static_lex with "
                             f"'bilingual', or context over it); {self.backend!r} {self.backend_options} has none")
        return shared

    def _with_shared_copies(self, features, labels, weights, shared):
        """The training rows plus, for a seeded ``shared_share`` of them, a copy that keeps only the
        language-shared columns (the rest zero), with the same labels and weights: the heads must then
        score those rows from the shared block alone, so it carries the labels to a language whose own
        blocks (English subwords) say little."""
        from scipy import sparse

        rows = np.flatnonzero(np.random.default_rng(self.random_state).random(features.shape[0]) < self.shared_share)
        if not len(rows):
            return features, labels, weights
        if sparse.issparse(features):
            copies = sparse.csr_matrix(features[rows]) @ sparse.diags(shared.astype(features.dtype))
            stacked = sparse.vstack([features, copies], format="csr")
        else:
            stacked = np.vstack([features, np.asarray(features)[rows] * shared])
        weights = None if weights is None else np.concatenate([weights, np.asarray(weights)[rows]])
        return stacked, np.concatenate([labels, labels[rows]]), weights

    def _fit_heads(self, features, labels, weights=None, shared=None) -> tuple[np.ndarray, np.ndarray]:
        from sklearn.linear_model import LogisticRegression

        if shared is not None:
            features, labels, weights = self._with_shared_copies(features, labels, weights, shared)

        coef = np.zeros((len(LABELS), features.shape[1]), dtype=np.float64)
        intercept = np.zeros(len(LABELS), dtype=np.float64)
        for j in range(len(LABELS)):
            column = labels[:, j]
            if column.min() == column.max():  # a label never (or always) seen: constant score
                intercept[j] = -20.0 if column.max() == 0 else 20.0
                continue
            model = LogisticRegression(C=self.C, class_weight=self.class_weight, max_iter=2000,
                                       random_state=self.random_state)
            model.fit(features, column, sample_weight=weights)
            coef[j] = model.coef_[0]
            intercept[j] = model.intercept_[0]
        return coef, intercept

    def _out_of_fold_scores(self, texts, labels, groups, *, features=None, weights=None, shared=None) -> np.ndarray:
        """Decision scores for each training text from a model that did not see it. ``shared``: the
        language-shared columns of ``features`` (a trainable backend's are found per fold)."""
        from sklearn.model_selection import GroupKFold, KFold

        n_splits = min(self.cv, len(texts))
        if groups is not None:
            groups = np.asarray(list(groups))
            n_splits = min(n_splits, len(np.unique(groups)))
            splitter = GroupKFold(n_splits=n_splits).split(np.zeros(len(texts)), labels, groups)
        else:
            splitter = KFold(n_splits=n_splits, shuffle=True, random_state=self.random_state).split(np.zeros(len(texts)))
        scores = np.zeros(labels.shape, dtype=np.float64)
        for train_index, test_index in splitter:
            fold_weights = None if weights is None else weights[train_index]
            if features is not None:  # a pretrained embedder: encode once, slice per fold
                coef, intercept = self._fit_heads(features[train_index], labels[train_index], fold_weights,
                                                  shared=shared)
                scores[test_index] = np.asarray(features[test_index] @ coef.T) + intercept
                continue
            fold_embedder = make_embedder(self.backend, **(self.backend_options or {}))
            train_texts = [texts[i] for i in train_index]
            fold_embedder.fit(train_texts)
            coef, intercept = self._fit_heads(fold_embedder.encode(train_texts), labels[train_index], fold_weights,
                                              shared=self._shared_columns(fold_embedder))
            held_out = fold_embedder.encode([texts[i] for i in test_index])
            scores[test_index] = np.asarray(held_out @ coef.T) + intercept
        return scores

    def _fit_calibration(self, scores, labels, weights=None) -> np.ndarray:
        """Platt scaling per label: p = sigmoid(a * score + b), fitted on out-of-fold scores."""
        calibration = np.tile(np.array([1.0, 0.0]), (len(LABELS), 1))
        if self.calibration is None:
            return calibration
        from sklearn.linear_model import LogisticRegression

        for j in range(len(LABELS)):
            column = labels[:, j]
            if column.min() == column.max():
                continue
            platt = LogisticRegression(C=1e4, max_iter=1000).fit(scores[:, [j]], column, sample_weight=weights)
            calibration[j] = [platt.coef_[0, 0], platt.intercept_[0]]
        return calibration

    def _calibrate(self, scores) -> np.ndarray:
        return _sigmoid(scores * self.calibration_[:, 0] + self.calibration_[:, 1])

    def _fit_thresholds(self, probabilities, labels, groups=None, weights=None) -> np.ndarray:
        thresholds = np.full(len(LABELS), 0.5)
        if self.thresholds == "fixed":
            return thresholds
        sources = None
        if self.thresholds == "f1_source_mean":
            if groups is None:
                raise ValueError("thresholds='f1_source_mean' needs fit(..., groups=...) with 'source|document' keys")
            sources = _sources(groups)
            if len(sources) != len(labels):
                raise ValueError(f"groups has {len(sources)} entries for {len(labels)} rows")
        grid = np.round(np.arange(0.02, 0.951, 0.01), 2) if sources is not None else \
            np.round(np.arange(0.05, 0.951, 0.01), 2)

        row_weight = np.ones(len(labels)) if weights is None else np.asarray(weights, dtype=np.float64)

        def f1_curve(rows, column):
            # weighted counts (every weight 1 without source_weight)
            predicted = probabilities[rows, j][:, None] >= grid  # (n, grid)
            weight = row_weight[rows][:, None]
            true_positive = ((predicted & (column[:, None] == 1)) * weight).sum(0)
            denominator = (predicted * weight).sum(0) + (column * row_weight[rows]).sum()
            # rows with no positive and none flagged: nothing missed, nothing wrong (F1 taken as 1)
            return np.where(denominator > 0, 2 * true_positive / np.where(denominator > 0, denominator, 1.0), 1.0)

        for j in range(len(LABELS)):
            column = labels[:, j]
            if column.sum() == 0:
                continue
            everything = np.arange(len(column))
            curves = []
            if sources is not None:
                # each source with enough positives counts once; the rows of the others count together,
                # as one more source, so their negatives are never ignored
                qualifying = {s for s in np.unique(sources) if column[sources == s].sum() >= MIN_SOURCE_POSITIVES}
                rest = np.flatnonzero(~np.isin(sources, list(qualifying)))
                curves = [f1_curve(rows, column[rows]) for rows in
                          (np.flatnonzero(sources == s) for s in sorted(qualifying))]
                if len(rest) and curves:
                    curves.append(f1_curve(rest, column[rest]))
            f1 = np.mean(curves, axis=0) if curves else f1_curve(everything, column)
            best = np.flatnonzero(f1 == f1.max())
            thresholds[j] = grid[best[len(best) // 2]]  # middle of the best plateau: stable
        return thresholds

    # -- prediction ---------------------------------------------------------------------------
    def _check_fitted(self) -> None:
        if not hasattr(self, "coef_"):
            raise NotFittedError(
                "This PolicyClassifier instance is not fitted yet. Call 'fit' with appropriate "
                "arguments, or load a saved model with PolicyClassifier.load(path)."
            )

    @property
    def uses_context(self) -> bool:
        """Whether the fitted model reads ``(text, context)`` pairs (as the loaded predictor says)."""
        return _reads_context(getattr(self, "embedder_", None))

    @property
    def context_chars(self) -> int | None:
        """Characters of the document on each side of a passage that the fitted model reads (``None``: none)."""
        embedder = getattr(self, "embedder_", None)
        return embedder.window if _reads_context(embedder) else None

    def decision_function(self, X: Sequence[str]) -> np.ndarray:
        """Raw per-label scores (n, 5) before calibration."""
        self._check_fitted()
        return self.embedder_.project(_check_X(X, pairs=_reads_context(self.embedder_)), self.coef_) + self.intercept_

    def predict_scored(self, X: Sequence[str]) -> tuple[np.ndarray, np.ndarray | None]:
        """Per-label probabilities (gated by the scope head, if any) and the scope scores (or ``None``)."""
        probabilities = self._calibrate(self.decision_function(X))
        if not self.has_scope:
            return probabilities, None
        scope = self.scope_proba(X)
        return gate(probabilities, scope, self.scope_threshold_, self.thresholds_), scope

    def predict_proba(self, X: Sequence[str]) -> np.ndarray:
        """Calibrated per-label probabilities (n, 5), columns in :data:`LABELS` order; with a scope
        head, a passage below its cut has every score capped under its label's threshold."""
        return self.predict_scored(X)[0]

    def predict(self, X: Sequence[str], *, threshold: float | None = None) -> np.ndarray:
        """0/1 indicator matrix (n, 5): probability at or above the per-label threshold."""
        probabilities = self.predict_proba(X)
        cut = self.thresholds_ if threshold is None else threshold
        return (probabilities >= cut).astype(np.int64)

    def predict_labels(self, X: Sequence[str], *, threshold: float | None = None) -> list[tuple[str, ...]]:
        """Label-id tuples in taxonomy order, one per text."""
        return [tuple(label for label, on in zip(LABELS, row) if on) for row in self.predict(X, threshold=threshold)]

    # -- persistence --------------------------------------------------------------------------
    def save(self, path: str | Path, *, metadata: dict[str, Any] | None = None, card: str | None = None) -> Path:
        """Write the model folder (safetensors + JSON + manifest); see :mod:`darien_nlp.persistence`."""
        from .persistence import save_model

        self._check_fitted()
        return save_model(self, path, metadata=metadata or {}, card=card)

    @classmethod
    def load(cls, path: str | Path) -> "PolicyClassifier":
        """Load a folder written by :meth:`save`, verifying every file's hash first."""
        from .persistence import load_model

        return load_model(cls, path)
