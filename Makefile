# One entry point for set-up, tests, benchmarks and code generation.
# `make run` and `make test` install everything they need on a fresh Debian machine.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
JS_DRIVER := tests/interop/xmtpjs
JS_STAMP := $(JS_DRIVER)/node_modules/.installed-stamp
WALLETKIT := tests/interop/walletkit
WK_STAMP := $(WALLETKIT)/node_modules/.installed-stamp
ETHERS_DIR := tests/interop/ethers
ETHERS_STAMP := $(ETHERS_DIR)/node_modules/.installed-stamp
HARDHAT_DIR := tests/interop/hardhat
HARDHAT_STAMP := $(HARDHAT_DIR)/node_modules/.installed-stamp
PROTO_FILES := $(wildcard app/keyengine/proto/*.proto)

.PHONY: all run test lint typecheck unit bench proto deps node-deps system-deps clean

all: test

# --- set-up ---------------------------------------------------------------
$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "installing python3 (apt)"; apt-get update && apt-get install -y python3 python3-venv python3-pip; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $@

$(JS_STAMP): $(JS_DRIVER)/package.json $(JS_DRIVER)/package-lock.json
	@command -v node >/dev/null || { echo "installing Node.js (apt)"; apt-get update && apt-get install -y nodejs npm; }
	cd $(JS_DRIVER) && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

SYS_STAMP := $(VENV)/.system-deps-stamp
# Debian packages the tests need: a real Secret Service (gnome-keyring) in a D-Bus session.
$(SYS_STAMP): $(STAMP)
	@if ! command -v gnome-keyring-daemon >/dev/null || ! command -v dbus-run-session >/dev/null; then \
	  echo "installing gnome-keyring and dbus (apt)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gnome-keyring dbus >/dev/null; \
	fi
	@touch $@

$(WK_STAMP): $(WALLETKIT)/package.json $(WALLETKIT)/package-lock.json
	@command -v node >/dev/null || { echo "installing Node.js (apt)"; apt-get update && apt-get install -y nodejs npm; }
	cd $(WALLETKIT) && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

# ethers v6 (a second keystore implementation) and a Hardhat 2 dev node (a JSON-RPC wallet).
$(ETHERS_STAMP): $(ETHERS_DIR)/package.json $(ETHERS_DIR)/package-lock.json
	@command -v node >/dev/null || { echo "installing Node.js (apt)"; apt-get update && apt-get install -y nodejs npm; }
	cd $(ETHERS_DIR) && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

$(HARDHAT_STAMP): $(HARDHAT_DIR)/package.json $(HARDHAT_DIR)/package-lock.json
	@command -v node >/dev/null || { echo "installing Node.js (apt)"; apt-get update && apt-get install -y nodejs npm; }
	cd $(HARDHAT_DIR) && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

deps: $(STAMP)
node-deps: $(JS_STAMP) $(WK_STAMP) $(ETHERS_STAMP) $(HARDHAT_STAMP)
system-deps: $(SYS_STAMP)

# --- everyday commands ----------------------------------------------------
run: $(STAMP)
	$(VENV)/bin/xmtp-companion

lint: $(STAMP)
	$(VENV)/bin/ruff check app tests bench
	$(VENV)/bin/ruff format --check app tests bench

typecheck: $(STAMP)
	$(VENV)/bin/mypy

unit: $(STAMP) $(JS_STAMP) $(WK_STAMP) $(ETHERS_STAMP) $(HARDHAT_STAMP) $(SYS_STAMP)
	$(PY) -m pytest -q

test: lint typecheck unit

bench: $(STAMP) $(JS_STAMP)
	$(PY) -m bench.run

# Regenerate the protobuf modules (committed) from our .proto files.
proto: $(STAMP)
	PATH="$(abspath $(VENV))/bin:$$PATH" $(PY) -m grpc_tools.protoc -I . \
	  --python_out=. --mypy_out=. $(PROTO_FILES)

clean:
	rm -rf $(VENV) $(JS_DRIVER)/node_modules $(ETHERS_DIR)/node_modules $(HARDHAT_DIR)/node_modules .mypy_cache .pytest_cache .ruff_cache
