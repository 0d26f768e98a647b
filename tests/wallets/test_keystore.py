"""``KeystoreSigner`` and ``create_keystore``: V3 keystores made by eth-account and by ethers v6."""

from __future__ import annotations

import asyncio
import json
import logging
import stat
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account

from app.cli.main import main
from app.keyengine.errors import KeyEngineError, UnsupportedText
from app.keyengine.texts import SignatureRequest
from app.keyengine.wallets import RawKeySigner, request_signature
from app.keyengine.wallets.keystore import (
    CorruptKeystore,
    KeystoreError,
    KeystoreExists,
    KeystoreSigner,
    UnsupportedKdf,
    UnsupportedKeystore,
    WrongPassword,
    create_keystore,
)
from tests.support.ethereum_peers import ethers_make_keystore, ethers_read_keystore

KEY = bytes.fromhex("4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318")
ADDRESS = RawKeySigner(KEY).address
PASSWORD = "correct horse battery staple"
LOW_SCRYPT_N = 2**12
LOW_PBKDF2_ROUNDS = 1000


def _write_eth_account_keystore(path: Path, kdf: str, key: bytes = KEY) -> dict[str, Any]:
    rounds = LOW_SCRYPT_N if kdf == "scrypt" else LOW_PBKDF2_ROUNDS
    document: dict[str, Any] = Account.encrypt(key, PASSWORD, kdf=kdf, iterations=rounds)
    path.write_text(json.dumps(document))
    return document


@pytest.fixture
def scrypt_file(tmp_path: Path) -> Path:
    path = tmp_path / "scrypt.json"
    _write_eth_account_keystore(path, "scrypt")
    return path


def _request() -> SignatureRequest:
    return SignatureRequest.create_identity(b"\x04" + bytes(range(64)))


def _secret_of(signer: KeystoreSigner) -> bytes:
    inner = signer._signer  # test-only peek at the key, to compare with what was encrypted
    secret: bytes = inner._secret
    return secret


# --- unlocking files made by two implementations -----------------------------------------------


@pytest.mark.asyncio
@pytest.mark.parametrize("kdf", ["scrypt", "pbkdf2"])
async def test_unlock_eth_account_keystore_and_sign(tmp_path: Path, kdf: str) -> None:
    path = tmp_path / "key.json"
    _write_eth_account_keystore(path, kdf)
    signer = await KeystoreSigner.unlock(path, PASSWORD)
    assert signer.address == ADDRESS
    assert signer.path == path
    assert _secret_of(signer) == KEY
    signature = await request_signature(signer, _request())
    assert signature == RawKeySigner(KEY).sign_personal_sync(_request().text)


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "password", ["ethers interop", "pässwörd ✓ 鍵", ""], ids=["ascii", "unicode", "empty"]
)
async def test_unlock_ethers_v6_keystore(tmp_path: Path, password: str) -> None:
    path = tmp_path / "ethers.json"
    address = ethers_make_keystore(path, KEY, password, LOW_SCRYPT_N)
    assert address == ADDRESS
    document = json.loads(path.read_text())
    assert "Crypto" in document and document["Crypto"]["kdfparams"]["n"] == LOW_SCRYPT_N
    signer = await KeystoreSigner.unlock(path, password)
    assert signer.address == ADDRESS
    await request_signature(signer, _request())
    with pytest.raises(WrongPassword):
        await KeystoreSigner.unlock(path, password + "x")


@pytest.mark.asyncio
async def test_unlock_ethers_keystore_with_a_not_normalised_password(tmp_path: Path) -> None:
    """ethers derives from the NFKC form; the same password typed decomposed still unlocks."""
    composed = "caf\u00e9"
    path = tmp_path / "ethers.json"
    ethers_make_keystore(path, KEY, composed, LOW_SCRYPT_N)
    signer = await KeystoreSigner.unlock(path, "cafe\u0301")
    assert signer.address == ADDRESS


