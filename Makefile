# tcpcheck — every target bootstraps what it needs on a fresh machine.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: help venv demo test lint captures crafted bench bench-live bench-html bench-flood system-deps clean oracle-table

help:
	@echo "make demo      analyse bundled captures (creates the virtualenv first)"
	@echo "make test      run the test suite"
	@echo "make lint      ruff"
	@echo "make captures  regenerate the real Linux captures (root: netns, veth, tcpdump)"
	@echo "make crafted   regenerate the crafted single-rule captures and captures/linktypes"
	@echo "make oracle-table  rewrite docs/oracle-dev.md from a run on ../shared/oracle/dev"
	@echo "make bench     packets/s and peak RSS beside tshark on a 1M-packet capture"
	@echo "make bench-live  tcpcheck sniff's sustained packets/s and capture loss on a veth (root)"
	@echo "make bench-html  size and Chromium load time of the HTML report of 10,000 connections (root)"
	@echo "make bench-flood time and peak RSS on 1,000,000 SYNs and on 200,000 connections left open"
	@echo "make fuzz      mutate the bundled captures through every reader and report (FUZZ_SECONDS=600, FUZZ_SEED)"

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,live,dask]'
	touch $(STAMP)

venv: $(STAMP)

# tshark (the Wireshark agreement test), tcptrace (the statistics agreement test), tcpdump,
# nftables, ethtool: only what is missing is installed.
system-deps:
	@sh scripts/install-system-deps.sh

demo: venv
	$(BIN)/tcpcheck analyze captures/linux/bulk-loss.pcap captures/crafted/syn-isn-changed.pcap; \
	  echo "(exit code $$? — 1 means error findings, as in CI)"

test: venv system-deps
	$(BIN)/ruff check .
	$(BIN)/pytest -q

lint: venv
	$(BIN)/ruff check .

captures: venv system-deps
	$(BIN)/python scripts/make_captures.py

crafted: venv
	$(BIN)/python scripts/craft_captures.py
	$(BIN)/python scripts/make_linktypes.py

# Refuses (and names the cases) when a hand-written reason in docs/oracle-dev.reasons.toml was
# written for another tcpcheck summary than today's: review it, then --accept CASE.
oracle-table: venv
	$(BIN)/python scripts/oracle_table.py

bench: venv system-deps
	$(BIN)/python bench/run_bench.py

bench-live: venv system-deps
	$(BIN)/python bench/live_bench.py

bench-html: venv system-deps
	$(BIN)/python bench/html_bench.py

bench-flood: venv
	$(BIN)/python bench/flood_bench.py

# A long run of the mutation fuzzer (scripts/fuzz.py; tests/test_fuzz.py runs a short one in
# make test). FUZZ_SEED=N replays a run; each crash lands in fuzz-crashes/ with its traceback.
# The wild captures beside the repository, when there, are seeds too.
FUZZ_SECONDS ?= 600
.PHONY: fuzz
fuzz: venv
	$(BIN)/python scripts/fuzz.py --seconds $(FUZZ_SECONDS) $(if $(FUZZ_SEED),--seed $(FUZZ_SEED)) \
	  --crashes fuzz-crashes $(addprefix --corpus ,$(wildcard ../shared/wild/dev))

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .ruff_cache
