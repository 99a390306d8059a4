"""Draw the passages to annotate from the release corpora, reproducibly from a seed.

Strata (each a pool of content passages, sampled without replacement):

* ``wh_migration_subset``: any passage of the 120 White House pages in the
  corpora's migration subset (natural mix of on-topic and off-topic text);
* ``wh_migration_terms``: passages of other White House pages that name
  migration terms (Darién, asylum, parole, smuggling, refugees, ...);
* ``environment_terms``: passages that name environmental terms (rainforest,
  ecosystem, climate, ...) together with migration, in either corpus: the
  rare ``environment`` label has to be searched out;
* ``wh_hard_negative`` / ``state_hard_negative``: passages of pages that do
  not speak of migration but share the labels' vocabulary (tax enforcement,
  vaccine development, the investment environment, aid to Gaza);
* ``state_migration_terms`` / ``state_random``: State Department releases.

The term lists decide only *which passages are read*; labels come from
reading them against the annotation guide.

>>> sorted(DEFAULT_SIZES)[:2]
['environment_terms', 'state_hard_negative']
"""
from __future__ import annotations

import bisect
import hashlib
import json
import random
import re
from pathlib import Path
from typing import Iterable, Iterator

from .corpus import load_corpus, segment

__all__ = ["DEFAULT_SIZES", "ROUND2_SIZES", "ROUND3_SIZES", "ROUND4_SIZES", "ROUND5_SIZES", "ROUND6_SIZES", "ROUNDS", "OOD_SIZES", "EVAL_ROUNDS", "TRANSFER_SIZES", "TRANSFER2_SIZES", "TRANSFER3_SIZES", "TRANSFER_ROUNDS", "TRANSFER_SUFFIX", "transfer_exclusions", "OOD_CORPUS_FILES", "scope_negatives", "unlabelled_passages", "write_annotation_task",
           "pass_records", "round_exclusions", "CORPUS_FILES", "draw_annotation_sample", "migration_subset_ids"]

