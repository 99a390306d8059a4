import json

import pytest

from darien_nlp.experiments import load_config, run_experiment

from .conftest import write_markdown_corpus

CONFIG = """
[experiment]
name = "topics_test"
kind = "topics.v1"
seed = 3

[data]
corpora = "{corpora}"
source = "releases"

[model]
reducer = "pca"
clusterer = "kmeans"
n_clusters = 4
min_cluster_size = 5
representation = ["mmr"]

[classifier]
model = "{classifier}"

[output]
cache_dir = "{cache}"
"""


def _config(tmp_path, classifier="none"):
    path = tmp_path / "topics.toml"
    path.write_text(CONFIG.format(corpora=tmp_path / "corpora", classifier=classifier, cache=tmp_path / "cache"))
    return path


@pytest.fixture()
def corpus(tmp_path):
    folder = write_markdown_corpus(tmp_path / "corpora" / "releases", n_docs=24, dated=False)
    (folder / "release-999.md").write_text((folder / "release-000.md").read_text())  # a duplicate document
    return folder


def test_recipe_writes_tables_figures_model_and_report(tmp_path, corpus, tiny_classifier, capsys):
    tiny_classifier.save(tmp_path / "models" / "tiny-policy")
    run = run_experiment(_config(tmp_path, tmp_path / "models" / "tiny-policy"), results_root=tmp_path / "results", progress=False,
                         root=tmp_path)
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["topics"] == 4 and metrics["duplicate_documents"] == 1
    assert metrics["undated_documents"] == 12 and metrics["undated_passages"] > 0
    assert metrics["category_mix"]["available"] and metrics["topics_named_by_stop_words"] == []
    assert metrics["peak_rss_mb"] > 0 and metrics["total_seconds"] > 0
    quality = metrics["quality"]  # NPMI over the run's passages, window and top-n stated; diversity
    assert -1.0 <= quality["npmi"] <= 1.0 and 0.0 < quality["diversity"] <= 1.0 and quality["window"] == "passage"
    assert quality["stop_named_share"] == 0.0 and "NPMI coherence" in (run / "report.md").read_text()
    for name in ("topics.csv", "topics.json", "topics_over_time.csv", "category_shares_over_time.csv",
                 "label_view.csv", "document_topics.csv", "passage_topics.csv.gz", "report.md",
                 "figures/topic_map.html", "figures/topic_map.png", "figures/top_topics.png",
                 "figures/topics_over_time.html", "figures/category_shares_over_time.png", "model/manifest.json"):
        assert (run / name).is_file(), name
    topics = json.loads((run / "topics.json").read_text())
    best = {max(t["category_mix"], key=t["category_mix"].get) for t in topics}
    assert best == {"enforcement", "lawful_pathways", "environment", "development"}
    assert all(-1.0 <= t["npmi"] <= 1.0 for t in topics)  # four disjoint vocabularies: coherent topics
    assert quality["npmi"] > 0  # terms of one theme share passages; terms mixing themes would score -1
    representative = topics[0]["representatives"][0]
    assert set(representative) == {"passage_id", "doc_id", "start", "end"}
    corpus_text = (corpus / "release-001.md").read_text().split("\n\n")[-1].strip()
    assert corpus_text[:40] not in (run / "topics.json").read_text()  # ids and offsets, never text
    assert "4 topics" in capsys.readouterr().out


def test_recipe_without_classifier_reports_category_mix_unavailable(tmp_path, corpus, monkeypatch):
    from darien_nlp.embed.static import default_static_path

    models = tmp_path / "models-without-classifier"
    models.mkdir()
    (models / default_static_path().name).symlink_to(default_static_path())
    monkeypatch.setenv("DARIEN_NLP_MODELS", str(models))
    path = _config(tmp_path, "default")
    run = run_experiment(path, results_root=tmp_path / "results", progress=False, root=tmp_path)
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["category_mix"]["available"] is False
    assert "no classifier model" in metrics["category_mix"]["reason"]
    assert "category mix unavailable" in (run / "report.md").read_text()
    # The second run reads the embeddings from the cache.
    again = run_experiment(path, results_root=tmp_path / "results", progress=False, root=tmp_path)
    assert json.loads((again / "metrics.json").read_text())["embeddings_from_cache"] is True


