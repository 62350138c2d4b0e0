# Everything a fresh machine with Python 3.11+ and make needs: `make demo`, `make test`.
# Installs are locked: pip installs only uv (hash-pinned, requirements-uv.txt), and uv installs
# exactly the versions and hashes in uv.lock. `make lock` refreshes the lock from pyproject.toml.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
TOOLS  := .tools
UV     := $(TOOLS)/bin/uv
STAMP  := $(VENV)/.installed
CASE   ?= cases/demo

# uv must use the machine's Python (never download one) and put the project's env in .venv.
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)

.PHONY: demo test install lock bench clean browser java

$(UV): requirements-uv.txt
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install -qq --require-hashes --no-deps -r requirements-uv.txt
	touch $(UV)

# Bytecode is compiled at install, as pip does: uv does not by default, and where .pyc files may
# not be written (PYTHONDONTWRITEBYTECODE) every process start compiled its imports again
# (0.2 s for the CLI, 1.9 s for each Spark worker's first task).
$(STAMP): pyproject.toml uv.lock $(UV) Makefile
	$(UV) sync --locked --all-extras --compile-bytecode --python $(PYTHON) --quiet
	touch $(STAMP)

install: $(STAMP)

# Re-resolve the newest versions pyproject.toml allows; commit uv.lock and requirements.lock.txt
# (the same pins for environment.yml, whose pip cannot read uv.lock).
lock: $(UV)
	$(UV) lock --upgrade
	$(UV) export --frozen --all-extras --no-emit-project --no-hashes --format requirements-txt \
	  -o requirements.lock.txt -q

demo: $(STAMP)
	$(BIN)/s3forensics demo --case $(CASE)

# The report tests drive Debian's Chromium headless; install it when we may (root, apt).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	      || echo "warning: could not install chromium; the browser tests will say so"; \
	  else echo "note: install chromium (e.g. sudo apt-get install chromium) for the browser tests"; fi; }

# The Spark tests (lake build/query --engine spark) need a Java runtime; Debian's is enough.
java:
	@command -v java >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless >/dev/null) \
	      || echo "warning: could not install openjdk-17-jre-headless; the Spark tests will say so"; \
	  else echo "note: install a Java 17+ runtime (e.g. sudo apt-get install openjdk-17-jre-headless) for the Spark tests"; fi; }

test: $(STAMP) browser java
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_ingest.py

clean:
	rm -rf $(VENV) $(TOOLS) cases