CORPUS_FILES = {
    "wh": "wh-briefings-2021-2026.jsonl.gz",
    "state": "state-dept-press-2021-2022.jsonl.gz",
}
#: Corpora that no model trains on: the out-of-domain evaluation round draws from them.
OOD_CORPUS_FILES = {
    "mx": "presidencia-mx-es-2018-2026.jsonl.gz",
    "undp": "undp-acclabs-en-es-2019-2025.jsonl.gz",
}
DEFAULT_SIZES = {
    "wh_migration_subset": 650,
    "wh_migration_terms": 600,
    "environment_terms": 380,
    "wh_hard_negative": 450,
    "state_migration_terms": 200,
    "state_hard_negative": 100,
    "state_random": 50,
}
# Round 2 (seed 29) searches out the labels round 1 left short -- ``development``,
# ``environment`` and ``humanitarian`` -- in migration context, and skips every
# passage round 1 already drew (``exclude``).
ROUND2_SIZES = {
    "development_terms": 250,
    "environment_terms_r2": 300,
    "humanitarian_terms": 150,
    "state_migration_terms_r2": 100,
}
# Round 3 (seed 31) raises the share of labelled passages: passages that name migration at
# least twice, and environmental passages of pages that speak of migration at length.
ROUND3_SIZES = {
    "wh_migration_dense": 700,
    "state_migration_dense": 250,
    "environment_in_migration_pages": 250,
}
# Round 4 (seed 37) takes what is left of the pages that frame climate and migration together
# (by title and text) and every passage naming the Darién: the last places ``environment`` lives.
ROUND4_SIZES = {
    "climate_migration_pages": 200,
    "darien_passages": 150,
}
# Round 5 (seed 41) adds more passages that name migration (the labelled share and every label grow).
ROUND5_SIZES = {
    "wh_migration_dense_r5": 1200,
    "state_migration_dense_r5": 400,
    "wh_migration_terms_r5": 800,
}
# Round 6 (seed 43) takes every passage left of four pools: White House passages naming migration
# twice, State Department passages naming it, White House passages naming it once beside
# humanitarian vocabulary, and strong environmental terms in pages that name migration five times.
ROUND6_SIZES = {
    "wh_migration_dense_r6": 900,
    "state_migration_r6": 400,
    "wh_humanitarian_single_r6": 700,
    "environment_context_r6": 750,
}
# Round 7 (seed 47) is an evaluation set, never trained on: passages of the Mexican Presidency
# transcripts (Spanish) and the UNDP Accelerator Labs pages (English and Spanish), which no model
# learns from, and an out-of-scope set -- passages of every corpus far from any mention of migration
# that use the labels' words in other senses (White House and State Department pages outside the gold
# documents; in the two new corpora, whose documents all name migration, passages with no migration
# term within 1,500 characters).
OOD_SIZES = {
    "mx_migration": 260,
    "mx_darien": 40,
    "mx_environment": 60,
    "mx_any": 50,
    "mx_out_of_scope": 80,
    "undp_migration": 140,
    "undp_darien": 40,
    "undp_environment": 80,
    "undp_out_of_scope": 40,
    "wh_out_of_scope": 60,
    "state_out_of_scope": 30,
}
# Round 8 (seed 53) is training gold from the two new corpora: passages of Mexican Presidency
# transcripts and UNDP pages whose documents hold no passage of the evaluation set (round 7), so
# Spanish and non-US publishers teach the models while every evaluation passage stays in a
# document no model read. Same strata as round 7 (a subset of its names), plus Spanish
# out-of-scope passages: label-less words-in-other-senses examples in the new corpora.
TRANSFER_SIZES = {
    "mx_migration": 560,
    "mx_darien": 60,
    "mx_environment": 110,
    "mx_any": 80,
    "mx_out_of_scope": 90,
    "undp_migration": 130,
    "undp_darien": 30,
    "undp_environment": 80,
    "undp_out_of_scope": 30,
}
# Round 9 (seed 59) adds Spanish: more of the Mexican Presidency transcripts (and what the UNDP pages
# have left), again only from documents without an evaluation passage; round 8's passages are skipped
# (its documents are not). Its strata carry the suffix ``_r9``.
TRANSFER2_SIZES = {
    "mx_migration": 800,
    "mx_environment": 80,
    "mx_any": 60,
    "mx_out_of_scope": 60,
    "undp_migration": 60,
}
# Round 10 (seed 61) adds Spanish again, the same way as round 9 (rounds 8 and 9's passages skipped, every
# evaluation document skipped); its strata carry the suffix ``_r10``.
TRANSFER3_SIZES = {
    "mx_migration": 800,
    "mx_environment": 60,
    "mx_any": 60,
    "mx_out_of_scope": 40,
}
_CLIMATE_TITLE = re.compile(r"climate|environment|conservation|forest|ecosystem|biodivers", re.IGNORECASE)
_MIGRATION = re.compile(
    r"migra|migrant|refugee|asylum|displaced|displacement|dari[eé]n|smuggl|parole|deport|"
    r"safe mobility|los angeles declaration|root causes|repatriat|border security|"
    r"irregular|regulariz|temporary protected status|\bTPS\b|resettle|removal flight",
    re.IGNORECASE,
)
_ENVIRONMENT = re.compile(
    r"rainforest|ecosystem|deforest|conservation|environmental|jungle|climate|biodivers|"
    r"pollut|drought|natural disaster|hurricane|wildlife|forest",
    re.IGNORECASE,
)
_ENVIRONMENT_WIDE = re.compile(
    r"rainforest|ecosystem|deforest|conservation|environment(?!al protection agency)|jungle|biodivers|pollut|"
    r"national park|protected area|climate|drought|natural disaster|hurricane|flood|wildlife|waste|contaminat|"
    r"river|forest|sustainab|water",
    re.IGNORECASE,
)
_ENVIRONMENT_STRONG = re.compile(
    r"rainforest|ecosystem|deforest|conservation|environmental|jungle|biodivers|pollut|national park|protected area|"
    r"climate change|climate-related|climate impacts|climate crisis|drought|natural disaster|extreme weather|wildlife|"
    r"sea level|climate migration|climate-induced|desertification|land degradation",
    re.IGNORECASE,
)
_DEVELOPMENT = re.compile(
    r"root cause|economic opportunit|investment|invest|jobs|employment|poverty|integration|integrate|host communit|"
    r"border communit|private sector|partnership for central america|economic development|livelihood|"
    r"financial institution|development bank|drivers|economic growth|education|socio-?economic",
    re.IGNORECASE,
)
_HUMANITARIAN = re.compile(
    r"humanitarian|vulnerable|shelter|protection|human rights|perish|died|deaths|unaccompanied|children|"
    r"health care|medical|food|dignity|exploit|abuse|victim",
    re.IGNORECASE,
)
# Spanish (and accent-free) forms the English list misses; "migra" already covers migración,
# migrante, migratorio, inmigración.
_MIGRATION_ES = re.compile(
    r"refugiad|desplazad|desplazamiento|deporta|asilo|solicitantes? de refugio|tr[aá]fico de (?:personas|migrantes)|"
    r"trata de personas|pollero|coyote|movilidad humana|repatria|regulariza|dari[eé]n|exodo|éxodo",
    re.IGNORECASE,
)
# What the out-of-domain pools take as naming migration: whole words, so that "deporte",
# "irregularidades" or "regularización de vehículos" do not count (the broad lists above still keep
# them out of the out-of-scope pools).
_MIGRATION_STRICT = re.compile(
    r"\b(?:migra\w*|inmigra\w*|emigra\w*|migrant\w*|refugee\w*|refugiad\w*|asylum|asilo|"
    r"deport(?:ar|ad|aci|ation|ed|ee|ing|s\b)\w*|displaced|displacement|desplazad\w*|desplazamientos?|"
    r"dari[eé]n|smuggl\w*|parole|safe mobility|movilidad (?:segura|humana)|repatri\w*|"
    r"tr[aá]fico de (?:personas|migrantes)|trata de personas|polleros?|resettle\w*|reasentamiento|"
    r"temporary protected status|los [aá]ngeles declaration|declaraci[oó]n de los [aá]ngeles)",
    re.IGNORECASE,
)
# Words that put a passage near the border question: kept out of the out-of-scope pools.
_BORDER = re.compile(r"border|frontera|fronteriz", re.IGNORECASE)
_ENVIRONMENT_ES = re.compile(
    r"selva|bosque|deforesta|ecosistema|medio ambiente|ambiental|biodiversidad|contamina|basura|desechos|residuos|"
    r"cambio clim[aá]tico|sequ[ií]a|reforesta|conservaci[oó]n|parque nacional|[aá]reas? protegidas?|r[ií]os?\b|"
    r"miner[ií]a ilegal|fauna|cacer[ií]a|agua potable",
    re.IGNORECASE,
)
_LABEL_VOCABULARY_ES = re.compile(
    r"seguridad|delincuen|crimen|criminal|narcotr|fiscal[ií]a|detenid|desarrollo|inversi[oó]n|empleo|pobreza|"
    r"humanitari|derechos humanos|protecci[oó]n|asistencia|albergue|medio ambiente|ambiental|ecosistema|"
    r"conservaci[oó]n|visa|integraci[oó]n|comunidades|bienestar|programas? sociales?",
    re.IGNORECASE,
)
_LABEL_VOCABULARY = re.compile(
    r"enforce|trafficking|criminal|prosecut|border|security forces|development|investment|jobs|"
    r"poverty|humanitarian|vulnerable|human rights|assistance|shelter|environment|climate|"
    r"ecosystem|conservation|visa|pathway|integration|communities",
    re.IGNORECASE,
)


