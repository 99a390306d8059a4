"""Small synthetic corpora with four clear themes, and a tiny classifier (offline, seconds)."""
import datetime

import numpy as np
import pytest

THEMES = {
    "enforcement": (["Police", "Border agents", "Prosecutors", "Investigators"],
                    ["dismantled", "arrested", "charged", "disrupted"],
                    ["a smuggling network", "human traffickers", "criminal smugglers", "a trafficking ring"],
                    ["at the Darien border crossing", "on the jungle smuggling route", "near the border checkpoint"]),
    "lawful_pathways": (["Safe Mobility Offices", "Consular officers", "Refugee officers", "Parole programs"],
                        ["processed", "approved", "reviewed", "opened"],
                        ["refugee resettlement applications", "family reunification parole", "lawful pathway requests",
                         "humanitarian parole cases"],
                        ["for Venezuelan families", "in Bogota and Panama City", "through the online appointment system"]),
    "environment": (["Park rangers", "Conservation scientists", "Forest guards", "Ecologists"],
                    ["measured", "documented", "restored", "protected"],
                    ["deforestation of the rainforest", "river pollution and trash", "damaged wildlife habitat",
                     "ecosystem conservation areas"],
                    ["in the Darien National Park", "along polluted jungle rivers", "across the tropical forest"]),
    "development": (["Investors", "Development banks", "Employers", "Municipal programs"],
                    ["financed", "created", "expanded", "funded"],
                    ["new jobs and vocational training", "small business loans", "economic opportunity programs",
                     "infrastructure and schools"],
                    ["in host communities", "for local workers and integrated migrants", "to reduce poverty"]),
}


def theme_passages(n_per_theme: int = 40, seed: int = 0) -> tuple[list[str], list[str]]:
    """Generated passages (and their theme) from four disjoint vocabularies."""
    rng = np.random.default_rng(seed)
    texts, themes = [], []
    for theme, pools in THEMES.items():
        for _ in range(n_per_theme):
            words = [pool[rng.integers(len(pool))] for pool in pools]
            texts.append(" ".join(words) + ".")
            themes.append(theme)
    return texts, themes


@pytest.fixture(scope="session")
def themed():
    return theme_passages()


def write_markdown_corpus(folder, *, n_docs: int = 24, per_doc: int = 6, dated: bool = True, seed: int = 0):
    """A folder of Markdown releases with YAML dates: each document mixes passages from one or two themes."""
    folder.mkdir(parents=True, exist_ok=True)
    texts, _ = theme_passages(n_per_theme=n_docs * per_doc // 4 + 1, seed=seed)
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(texts))
    for d in range(n_docs):
        paragraphs = [texts[i] for i in order[d * per_doc:(d + 1) * per_doc]]
        date = datetime.date(2022 + d % 3, 1 + d % 12, 10)
        front = f"---\ntitle: Release {d}\ndate: {date.isoformat()}\n---\n\n" if dated or d % 2 else ""
        (folder / f"release-{d:03d}.md").write_text(front + "\n\n".join(paragraphs) + "\n", encoding="utf-8")
    return folder


@pytest.fixture(scope="session")
def tiny_classifier():
    """A static-backend PolicyClassifier trained in a second on generated sentences."""
    from darien_nlp.classifier import PolicyClassifier

    texts, themes = theme_passages(n_per_theme=10, seed=1)
    return PolicyClassifier(backend="static", cv=2).fit(texts, [[theme] for theme in themes])


FAST = {"reducer": "pca", "n_components": 5, "clusterer": "kmeans", "n_clusters": 4, "representation": "ctfidf",
        "min_cluster_size": 5}
