"""Recipe ``ood_gold.v1``: the out-of-domain evaluation set from its annotation passes.

Merges ``passes/*.jsonl`` of ``experiments/annotations/ood`` (round 7 of
:mod:`darien_nlp.sampling`: the Mexican Presidency transcripts, the UNDP pages and an
out-of-scope pool of every corpus), splits it by document into ``dev`` and ``test``,
rebuilds every passage from the corpora (hashes verified), measures agreement between the
passes and writes the set's card.  No model trains on any of it.
"""
from __future__ import annotations

import json
import logging
from collections import Counter

from ..experiments import Recipe, RunContext
from ..taxonomy import LABELS
from .gold import _agreement_section, _read, _write_merged, agreement

logger = logging.getLogger(__name__)

#: Corpus file -> the publisher family a report names.
SOURCES = {
    "presidencia-mx-es-2018-2026.jsonl.gz": "mx",
    "undp-acclabs-en-es-2019-2025.jsonl.gz": "undp",
    "wh-briefings-2021-2026.jsonl.gz": "wh",
    "state-dept-press-2021-2022.jsonl.gz": "state",
}


def run(context: RunContext) -> dict:
    from ..corpus.language import detect_language
    from ..data import assign_splits, load_gold, split_key
    from ..evaluate import markdown_table

    config = context.config
    if config["card"]["role"] not in ROLES:
        raise ValueError(f"card.role must be one of {sorted(ROLES)}. Got {config['card']['role']!r} instead.")
    folder = context.path(config["data"]["annotations"])
    seed = config["experiment"]["seed"]
    _write_merged(folder, lead=config["gold"]["lead"])
    records = _read(folder / "gold.jsonl")
    split_file = folder / "splits.json"
    committed = json.loads(split_file.read_text())["documents"] if split_file.is_file() else {}
    present = {split_key(r) for r in records}
    fixed = {k: v for k, v in committed.items() if k in present}
    if present - set(fixed):
        fractions = tuple((name, float(share)) for name, share in config["splits"]["fractions"].items())
        table = assign_splits(records, seed=seed, fractions=fractions, fixed=fixed,
                              min_test_positives=config["splits"]["min_test_positives"])
        split_file.write_text(json.dumps(
            {"seed": seed, "method": "document-level, label-stratified (darien_nlp.data.assign_splits)",
             "documents": dict(sorted(table.items()))}, indent=1, sort_keys=True) + "\n")
    gold = load_gold(context.corpora(), annotations=folder, include_seeds=False)  # verifies every hash
    names = sorted(path.stem for path in (folder / "passes").glob("*.jsonl"))
    passes = {name: _read(folder / "passes" / f"{name}.jsonl") for name in names}
    pairs = {f"{x}-{y}": agreement(passes[x], passes[y]) for i, x in enumerate(names) for y in names[i + 1:]}
    pairs = {pair: result for pair, result in pairs.items() if result["n"]}
    rows = []
    for (source, language, split), members in sorted(_groups(gold, detect_language).items()):
        row = {"source": source, "language": language, "split": split, "passages": len(members),
               "documents": len({g.doc_id for g in members}), "no label": sum(not g.labels for g in members)}
        row.update({label: sum(label in g.labels for g in members) for label in LABELS})
        rows.append(row)
    by_stratum = Counter(g.stratum for g in gold)
    labelled_by_stratum = Counter(g.stratum for g in gold if g.labels)
    figures = {"counts": rows, "agreement": pairs, "pass_sizes": {n: len(r) for n, r in passes.items()},
               "provenance": dict(Counter(r.get("pass", "unknown").split("(")[0] for r in records)),
               "by_stratum": dict(by_stratum),
               "labelled_share_by_stratum": {k: labelled_by_stratum[k] / n for k, n in by_stratum.items()}}
    card = _card(config, figures, markdown_table)
    (context.run_dir / "report.md").write_text(card)
    if config["output"]["write_card"]:
        (folder / "README.md").write_text(card)
    print(card)
    return figures


def _groups(gold, detect_language) -> dict[tuple[str, str, str], list]:
    groups: dict[tuple[str, str, str], list] = {}
    for g in gold:
        key = (SOURCES.get(g.corpus, g.corpus), detect_language(g.text).language, g.split)
        groups.setdefault(key, []).append(g)
    return groups


