"""The symmetric primitives: HMAC-SHA256, SHA-256, AES-128-CBC with PKCS#7, constant-time compare.

``cryptography`` does AES (libsodium has no CBC); the standard library does the hashing.
"""

from __future__ import annotations

import hashlib
import hmac

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from authenticator.errors import DecodeError, IntegrityError

__all__ = [
    "aes128_cbc_decrypt",
    "aes128_cbc_encrypt",
    "ct_equal",
    "hmac_sha256",
    "pkcs7_pad",
    "pkcs7_unpad",
    "sha256",
]

BLOCK = 16


def hmac_sha256(key: bytes, msg: bytes) -> bytes:
    """HMAC-SHA256, key first, message second (the order used everywhere in the protocol)."""
    return hmac.new(key, msg, hashlib.sha256).digest()


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def ct_equal(a: bytes, b: bytes) -> bool:
    """Constant-time equality for MACs, tags and keys."""
    return hmac.compare_digest(a, b)


def pkcs7_pad(data: bytes) -> bytes:
    """PKCS#7 always adds 1–16 bytes (a whole block when the input is block-aligned)."""
    n = BLOCK - len(data) % BLOCK
    return data + bytes([n]) * n


def pkcs7_unpad(data: bytes) -> bytes:
    """Strict PKCS#7 removal: every pad byte must equal the pad count, 1..16.

    A bad pad means the ciphertext was altered, so it is an ``IntegrityError`` (the caller must
    not tell it apart from a bad tag: no padding oracle).
    """
    if not data or len(data) % BLOCK:
        raise IntegrityError()
    n = data[-1]
    if not 1 <= n <= BLOCK or not ct_equal(data[-n:], bytes([n]) * n):
        raise IntegrityError()
    return data[:-n]


def _check_key_iv(key: bytes, iv: bytes) -> None:
    if len(key) != 16 or len(iv) != 16:
        raise DecodeError("AES-128-CBC needs a 16-byte key and a 16-byte IV.")


def aes128_cbc_encrypt(key: bytes, iv: bytes, plaintext: bytes) -> bytes:
    """AES-128-CBC of ``plaintext`` after PKCS#7 padding."""
    _check_key_iv(key, iv)
    enc = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    return enc.update(pkcs7_pad(plaintext)) + enc.finalize()


def aes128_cbc_decrypt(key: bytes, iv: bytes, ciphertext: bytes) -> bytes:
    """Decrypt and strictly unpad; a malformed ciphertext or pad is an ``IntegrityError``."""
    _check_key_iv(key, iv)
    if not ciphertext or len(ciphertext) % BLOCK:
        raise IntegrityError()
    dec = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
    return pkcs7_unpad(dec.update(ciphertext) + dec.finalize())
