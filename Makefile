# Two commands for a newcomer: `make demo` and `make test`.
# Both create .venv at the repository root and install the project into it.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: demo test install distill-deps clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# The CPU build of torch that this machine keeps locally; without it bertopic pulls a CUDA build.
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[topics,minilm,multilingual,dask,dev]'
	touch $@

install: $(VENV)/.installed

demo: $(VENV)/.installed
	$(VENV)/bin/darien-nlp demo seeds --include '*.txt'

test: $(VENV)/.installed
	$(PY) -m pytest -q

# Extra packages to rebuild the static model (experiments/distill_static.toml).
distill-deps: $(VENV)/.installed
	$(PY) -m pip install -q --no-deps skeletoken

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
