"""Topics over English and Spanish passages: the bilingual static backbone (static-usem3-v1) puts
passages about the same subject in the same topic, whatever their language."""
import json
from collections import Counter

import numpy as np
import pytest

from darien_nlp.embed.static import models_dir
from darien_nlp.experiments import run_experiment
from darien_nlp.topics import TopicModel

EN = {
    "enforcement": (["Police", "Border agents", "Prosecutors"], ["dismantled", "arrested", "charged"],
                    ["a smuggling network", "human traffickers", "criminal smugglers"],
                    ["at the border crossing", "on the jungle route", "near the checkpoint"]),
    "lawful_pathways": (["Safe Mobility Offices", "Consular officers", "Refugee officers"], ["processed", "approved", "reviewed"],
                        ["refugee resettlement applications", "family reunification visas", "humanitarian parole requests"],
                        ["for Venezuelan families", "in Bogota and Panama City", "through the online appointment system"]),
    "environment": (["Park rangers", "Scientists", "Forest guards"], ["measured", "documented", "reported"],
                    ["deforestation of the rainforest", "river pollution and trash", "damage to wildlife habitat"],
                    ["in the Darien National Park", "along the jungle rivers", "across the tropical forest"]),
    "development": (["Investors", "Development banks", "Employers"], ["financed", "created", "expanded"],
                    ["new jobs and vocational training", "small business loans", "schools and roads"],
                    ["in host communities", "for local workers", "to reduce poverty"]),
}
ES = {
    "enforcement": (["La policía", "Los agentes fronterizos", "Los fiscales"], ["desmantelaron", "arrestaron", "acusaron"],
                    ["una red de tráfico de migrantes", "a los traficantes de personas", "a los contrabandistas"],
                    ["en el cruce fronterizo", "en la ruta de la selva", "cerca del puesto de control"]),
    "lawful_pathways": (["Las oficinas de Movilidad Segura", "Los funcionarios consulares", "Los oficiales de refugio"],
                        ["tramitaron", "aprobaron", "revisaron"],
                        ["solicitudes de reasentamiento de refugiados", "visas de reunificación familiar",
                         "solicitudes de permiso humanitario"],
                        ["para familias venezolanas", "en Bogotá y Ciudad de Panamá", "mediante el sistema de citas en línea"]),
    "environment": (["Los guardaparques", "Los científicos", "Los guardas forestales"], ["midieron", "documentaron", "informaron"],
                    ["la deforestación de la selva tropical", "la contaminación de los ríos y la basura",
                     "el daño al hábitat de la fauna"],
                    ["en el Parque Nacional Darién", "a lo largo de los ríos de la selva", "en el bosque tropical"]),
    "development": (["Los inversionistas", "Los bancos de desarrollo", "Los empleadores"], ["financiaron", "crearon", "ampliaron"],
                    ["nuevos empleos y formación profesional", "préstamos a pequeñas empresas", "escuelas y caminos"],
                    ["en las comunidades de acogida", "para los trabajadores locales", "para reducir la pobreza"]),
}


BILINGUAL = str(models_dir() / "static-usem3-v1")


def _passages(n=25, seed=0):
    rng = np.random.default_rng(seed)
    rows = []
    for language, table in (("en", EN), ("es", ES)):
        for theme, pools in table.items():
            for _ in range(n):
                rows.append((" ".join(pool[rng.integers(len(pool))] for pool in pools) + ".", theme, language))
    return rows


def _same_topic_across_languages(topics, rows) -> dict[str, tuple[int, int, float]]:
    out = {}
    for theme in EN:
        english = Counter(int(t) for t, (_, th, lang) in zip(topics, rows) if th == theme and lang == "en")
        spanish = Counter(int(t) for t, (_, th, lang) in zip(topics, rows) if th == theme and lang == "es")
        (top_en, count_en), (top_es, count_es) = english.most_common(1)[0], spanish.most_common(1)[0]
        out[theme] = (top_en, top_es, min(count_en / sum(english.values()), count_es / sum(spanish.values())))
    return out


def test_bilingual_backbone_puts_one_subject_in_one_topic_in_both_languages():
    rows = _passages()
    model = TopicModel(embedder="static", embedder_options={"path": BILINGUAL}, reducer="pca",
                       n_components=5, clusterer="kmeans", n_clusters=4, min_cluster_size=5, representation="ctfidf",
                       random_state=0).fit([text for text, _, _ in rows])
    result = _same_topic_across_languages(model.topics_, rows)
    for theme, (english, spanish, purity) in result.items():
        assert english == spanish and purity >= 0.8, (theme, result)
    assert len({english for english, _, _ in result.values()}) == 4  # four subjects, four topics


def test_topics_recipe_reads_a_list_of_corpora(tmp_path):
    """data.source may list several corpora (an English and a Spanish one): passages are pooled."""
    rows = _passages(n=12)
    for language in ("en", "es"):
        folder = tmp_path / "corpora" / f"releases-{language}"
        folder.mkdir(parents=True)
        mine = [text for text, _, lang in rows if lang == language]
        for d in range(0, len(mine), 4):
            (folder / f"{language}-{d:03d}.md").write_text(f"---\ntitle: {language} {d}\ndate: 2023-0{1 + d % 9}-10\n---\n\n"
                                                          + "\n\n".join(mine[d:d + 4]) + "\n", encoding="utf-8")
    config = tmp_path / "mixed.toml"
    config.write_text(f"""
[experiment]
name = "topics_mixed"
kind = "topics.v1"
seed = 1
[data]
corpora = "{tmp_path / 'corpora'}"
source = ["releases-en", "releases-es"]
[model]
embedder = "static"
embedder_options = {{ path = "{BILINGUAL}" }}
reducer = "pca"
n_components = 5
clusterer = "kmeans"
n_clusters = 4
min_cluster_size = 5
representation = ["ctfidf"]
[classifier]
model = "none"
[output]
cache_dir = ""
save_model = false
""")
    run = run_experiment(config, results_root=tmp_path / "results", progress=False)
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["passages"] == len(rows) and metrics["documents"] == 24 and metrics["topics"] == 4
    assert "releases-en + releases-es" in (run / "report.md").read_text()
    for topic in json.loads((run / "topics.json").read_text()):  # every subject in both languages
        assert topic["languages"].get("en", 0) >= 0.3 and topic["languages"].get("es", 0) >= 0.3, topic
    assert "| languages |" in (run / "report.md").read_text()
    config.write_text(config.read_text().replace('source = ["releases-en", "releases-es"]', "source = []"))
    with pytest.raises(ValueError, match="data.source"):
        run_experiment(config, results_root=tmp_path / "results", progress=False)