@pytest.mark.asyncio
@pytest.mark.parametrize("kdf", ["scrypt", "pbkdf2"])
async def test_wrong_password(tmp_path: Path, kdf: str) -> None:
    path = tmp_path / "key.json"
    _write_eth_account_keystore(path, kdf)
    with pytest.raises(WrongPassword) as caught:
        await KeystoreSigner.unlock(path, "not the password")
    assert str(path) in str(caught.value)
    assert "not the password" not in str(caught.value)


# --- damaged and unsupported files ------------------------------------------------------------


def _edit(document: dict[str, Any], dotted: str, value: Any) -> dict[str, Any]:
    copy = json.loads(json.dumps(document))
    *parents, last = dotted.split(".")
    target = copy
    for name in parents:
        target = target[name]
    if value is _DELETE:
        del target[last]
    else:
        target[last] = value
    return copy


_DELETE = object()


def _flip_hex(text: str) -> str:
    return ("0" if text[0] != "0" else "1") + text[1:]


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("dotted", "value", "error"),
    [
        pytest.param("crypto.mac", "FLIP", WrongPassword, id="wrong MAC"),
        pytest.param("crypto.ciphertext", "FLIP", WrongPassword, id="altered ciphertext"),
        pytest.param("crypto.ciphertext", "CUT", CorruptKeystore, id="truncated ciphertext"),
        pytest.param("crypto.mac", "CUT", CorruptKeystore, id="truncated MAC"),
        pytest.param("crypto.cipherparams.iv", "zz" * 16, CorruptKeystore, id="iv not hex"),
        pytest.param("crypto.kdfparams.salt", _DELETE, CorruptKeystore, id="no salt"),
        pytest.param("crypto.kdfparams.n", 1000, CorruptKeystore, id="n not a power of 2"),
        pytest.param("crypto.kdfparams.n", "4096", CorruptKeystore, id="n a string"),
        pytest.param("crypto.kdf", "argon2id", UnsupportedKdf, id="unsupported kdf"),
        pytest.param("crypto.kdfparams.n", 2**24, UnsupportedKdf, id="scrypt too costly"),
        pytest.param("crypto.kdfparams.dklen", 64, UnsupportedKdf, id="dklen 64"),
        pytest.param("crypto.cipher", "aes-128-cbc", UnsupportedKeystore, id="other cipher"),
        pytest.param("version", 4, UnsupportedKeystore, id="version 4"),
        pytest.param("crypto", _DELETE, CorruptKeystore, id="no crypto section"),
        pytest.param("address", "00" * 20, CorruptKeystore, id="address of another key"),
        pytest.param("address", "1234", CorruptKeystore, id="address too short"),
    ],
)
async def test_damaged_or_unsupported_keystores(
    tmp_path: Path, dotted: str, value: Any, error: type[KeystoreError]
) -> None:
    path = tmp_path / "key.json"
    document = _write_eth_account_keystore(path, "scrypt")
    if value in ("FLIP", "CUT"):
        *_, last = dotted.split(".")
        current = document["crypto"][last]
        value = _flip_hex(current) if value == "FLIP" else current[:-8]
    path.write_text(json.dumps(_edit(document, dotted, value)))
    started = time.monotonic()
    with pytest.raises(error) as caught:
        await KeystoreSigner.unlock(path, PASSWORD)
    assert time.monotonic() - started < 5
    message = str(caught.value)
    assert str(path) in message
    assert KEY.hex() not in message and PASSWORD not in message
    assert isinstance(caught.value, KeyEngineError)


