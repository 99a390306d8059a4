"""Language detection: English and Spanish by function words, the rest flagged, bad input refused."""
import pytest

from darien_nlp.corpus.language import Language, detect_language, detect_languages


@pytest.mark.parametrize("text, expected", [
    ("Dismantle the smuggling networks that prey on migrants in the Darién.", "en"),
    ("Los migrantes cruzan la selva del Darién y los ríos son peligrosos.", "es"),
    ("THE BORDER IS CLOSED TO MIGRANTS AND THEIR FAMILIES", "en"),          # all caps
    ("LOS MIGRANTES CRUZAN LA SELVA DEL DARIEN", "es"),                      # caps, accents stripped
    ("Os migrantes atravessam a selva e os rios no caminho para o norte.", "pt"),  # a third language
    ("Les migrants traversent la jungle du Darién avec leurs enfants.", "fr"),
])
def test_languages(text, expected):
    assert detect_language(text).language == expected


def test_third_language_is_not_supported():
    result = detect_language("Les migrants traversent la jungle du Darién avec leurs enfants.")
    assert result.method == "langid" and not result.supported


def test_mixed_passage_is_flagged():
    result = detect_language("The Darién is dangerous for the migrants. El Darién es peligroso para los migrantes.")
    assert result.mixed and result.language in ("en", "es")


@pytest.mark.parametrize("text", ["", "   ", "12, 45, 67 -- 2024", "!!!"])
def test_no_words_is_undetermined(text):
    assert detect_language(text) == Language("und", 0.0, "none")


def test_list_of_names_is_undetermined_or_low_confidence():
    result = detect_language("John Smith, Maria Lopez")
    assert result.language == "und" or result.confidence < 0.5


def test_bad_input_is_refused():
    with pytest.raises(TypeError, match="takes a str"):
        detect_language(None)
    with pytest.raises(TypeError, match="takes a str"):
        detect_language(b"bytes")


def test_many_texts_keep_order():
    texts = ["The border is closed to the migrants.", "La frontera está cerrada para los migrantes."]
    assert [r.language for r in detect_languages(texts)] == ["en", "es"]
