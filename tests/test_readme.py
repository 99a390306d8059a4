"""Every code block in README.md runs as it stands (issue #14 item 5), unless the line before it says
``<!-- not run: REASON -->``. Each runs in a fresh process in a scratch folder that holds ``seeds/``
and a copy of one experiment's ``results/``, so nothing is written into the checkout."""
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BLOCK = re.compile(r"(?:<!-- not run: (?P<reason>[^>]*?) -->\n)?```(?P<lang>python|bash)\n(?P<code>.*?)```", re.S)


def readme_blocks(text: str) -> list[tuple[int, str, str, str | None]]:
    """(line, language, code, reason not run) of every python and bash block."""
    return [(text[:m.start("code")].count("\n"), m["lang"], m["code"], m["reason"]) for m in BLOCK.finditer(text)]


BLOCKS = readme_blocks((ROOT / "README.md").read_text(encoding="utf-8"))


def test_readme_blocks_are_found_and_not_run_ones_give_a_reason():
    assert len([b for b in BLOCKS if b[3] is None]) >= 4
    assert all(reason.strip() for *_, reason in BLOCKS if reason is not None)
    sample = "<!-- not run: slow -->\n```bash\nmake\n```\n```python\nprint(1)\n```\n"
    assert [(lang, reason) for _, lang, _, reason in readme_blocks(sample)] == [("bash", "slow"), ("python", None)]


@pytest.fixture(scope="module")
def scratch(tmp_path_factory):
    folder = tmp_path_factory.mktemp("readme")
    os.symlink(ROOT / "seeds", folder / "seeds")
    run = (ROOT / "results" / "benchmark_classify" / "latest.txt").read_text().strip()
    shutil.copytree(ROOT / "results" / "benchmark_classify" / run, folder / "results" / "benchmark_classify" / run)
    (folder / "results" / "benchmark_classify" / "latest.txt").write_text(run + "\n")
    return folder


RUNNABLE = [pytest.param(lang, code, id=f"README.md:{line}-{lang}") for line, lang, code, reason in BLOCKS
            if reason is None]


@pytest.mark.parametrize("lang, code", RUNNABLE)
def test_readme_block_runs(scratch, lang, code):
    if "distributed" in code:
        pytest.importorskip("distributed", reason="the dask extra is not installed")
    env = dict(os.environ, HF_HUB_OFFLINE="1", DARIEN_NLP_MODELS=str(ROOT / "models"),
               PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    if lang == "python":
        script = scratch / "example.py"
        script.write_text(code, encoding="utf-8")
        command = [sys.executable, str(script)]
    else:
        command = ["bash", "-euo", "pipefail", "-c", code]
    done = subprocess.run(command, cwd=scratch, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"exit {done.returncode}\n--- stdout\n{done.stdout[-3000:]}\n--- stderr\n{done.stderr[-3000:]}"
    assert done.stdout.strip()  # every runnable example prints or writes something to show