def migration_subset_ids(corpora_dir: Path) -> set[str]:
    """The White House ids of the migration-subset Markdown files (``a__b__c.md`` -> ``a/b/c``)."""
    folder = Path(corpora_dir) / "wh-migration-americas-md"
    return {path.name[:-3].replace("__", "/") for path in folder.glob("*.md")}


def _candidates(corpora_dir: Path, subset: set[str]) -> Iterator[tuple[str, str, object, object]]:
    """Yield ``(stratum, corpus, document, passage)`` for every stratum a passage fits."""
    for key, file_name in CORPUS_FILES.items():
        for document in load_corpus(Path(corpora_dir) / file_name):
            doc_migration = len(_MIGRATION.findall(document.text))
            for passage in segment(document):
                if not 80 <= len(passage.text) <= 1200:
                    continue
                has_migration = bool(_MIGRATION.search(passage.text))
                has_environment = bool(_ENVIRONMENT.search(passage.text))
                strata = []
                if key == "wh" and document.doc_id in subset:
                    strata.append("wh_migration_subset")
                elif key == "wh" and has_migration:
                    strata.append("wh_migration_terms")
                if has_environment and (has_migration or (doc_migration >= 5 and document.doc_id in subset)):
                    strata.append("environment_terms")
                if doc_migration == 0 and _LABEL_VOCABULARY.search(passage.text):
                    strata.append(f"{key}_hard_negative")
                if key == "state" and has_migration:
                    strata.append("state_migration_terms")
                if key == "state":
                    strata.append("state_random")
                in_context = has_migration or doc_migration >= 3
                if in_context and _DEVELOPMENT.search(passage.text):
                    strata.append("development_terms")
                if in_context and _ENVIRONMENT_WIDE.search(passage.text):
                    strata.append("environment_terms_r2")
                if has_migration and _HUMANITARIAN.search(passage.text):
                    strata.append("humanitarian_terms")
                if key == "state" and has_migration:
                    strata.append("state_migration_terms_r2")
                if len(_MIGRATION.findall(passage.text)) >= 2:
                    strata.append(f"{key}_migration_dense")
                    strata.append(f"{key}_migration_dense_r5")
                if key == "wh" and has_migration and document.doc_id not in subset:
                    strata.append("wh_migration_terms_r5")
                migration_mentions = len(_MIGRATION.findall(passage.text))
                if key == "wh" and migration_mentions >= 2:
                    strata.append("wh_migration_dense_r6")
                if key == "state" and has_migration:
                    strata.append("state_migration_r6")
                if key == "wh" and migration_mentions == 1 and _HUMANITARIAN.search(passage.text):
                    strata.append("wh_humanitarian_single_r6")
                if doc_migration >= 5 and _ENVIRONMENT_STRONG.search(passage.text):
                    strata.append("environment_context_r6")
                if doc_migration >= 10 and _ENVIRONMENT_STRONG.search(passage.text):
                    strata.append("environment_in_migration_pages")
                if doc_migration >= 10 and _CLIMATE_TITLE.search(document.title or ""):
                    strata.append("climate_migration_pages")
                if re.search(r"dari[eé]n", passage.text, re.IGNORECASE):
                    strata.append("darien_passages")
                for stratum in strata:
                    yield stratum, file_name, document, passage