@pytest.mark.asyncio
async def test_pbkdf2_with_another_prf_is_unsupported(tmp_path: Path) -> None:
    path = tmp_path / "key.json"
    document = _write_eth_account_keystore(path, "pbkdf2")
    path.write_text(json.dumps(_edit(document, "crypto.kdfparams.prf", "hmac-sha512")))
    with pytest.raises(UnsupportedKdf):
        await KeystoreSigner.unlock(path, PASSWORD)


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "content",
    [b"", b"{not json", b"[1, 2]", b"\xff\xfe", b'{"version": 3, "crypto": {"cipher": "aes'],
    ids=["empty", "broken JSON", "a list", "not UTF-8", "truncated file"],
)
async def test_files_that_are_not_keystores(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "key.json"
    path.write_bytes(content)
    with pytest.raises(CorruptKeystore):
        await KeystoreSigner.unlock(path, PASSWORD)


@pytest.mark.asyncio
async def test_missing_and_huge_files(tmp_path: Path) -> None:
    with pytest.raises(KeystoreError, match="cannot read keystore"):
        await KeystoreSigner.unlock(tmp_path / "absent.json", PASSWORD)
    huge = tmp_path / "huge.json"
    huge.write_bytes(b" " * (1 << 20))
    with pytest.raises(CorruptKeystore, match="too large"):
        await KeystoreSigner.unlock(huge, PASSWORD)


# --- the signer -------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_signer_refuses_other_texts_and_hides_its_key(scrypt_file: Path) -> None:
    signer = await KeystoreSigner.unlock(scrypt_file, PASSWORD)
    with pytest.raises(UnsupportedText):
        await signer.sign_personal("Sign in to example.com")
    with pytest.raises(UnsupportedText):
        await signer.sign_personal(_request().text + " ")
    for shown in (repr(signer), str(signer)):
        assert shown == f"KeystoreSigner(address={ADDRESS})"
    assert not hasattr(signer, "__dict__")
    assert PASSWORD not in repr(signer._signer) and KEY.hex() not in repr(signer._signer)


# --- creating a keystore ----------------------------------------------------------------------


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("kdf", "rounds"), [("scrypt", LOW_SCRYPT_N), ("pbkdf2", LOW_PBKDF2_ROUNDS)]
)
async def test_create_keystore_round_trip(tmp_path: Path, kdf: Any, rounds: int) -> None:
    path = tmp_path / "wallets" / "new.json"
    path.parent.mkdir()
    address = await create_keystore(path, PASSWORD, kdf=kdf, iterations=rounds)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sorted(p.name for p in path.parent.iterdir()) == ["new.json"]  # no temporary left
    document = json.loads(path.read_text())
    assert document["version"] == 3 and document["crypto"]["kdf"] == kdf
    signer = await KeystoreSigner.unlock(path, PASSWORD)
    assert signer.address == address
    secret = _secret_of(signer)
    assert secret.hex() not in path.read_text()
    assert bytes(Account.decrypt(document, PASSWORD)) == secret
    if kdf == "scrypt":  # ethers v6 reads the file we wrote
        assert ethers_read_keystore(path, PASSWORD) == address


@pytest.mark.asyncio
async def test_create_keystore_makes_a_new_key_each_time(tmp_path: Path) -> None:
    first = await create_keystore(tmp_path / "a.json", PASSWORD, iterations=LOW_SCRYPT_N)
    second = await create_keystore(tmp_path / "b.json", PASSWORD, iterations=LOW_SCRYPT_N)
    assert first != second


@pytest.mark.asyncio
async def test_create_keystore_refuses_to_overwrite(tmp_path: Path, scrypt_file: Path) -> None:
    before = scrypt_file.read_bytes()
    with pytest.raises(KeystoreExists, match="refusing to overwrite"):
        await create_keystore(scrypt_file, PASSWORD, iterations=LOW_SCRYPT_N)
    assert scrypt_file.read_bytes() == before
    link = tmp_path / "dangling.json"
    link.symlink_to(tmp_path / "nowhere")
    with pytest.raises(KeystoreExists):
        await create_keystore(link, PASSWORD, iterations=LOW_SCRYPT_N)
    assert not (tmp_path / "nowhere").exists()