def test_fewer_documents_than_min_cluster_size_is_a_clear_error(tmp_path):
    write_markdown_corpus(tmp_path / "corpora" / "releases", n_docs=3)
    with pytest.raises(ValueError, match=r"needs at least 40 documents .*has 3"):
        run_experiment(_config(tmp_path), overrides=["model.min_cluster_size=40"],
                       results_root=tmp_path / "results", progress=False, root=tmp_path)


def test_shipped_configs_validate():
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "experiments"
    for name in ("topics_migration_subset.toml", "topics_wh_full.toml", "topics_wh_full_scope.toml", "topics_state_dept.toml"):
        config = load_config(root / name)
        assert config["experiment"]["kind"] == "topics.v1"


@pytest.mark.slow
@pytest.mark.corpora
def test_migration_subset_config_runs(corpora, tmp_path):
    from pathlib import Path

    config = Path(__file__).resolve().parents[2] / "experiments" / "topics_migration_subset.toml"
    run = run_experiment(config, overrides=[f"data.corpora={corpora}", f"output.cache_dir={tmp_path / 'cache'}"],
                         results_root=tmp_path / "results", progress=False, root=tmp_path)
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["topics"] >= 5 and metrics["topics_named_by_stop_words"] == []
    assert metrics["documents"] >= 100
    # Topics group passages by subject: some topic is mostly one policy category (e.g. border patrol -> enforcement).
    topics = json.loads((run / "topics.json").read_text())
    assert max(max(t["category_mix"].values()) for t in topics) >= 0.4


def test_scope_on_fits_topics_on_labelled_passages_and_keeps_the_rest_apart(tmp_path, corpus):
    """scope.mode = "labels": passages the classifier gives no label (here: the environment theme,
    which this classifier learnt as label-less) form one "outside the categories" group, never a topic."""
    import gzip

    import pandas as pd

    from darien_nlp.classifier import PolicyClassifier

    from .conftest import theme_passages

    texts, themes = theme_passages(n_per_theme=10, seed=1)
    labels = [[] if theme == "environment" else [theme] for theme in themes]
    PolicyClassifier(backend="static", cv=2).fit(texts, labels).save(tmp_path / "models" / "three-themes")
    path = _config(tmp_path, tmp_path / "models" / "three-themes")
    run = run_experiment(path, overrides=["scope.mode=labels", "model.n_clusters=3"],
                         results_root=tmp_path / "results", progress=False, root=tmp_path)
    metrics = json.loads((run / "metrics.json").read_text())
    scope = metrics["scope"]
    assert scope["mode"] == "labels" and scope["outside"] > 0 and scope["in_scope"] + scope["outside"] == metrics["passages"]
    topics = json.loads((run / "topics.json").read_text())
    outside = [t for t in topics if t["topic"] == -2]
    assert len(outside) == 1 and outside[0]["name"] == "outside the categories"
    assert outside[0]["size"] == scope["outside"] and metrics["topics"] == 3
    for topic in topics:  # no fitted topic is named by the theme left outside
        if topic["topic"] >= 0:
            assert not {"rainforest", "deforestation", "conservation", "park"} & set(" ".join(topic["words"]).split())
    with gzip.open(run / "passage_topics.csv.gz", "rt") as handle:
        passages = pd.read_csv(handle)
    assert int((passages.topic == -2).sum()) == scope["outside"]
    assert "kept apart as topic -2" in (run / "report.md").read_text()
    # scope off (the default) assigns every passage to a topic
    off = run_experiment(path, overrides=["model.n_clusters=3"], results_root=tmp_path / "results", progress=False,
                         root=tmp_path)
    assert json.loads((off / "metrics.json").read_text())["scope"] == {"mode": "off"}


