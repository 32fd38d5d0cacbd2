# Set-up and everyday commands. `make demo` and `make test` work on a fresh clone.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
STAMP := $(VENV)/.deps-stamp

.PHONY: venv install install-test test demo bench dev clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip
	$(PIP) install torch==2.13.0
	$(PIP) install "scikit-build-core>=0.10" "pybind11>=2.12" ninja
	touch $(STAMP)

venv: $(STAMP)

install: $(STAMP)
	$(PIP) install --no-build-isolation .

install-test: $(STAMP)
	$(PIP) install --no-build-isolation ".[test]"

test: install-test
	$(VENV)/bin/pytest -q

demo: install
	$(VENV)/bin/nas demo

bench: install
	$(PY) bench/run_all.py

# In-place build for development: nas_ext/_C*.so next to the sources; use PYTHONPATH=.:python.
dev:
	cmake -S . -B build/dev -G Ninja -DCMAKE_BUILD_TYPE=Release \
	  -DPython_EXECUTABLE=$(abspath $(PY)) \
	  -Dpybind11_DIR=$$($(PY) -m pybind11 --cmakedir)
	cmake --build build/dev -j2

clean:
	rm -rf build dist nas_ext/_C*.so
