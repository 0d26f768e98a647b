"""Wallet signers: everything that can produce an EIP-191 ``personal_sign`` for an account."""

from app.keyengine.wallets.base import SignatureObserver, WalletSigner, request_signature
from app.keyengine.wallets.raw_key import RawKeySigner

__all__ = ["RawKeySigner", "SignatureObserver", "WalletSigner", "request_signature"]
