"""The training recipe end to end on a small synthetic corpus referenced by offsets."""
import gzip
import json
import random

import pytest

from darien_nlp.classifier import PolicyClassifier
from darien_nlp.corpus import load_corpus, segment
from darien_nlp.data import assign_splits
from darien_nlp.experiments import run_experiment
from darien_nlp.taxonomy import LABELS

THEMES = {
    "enforcement": ["Police dismantled a smuggling network moving migrants through the jungle.",
                    "Authorities deported migrants who had no legal basis to remain.",
                    "Border security forces arrested traffickers on the maritime corridor."],
    "lawful_pathways": ["Safe Mobility Offices offer lawful pathways to resettlement.",
                        "The parole program lets Venezuelans arrive through legal channels.",
                        "Regularization gave temporary protected status to migrants."],
    "humanitarian": ["Migrants perish on the dangerous crossing and need shelter and food.",
                     "Vulnerable children on the route need protection and health care.",
                     "Humanitarian assistance reached migrants stranded at the border."],
    "development": ["Investment creates jobs and reduces poverty in border communities.",
                    "Economic opportunity addresses the root causes of migration.",
                    "Host communities receive support for integration of migrants."],
    "environment": ["The migration route damages the rainforest ecosystem.",
                    "Pollution of rivers and deforestation follow the crossing.",
                    "Conservation of the jungle ecosystem along the route."],
    None: ["The press secretary took questions about the weather.",
           "Quarterly tax enforcement results were announced.",
           "The vaccine development milestone was celebrated."],
}