def _mentions(pattern: re.Pattern, text: str) -> list[int]:
    return [match.start() for match in pattern.finditer(text)]


def _near(positions: list[int], start: int, end: int, reach: int) -> bool:
    """Whether any position lies within ``reach`` characters of ``[start, end)``."""
    index = bisect.bisect_left(positions, start - reach)
    return index < len(positions) and positions[index] < end + reach


def _ood_candidates(corpora_dir: Path, excluded_docs: set[tuple[str, str]]) -> Iterator[tuple[str, str, object, object]]:
    """Yield ``(stratum, corpus, document, passage)`` for the out-of-domain evaluation round (:data:`OOD_SIZES`).

    ``excluded_docs`` holds ``(corpus, doc_key)`` of documents to skip whole: for round 7 the training
    gold's (so the evaluation never reads a page the models learnt from), for round 8 the evaluation
    set's (so the new training gold never shares a document with it).
    """
    from .data import doc_key

    reach = 1500
    for key, file_name in {**OOD_CORPUS_FILES, **CORPUS_FILES}.items():
        for document in load_corpus(Path(corpora_dir) / file_name):
            text = document.text
            migration = sorted(_mentions(_MIGRATION, text) + _mentions(_MIGRATION_ES, text))
            border = _mentions(_BORDER, text)
            strict = _mentions(_MIGRATION_STRICT, text)
            if key in CORPUS_FILES and migration:
                continue  # training corpora give only out-of-scope passages of pages never annotated
            if (file_name, doc_key(document.doc_id)) in excluded_docs:
                continue  # a document with gold (training rounds; round 8: the evaluation set's documents)
            for passage in segment(document):
                if not 80 <= len(passage.text) <= 1200:
                    continue
                strata = []
                vocabulary = _LABEL_VOCABULARY.search(passage.text) or _LABEL_VOCABULARY_ES.search(passage.text)
                far = not _near(migration, passage.start, passage.end, reach) and not _near(border, passage.start, passage.end, 0)
                if far and vocabulary:
                    strata.append(f"{key}_out_of_scope")
                if key in OOD_CORPUS_FILES:
                    if _MIGRATION_STRICT.search(passage.text):
                        strata.append(f"{key}_migration")
                    if re.search(r"dari[eé]n", passage.text, re.IGNORECASE):
                        strata.append(f"{key}_darien")
                    environment = _ENVIRONMENT_WIDE.search(passage.text) or _ENVIRONMENT_ES.search(passage.text)
                    if environment and _near(strict, passage.start, passage.end, 600):
                        strata.append(f"{key}_environment")
                    strata.append(f"{key}_any")
                for stratum in strata:
                    yield stratum, file_name, document, passage


