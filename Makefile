# Everything runs inside .venv, which `make install` creates and fills.
VENV ?= .venv
PY := $(VENV)/bin/python
DEMO_DIR ?= work_dirs/demo
PYTEST_ARGS ?= -n 2

.PHONY: install test demo data clean help

help:
	@echo "make install  - create $(VENV) and install torch, mmcv (compiled), mmdet, this package"
	@echo "make test     - install, then run the test suite"
	@echo "make demo     - install, then run the end-to-end demo on synthetic data ($(DEMO_DIR))"

install:
	@VENV=$(VENV) bash tools/misc/install_env.sh

test: install
	$(PY) -m pytest $(PYTEST_ARGS) tests

demo: install
	$(PY) demo/run_demo.py --work-dir $(DEMO_DIR)

clean:
	rm -rf work_dirs build *.egg-info
