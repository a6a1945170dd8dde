#!/usr/bin/env python3
"""Checks a Drawbridge release attestation without Node: Python 3's standard library and `cryptography`.

    python3 docs/verify-attestation.py KEYS_JSON_FILE ATTESTATION_JSON_FILE [INSTRUCTION_JSON_FILE]

Prints "valid" and exits 0 when the attestation carries two good Ed25519 signatures, the release key's over its
statement and the independent monitor's over its verdict, for the same withdrawal, digest, proof and payment (and,
with an instruction, both say what the instruction says); otherwise prints "INVALID: <reason>" and exits 1. The same
check as verifyReleaseAttestation in src/core/withdrawals/attestation.ts:

  attestation   = {"statement": {...}, "signature": b64url, "key_id": b64url, "monitor": VERDICT}
  statement     = {"v": 2, "withdrawal_id", "digest", "proof_hash", "asset", "network", "amount",
                   "destination", "released_at", "monitor_verdict_sha256"}: v the integer 2, the rest strings
  signed bytes  = "drawbridge/release-attestation/v2" + "\n" + RFC 8785 canonical JSON of the statement, UTF-8
  VERDICT       = {"statement": {"v": 1, "withdrawal_id", "account_id", "digest", "proof_hash", "asset",
                   "network", "amount", "destination", "verdict": "approve", "verified_at"},
                   "signature": b64url, "key_id": b64url}
  verdict bytes = "drawbridge/monitor-verdict/v1" + "\n" + RFC 8785 canonical JSON of the verdict's statement
  monitor_verdict_sha256 = hex SHA-256 of the canonical JSON of {"signature": ..., "statement": ...} of VERDICT

KEYS_JSON_FILE is what you pinned: the answer of GET /.well-known/drawbridge-release-key saved as it is, which
holds both keys (`public_key_pem`, and `monitor.public_key_pem`). The `key_id`s only say which key was used; they
are never trusted. INSTRUCTION_JSON_FILE, if given, is what your signer was asked to do (the custody
instruction's body): its withdrawal_id, asset, network, amount and destination must equal the statement's.

Canonical JSON: this file does NOT implement RFC 8785 in general. It relies on what the signed objects are: fixed
ASCII keys, string values and a small integer v. For exactly that, json.dumps(sort_keys=True, separators=(",", ":"),
ensure_ascii=False) gives the RFC 8785 bytes (keys sorted, no whitespace, strings escaped only for '"', '\\' and
control characters, \\u00xx in lower case, everything else as UTF-8). It would differ for floats, non-ASCII keys
(RFC 8785 sorts by UTF-16 code units) or other nesting, which is why any other shape is refused before hashing.
"""

import base64
import hashlib
import json
import re
import sys

TAG = "drawbridge/release-attestation/v2"
VERDICT_TAG = "drawbridge/monitor-verdict/v1"
STRING_FIELDS = (
    "withdrawal_id",
    "digest",
    "proof_hash",
    "asset",
    "network",
    "amount",
    "destination",
    "released_at",
    "monitor_verdict_sha256",
)
VERDICT_FIELDS = (
    "withdrawal_id",
    "account_id",
    "digest",
    "proof_hash",
    "asset",
    "network",
    "amount",
    "destination",
    "verdict",
    "verified_at",
)
SHARED_FIELDS = ("withdrawal_id", "digest", "proof_hash", "asset", "network", "amount", "destination")
INSTRUCTION_FIELDS = ("withdrawal_id", "asset", "network", "amount", "destination")
BASE64URL = re.compile(r"^[A-Za-z0-9_-]*$")


class Invalid(Exception):
    pass


def canonical(value, what, version, fields):
    """RFC 8785 for a signed object's shape only (see the module's docstring); anything else is refused."""
    if not isinstance(value, dict):
        raise Invalid(f"{what} is not an object")
    v = value.get("v")
    if type(v) is not int or v != version:  # bool is an int in Python: `type(...) is int` refuses true
        raise Invalid(f"{what}.v is not {version}")
    for field in fields:
        if not isinstance(value.get(field), str):
            raise Invalid(f"{what}.{field} is not a string")
    if set(value) != {"v", *fields}:
        extra = sorted(set(value) - {"v", *fields})
        raise Invalid(f"{what} has unexpected fields: {', '.join(extra)}")
    return dumps(value)