def draw_annotation_sample(corpora_dir: str | Path, *, seed: int = 13, sizes: dict[str, int] | None = None,
                           exclude: set[tuple[str, str, int, int]] | None = None,
                           exclude_docs: set[tuple[str, str]] | None = None, stratum_suffix: str = "") -> list[dict]:
    """Sample passages per stratum; return reference records (no labels) in a shuffled order.

    Each record holds ``passage_id``, ``corpus``, ``doc_id``, ``start``,
    ``end``, ``sha256``, ``stratum`` and, for the annotators' eyes only (never
    committed), ``text``, ``title``, ``lead`` and ``context`` (the previous
    passage).  A passage drawn by two strata is kept once, under the first.
    Reservoir sampling with a seeded ``random.Random`` keeps memory bounded
    and the draw reproducible.  ``exclude`` holds ``(corpus, doc_key, start,
    end)`` of passages drawn before (:func:`darien_nlp.data.doc_key`), so a
    later round never draws them again: round 2 is
    ``draw_annotation_sample(corpora, seed=29, sizes=ROUND2_SIZES, exclude=round_1)``.
    The rounds of the new corpora (7 and later) also skip whole documents: ``exclude_docs``
    (``(corpus, doc_key)``), by default every document of ``exclude``. ``stratum_suffix`` is
    appended to each record's stratum (round 9: ``_r9``).
    """
    from .data import doc_key

    exclude = exclude or set()
    sizes = dict(DEFAULT_SIZES if sizes is None else sizes)
    rng = random.Random(seed)
    reservoirs: dict[str, list] = {name: [] for name in sizes}
    seen: dict[str, int] = {name: 0 for name in sizes}
    if set(sizes) <= set(OOD_SIZES):
        if exclude_docs is None:
            exclude_docs = {(corpus, doc) for corpus, doc, _, _ in exclude}
        candidates = _ood_candidates(Path(corpora_dir), exclude_docs)
    else:
        candidates = _candidates(Path(corpora_dir), migration_subset_ids(Path(corpora_dir)))
    for stratum, file_name, document, passage in candidates:
        if stratum not in sizes:
            continue
        if (file_name, doc_key(document.doc_id), passage.start, passage.end) in exclude:
            continue
        seen[stratum] += 1
        record = (file_name, document, passage)
        reservoir = reservoirs[stratum]
        if len(reservoir) < sizes[stratum]:
            reservoir.append(record)
        else:
            slot = rng.randrange(seen[stratum])
            if slot < sizes[stratum]:
                reservoir[slot] = record
    records: list[dict] = []
    taken: set[str] = set()
    for stratum in sizes:
        for file_name, document, passage in sorted(reservoirs[stratum], key=lambda r: r[2].passage_id):
            key = f"{file_name}|{passage.passage_id}"
            if key in taken:
                continue
            taken.add(key)
            records.append(_record(stratum + stratum_suffix, file_name, document, passage))
    rng.shuffle(records)
    return records


def _record(stratum: str, file_name: str, document, passage) -> dict:
    context_start = max(0, passage.start - 300)
    context = document.text[context_start:passage.start].strip()
    return {
        "passage_id": passage.passage_id,
        "corpus": file_name,
        "doc_id": document.doc_id,
        "start": passage.start,
        "end": passage.end,
        "sha256": hashlib.sha256(passage.text.encode("utf-8")).hexdigest(),
        "stratum": stratum,
        "title": document.title,
        "date": document.date.isoformat() if document.date else None,
        "lead": passage.lead,
        "context": context,
        "text": passage.text,
    }


#: The annotation rounds of the committed gold data: round -> (seed, stratum sizes).
ROUNDS = {1: (13, DEFAULT_SIZES), 2: (29, ROUND2_SIZES), 3: (31, ROUND3_SIZES), 4: (37, ROUND4_SIZES),
          5: (41, ROUND5_SIZES), 6: (43, ROUND6_SIZES)}
