# `make demo`, `make test` and `make bench` each create or reuse .venv and install what they need.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
EXTRAS ?= test,sql,lsp,train,ray,search,search-dense,web,swe
comma := ,
STAMP := $(VENV)/.installed-$(shell cksum < pyproject.toml | cut -d' ' -f1)-$(subst $(comma),-,$(EXTRAS))

.PHONY: demo test test-slow bench install clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(STAMP): $(PY) pyproject.toml
	$(PY) -m pip install --quiet torch==2.13.0  # the CPU wheel; an unpinned torch pulls a multi-GB CUDA build
	$(PY) -m pip install --quiet -e ".[$(EXTRAS)]"
	rm -f $(VENV)/.installed-* && touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/densegym demo

test: $(STAMP)
	@bash .ci/system-packages  # bubblewrap, postgresql, chromium: installed when root or passwordless sudo, else named
	$(PY) -m pytest -q -m "not slow"

test-slow: $(STAMP)
	$(PY) -m pytest -q -m slow  # every bundled SWE task, gold and unpatched (~10 min); CI runs it after `make test`

bench: $(STAMP)
	$(PY) -m pip install --quiet -r benchmarks/requirements.txt
	$(PY) -m benchmarks.bench_sokoban
	$(PY) -m benchmarks.bench_rollout
	$(PY) -m benchmarks.bench_train
	$(PY) -m pip install --quiet -r benchmarks/requirements-sql.txt
	$(PY) -m pip install --quiet --no-deps skyrl-gym==0.4.0  # its SQL env needs none of its declared deps
	$(PY) -m benchmarks.bench_sql
	$(PY) -m benchmarks.bench_lsp
	$(PY) -m benchmarks.bench_search  # peers: rank_bm25 (the [test] extra), skyrl-gym's search env (above)
	$(PY) -m benchmarks.bench_swe  # executors, warm vs cold resets, the tests reward, disk (needs Docker)
	$(PY) -m benchmarks.bench_learning --quick  # every estimator vs outcome-only GRPO, 5 seeds (20 min; the full run, 56 min: without --quick)

clean:
	rm -rf $(VENV) runs .pytest_cache .hypothesis