def dumps(value):
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    try:
        return text.encode("utf-8")  # a lone surrogate cannot be encoded: nothing could have signed it
    except UnicodeEncodeError:
        raise Invalid("a signed string is not valid Unicode")


def load_keys(text):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    try:
        pinned = json.loads(text)
        pems = {"release": pinned["public_key_pem"], "monitor": pinned["monitor"]["public_key_pem"]}
    except (ValueError, KeyError, TypeError):
        raise Invalid("the keys file is not the saved answer of /.well-known/drawbridge-release-key")
    keys = {}
    for name, pem in pems.items():
        try:
            key = load_pem_public_key(pem.encode("ascii"))
        except (ValueError, UnicodeEncodeError, TypeError, AttributeError) as error:
            raise Invalid(f"the {name} key is not a PEM public key ({error})")
        if not isinstance(key, Ed25519PublicKey):
            raise Invalid(f"the {name} key is not an Ed25519 key")
        keys[name] = key
    return keys


def signature_bytes(signature, what):
    if not isinstance(signature, str) or not BASE64URL.match(signature):
        raise Invalid(f"{what} is not base64url")
    raw = base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4))
    if len(raw) != 64:
        raise Invalid(f"{what} is not 64 bytes")
    return raw


def verify(keys_text, attestation, instruction=None):
    """Raises Invalid with the reason, or returns None when the attestation holds."""
    from cryptography.exceptions import InvalidSignature

    keys = load_keys(keys_text)
    if not isinstance(attestation, dict):
        raise Invalid("the attestation is not an object")
    raw = signature_bytes(attestation.get("signature"), "signature")
    statement = attestation.get("statement")
    message = (TAG + "\n").encode("utf-8") + canonical(statement, "statement", 2, STRING_FIELDS)
    if instruction is not None:
        if not isinstance(instruction, dict):
            raise Invalid("the instruction is not an object")
        for field in INSTRUCTION_FIELDS:
            if statement[field] != instruction.get(field):
                raise Invalid(f"statement.{field} is not the instruction's")
    try:
        keys["release"].verify(raw, message)
    except InvalidSignature:
        raise Invalid("the signature does not match the statement and key")

    verdict = attestation.get("monitor")
    if not isinstance(verdict, dict):
        raise Invalid("the attestation carries no monitor verdict")
    verdict_raw = signature_bytes(verdict.get("signature"), "monitor.signature")
    verdict_statement = verdict.get("statement")
    verdict_message = (VERDICT_TAG + "\n").encode("utf-8") + canonical(
        verdict_statement, "monitor.statement", 1, VERDICT_FIELDS
    )
    try:
        keys["monitor"].verify(verdict_raw, verdict_message)
    except InvalidSignature:
        raise Invalid("the monitor verdict's signature does not match its statement and the monitor key")
    for field in SHARED_FIELDS:
        if verdict_statement[field] != statement[field]:
            raise Invalid(f"monitor.statement.{field} is not the statement's")
    if verdict_statement["verdict"] != "approve":
        raise Invalid("the monitor refused it")
    pinned = hashlib.sha256(
        dumps({"signature": verdict["signature"], "statement": verdict_statement})
    ).hexdigest()
    if pinned != statement["monitor_verdict_sha256"]:
        raise Invalid("the statement pins another monitor verdict")


def main(argv):
    if len(argv) not in (3, 4):
        print(
            "usage: verify-attestation.py KEYS_JSON_FILE ATTESTATION_JSON_FILE [INSTRUCTION_JSON_FILE]",
            file=sys.stderr,
        )
        return 2
    try:
        with open(argv[1], encoding="utf-8") as file:
            keys_text = file.read()
        with open(argv[2], encoding="utf-8") as file:
            attestation = json.load(file)
        instruction = None
        if len(argv) == 4:
            with open(argv[3], encoding="utf-8") as file:
                instruction = json.load(file)
        verify(keys_text, attestation, instruction)
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