@pytest.mark.asyncio
async def test_create_keystore_refuses_empty_password_and_unknown_kdf(tmp_path: Path) -> None:
    with pytest.raises(KeystoreError, match="non-empty password"):
        await create_keystore(tmp_path / "a.json", "")
    with pytest.raises(UnsupportedKdf):
        await create_keystore(tmp_path / "a.json", PASSWORD, kdf="argon2")
    assert list(tmp_path.iterdir()) == []


# --- the event loop keeps running -------------------------------------------------------------


@pytest.mark.asyncio
async def test_real_cost_scrypt_runs_off_the_event_loop(tmp_path: Path) -> None:
    """Creating and unlocking an n=262144 keystore (~0.7 s each) leaves the loop responsive."""
    gaps: list[float] = []
    done = asyncio.Event()

    async def tick() -> None:
        last = time.perf_counter()
        while not done.is_set():
            await asyncio.sleep(0.01)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    ticker = asyncio.create_task(tick())
    await asyncio.sleep(0.03)
    path = tmp_path / "real.json"
    started = time.perf_counter()
    address = await create_keystore(path, PASSWORD)
    created = time.perf_counter() - started
    assert json.loads(path.read_text())["crypto"]["kdfparams"]["n"] == 262144
    started = time.perf_counter()
    signer = await KeystoreSigner.unlock(path, PASSWORD)
    unlocked = time.perf_counter() - started
    done.set()
    await ticker
    assert signer.address == address
    assert unlocked > 0.2 and created > 0.2  # really the costly parameters
    assert len(gaps) > (created + unlocked) / 0.02
    assert max(gaps) < 0.15, f"event loop blocked for {max(gaps):.3f} s"


# --- the CLI never leaks the keystore's key or password ---------------------------------------


def _all_files(root: Path) -> list[Path]:
    return [path for path in root.rglob("*") if path.is_file()]


def test_keyfile_login_leaks_neither_key_nor_password(
    tmp_path_factory: pytest.TempPathFactory,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    inputs = tmp_path_factory.mktemp("inputs")  # holds the password file: not scanned
    scanned = tmp_path_factory.mktemp("scanned")
    data_dir, temp_dir, log_file = scanned / "data", scanned / "tmp", scanned / "app.log"
    temp_dir.mkdir()
    monkeypatch.setenv("TMPDIR", str(temp_dir))
    monkeypatch.setattr(tempfile, "tempdir", str(temp_dir))
    key = bytes.fromhex("5f" * 31 + "a7")
    password = "leak-canary-Pa55word"
    keystore = inputs / "wallet.json"
    address = ethers_make_keystore(keystore, key, password, LOW_SCRYPT_N)
    password_file = inputs / "password.txt"
    password_file.write_text(password + "\n")

    root = logging.getLogger()
    handler = logging.FileHandler(log_file, encoding="utf-8")
    handler.setLevel(logging.DEBUG)
    root.addHandler(handler)
    caplog.set_level(logging.DEBUG)
    try:
        code = main(
            [
                "--data-dir",
                str(data_dir),
                "--json",
                "login",
                "--keyfile",
                str(keystore),
                "--password-file",
                str(password_file),
            ]
        )
    finally:
        root.removeHandler(handler)
        handler.close()
    out, err = capsys.readouterr()
    assert code == 0, err
    lines = [json.loads(line) for line in out.splitlines()]
    assert lines[-1]["wallet_address"] == address
    assert lines[-1]["source"] == "generated"
    assert [line["purpose"] for line in lines if line.get("event") == "sign_request"] == [
        "create_identity",
        "enable_identity",
    ]

    secrets_text = [key.hex(), key.hex().upper(), password]
    files = _all_files(scanned)
    assert (data_dir / "node.sqlite3") in files and log_file in files
    assert caplog.records, "nothing was logged: the capture is not working"
    texts = [out, err, caplog.text, "\n".join(r.getMessage() for r in caplog.records)]
    for text in texts:
        for secret in secrets_text:
            assert secret not in text
    for path in files:
        content = path.read_bytes()
        assert key not in content, path
        for secret in secrets_text:
            assert secret.encode() not in content, path
