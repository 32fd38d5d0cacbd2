# Set-up and everyday commands. `make demo` and `make test` work on a fresh clone.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
STAMP := $(VENV)/.deps-stamp

.PHONY: venv install install-test test demo bench dev sanitize clean

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

bench: $(STAMP)
	$(PIP) install --no-build-isolation ".[bench]"
	$(PY) bench/run_all.py

# In-place build for development: nas_ext/_C*.so next to the sources; use PYTHONPATH=.:python.
dev:
	cmake -S . -B build/dev -G Ninja -DCMAKE_BUILD_TYPE=Release \
	  -DPython_EXECUTABLE=$(abspath $(PY)) \
	  -Dpybind11_DIR=$$($(PY) -m pybind11 --cmakedir)
	cmake --build build/dev -j2

# The kernels built with AddressSanitizer + UBSan (CPU only, so the has-CUDA check is deselected) in build/sanitize/pkg, and the kernel, strategy,
# filter and training tests run against them; any report fails the run. libasan is preloaded because the
# Python interpreter itself is not instrumented, libstdc++ with it so that ASan's __cxa_throw interceptor finds
# the real one (C++ exceptions become Python errors). Leak checking is off: CPython and torch keep their arenas.
SANITIZE_PKG := build/sanitize/pkg
SANITIZE_TESTS ?= tests/nas_ext tests/nas/strategies tests/nas/filters tests/nas/test_training.py tests/nas/training \
  tests/nas/correction tests/nas/test_nas.py
sanitize: install-test
	cmake -S . -B build/sanitize -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DNAS_WITH_CUDA=OFF -DNAS_SANITIZE=ON \
	  -DNAS_OUTPUT_DIR=$(abspath $(SANITIZE_PKG))/nas_ext -DPython_EXECUTABLE=$(abspath $(PY)) \
	  -Dpybind11_DIR=$$($(PY) -m pybind11 --cmakedir)
	cmake --build build/sanitize -j2
	cp nas_ext/*.py $(SANITIZE_PKG)/nas_ext/
	export LD_PRELOAD="$$($(CXX) -print-file-name=libasan.so) $$($(CXX) -print-file-name=libstdc++.so)" \
	  ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 PYTHONPATH=$(abspath $(SANITIZE_PKG)):$(abspath python); \
	  (cd build && $(abspath $(PY)) -c "import nas_ext, sys; sys.exit(0 if '/sanitize/' in nas_ext.__file__ else 'not the sanitized nas_ext')") && \
	  $(VENV)/bin/pytest -q -p no:cacheprovider $(SANITIZE_TESTS) \
	  --deselect tests/nas_ext/test_cuda_build.py::test_build_has_cuda_when_nvcc_is_present

clean:
	rm -rf build dist nas_ext/_C*.so
