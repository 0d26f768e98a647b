"""Architecture rules of the engine.

* ``app.keyengine`` stays GUI-free: no module imports Qt (PySide6, PyQt*, shiboken6) or qasync,
  nor the front ends that may (``app.companion``, ``app.cli``); importing every engine module
  loads none of them, nor ``keyring`` (whose backends are probed at import: the vault imports
  it lazily).
* ``app.walletconnect`` is a WalletConnect package, not XMTP code: it imports nothing from the
  engine, the front ends or the node (nor Qt), and importing it loads none of them.
* The engine has one public face: the front ends import only the modules in
  ``ENGINE_PUBLIC`` (and the signers under ``app.keyengine.wallets``), never the primitives
  (``crypto``, ``proto``), the protocol internals behind the verdicts, or a private name.
* Value modules import no wallet signers: only the flows and the recipes ask a wallet to sign,
  so a reader sees every wallet prompt where it happens.
* The committed protobuf modules are exactly what ``make proto`` generates from the ``.proto``
  files, so nobody edits generated code by hand or forgets to regenerate it.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
ENGINE = REPO / "app" / "keyengine"
PROTO_DIR = ENGINE / "proto"
VENV_BIN = Path(sys.executable).parent

FORBIDDEN_ROOTS = ("PySide6", "PySide2", "qasync", "shiboken6", "shiboken2")
FORBIDDEN_PREFIXES = ("PyQt",)
FRONT_ENDS = ("app.companion", "app.cli")
NOT_LOADED_AT_IMPORT = (*FORBIDDEN_ROOTS, "keyring")


def _module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


ENGINE_FILES = sorted(ENGINE.rglob("*.py"))
ENGINE_MODULES = [_module_name(path) for path in ENGINE_FILES]


def _is_forbidden(module: str) -> bool:
    root = module.split(".", 1)[0]
    if root in FORBIDDEN_ROOTS or root.startswith(FORBIDDEN_PREFIXES):
        return True
    return any(module == front or module.startswith(front + ".") for front in FRONT_ENDS)


def _imported_modules(path: Path) -> list[tuple[int, str]]:
    """Every module ``path`` imports, statically or through a literal ``import_module``."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = _module_name(path) if path.name == "__init__.py" else _module_name(path.parent)
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            found.append((node.lineno, module))
            found += [(node.lineno, f"{module}.{alias.name}") for alias in node.names]
        elif isinstance(node, ast.Call) and node.args:
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            first = node.args[0]
            if name in ("import_module", "__import__") and isinstance(first, ast.Constant):
                found.append((node.lineno, str(first.value)))
    return found


def test_engine_modules_are_found() -> None:
    assert "app.keyengine.keys" in ENGINE_MODULES
    assert "app.keyengine.wallets.raw_key" in ENGINE_MODULES
    assert "app.keyengine.proto.public_key_pb2" in ENGINE_MODULES


@pytest.mark.parametrize("path", ENGINE_FILES, ids=lambda p: str(p.relative_to(REPO)))
def test_engine_module_imports_no_gui(path: Path) -> None:
    bad = [
        f"line {line}: {module}"
        for line, module in _imported_modules(path)
        if _is_forbidden(module)
    ]
    assert not bad, f"{path.relative_to(REPO)} imports GUI code: {bad}"