#: Evaluation rounds: drawn the same way, annotated into ``experiments/annotations/ood``, never trained on.
EVAL_ROUNDS = {7: (47, OOD_SIZES)}
#: Training rounds of the new corpora: annotated into ``experiments/annotations/transfer``; their draw
#: skips every document of the evaluation rounds' folder (``experiments/annotations/ood``).
TRANSFER_ROUNDS = {8: (53, TRANSFER_SIZES), 9: (59, TRANSFER2_SIZES), 10: (61, TRANSFER3_SIZES)}
#: What a training round of the new corpora appends to its strata's names (they share round 7's names).
TRANSFER_SUFFIX = {8: "", 9: "_r9", 10: "_r10"}


def transfer_exclusions(records: list[dict], round_number: int) -> set[tuple[str, str, int, int]]:
    """Passages a training round of the new corpora must skip: those of the earlier such rounds
    (by their strata's suffix), so each round redraws exactly."""
    from .data import reference_key

    earlier = {f"{name}{TRANSFER_SUFFIX[number]}" for number, (_, sizes) in TRANSFER_ROUNDS.items()
               if number < round_number for name in sizes}
    return {reference_key(r) for r in records if r.get("stratum") in earlier}

_TASK_FIELDS = ("corpus", "doc_id", "start", "end", "sha256", "stratum", "passage_id")