@pytest.fixture()
def synthetic(tmp_path, tiny_seeds):
    rng = random.Random(0)
    corpora = tmp_path / "corpora"
    corpora.mkdir()
    documents = []
    for d in range(60):
        paragraphs = []
        for _ in range(4):
            theme = rng.choice(list(THEMES))
            paragraphs.append((rng.choice(THEMES[theme]) + f" Item {rng.randint(0, 999)}.", theme))
        documents.append(paragraphs)
    with gzip.open(corpora / "synthetic.jsonl.gz", "wt") as handle:
        for d, paragraphs in enumerate(documents):
            handle.write(json.dumps({"id": f"s{d}", "date": "2024-01-01", "text": "\n\n".join(p for p, _ in paragraphs)}) + "\n")
    records = []
    for document in load_corpus(corpora / "synthetic.jsonl.gz"):
        themes = [t for _, t in documents[int(document.doc_id[1:])]]
        for passage, theme in zip(segment(document), themes):
            records.append({"passage_id": passage.passage_id, "corpus": "synthetic.jsonl.gz", "doc_id": document.doc_id,
                            "start": passage.start, "end": passage.end, "sha256": passage.sha256,
                            "labels": [theme] if theme else [], "pass": "a"})
    annotations = tmp_path / "annotations"
    annotations.mkdir()
    (annotations / "gold.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    (annotations / "splits.json").write_text(json.dumps({"documents": assign_splits(records, seed=1)}))
    ood = _out_of_domain_set(corpora, tmp_path / "ood", rng)
    config = tmp_path / "train_synthetic.toml"
    config.write_text(f"""
[experiment]
name = "train_synthetic"
kind = "train_classifier.v1"
seed = 5
[data]
corpora = "{corpora}"
annotations = "{annotations}"
seeds = "{tiny_seeds}"
evaluation_sets = "{ood}"
[model]
backend = "static"
C_grid = [1.0, 8.0]
cv = 3
[baselines]
run = ["tfidf", "zero_shot"]
[evaluate]
n_bootstrap = 50
zero_shot_encoder = "static"
[output]
model_dir = "{tmp_path / 'model'}"
""")
    return config, tmp_path


def _out_of_domain_set(corpora, folder, rng):
    """A small out-of-domain set under the UNDP corpus's name: the themes reworded as another
    publisher might put them, and label-less passages in the out-of-scope stratum."""
    name = "undp-acclabs-en-es-2019-2025.jsonl.gz"
    reworded = {theme: [f"Report {i}: " + sentence.lower() for i, sentence in enumerate(sentences)]
                for theme, sentences in THEMES.items()}
    documents = [[(rng.choice(reworded[theme]), theme) for theme in rng.sample(list(THEMES), 3)] for _ in range(24)]
    with gzip.open(corpora / name, "wt") as handle:
        for d, paragraphs in enumerate(documents):
            handle.write(json.dumps({"id": f"u{d}", "date": "2024-01-01", "text": "\n\n".join(p for p, _ in paragraphs)}) + "\n")
    records, splits = [], {}
    for document in load_corpus(corpora / name):
        d = int(document.doc_id[1:])
        for passage, (_, theme) in zip(segment(document), documents[d]):
            records.append({"corpus": name, "doc_id": document.doc_id, "start": passage.start, "end": passage.end,
                            "sha256": passage.sha256, "labels": [theme] if theme else [], "pass": "a+b agree",
                            "stratum": "undp_in_scope" if theme else "undp_out_of_scope"})
        splits[f"{name}|{records[-1]['doc_id']}"] = "dev" if d % 2 else "test"
    folder.mkdir()
    (folder / "gold.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    (folder / "splits.json").write_text(json.dumps({"documents": splits}))
    return folder


def test_train_recipe_end_to_end_and_reproducible(synthetic):
    config, tmp_path = synthetic
    first = run_experiment(config, results_root=tmp_path / "results", progress=False)
    metrics = json.loads((first / "metrics.json").read_text())
    results = metrics["results"]
    assert set(results) == {"model", "tfidf", "zero_shot"}
    assert set(results["model"]) == {"dev", "test", "seeds"}
    test = results["model"]["test"]
    assert test["macro_f1"] > 0.8  # the themes are separable; a broken pipeline scores far lower
    lo, hi = test["ci95"]["macro_f1"]
    assert lo <= test["macro_f1"] <= hi
    assert "| model | test |" in (first / "report.md").read_text()  # rows name the model by its folder
    assert set(metrics["comparisons"]) == {"tfidf", "zero_shot"}
    for name, comparison in metrics["comparisons"].items():  # paired: the same test rows for both systems
        assert comparison["delta_macro_f1"] == pytest.approx(test["macro_f1"] - results[name]["test"]["macro_f1"])
        lo, hi = comparison["ci95"]
        assert lo <= comparison["delta_macro_f1"] <= hi and 0.0 <= comparison["share_not_better"] <= 1.0
    assert "| minus | Δ macro-F1 |" in (first / "report.md").read_text()
    model = PolicyClassifier.load(tmp_path / "model")
    assert model.metadata_["training_fingerprint"] == metrics["training_fingerprint"]
    card = (tmp_path / "model" / "README.md").read_text()
    assert "## Metrics in domain (test split)" in card
    # out-of-domain figures lead the report, the card and the model's metrics
    report = (first / "report.md").read_text()
    assert report.index("## Out of domain") < report.index("### ood test, English") < report.index("## In domain")
    assert card.index("## Metrics out of domain") < card.index("## Metrics in domain") and "language: [en]" in card
    ood = metrics["out_of_domain"]["sets"]
    assert set(ood) == {"out of scope", "ood test, English", "ood dev, English"}
    english = ood["ood test, English"]
    assert set(english["results"]) == {"model", "keyword cues (untrained)", "zero-shot static (untrained)"}
    assert english["results"]["model"]["macro_f1"] > 0.5  # reworded themes: a model that learnt nothing scores far lower
    assert set(english["comparisons"]["model"]) == {"keyword cues (untrained)", "zero-shot static (untrained)"}
    assert ood["out of scope"]["positives"] == dict.fromkeys(LABELS, 0)
    assert model.metadata_["metrics"]["out_of_domain"]["ood test, English"]["macro_f1"] == english["results"]["model"]["macro_f1"]
    second = run_experiment(config, results_root=tmp_path / "results2", progress=False)
    again = json.loads((second / "metrics.json").read_text())
    assert again["thresholds"] == metrics["thresholds"]
    assert again["results"] == metrics["results"]


def test_train_recipe_tunes_minilm_with_its_head(synthetic):
    pytest.importorskip("sentence_transformers", reason="the minilm extra is not installed")
    config, tmp_path = synthetic
    text = config.read_text().replace('backend = "static"\nC_grid = [1.0, 8.0]\ncv = 3\n', (
        'backend = "minilm_tuned"\nhead = "finetune.v1"\nC_grid = [1.0]\nrefit_on_dev = true\ncv = 3\n'
        '[model.backend_options]\ntrain_layers = 1\nmax_length = 32\nepochs = 3\nlr = 5e-4\nbatch_size = 8\nseed = 2\n'))
    assert "minilm_tuned" in text
    text = text.replace('run = ["tfidf", "zero_shot"]', "run = []")
    config.write_text(text)
    run = run_experiment(config, results_root=tmp_path / "results", progress=False)
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["head"] == "finetune.v1" and metrics["C_selection"][0]["dev_macro_f1"] is None
    assert metrics["results"]["model"]["test"]["macro_f1"] > 0.6  # separable themes; an untuned head scores far lower
    report = (run / "report.md").read_text()
    assert "`finetune.v1`" in report and "held-out 1/3 of the training documents" in report
    assert "so the dev rows are not held out (test is)" in report
    model = PolicyClassifier.load(tmp_path / "model")
    assert set(model.embedder_.state()) and all(k.startswith("encoder.layer.5.") for k in model.embedder_.state())


def test_finetune_head_is_a_validated_choice(synthetic):
    config, tmp_path = synthetic
    config.write_text(config.read_text().replace('backend = "static"', 'backend = "static"\nhead = "mlp.v1"'))
    with pytest.raises(ValueError, match="model.head"):
        run_experiment(config, results_root=tmp_path / "results", progress=False)


def test_train_recipe_with_document_context(synthetic):
    config, tmp_path = synthetic
    text = config.read_text().replace('backend = "static"\n', (
        'backend = "context"\nbare_share = 0.3\n'
        'backend_options = { inner = "static_lex", weight = 0.5, window = 80 }\n'))
    config.write_text(text.replace('run = ["tfidf", "zero_shot"]', 'run = ["tfidf"]'))
    run = run_experiment(config, results_root=tmp_path / "results", progress=False)
    metrics = json.loads((run / "metrics.json").read_text())
    assert set(metrics["results"]) == {"model", "model_passage_alone", "tfidf"}
    assert metrics["window"] == 80 and metrics["bare_share"] == 0.3
    with_context = metrics["results"]["model"]["test"]
    alone = metrics["results"]["model_passage_alone"]["test"]
    assert with_context["n"] == alone["n"] and with_context["macro_f1"] > 0.8
    assert with_context["per_label"] != alone["per_label"] or with_context["ece"] != alone["ece"]
    report = (run / "report.md").read_text()
    assert "| model, passage alone | test |" in report and "80 characters of its document" in report
    model = PolicyClassifier.load(tmp_path / "model")
    assert model.embedder_.uses_context and model.embedder_.window == 80


@pytest.mark.parametrize("share", ["1.0", "-0.1", '"half"'])
def test_bare_share_is_checked(synthetic, share):
    config, tmp_path = synthetic
    config.write_text(config.read_text().replace('backend = "static"\n', f'backend = "context"\nbare_share = {share}\n'))
    with pytest.raises(ValueError, match="bare_share"):
        run_experiment(config, results_root=tmp_path / "results", progress=False)


def test_ensemble_recipe_evaluates_members_and_ships_a_verified_folder(synthetic):
    from darien_nlp.inference import load_predictor

    config, tmp_path = synthetic
    base = config.read_text().replace('run = ["tfidf", "zero_shot"]', "run = []")
    for name, backend in (("plain", 'backend = "static"\n'),
                          ("context", 'backend = "context"\nbackend_options = { inner = "static_lex", window = 80 }\n')):
        config.write_text(base.replace('backend = "static"\n', backend).replace(str(tmp_path / "model"), str(tmp_path / name)))
        run_experiment(config, results_root=tmp_path / "results", progress=False)
    ensemble_config = tmp_path / "ensemble.toml"
    ensemble_config.write_text(base.split("[model]")[0].replace('kind = "train_classifier.v1"', 'kind = "ensemble_classifier.v1"') + f"""
[ensemble]
members = ["{tmp_path / 'plain'}", "{tmp_path / 'context'}"]
weights = [1.0, 1.0]
[evaluate]
n_bootstrap = 50
[output]
model_dir = "{tmp_path / 'ensemble'}"
""")
    run = run_experiment(ensemble_config, results_root=tmp_path / "results", progress=False)
    metrics = json.loads((run / "metrics.json").read_text())
    members = [f"member {tmp_path / 'plain'}", f"member {tmp_path / 'context'}"]
    assert set(metrics["results"]) == {"model", "tfidf", *members} and set(metrics["comparisons"]) == {"tfidf", *members}
    assert metrics["window"] == 80 and metrics["results"]["model"]["test"]["macro_f1"] > 0.8
    report = (run / "report.md").read_text()
    assert "| ensemble | test |" in report and "saw the dev rows" not in report  # the members did not refit on dev
    assert report.index("### ood test, English") < report.index("## In domain")  # out of domain leads here too
    assert set(metrics["out_of_domain"]["sets"]["ood test, English"]["results"]) >= {"ensemble", "ensemble, passage alone"}
    ensemble = load_predictor(tmp_path / "ensemble")
    assert ensemble.names_ == ["plain", "context"] and list(ensemble.weights_) == [0.5, 0.5]
    assert ensemble.metadata_["metrics"]["test"]["macro_f1"] == metrics["results"]["model"]["test"]["macro_f1"]
    ensemble_config.write_text(ensemble_config.read_text().replace("weights = [1.0, 1.0]", "weights = [1.0]"))
    with pytest.raises(ValueError, match="one weight each"):
        run_experiment(ensemble_config, results_root=tmp_path / "results", progress=False)


def test_a_rerun_writes_the_same_model_bytes(synthetic):
    config, tmp_path = synthetic
    config.write_text(config.read_text().replace('run = ["tfidf", "zero_shot"]', "run = []"))
    run_experiment(config, results_root=tmp_path / "results", progress=False)
    first = {p.name: p.read_bytes() for p in (tmp_path / "model").iterdir()}
    run_experiment(config, results_root=tmp_path / "results2", progress=False)
    assert {p.name: p.read_bytes() for p in (tmp_path / "model").iterdir()} == first  # an ensemble over it stays valid


def _unannotated_corpus(corpora, rng):
    """Pages nobody annotated under the State Department corpus's name: what a teacher labels."""
    name = "state-dept-press-2021-2022.jsonl.gz"
    with gzip.open(corpora / name, "wt") as handle:
        for d in range(30):
            themes = [None] * 3 if d % 3 == 0 else rng.sample([t for t in THEMES if t], 3)  # some pages off the subject
            paragraphs = [" ".join(rng.sample(THEMES[theme], 2)) for theme in themes]
            handle.write(json.dumps({"id": f"x{d}", "date": "2024-01-01", "text": "\n\n".join(paragraphs)}) + "\n")
    return name


def test_distillation_adds_teacher_labelled_passages_and_reports_all_three(synthetic):
    config, tmp_path = synthetic
    base = config.read_text().replace('run = ["tfidf", "zero_shot"]', "run = []")
    config.write_text(base.replace(str(tmp_path / "model"), str(tmp_path / "teacher")))
    run_experiment(config, results_root=tmp_path / "results", progress=False)  # the teacher
    state = _unannotated_corpus(tmp_path / "corpora", random.Random(3))
    config.write_text(base + f"""
[distill]
teacher = "{tmp_path / 'teacher'}"
corpora = ["state", "undp"]
near = 40
far = 10
""")
    run = run_experiment(config, results_root=tmp_path / "results", progress=False)
    metrics = json.loads((run / "metrics.json").read_text())
    distill = metrics["distill"]
    # every UNDP page is in the evaluation set, so none is drawn; the State pages give near and far passages
    assert set(distill["drawn"]) == {"state_near", "state_far"} and distill["drawn"]["state_near"] == 40
    assert distill["passages"] == sum(distill["drawn"].values()) and 0 < sum(distill["labelled"].values()) < distill["passages"]
    assert sum(distill["positives"].values()) >= sum(distill["labelled"].values())
    without = json.loads(min(p for p in (tmp_path / "results").glob("train_synthetic/*/metrics.json")
                             if p.parent != run).read_text())  # the teacher's own run
    assert metrics["train_size"] == without["train_size"] + distill["passages"]
    assert set(metrics["results"]) == {"model", "teacher teacher", "model_without_distillation"}
    ood = metrics["out_of_domain"]["sets"]["ood test, English"]
    assert {"model", "teacher teacher", "model without distillation"} <= set(ood["results"])
    # the teacher is the first run's model: the same figures here as in its own run
    assert ood["results"]["teacher teacher"] == without["out_of_domain"]["sets"]["ood test, English"]["results"]["teacher"]
    report = (run / "report.md").read_text()
    assert "Distillation: " in report and "labelled by the teacher `teacher`" in report
    assert "| model without distillation | test |" in report
    assert "Distillation: " in (tmp_path / "model" / "README.md").read_text()


@pytest.mark.parametrize("setting, error", [('corpora = ["elsewhere"]', "distill.corpora"),
                                             ('teacher = "no-such-model"', "No model folder"),
                                             ("near = -1", "near must be an int")])
def test_distillation_settings_are_checked(synthetic, setting, error):
    config, tmp_path = synthetic
    _unannotated_corpus(tmp_path / "corpora", random.Random(3))
    teacher = f'teacher = "{tmp_path / "model"}"\n' if not setting.startswith("teacher") else ""
    if teacher:
        run_experiment(config, results_root=tmp_path / "results", progress=False)
    corpora = "" if setting.startswith("corpora") else 'corpora = ["state"]\n'
    config.write_text(config.read_text() + f"\n[distill]\n{teacher}{corpora}{setting}\n")
    with pytest.raises((ValueError, FileNotFoundError), match=error):
        run_experiment(config, results_root=tmp_path / "results", progress=False)


def _training_set(corpora, folder, rng):
    """A training set of a new corpus (under the Mexican Presidency's file name): the themes reworded, split train."""
    name = "presidencia-mx-es-2018-2026.jsonl.gz"
    documents = [[(f"Conferencia {d}: " + rng.choice(THEMES[theme]).lower(), theme) for theme in rng.sample(list(THEMES), 3)]
                 for d in range(10)]
    with gzip.open(corpora / name, "wt") as handle:
        for d, paragraphs in enumerate(documents):
            handle.write(json.dumps({"id": f"m{d}", "date": "2024-01-01", "text": "\n\n".join(p for p, _ in paragraphs)}) + "\n")
    records = []
    for document in load_corpus(corpora / name):
        for passage, (_, theme) in zip(segment(document), documents[int(document.doc_id[1:])]):
            records.append({"corpus": name, "doc_id": document.doc_id, "start": passage.start, "end": passage.end,
                            "sha256": passage.sha256, "labels": [theme] if theme else [], "pass": "a+b agree",
                            "stratum": "mx_migration"})
    folder.mkdir()
    (folder / "gold.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    (folder / "splits.json").write_text(json.dumps({"documents": {f"{name}|m{d}": "train" for d in range(10)}}))
    return folder, len(records)


def test_training_sets_join_training_and_the_report_says_whose_documents_remain_unseen(synthetic):
    config, tmp_path = synthetic
    base = config.read_text().replace('run = ["tfidf", "zero_shot"]', "run = []")
    config.write_text(base)
    without = json.loads((run_experiment(config, results_root=tmp_path / "results", progress=False) / "metrics.json").read_text())
    folder, size = _training_set(tmp_path / "corpora", tmp_path / "transfer", random.Random(4))
    config.write_text(base.replace("[model]", f'training_sets = ["{folder}"]\n[model]'))
    run = run_experiment(config, results_root=tmp_path / "results", progress=False)
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["train_size"] == without["train_size"] + size
    added = metrics["training_sets"][str(folder)]
    assert added["passages"] == size and added["documents"] == 10 and added["sources"] == ["mx"]
    assert sum(added["positives"].values()) == sum(1 for line in (folder / "gold.jsonl").read_text().splitlines()
                                                   if json.loads(line)["labels"])
    report = (run / "report.md").read_text()
    assert "Gold of the new corpora joined training" in report
    assert "## Out of domain: documents this model never trained on" in report
    card = (tmp_path / "model" / "README.md").read_text()
    assert "documents it never trained on; it read other documents of mx" in card
    assert f"{without['train_size']} gold passages from the White House" in card  # the US gold counted apart
    assert "Gold of the new corpora joined training" in card


def test_a_training_set_that_shares_a_document_with_the_evaluation_sets_is_refused(synthetic):
    from darien_nlp.data import GoldDataError

    config, tmp_path = synthetic
    # the evaluation set itself, offered as training gold
    config.write_text(config.read_text().replace("[model]", f'training_sets = ["{tmp_path / "ood"}"]\n[model]'))
    with pytest.raises(GoldDataError, match="shares 24 documents with the evaluation sets"):
        run_experiment(config, results_root=tmp_path / "results", progress=False)
    config.write_text(config.read_text().replace(f'training_sets = ["{tmp_path / "ood"}"]', 'training_sets = "x"'))
    with pytest.raises(ValueError, match="data.training_sets must be a list"):
        run_experiment(config, results_root=tmp_path / "results", progress=False)


@pytest.mark.parametrize("in_model, other", [(False, "model_with_synthetic"), (True, "model_without_synthetic")])
def test_synthetic_passages_are_reported_with_and_without(synthetic, in_model, other):
    """Named synthetic files always give two fits: the model on its side of data.synthetic_in_model and the
    same recipe on the other side, reported beside it in domain and out of domain."""
    config, tmp_path = synthetic
    written = tmp_path / "synthetic_passages.jsonl"
    written.write_text("".join(json.dumps({"synthetic_id": f"s{i}", "text": sentence, "labels": [theme],
                                           "synthetic": True, "author": "test"}) + "\n"
                               for i, (theme, sentence) in enumerate(
                                   (theme, s) for theme, sentences in THEMES.items() if theme for s in sentences)))
    run = run_experiment(config, results_root=tmp_path / "results", progress=False,
                         overrides=[f'data.synthetic=["{written}"]', f"data.synthetic_in_model={str(in_model).lower()}",
                                    'baselines.run=[]'])
    metrics = json.loads((run / "metrics.json").read_text())
    assert set(metrics["results"]) == {"model", other}
    assert metrics["synthetic"]["in_model"] is in_model and metrics["synthetic"]["passages"] > 0
    shown = "model with synthetic passages" if not in_model else "model without synthetic passages"
    assert shown in metrics["out_of_domain"]["sets"]["ood test, English"]["results"]
    report = (run / "report.md").read_text()
    assert shown in report and ("NOT in this model" in report) is not in_model
    # the fit beside differs from the model by the synthetic passages alone
    passages = metrics["synthetic"]["passages"]
    assert metrics["synthetic"]["other_fit_size"] == metrics["train_size"] + (-passages if in_model else passages)


def test_the_fit_beside_is_the_model_the_other_setting_trains(synthetic):
    """The 'with synthetic passages' figures of a run that keeps them out are those of the model a run with
    data.synthetic_in_model = true ships, and the other way round (with one C: a grid is searched on the
    model's side only), dev passages refit and some passages read alone."""
    config, tmp_path = synthetic
    written = tmp_path / "synthetic_passages.jsonl"
    written.write_text("".join(json.dumps({"synthetic_id": f"s{i}", "text": f"Report {i}: " + sentence,
                                           "labels": [theme], "synthetic": True, "author": "test"}) + "\n"
                               for i, (theme, sentence) in enumerate(
                                   (theme, s) for theme, sentences in THEMES.items() if theme for s in sentences)))
    runs = {}
    for in_model in (False, True):
        run = run_experiment(config, results_root=tmp_path / f"results-{in_model}", progress=False,
                             overrides=[f'data.synthetic=["{written}"]', f"data.synthetic_in_model={str(in_model).lower()}",
                                        "baselines.run=[]", "model.bare_share=0.3", "model.backend=context", "model.C_grid=[4.0]", "model.refit_on_dev=true",
                                        'model.backend_options={inner="static", weight=0.5, window=200}',
                                        f"output.model_dir={tmp_path / f'model-{in_model}'}"])
        runs[in_model] = json.loads((run / "metrics.json").read_text())["results"]
    assert runs[False]["model_with_synthetic"]["test"] == runs[True]["model"]["test"]
    assert runs[True]["model_without_synthetic"]["test"] == runs[False]["model"]["test"]


def test_synthetic_in_model_must_be_a_bool(synthetic):
    config, tmp_path = synthetic
    with pytest.raises(ValueError, match="synthetic_in_model"):
        run_experiment(config, results_root=tmp_path / "results", progress=False,
                       overrides=['data.synthetic_in_model="yes"'])


def test_the_recipe_offers_exactly_the_classifiers_threshold_rules():
    from darien_nlp.classifier import _THRESHOLDS
    from darien_nlp.recipes.train import _THRESHOLD_WORDS

    assert set(_THRESHOLD_WORDS) == set(_THRESHOLDS)