def test_topics_the_label_heads_leave_unlabelled_are_set_aside(tmp_path, corpus):
    """scope.topic_min_labelled: a topic let in by the scope model (here one that knows all four themes)
    whose passages the classifier mostly leaves without a label (the environment theme) joins topic -2
    after fitting, named in the report; the other topics stay."""
    import gzip

    import pandas as pd

    from darien_nlp.classifier import PolicyClassifier

    from .conftest import THEMES, theme_passages

    texts, themes = theme_passages(n_per_theme=10, seed=1)
    PolicyClassifier(backend="static", cv=2).fit(texts, [[t] for t in themes]).save(tmp_path / "models" / "four")
    PolicyClassifier(backend="static", cv=2).fit(
        texts, [[] if t == "environment" else [t] for t in themes]).save(tmp_path / "models" / "three")
    path = _config(tmp_path, tmp_path / "models" / "three")
    settings = ["scope.mode=labels", f"scope.model={tmp_path / 'models' / 'four'}", "model.n_clusters=4"]
    kept = run_experiment(path, overrides=settings, results_root=tmp_path / "results", progress=False, root=tmp_path)
    before = json.loads((kept / "metrics.json").read_text())
    assert before["topics"] == 4 and "set_aside" not in before["scope"]  # 0 (the default): every topic stays
    run = run_experiment(path, overrides=settings + ["scope.topic_min_labelled=0.5"],
                         results_root=tmp_path / "results", progress=False, root=tmp_path)
    metrics = json.loads((run / "metrics.json").read_text())
    scope = metrics["scope"]
    (aside,) = scope["set_aside"]
    assert aside["labelled_share"] < 0.5 and aside["size"] == scope["set_aside_passages"] > 0
    environment = {word.lower() for pool in THEMES["environment"] for phrase in pool for word in phrase.split()}
    assert set(aside["name"].replace(" · ", " ").split()) <= environment  # the environment theme's topic
    assert metrics["topics"] == 3
    topics = json.loads((run / "topics.json").read_text())
    assert aside["topic"] not in {t["topic"] for t in topics}
    outside = next(t for t in topics if t["topic"] == -2)
    assert outside["size"] == scope["outside"] + scope["set_aside_passages"]
    with gzip.open(run / "passage_topics.csv.gz", "rt") as handle:
        passages = pd.read_csv(handle)
    assert int((passages.topic == -2).sum()) == outside["size"] and aside["topic"] not in set(passages.topic)
    assert "set aside after fitting" in (run / "report.md").read_text()
    # a seed and an event whose words gathered in the topic set aside point at the outside group, with no curve
    guided = run_experiment(path, overrides=settings + [
        "scope.topic_min_labelled=0.5", 'model.seed_words={ "Parks" = ["rainforest", "park rangers"] }',
        'output.events=[{ name = "Parks report", month = "2022-04", seed = "Parks" }]'],
        results_root=tmp_path / "results", progress=False, root=tmp_path)
    metrics = json.loads((guided / "metrics.json").read_text())
    (seed,) = metrics["seeded_topics"]
    assert seed["main_topic"] == -2 and "set aside" in seed["main_topic_name"]
    (event,) = metrics["events"]
    assert event["topic"] == -2 and event["share"] is None and event["rank"] is None
    assert "| Parks report | 2022-04 | -2: outside the categories | – |" in (guided / "report.md").read_text()
    for bad in ("1.5", "true"):
        with pytest.raises(ValueError, match="topic_min_labelled"):
            run_experiment(path, overrides=settings + [f"scope.topic_min_labelled={bad}"],
                           results_root=tmp_path / "results", progress=False, root=tmp_path)
    with pytest.raises(ValueError, match="topic_min_labelled needs scope.mode"):
        run_experiment(path, overrides=["scope.topic_min_labelled=0.5"], results_root=tmp_path / "results",
                       progress=False, root=tmp_path)


