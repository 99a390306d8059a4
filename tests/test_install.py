"""The built wheel carries the default model: installed into a fresh virtual environment, darien_nlp
classifies from outside the repository, and a changed model file is refused on load."""
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CODE = ("import json, sys, darien_nlp; from darien_nlp.embed.static import models_dir; "
        "p = darien_nlp.classify('Panama and Colombia agreed to dismantle smuggling networks in the Darien.'); "
        "print(json.dumps({'labels': list(p.labels), 'models': str(models_dir()), 'torch': 'torch' in sys.modules}))")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    out = tmp_path_factory.mktemp("wheel")
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", str(ROOT),
                            "-w", str(out)], capture_output=True, text=True)
    if built.returncode != 0:
        pytest.skip(f"cannot build a wheel here: {built.stderr.strip()[-300:]}")
    return next(out.glob("darien_nlp-*.whl"))


def test_wheel_carries_the_default_model_with_its_manifest(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    for model in ("policy-bilingual-scope", "policy-static", "static-minilm-v1", "static-usem3-v1"):
        prefix = next(n for n in names if n.endswith(f"share/darien_nlp/models/{model}/manifest.json")).rsplit("/", 1)[0]
        manifest = json.loads(zipfile.ZipFile(wheel).read(f"{prefix}/manifest.json"))
        files = manifest.get("files", manifest)
        assert files and all(f"{prefix}/{name}" in names for name in files), (model, sorted(files))
    assert not any("/models/policy-minilm/" in n or "/models/policy-usem3/" in n for n in names)  # the core stays light


@pytest.mark.slow
def test_installed_wheel_classifies_outside_the_repository(wheel, tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    installed = subprocess.run([str(python), "-m", "pip", "install", "-q", str(wheel)], capture_output=True, text=True)
    if installed.returncode != 0:
        pytest.skip(f"cannot install the wheel's dependencies here (no package index?): {installed.stderr.strip()[-300:]}")
    env = {k: v for k, v in os.environ.items() if k not in ("DARIEN_NLP_MODELS", "PYTHONPATH")} | {"HF_HUB_OFFLINE": "1"}
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    run = subprocess.run([str(python), "-c", CODE], cwd=elsewhere, env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-2000:]
    result = json.loads(run.stdout)
    assert "enforcement" in result["labels"] and not result["torch"]
    assert Path(result["models"]).is_relative_to(venv)  # the wheel's own copy, not the repository's
    head = Path(result["models"]) / "policy-bilingual-scope" / "head.safetensors"  # the default's
    data = bytearray(head.read_bytes())
    data[-1] ^= 0xFF
    head.write_bytes(bytes(data))
    tampered = subprocess.run([str(python), "-c", CODE], cwd=elsewhere, env=env, capture_output=True, text=True)
    assert tampered.returncode != 0 and "head.safetensors" in tampered.stderr
