"""install_sizes.v1: the dependency closure of the core and of each extra, and its installed size."""
import json

import pytest

from darien_nlp.experiments import ConfigError, run_experiment
from darien_nlp.recipes.install_sizes import closure, installed_bytes, project_requirements


def test_closure_follows_requirements_and_reports_what_is_missing():
    found, missing = closure("pytest")
    assert {"pytest", "pluggy", "iniconfig"} <= set(found) and missing == []
    assert installed_bytes(found["pluggy"]) > 0
    found, missing = closure("pytest", requires=["pluggy", "not-a-package-darien-test; extra == 'x'"])
    assert set(found) == {"pytest", "pluggy"} and missing == []  # the extra was not asked for
    found, missing = closure("pytest", ("x",), requires=["pluggy", "not-a-package-darien-test; extra == 'x'"])
    assert missing == ["not-a-package-darien-test"]


def test_project_requirements_mark_extras(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "p"\ndependencies = ["numpy>=1"]\n'
                                             '[project.optional-dependencies]\nfast = ["pytest"]\n')
    assert project_requirements(tmp_path / "pyproject.toml") == ["numpy>=1", 'pytest; extra == "fast"']


def test_recipe_measures_core_and_extras(tmp_path):
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    config = tmp_path / "sizes.toml"
    config.write_text('[experiment]\nname = "sizes"\nkind = "install_sizes.v1"\n[install]\nextras = ["dev"]\n')
    run = run_experiment(config, results_root=tmp_path / "results", progress=False, root=root)
    rows = json.loads((run / "metrics.json").read_text())["rows"]
    assert [r["install"] for r in rows] == ["core", "[dev] adds"]
    assert rows[0]["MB"] > 10 and rows[0]["packages"] > 5 and "numpy" in rows[0]["largest"]
    assert rows[1]["packages"] >= 1 and rows[1]["MB"] > 0
    config.write_text(config.read_text().replace('extras = ["dev"]', 'extras = ["dev"]\ndistribution = "no-such-dist"'))
    with pytest.raises(ConfigError, match="is not installed in this environment"):
        run_experiment(config, results_root=tmp_path / "results", progress=False, root=root)