def test_scope_settings_fail_clearly(tmp_path, corpus, tiny_classifier):
    tiny_classifier.save(tmp_path / "models" / "tiny-policy")
    path = _config(tmp_path, tmp_path / "models" / "tiny-policy")
    with pytest.raises(ValueError, match="scope head"):  # this model has no scope head
        run_experiment(path, overrides=["scope.mode=score"], results_root=tmp_path / "results", progress=False,
                       root=tmp_path)
    with pytest.raises(ValueError, match="scope.mode"):
        run_experiment(path, overrides=["scope.mode=maybe"], results_root=tmp_path / "results", progress=False,
                       root=tmp_path)
    with pytest.raises(ValueError, match="needs a classifier"):
        run_experiment(_config(tmp_path, "none"), overrides=["scope.mode=labels"], results_root=tmp_path / "results",
                       progress=False, root=tmp_path)


def test_seed_words_guide_topics_and_report_what_gathers_there(tmp_path, corpus):
    path = _config(tmp_path)
    path.write_text(path.read_text().replace('representation = ["mmr"]\n', (
        'representation = ["mmr"]\nseed_topics = "taxonomy"\n'
        'seed_words = { "Darien parks" = ["rainforest", "park rangers", "Darien National Park"], '
        '"Smuggling" = ["smuggling network", "traffickers"], "Unheard" = ["zeppelin hangar"] }\n')))
    run = run_experiment(path, results_root=tmp_path / "results", progress=False, root=tmp_path)
    seeded = {s["seed"]: s for s in json.loads((run / "metrics.json").read_text())["seeded_topics"]}
    assert set(seeded) == {"Darien parks", "Smuggling", "Unheard"}
    assert seeded["Unheard"]["passages_naming_a_seed_word"] == 0
    parks, smuggling = seeded["Darien parks"], seeded["Smuggling"]
    assert parks["passages_naming_a_seed_word"] > 0 and parks["share_in_main_topic"] > 0.5
    assert parks["nearest_topic"] == parks["main_topic"] != smuggling["main_topic"]
    report = (run / "report.md").read_text()
    assert "## Seeded topics: what gathers there" in report
    unheard = next(line for line in report.splitlines() if line.startswith("| Unheard |"))
    assert "(no passage names a seed word)" in unheard  # its nearest topic is no sign the corpus speaks of it
    assert "(no passage names" not in next(line for line in report.splitlines() if line.startswith("| Smuggling |"))
    # a known event is looked up on the curve of the topic its seed gathered in
    path.write_text(path.read_text().replace("[output]\n", '[output]\nevents = [{ name = "Parks report", '
                                             'month = "2022-04", seed = "Darien parks" }]\n'))
    run = run_experiment(path, results_root=tmp_path / "results", progress=False, root=tmp_path)
    metrics = json.loads((run / "metrics.json").read_text())
    (event,) = metrics["events"]
    parks_topic = {s["seed"]: s for s in metrics["seeded_topics"]}["Darien parks"]["main_topic"]
    assert event["topic"] == parks_topic and event["month"] == "2022-04" and 1 <= event["rank"] <= event["months"]
    assert 0.0 <= event["share"] <= 1.0 and event["median_share"] >= 0.0
    # whether the corpus speaks of the event that month: passages naming a seed word, counted from the files
    import re
    named = {}
    for release in sorted(corpus.glob("*.md")):
        text = release.read_text()
        month = re.search(r"^date: (\d{4}-\d{2})", text, re.M)
        if month and release.name != "release-999.md":  # the duplicate document is dropped
            hits = [p for p in text.split("\n\n") if re.search(r"\brainforest\b|\bpark rangers\b|\bdarien national park\b", p, re.I)]
            named[month.group(1)] = named.get(month.group(1), 0) + len(hits)
    named = {m: n for m, n in named.items() if n}
    assert event["seed_passages_that_month"] == named.get("2022-04", 0)
    assert named[event["seed_peak_month"]] == max(named.values())
    assert "seed passages that month" in (run / "report.md").read_text()
    assert (run / "figures" / "events_over_time.png").is_file() and "## Known events over time" in (run / "report.md").read_text()
    path.write_text(path.read_text().replace('seed = "Darien parks" }]', 'seed = "Nowhere" }]'))
    with pytest.raises(ValueError, match="Nowhere"):
        run_experiment(path, results_root=tmp_path / "results", progress=False, root=tmp_path)
    path.write_text(path.read_text().replace('seed = "Nowhere" }]', 'seed = "Darien parks" }]').replace(
        'month = "2022-04"', 'month = "June 2022"'))
    with pytest.raises(ValueError, match="YYYY-MM"):
        run_experiment(path, results_root=tmp_path / "results", progress=False, root=tmp_path)
    path.write_text(path.read_text().replace('"Smuggling" = ["smuggling network", "traffickers"]', '"Empty" = []'))
    with pytest.raises(ValueError, match="seed_words"):
        run_experiment(path, results_root=tmp_path / "results", progress=False, root=tmp_path)


