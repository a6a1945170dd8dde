#!/usr/bin/env python3
"""Checks a Drawbridge release attestation without Node: Python 3's standard library and `cryptography`.

    python3 docs/verify-attestation.py PUBLIC_KEY_PEM_FILE ATTESTATION_JSON_FILE [INSTRUCTION_JSON_FILE]

Prints "valid" and exits 0 when the attestation is an Ed25519 signature by the key over exactly its statement (and,
with an instruction, the statement says what the instruction says); otherwise prints "INVALID: <reason>" and
exits 1. The same check as verifyReleaseAttestation in src/core/withdrawals/attestation.ts:

  signed bytes  = "drawbridge/release-attestation/v1" + "\n" + RFC 8785 canonical JSON of the statement, UTF-8
  attestation   = {"statement": {...}, "signature": base64url(Ed25519 signature), "key_id": base64url(SPKI DER)}
  statement     = {"v": 1, "withdrawal_id", "digest", "proof_hash", "asset", "network", "amount",
                   "destination", "released_at"}: v the integer 1, every other field a string, nothing else

PUBLIC_KEY_PEM_FILE is the pinned key: the `public_key_pem` of GET /.well-known/drawbridge-release-key, or that
whole JSON answer saved as it is. The attestation's `key_id` only says which key was used; it is never trusted.
INSTRUCTION_JSON_FILE, if given, is what your signer was asked to do (the custody instruction's body): its
withdrawal_id, asset, network, amount and destination must equal the statement's.

Canonical JSON: this file does NOT implement RFC 8785 in general. It relies on what the statement is: fixed ASCII
keys, string values and the small integer v. For exactly that, json.dumps(sort_keys=True, separators=(",", ":"),
ensure_ascii=False) gives the RFC 8785 bytes (keys sorted, no whitespace, strings escaped only for '"', '\\' and
control characters, \\u00xx in lower case, everything else as UTF-8). It would differ for floats, non-ASCII keys
(RFC 8785 sorts by UTF-16 code units) or nested values, which is why any other shape is refused before hashing.
"""

import base64
import json
import re
import sys

TAG = "drawbridge/release-attestation/v1"
STRING_FIELDS = (
    "withdrawal_id",
    "digest",
    "proof_hash",
    "asset",
    "network",
    "amount",
    "destination",
    "released_at",
)
INSTRUCTION_FIELDS = ("withdrawal_id", "asset", "network", "amount", "destination")
BASE64URL = re.compile(r"^[A-Za-z0-9_-]*$")


class Invalid(Exception):
    pass


def canonical_statement(statement):
    """RFC 8785 for the statement's shape only (see the module's docstring); anything else is refused."""
    if not isinstance(statement, dict):
        raise Invalid("statement is not an object")
    v = statement.get("v")
    if type(v) is not int or v != 1:  # bool is an int in Python: `type(...) is int` refuses true
        raise Invalid("statement.v is not 1")
    for field in STRING_FIELDS:
        if not isinstance(statement.get(field), str):
            raise Invalid(f"statement.{field} is not a string")
    if set(statement) != {"v", *STRING_FIELDS}:
        extra = sorted(set(statement) - {"v", *STRING_FIELDS})
        raise Invalid(f"statement has unexpected fields: {', '.join(extra)}")
    text = json.dumps(statement, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    try:
        return text.encode("utf-8")  # a lone surrogate cannot be encoded: nothing could have signed it
    except UnicodeEncodeError:
        raise Invalid("statement holds a string that is not valid Unicode")


def signed_bytes(statement):
    return (TAG + "\n").encode("utf-8") + canonical_statement(statement)


def load_public_key(text):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    stripped = text.strip()
    if stripped.startswith("{"):  # the .well-known answer saved as it is
        stripped = json.loads(stripped).get("public_key_pem", "")
    try:
        key = load_pem_public_key(stripped.encode("ascii"))
    except (ValueError, UnicodeEncodeError, TypeError, AttributeError) as error:
        raise Invalid(f"the public key is not a PEM public key ({error})")
    if not isinstance(key, Ed25519PublicKey):
        raise Invalid("the public key is not an Ed25519 key")
    return key


def verify(public_key_pem, attestation, instruction=None):
    """Raises Invalid with the reason, or returns None when the attestation holds."""
    from cryptography.exceptions import InvalidSignature

    key = load_public_key(public_key_pem)
    if not isinstance(attestation, dict):
        raise Invalid("the attestation is not an object")
    signature = attestation.get("signature")
    if not isinstance(signature, str) or not BASE64URL.match(signature):
        raise Invalid("signature is not base64url")
    raw = base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4))
    if len(raw) != 64:
        raise Invalid("signature is not 64 bytes")
    statement = attestation.get("statement")
    message = signed_bytes(statement)
    if instruction is not None:
        if not isinstance(instruction, dict):
            raise Invalid("the instruction is not an object")
        for field in INSTRUCTION_FIELDS:
            if statement[field] != instruction.get(field):
                raise Invalid(f"statement.{field} is not the instruction's")
    try:
        key.verify(raw, message)
    except InvalidSignature:
        raise Invalid("the signature does not match the statement and key")


def main(argv):
    if len(argv) not in (3, 4):
        print(
            "usage: verify-attestation.py PUBLIC_KEY_PEM_FILE ATTESTATION_JSON_FILE [INSTRUCTION_JSON_FILE]",
            file=sys.stderr,
        )
        return 2
    try:
        with open(argv[1], encoding="utf-8") as file:
            public_key_pem = file.read()
        with open(argv[2], encoding="utf-8") as file:
            attestation = json.load(file)
        instruction = None
        if len(argv) == 4:
            with open(argv[3], encoding="utf-8") as file:
                instruction = json.load(file)
        verify(public_key_pem, attestation, instruction)
    except Invalid as error:
        print(f"INVALID: {error}")
        return 1
    except (OSError, ValueError) as error:  # unreadable file, not JSON, not UTF-8
        print(f"INVALID: {error}")
        return 1
    except ImportError as error:  # not an answer about the attestation: say so, exit 2
        print(f"cannot verify: {error} (pip install cryptography, or apt-get install python3-cryptography)",
              file=sys.stderr)
        return 2
    print("valid")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
