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

.PHONY: all run test lint typecheck unit fuzz bench proto deps node-deps system-deps clean screenshots icons dist

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

CHROMIUM_STAMP := $(VENV)/.chromium-stamp
# Headless Chromium for the browser check of the node (CORS preflights, fetch in cors mode).
$(CHROMIUM_STAMP): $(STAMP)
	@if ! command -v chromium >/dev/null; then \
	  echo "installing chromium (apt)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	fi
	@touch $@

PG_STAMP := $(VENV)/.postgresql-stamp
# A real PostgreSQL server for the node tests and benchmarks (tests/support/postgres.py runs
# initdb/postgres from it in a temp directory, as the postgres user when root).
$(PG_STAMP): $(STAMP)
	@if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then \
	  echo "installing PostgreSQL (apt)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; \
	fi
	@touch $@

QT_STAMP := $(VENV)/.qt-deps-stamp
# Shared libraries Qt's offscreen platform needs (present on desktops, not on minimal images).
$(QT_STAMP): $(STAMP)
	@if ! QT_QPA_PLATFORM=offscreen $(PY) -c "from PySide6.QtWidgets import QApplication; QApplication([])" >/dev/null 2>&1; then \
	  echo "installing Qt runtime libraries (apt)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libegl1 libgl1 \
	    libxkbcommon0 libfontconfig1 libglib2.0-0 libdbus-1-3 fonts-dejavu-core >/dev/null; \
	fi
	@touch $@

# X server and xcb libraries for real (non-offscreen) windows, e.g. screenshots under Xvfb.
XVFB_STAMP := $(VENV)/.xvfb-stamp
$(XVFB_STAMP): $(QT_STAMP)
	@if ! command -v xvfb-run >/dev/null || ! ldconfig -p | grep -q libxcb-cursor.so.0; then \
	  echo "installing Xvfb and the xcb libraries (apt)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq xvfb xauth \
	    libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0 libxcb-render-util0 \
	    libxcb-xkb1 libxkbcommon-x11-0 libxcb-shape0 libxcb-randr0 libxcb-xinerama0 >/dev/null; \
	fi
	@touch $@

# zbar's command-line decoder: the screenshot test reads the WalletConnect QR codes with it.
ZBAR_STAMP := $(VENV)/.zbar-stamp
$(ZBAR_STAMP): $(XVFB_STAMP)
	@if ! command -v zbarimg >/dev/null; then \
	  echo "installing zbar-tools (apt)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq zbar-tools >/dev/null; \
	fi
	@touch $@

deps: $(STAMP)
node-deps: $(JS_STAMP) $(WK_STAMP) $(ETHERS_STAMP) $(HARDHAT_STAMP)
system-deps: $(SYS_STAMP) $(PG_STAMP) $(CHROMIUM_STAMP)

# --- everyday commands ----------------------------------------------------
run: $(STAMP) $(QT_STAMP)
	$(VENV)/bin/xmtp-companion

# The one-file binary dist/xmtp-companion (PyInstaller, build.spec), from a clean build dir.
dist: $(STAMP) $(QT_STAMP)
	rm -rf build/pyinstaller dist/xmtp-companion
	$(VENV)/bin/pyinstaller --noconfirm --clean --log-level WARN --distpath dist \
	  --workpath build/pyinstaller build.spec

# Every screen rendered under Xvfb (light and dark palette) into docs/screenshots/.
screenshots: $(XVFB_STAMP) $(ZBAR_STAMP)
	xvfb-run -a -s "-screen 0 1400x900x24" $(PY) -m app.companion.screenshots docs/screenshots

# Regenerate resources/icons/*.png from resources/xmtp-companion.svg.
icons: $(QT_STAMP)
	QT_QPA_PLATFORM=offscreen $(PY) -m app.companion.make_icons

lint: $(STAMP)
	$(VENV)/bin/ruff check app tests bench
	$(VENV)/bin/ruff format --check app tests bench

typecheck: $(STAMP)
	$(VENV)/bin/mypy

# Two invocations: the GUI tests (pytest-qt on a qasync loop) must not share a session with
# pytest-asyncio; tests/gui/conftest.py skips that directory when pytest-asyncio is loaded.
unit: $(STAMP) $(JS_STAMP) $(WK_STAMP) $(ETHERS_STAMP) $(HARDHAT_STAMP) $(SYS_STAMP) $(PG_STAMP) \
	  $(QT_STAMP) $(CHROMIUM_STAMP) $(ZBAR_STAMP)
	$(PY) -m pytest -q
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q tests/gui -p no:asyncio -W ignore::pytest.PytestConfigWarning

test: lint typecheck unit

# The parser fuzz tests with the long budget (Hypothesis profile "fuzz": at least 100,000
# damaged inputs per parser; several minutes, not part of `make test`, which runs "quick").
fuzz: $(STAMP)
	XMTP_FUZZ_PROFILE=fuzz $(PY) -m pytest -q tests/engine/test_fuzz_parsers.py --durations=10

bench: $(STAMP) $(JS_STAMP) $(PG_STAMP)
	$(PY) -m bench.run

# Regenerate the protobuf modules (committed) from our .proto files.
proto: $(STAMP)
	PATH="$(abspath $(VENV))/bin:$$PATH" $(PY) -m grpc_tools.protoc -I . \
	  --python_out=. --mypy_out=. $(PROTO_FILES)

clean:
	rm -rf build dist $(VENV) $(JS_DRIVER)/node_modules $(ETHERS_DIR)/node_modules $(HARDHAT_DIR)/node_modules .mypy_cache .pytest_cache .ruff_cache