def test_category_mix_reads_each_passage_in_its_document_when_the_model_reads_context(tmp_path, corpus):
    from darien_nlp.classifier import PolicyClassifier
    from darien_nlp.topics.passages import collect_passages

    from .conftest import theme_passages

    texts, themes = theme_passages(n_per_theme=10, seed=1)
    PolicyClassifier(backend="context", backend_options={"inner": "static", "window": 80}, cv=2).fit(
        texts, [[theme] for theme in themes]).save(tmp_path / "models" / "context-policy")
    run = run_experiment(_config(tmp_path, tmp_path / "models" / "context-policy"), results_root=tmp_path / "results",
                         progress=False, root=tmp_path)
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["category_mix"]["read"] == "each passage read with 600 characters of its document on each side"
    assert "read with 600 characters" in (run / "report.md").read_text()
    table = collect_passages(corpus, context_chars=50)
    assert len(table.contexts) == len(table.texts)
    assert all(text in window and len(window) <= len(text) + 2 * 50 + 2 for text, window in zip(table.texts, table.contexts))
    assert collect_passages(corpus).contexts == []  # not collected unless asked
    off = run_experiment(_config(tmp_path, tmp_path / "models" / "context-policy"), overrides=["classifier.context_chars=0"],
                         results_root=tmp_path / "results", progress=False, root=tmp_path)
    assert json.loads((off / "metrics.json").read_text())["category_mix"]["read"] == "each passage read alone"


def test_central_themes_are_looked_up_in_topic_names(tmp_path, corpus):
    path = _config(tmp_path)
    path.write_text(path.read_text().replace("[output]\n", (
        '[output]\nthemes = { "Rainforest" = ["rainforest", "forest", "park", "rangers", "national park"], '
        '"Quantum computing" = ["qubit"] }\n')))
    run = run_experiment(path, results_root=tmp_path / "results", progress=False, root=tmp_path)
    themes = json.loads((run / "metrics.json").read_text())["themes"]
    names = {e["topic"]: e["name"] for e in json.loads((run / "topics.json").read_text())}
    assert themes["themes"] == 2 and themes["themes_named"] == 1 and themes["named"]["Quantum computing"] == []
    forest = themes["named"]["Rainforest"]
    assert forest and all(any(w in names[t] for w in ("forest", "park", "rangers")) for t in forest)
    assert "## Central themes: 1 of 2 name a topic" in (run / "report.md").read_text()
    path.write_text(path.read_text().replace('"Quantum computing" = ["qubit"]', '"Empty" = []'))
    with pytest.raises(ValueError, match="output.themes must map"):
        run_experiment(path, results_root=tmp_path / "results", progress=False, root=tmp_path)