#: What the card says a set is for (``card.role``): the evaluation set (round 7) or the training set of the
#: new corpora (round 8).
ROLES = {
    "evaluation": {
        "title": "Out-of-domain evaluation set",
        "purpose": "No model of darien_nlp trains on these passages: they are the headline of every training report.",
        "sampling": "Round 7 of `darien_nlp.sampling` (`darien-nlp annotate draw --round 7`, seed 47, `OOD_SIZES`): passages "
                    "naming migration (whole words, English and Spanish), naming the Darién, naming environmental terms within "
                    "600 characters of a migration word, any passage, and an out-of-scope pool: passages with the labels' "
                    "vocabulary (either language) but no migration term within 1,500 characters and no border word (in the "
                    "training corpora: pages with no migration term at all, outside the gold documents).",
        "splits": "`dev` may be used to choose between models; `test` is reported and never used to choose.",
    },
    "training": {
        "title": "Training set of the new corpora",
        "purpose": "Training only (`data.training_sets` of a training config): passages of the Mexican Presidency "
                   "transcripts and the UNDP pages, so that Spanish text and publishers other than the US government "
                   "teach the models. No passage shares a document with the out-of-domain evaluation set "
                   "(`experiments/annotations/ood`): a model trained on this set meets, there, held-out documents of "
                   "publishers it has read, no longer unseen publishers, and its report says so.",
        "sampling": "Rounds 8, 9 and 10 of `darien_nlp.sampling` (`darien-nlp annotate draw --round 8`, seed 53, "
                    "`TRANSFER_SIZES`; `--round 9`, seed 59, `TRANSFER2_SIZES`, strata suffixed `_r9`; `--round 10`, "
                    "seed 61, `TRANSFER3_SIZES`, strata suffixed `_r10`): the strata of "
                    "round 7 in the two new corpora, drawn only from documents that hold no passage of the evaluation "
                    "set (round 7's documents are skipped whole); each later round skips the earlier rounds' passages, not their "
                    "documents. "
                    "Strata asked for but absent or short ran out of such documents: the Darién is named only in "
                    "documents the evaluation set already holds, and round 8 took every UNDP page left.",
        "splits": "Every document is in `train`: nothing here is held out.",
    },
}


def _card(config, f, markdown_table) -> str:
    out_of_scope = {k: v for k, v in f["labelled_share_by_stratum"].items() if k.endswith("_out_of_scope")}
    role = ROLES[config["card"]["role"]]
    name = config["experiment"]["name"]
    return "\n".join([
        f"# {role['title']}", "",
        f"Generated by `darien-nlp experiment run experiments/{name}.toml`; every figure below comes from that run. "
        + role["purpose"], "",
        "## Sources and licences", "",
        "- Mexican Presidency transcripts (`presidencia-mx-es-2018-2026.jsonl.gz`, Spanish): CC BY-SA 4.0, Presidencia "
        "de la República via the public repository fferegrino/mananeras.",
        "- UNDP Accelerator Labs pages (`undp-acclabs-en-es-2019-2025.jsonl.gz`, English and Spanish): UNDP content, "
        "UNDP terms of use, with attribution (via UNDP-Accelerator-Labs/sdg-innovation-commons).",
        *(["- Out-of-scope pool only: White House pages (CC0 1.0) and State Department releases (US government works) "
           "that never mention migration and are not in the training gold data."]
          if any(k.startswith(("wh_", "state_")) for k in f["by_stratum"]) else []), "",
        "Text is never committed: `gold.jsonl` and `passes/` hold corpus, document key, offsets and sha256; "
        f"`darien_nlp.load_gold(annotations='{config['data']['annotations']}', include_seeds=False)` rebuilds them.", "",
        "## Sampling", "",
        role["sampling"], "",
        "| stratum | passages | share labelled |", "|---|---|---|",
        *[f"| {k} | {v} | {f['labelled_share_by_stratum'][k]:.2f} |" for k, v in sorted(f["by_stratum"].items())], "",
        "How often the out-of-scope rule is wrong (annotators gave a label to a passage of the pool): "
        + ", ".join(f"{k} {v:.1%}" for k, v in sorted(out_of_scope.items())) + ".", "",
        "## Annotation", "",
        "Two independent passes (`a`, `b`: annotator helpers who did not see each other's labels) read every passage "
        "against ANNOTATION.md and GUIDELINES.md, with the document title and the text before the passage; where "
        "they disagreed, a third blind pass `d` settled it (label-wise majority of three).", "",
        f"Passes: {', '.join(f'{k}: {v}' for k, v in f['pass_sizes'].items())}. Provenance of the final labels: "
        f"{', '.join(f'{k}: {v}' for k, v in sorted(f['provenance'].items()))}.", "",
        "## Agreement between passes", "", *_agreement_section(f["agreement"]),
        "## Counts (language detected per passage; splits by document)", "",
        markdown_table(f["counts"], ["source", "language", "split", "passages", "documents", "no label", *LABELS]), "",
        role["splits"], "",
        "## Known weaknesses", "",
        "- Annotators were language-model helper passes working from the guide, not domain experts; two passes of the "
        "same kind of model likely agree more than independent humans would.",
        "- `environment` stays rare even here; figures on it carry wide intervals.",
        "- The out-of-scope pool is drawn by vocabulary; subtler off-topic text is under-represented.", "",
    ])


RECIPE = Recipe(
    schema={"data": {"corpora": "", "annotations": "experiments/annotations/ood"},
            "gold": {"lead": "d"},
            "splits": {"fractions": {"dev": 0.4, "test": 0.6}, "min_test_positives": 15},
            "output": {"write_card": True},
            # "evaluation" (round 7: never trained on) or "training" (round 8: the new corpora's training gold)
            "card": {"role": "evaluation"}},
    run=run,
)
