"""Recipe ``distill_static.v1``: distil all-MiniLM-L6-v2 into the shipped static model."""
from __future__ import annotations

import time

from ..experiments import Recipe, RunContext


def run(context: RunContext) -> dict:
    from ..embed.static import distill_static
    from ..persistence import sha256_file

    output = context.path(context.config["output"]["model_dir"])
    started = time.perf_counter()
    distill_static(output, pca_dims=context.config["model"]["pca_dims"], seed=context.config["experiment"]["seed"])
    seconds = time.perf_counter() - started
    report = (f"# {context.config['experiment']['name']}\n\nDistilled all-MiniLM-L6-v2 into `{output}` "
              f"(PCA {context.config['model']['pca_dims']} dims) in {seconds:.1f} s.\n")
    (context.run_dir / "report.md").write_text(report)
    print(report)
    return {"model_dir": str(output), "distill_seconds": round(seconds, 1),
            "model_sha256": sha256_file(output / "model.safetensors")}


RECIPE = Recipe(schema={"model": {"pca_dims": 256}, "output": {"model_dir": "models/static-minilm-v1"}}, run=run)