def test_importing_the_engine_loads_no_gui() -> None:
    imports = "; ".join(f"import {module}" for module in ENGINE_MODULES)
    check = (
        "import sys; "
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
        f"{NOT_LOADED_AT_IMPORT!r} or m.startswith({FORBIDDEN_PREFIXES!r}) "
        f"or m.startswith({tuple(f + '.' for f in FRONT_ENDS)!r}) or m in {FRONT_ENDS!r}); "
        "assert not bad, bad"
    )
    result = subprocess.run(
        [sys.executable, "-c", f"{imports}; {check}"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr


ENGINE_PUBLIC: frozenset[str] = frozenset(
    {
        "app.keyengine",  # the package itself (``from app.keyengine import errors``)
        "app.keyengine.flows",  # login, rotation, lookup, invitations, backup; their events
        "app.keyengine.verdicts",  # what holds about keys: attestation, pre-keys, lookups
        "app.keyengine.artefacts",  # what an artefact is and whether its signatures hold
        "app.keyengine.recipes",  # the steps that ask a wallet to sign
        "app.keyengine.errors",
        "app.keyengine.network",  # the node client and its errors
        "app.keyengine.vault",  # the keyring stores
        "app.keyengine.files",  # owner-only atomic writes, bounded reads of regular files
        "app.keyengine.json_input",  # JSON from outside, depth-checked before parsing
        "app.keyengine.texts",  # the XMTP signature texts a prompt shows
        "app.keyengine.fingerprints",  # the one short form of a key every front end shows
        "app.keyengine.topics",  # topic names (the node health probe)
        "app.keyengine.bundles",  # the values a front end holds and writes out
        "app.keyengine.contact",
        "app.keyengine.encrypted_bundle",
        "app.keyengine.prekeys",  # rotation and merging of bundles (values, no wallet)
        "app.keyengine.keystore_service",  # the Keystore API served to XMTP apps
        "app.keyengine.remembered",  # continuing from the keyring; publishing what is pending
    }
)
"""What a front end may import from the engine, besides the signers in ``SIGNER_PACKAGE``."""
SIGNER_PACKAGE = "app.keyengine.wallets"
ASKS_WALLETS = frozenset({"app.keyengine.flows", "app.keyengine.recipes"})
"""The engine modules outside ``SIGNER_PACKAGE`` that may call a signer."""

FRONT_END_FILES = sorted(
    path for front in FRONT_ENDS for path in (REPO / front.replace(".", "/")).rglob("*.py")
)


def _engine_module(module: str) -> str | None:
    """The engine module an import names (``from m import name`` counts as ``m``)."""
    if module != "app.keyengine" and not module.startswith("app.keyengine."):
        return None
    return module


def _is_within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def _front_end_imports(path: Path) -> list[tuple[int, str, str]]:
    """(line, module, imported name or "") of every engine import in a front-end file."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[tuple[int, str, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name, "") for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found += [(node.lineno, node.module, alias.name) for alias in node.names]
        elif isinstance(node, ast.Call) and node.args:
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            first = node.args[0]
            if name in ("import_module", "__import__") and isinstance(first, ast.Constant):
                found.append((node.lineno, str(first.value), ""))
    return [(line, module, name) for line, module, name in found if _engine_module(module)]


def test_front_ends_are_found() -> None:
    names = {_module_name(path) for path in FRONT_END_FILES}
    assert {"app.cli.main", "app.cli.artefacts", "app.companion.viewmodels.identity"} <= names
    assert all(module in ENGINE_MODULES for module in ENGINE_PUBLIC - {"app.keyengine"})


@pytest.mark.parametrize("path", FRONT_END_FILES, ids=lambda p: str(p.relative_to(REPO)))
def test_front_ends_import_only_the_engines_public_modules(path: Path) -> None:
    bad = []
    for line, module, name in _front_end_imports(path):
        submodule = f"{module}.{name}" if name else module
        if submodule in ENGINE_MODULES and not name.startswith("_"):
            module, name = submodule, ""  # ``from app.keyengine import errors``: a module
        public = module in ENGINE_PUBLIC or _is_within(module, SIGNER_PACKAGE)
        if not public or name.startswith("_"):
            bad.append(f"line {line}: {module}{f' import {name}' if name else ''}")
    assert not bad, f"{path.relative_to(REPO)} reaches inside the engine: {bad}"


VALUE_FILES = [
    path
    for path in ENGINE_FILES
    if _module_name(path) not in ASKS_WALLETS and not _is_within(_module_name(path), SIGNER_PACKAGE)
]


def test_value_modules_are_found() -> None:
    names = {_module_name(path) for path in VALUE_FILES}
    values = {"keys", "bundles", "encrypted_bundle", "contact", "invitations", "messages"}
    assert {f"app.keyengine.{name}" for name in values} <= names
    assert {"app.keyengine.attestation", "app.keyengine.authn", "app.keyengine.prekeys"} <= names


@pytest.mark.parametrize("path", VALUE_FILES, ids=lambda p: str(p.relative_to(REPO)))
def test_value_modules_import_no_wallet_signers(path: Path) -> None:
    bad = [
        f"line {line}: {module}"
        for line, module in _imported_modules(path)
        if _is_within(module, SIGNER_PACKAGE)
    ]
    assert not bad, (
        f"{path.relative_to(REPO)} asks a wallet: move that step to the flows or the recipes "
        f"({bad})"
    )


PROTO_FILES = sorted(PROTO_DIR.glob("*.proto"))


def test_generated_protobuf_modules_are_current(tmp_path: Path) -> None:
    """Regenerate as ``make proto`` does and compare byte for byte with the committed files."""
    assert PROTO_FILES
    env = dict(os.environ, PATH=f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "grpc_tools.protoc",
            "-I",
            ".",
            f"--python_out={tmp_path}",
            f"--mypy_out={tmp_path}",
            *(str(path.relative_to(REPO)) for path in PROTO_FILES),
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    generated_dir = tmp_path / PROTO_DIR.relative_to(REPO)
    generated = sorted(
        p.name for p in generated_dir.iterdir() if p.name.endswith(("_pb2.py", "_pb2.pyi"))
    )
    committed = sorted(
        p.name for p in PROTO_DIR.iterdir() if p.name.endswith(("_pb2.py", "_pb2.pyi"))
    )
    expected = sorted(f"{p.stem}_pb2{suffix}" for p in PROTO_FILES for suffix in (".py", ".pyi"))
    assert generated == expected
    assert committed == expected, "committed protobuf modules without a .proto, or missing ones"
    stale = [
        name
        for name in expected
        if (generated_dir / name).read_bytes() != (PROTO_DIR / name).read_bytes()
    ]
    assert not stale, f"regenerate with `make proto`: {stale} differ from their .proto files"


WALLETCONNECT = REPO / "app" / "walletconnect"
WALLETCONNECT_FILES = sorted(WALLETCONNECT.rglob("*.py"))
XMTP_PACKAGES = ("app.keyengine", "app.cli", "app.companion", "app.xmtpnode")


def _is_xmtp_or_gui(module: str) -> bool:
    root = module.split(".", 1)[0]
    if root in FORBIDDEN_ROOTS or root.startswith(FORBIDDEN_PREFIXES):
        return True
    return any(module == package or module.startswith(package + ".") for package in XMTP_PACKAGES)


def test_walletconnect_modules_are_found() -> None:
    names = [_module_name(path) for path in WALLETCONNECT_FILES]
    assert "app.walletconnect.client" in names and "app.walletconnect.relay" in names


@pytest.mark.parametrize("path", WALLETCONNECT_FILES, ids=lambda p: str(p.relative_to(REPO)))
def test_walletconnect_imports_no_xmtp_code(path: Path) -> None:
    bad = [
        f"line {line}: {module}"
        for line, module in _imported_modules(path)
        if _is_xmtp_or_gui(module)
    ]
    assert not bad, f"{path.relative_to(REPO)} imports XMTP or GUI code: {bad}"


def test_importing_walletconnect_loads_no_xmtp_code() -> None:
    imports = "; ".join(f"import {_module_name(path)}" for path in WALLETCONNECT_FILES)
    check = (
        "import sys; "
        f"bad = sorted(m for m in sys.modules if m.startswith({XMTP_PACKAGES!r}) "
        f"or m.split('.')[0] in {FORBIDDEN_ROOTS!r}); "
        "assert not bad, bad"
    )
    result = subprocess.run(
        [sys.executable, "-c", f"{imports}; {check}"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