def write_annotation_task(records: list[dict], folder: str | Path, *, chunk_size: int = 200,
                          prefix: str = "p") -> list[Path]:
    """Write a drawn sample as annotator chunks: ``chunkN.jsonl`` (what annotators read) and ``map.json``.

    Each chunk line holds a short ``aid`` and what an annotator needs -- ``title``, ``date``,
    ``context_before``, ``lead_in`` and the passage ``text`` -- so the folder holds corpus text:
    keep it outside the repository.  ``map.json`` maps every ``aid`` to its wordless reference.
    Returns the chunk paths.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    task = {}
    paths = []
    for number, start in enumerate(range(0, len(records), chunk_size), 1):
        path = folder / f"chunk{number}.jsonl"
        with open(path, "w", encoding="utf-8") as handle:
            for offset, record in enumerate(records[start:start + chunk_size], start + 1):
                aid = f"{prefix}{offset:04d}"
                task[aid] = {key: record[key] for key in _TASK_FIELDS}
                handle.write(json.dumps({"aid": aid, "title": record["title"], "date": record["date"],
                                         "context_before": record["context"], "lead_in": record["lead"],
                                         "text": record["text"]}, ensure_ascii=False) + "\n")
        paths.append(path)
    (folder / "map.json").write_text(json.dumps(task, indent=0, sort_keys=True), encoding="utf-8")
    return paths


def pass_records(task: dict[str, dict], labels_by_aid: dict[str, list[str]], pass_name: str) -> list[dict]:
    """Turn one annotator's ``aid -> labels`` into pass records (wordless references, no text).

    Refuses an ``aid`` the task does not hold and labels outside the taxonomy, naming them.
    """
    from .data import GoldDataError, doc_key
    from .taxonomy import LABELS, validate_labels

    records = []
    for aid, labels in labels_by_aid.items():
        if aid not in task:
            raise GoldDataError(f"pass {pass_name!r}: passage {aid!r} is not in this annotation task")
        try:
            labels = set(validate_labels(labels, where=f"pass {pass_name!r}, passage {aid!r}"))
        except (ValueError, TypeError) as error:
            raise GoldDataError(str(error)) from error
        reference = task[aid]
        records.append({"corpus": reference["corpus"], "doc": doc_key(reference["doc_id"]),
                        "index": int(reference["passage_id"].rsplit(":", 2)[-2]), "start": reference["start"],
                        "end": reference["end"], "sha256": reference["sha256"], "stratum": reference["stratum"],
                        "labels": [label for label in LABELS if label in labels], "pass": pass_name})
    return records


def round_exclusions(records: list[dict], round_number: int) -> set[tuple[str, str, int, int]]:
    """References a round's draw must skip: every annotated passage of the earlier rounds' strata.

    With the committed pass records this reproduces each round's sample exactly; a round
    beyond :data:`ROUNDS` skips every annotated passage.
    """
    from .data import reference_key

    earlier = {stratum for number, (_, sizes) in ROUNDS.items() if number < round_number for stratum in sizes}
    return {reference_key(r) for r in records
            if round_number not in ROUNDS or r.get("stratum") in earlier}


def scope_negatives(corpora_dir: str | Path, size: int, *, seed: int = 0, exclude_docs: set[tuple[str, str]] = frozenset(),
                    context_chars: int | None = None, far: int = 0,
                    annotated: dict[tuple[str, str], list[tuple[int, int]]] | None = None,
                    exclude_texts: set[str] = frozenset()) -> list:
    """Passages of training-corpus pages that never mention migration, as label-less training passages.

    The annotation guide gives no label outside migration, so a page with no migration term at all
    is a cheap, abundant negative; the out-of-domain set's card measures how often the rule is wrong
    on a read sample (its ``*_out_of_scope`` strata).  Passages (80-1,200 characters) that use the
    labels' vocabulary are drawn by seeded reservoir sampling; ``exclude_docs`` holds
    ``(corpus, doc_key)`` of annotated documents (training gold and evaluation sets), which are skipped.

    ``far`` adds that many passages of the Mexican Presidency and UNDP corpora (:data:`OOD_CORPUS_FILES`),
    whose long transcripts seldom have a page without migration: passages with no migration term within
    1,500 characters and no border word (the rule of the evaluation round's ``*_out_of_scope`` strata, in
    either language), stratum ``scope_negative_far``.

    ``annotated`` maps ``(corpus, doc_key)`` of training-gold documents to their annotated spans
    ``(start, end)``: the page pool skips those documents whole, the far pool reads them but skips every
    passage that overlaps an annotated span (a transcript's gold sits near its migration talk; the rest of
    it is the Spanish text the rule is for). Evaluation documents belong in ``exclude_docs``; the sha256
    of evaluation passages' texts in ``exclude_texts`` (stock lines recur across documents: a negative
    never repeats an evaluation passage word for word).
    Returns :class:`darien_nlp.data.GoldPassage` objects with ``annotation_pass="scope-rule"``.
    """
    rng = random.Random(seed)
    annotated = {key: sorted(spans) for key, spans in (annotated or {}).items()}
    pools = (("scope_negative", lambda root: _page_negatives(root, set(exclude_docs) | set(annotated)), size),
             ("scope_negative_far", lambda root: _far_negatives(root, exclude_docs, annotated), far))
    exclude_texts = set(exclude_texts)

    def unseen(candidates):
        if not exclude_texts:
            return candidates
        return (found for found in candidates if found[2].sha256 not in exclude_texts)

    picked = [negative for stratum, candidates, n in pools if n
              for negative in _reservoir(unseen(candidates(Path(corpora_dir))), n, rng,
                                         lambda found, stratum=stratum: _negative(stratum, *found, context_chars))]
    return sorted(picked, key=lambda g: (g.corpus, g.passage_id))


def _reservoir(items: Iterable, size: int, rng: random.Random, keep=lambda item: item) -> list:
    """A seeded uniform sample of ``size`` of ``items`` (reservoir sampling: one pass, bounded memory);
    an item is stored as ``keep(item)``, made only when it enters the sample (so no document is held)."""
    reservoir: list = []
    for seen, item in enumerate(items, 1):
        if len(reservoir) < size:
            reservoir.append(keep(item))
        else:
            slot = rng.randrange(seen)
            if slot < size:
                reservoir[slot] = keep(item)
    return reservoir


def _page_negatives(corpora_dir: Path, exclude_docs) -> Iterator[tuple]:
    """``(corpus, document, passage)``: passages of training-corpus pages without any migration term."""
    from .data import doc_key

    for file_name in CORPUS_FILES.values():
        for document in load_corpus(corpora_dir / file_name):
            if _MIGRATION.search(document.text) or _MIGRATION_ES.search(document.text) \
                    or (file_name, doc_key(document.doc_id)) in exclude_docs:
                continue
            for passage in segment(document):
                if 80 <= len(passage.text) <= 1200 and _LABEL_VOCABULARY.search(passage.text):
                    yield file_name, document, passage


def _far_negatives(corpora_dir: Path, exclude_docs, annotated=None) -> Iterator[tuple]:
    """``(corpus, document, passage)``: passages of the new corpora far from any migration term, with no
    border word, overlapping no span of ``annotated`` (``(corpus, doc_key)`` -> sorted ``(start, end)``)."""
    from .data import doc_key

    annotated = annotated or {}
    for file_name in OOD_CORPUS_FILES.values():
        for document in load_corpus(corpora_dir / file_name):
            key = (file_name, doc_key(document.doc_id))
            if key in exclude_docs:
                continue
            spans = annotated.get(key, ())
            migration = sorted(_mentions(_MIGRATION, document.text) + _mentions(_MIGRATION_ES, document.text))
            border = _mentions(_BORDER, document.text)
            for passage in segment(document):
                if 80 <= len(passage.text) <= 1200 \
                        and (_LABEL_VOCABULARY.search(passage.text) or _LABEL_VOCABULARY_ES.search(passage.text)) \
                        and not _near(migration, passage.start, passage.end, 1500) \
                        and not _near(border, passage.start, passage.end, 0) \
                        and not any(start < passage.end and passage.start < end for start, end in spans):
                    yield file_name, document, passage


def _negative(stratum: str, file_name: str, document, passage, context_chars: int | None):
    from .corpus import context_window
    from .data import GoldPassage

    context = None if context_chars is None else context_window(document.text, passage.start, passage.end, context_chars)
    return GoldPassage(passage_id=passage.passage_id, corpus=file_name, doc_id=document.doc_id, start=passage.start,
                       end=passage.end, text=passage.text, labels=(), split="train", annotation_pass="scope-rule",
                       stratum=stratum, context=context)


def unlabelled_passages(corpora_dir: str | Path, *, near: int, far: int, seed: int = 0,
                        corpora: Iterable[str] = ("wh", "state"), exclude_docs: set[tuple[str, str]] = frozenset(),
                        context_chars: int | None = None, reach: int = 600) -> list:
    """Passages nobody annotated, for a teacher model to label (distillation; see ``train_classifier.v1``).

    For each corpus named in ``corpora`` (keys of :data:`CORPUS_FILES` and :data:`OOD_CORPUS_FILES`),
    two seeded reservoirs of content passages (80-1,200 characters): up to ``near`` passages within
    ``reach`` characters of a strict migration term (English or Spanish), where the labels live,
    and up to ``far`` of the rest, which teach what gets no label.  Documents in ``exclude_docs``
    (``(corpus file, doc_key)``: the training gold and every evaluation set) are skipped.  The
    term list only decides which passages are drawn; their labels come from the teacher.
    Returns :class:`darien_nlp.data.GoldPassage` objects without labels, ``annotation_pass="unlabelled"``,
    ``stratum`` ``"<corpus>_near"`` or ``"<corpus>_far"``, sorted by corpus and passage.
    """
    from .corpus import context_window
    from .data import GoldPassage, doc_key

    files = {**CORPUS_FILES, **OOD_CORPUS_FILES}
    corpora = list(corpora)
    unknown = [key for key in corpora if key not in files]
    if unknown:
        raise ValueError(f"unlabelled_passages: unknown corpora {unknown}; choose from {sorted(files)}")
    for name, value in (("near", near), ("far", far)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"unlabelled_passages: {name} must be an int >= 0. Got {value!r} instead.")
    rng = random.Random(seed)
    drawn: list = []
    for key in corpora:
        file_name = files[key]
        reservoirs: dict[str, list] = {"near": [], "far": []}
        seen = {"near": 0, "far": 0}
        sizes = {"near": near, "far": far}
        for document in load_corpus(Path(corpora_dir) / file_name):
            if (file_name, doc_key(document.doc_id)) in exclude_docs:
                continue
            strict = _mentions(_MIGRATION_STRICT, document.text)
            for passage in segment(document):
                if not 80 <= len(passage.text) <= 1200:
                    continue
                stratum = "near" if _near(strict, passage.start, passage.end, reach) else "far"
                seen[stratum] += 1
                slot = seen[stratum] - 1 if len(reservoirs[stratum]) < sizes[stratum] else rng.randrange(seen[stratum])
                if slot >= sizes[stratum]:
                    continue
                context = None if context_chars is None else context_window(document.text, passage.start, passage.end,
                                                                             context_chars)
                item = GoldPassage(passage_id=passage.passage_id, corpus=file_name, doc_id=document.doc_id,
                                   start=passage.start, end=passage.end, text=passage.text, labels=(), split="train",
                                   annotation_pass="unlabelled", stratum=f"{key}_{stratum}", context=context)
                if slot == len(reservoirs[stratum]):
                    reservoirs[stratum].append(item)
                else:
                    reservoirs[stratum][slot] = item
        drawn += reservoirs["near"] + reservoirs["far"]
    return sorted(drawn, key=lambda g: (g.corpus, g.passage_id))
