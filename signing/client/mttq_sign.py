#!/usr/bin/env python3
"""mttq_sign: sign a document of the MTTQ e-Office server with your own USB token.

The server prepares the PDF and hands out a SHA-256 digest; this program signs
the digest with the private key on your PKCS#11 token (the key never leaves
it) and sends the signature back. It only needs Python 3.9+ and
``python-pkcs11`` (``pip install python-pkcs11``); it runs on Windows and
Linux with the token vendor's PKCS#11 module, for example:

  Windows:  python mttq_sign.py --server https://vanban.example.vn --user hang.nt ^
              --module "C:\\Windows\\System32\\vnpt-ca_csp11.dll" --document 123
  Linux:    python3 mttq_sign.py --server https://vanban.example.vn --api-token TOKEN \\
              --module /usr/lib/x86_64-linux-gnu/opensc-pkcs11.so

Without ``--document`` it signs the signatures you already prepared in the web
application (``GET /api/signing/pending/``). The PIN is asked for unless given
with ``--pin`` or the MTTQ_TOKEN_PIN environment variable. Exit status: 0 when
everything was signed, 1 when something was refused, 2 on usage errors.
"""

from __future__ import annotations

import argparse
import base64
import getpass
import hashlib
import json
import os
import sys
import urllib.error
import urllib.request

# DER prefix of DigestInfo{sha256, digest}: RSA tokens sign it with CKM_RSA_PKCS,
# which every token supports, whatever hash-and-sign mechanisms it lacks.
SHA256_DIGEST_INFO = bytes.fromhex("3031300d060960864801650304020105000420")


class ClientError(Exception):
    """A message for the person at the keyboard."""


# --- server -------------------------------------------------------------------------------


class Server:
    def __init__(self, base_url: str, api_token: str = "", timeout: float = 60):
        if not base_url.startswith(("https://", "http://")):
            raise ClientError("--server must be an http(s):// address")
        self.base = base_url.rstrip("/")
        self.token = api_token
        self.timeout = timeout

    def call(self, method: str, path: str, body: dict | None = None) -> object:
        data = json.dumps(body).encode("utf-8") if body is not None else None
        # The scheme is checked in __init__: only http(s) is ever opened.
        request = urllib.request.Request(self.base + path, data=data, method=method)  # noqa: S310
        request.add_header("Accept", "application/json")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        if self.token:
            request.add_header("Authorization", "Token " + self.token)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            try:
                message = json.loads(exc.read()).get("message") or exc.reason
            except ValueError:
                message = exc.reason
            raise ClientError(f"{exc.code}: {message}") from None
        except urllib.error.URLError as exc:
            raise ClientError(f"cannot reach {self.base}: {exc.reason}") from None

    def login(self, username: str, password: str, otp: str = "") -> None:
        body = {"username": username, "password": password}
        if otp:
            body["otp"] = otp  # the authenticator app's code, for accounts with two-factor
        request = urllib.request.Request(  # noqa: S310 - scheme checked in __init__
            self.base + "/api/auth/token/", method="POST",
            data=json.dumps(body).encode("utf-8"),
            headers={"Content-Type": "application/json", "Accept": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                self.token = json.loads(response.read())["token"]
        except urllib.error.HTTPError as exc:
            raise ClientError(f"login refused ({exc.code})") from None


# --- token ----------------------------------------------------------------------------------


class Token:
    """The signing key and its certificate on a PKCS#11 token."""

    def __init__(self, module: str, pin: str, *, token_label: str = "", slot: int | None = None,
                 key_label: str = "", key_id: str = ""):
        import pkcs11
        from pkcs11 import Attribute, ObjectClass

        self._pkcs11 = pkcs11
        try:
            lib = pkcs11.lib(module)
        except Exception as exc:  # noqa: BLE001 - the vendor module failed to load
            raise ClientError(f"cannot load the PKCS#11 module {module}: {exc}") from None
        slots = lib.get_slots(token_present=True)
        if slot is not None:
            slots = [s for s in slots if s.slot_id == slot]
        tokens = [s.get_token() for s in slots]
        if token_label:
            tokens = [t for t in tokens if t.label == token_label]
        if not tokens:
            raise ClientError("no token found: is it plugged in?")
        try:
            self.session = tokens[0].open(user_pin=pin)
        except pkcs11.exceptions.PinIncorrect:
            raise ClientError("wrong PIN") from None
        except pkcs11.exceptions.PKCS11Error as exc:
            raise ClientError(f"cannot open the token: {type(exc).__name__}") from None
        query = {Attribute.CLASS: ObjectClass.PRIVATE_KEY}
        if key_label:
            query[Attribute.LABEL] = key_label
        if key_id:
            query[Attribute.ID] = bytes.fromhex(key_id)
        keys = [k for k in self.session.get_objects(query) if k[Attribute.SIGN]]
        if not keys:
            raise ClientError("no signing key on the token")
        if len(keys) > 1 and not (key_label or key_id):
            labels = ", ".join(str(k[Attribute.LABEL]) for k in keys)
            raise ClientError(f"several keys on the token ({labels}); choose one with --key")
        self.key = keys[0]
        certs = list(self.session.get_objects({Attribute.CLASS: ObjectClass.CERTIFICATE,
                                               Attribute.ID: self.key[Attribute.ID]}))
        if not certs:
            raise ClientError("the key has no certificate on the token")
        self.certificate = bytes(certs[0][Attribute.VALUE])
        self.chain = [bytes(c[Attribute.VALUE]) for c in self.session.get_objects(
            {Attribute.CLASS: ObjectClass.CERTIFICATE}) if bytes(c[Attribute.VALUE])
            != self.certificate]

    def sign_digest(self, digest: bytes) -> bytes:
        from pkcs11 import KeyType, Mechanism

        if self.key.key_type == KeyType.RSA:
            return bytes(self.key.sign(SHA256_DIGEST_INFO + digest, mechanism=Mechanism.RSA_PKCS))
        if self.key.key_type == KeyType.EC:
            from pkcs11.util.ec import encode_ecdsa_signature

            raw = self.key.sign(digest, mechanism=Mechanism.ECDSA)
            return encode_ecdsa_signature(raw)
        raise ClientError("only RSA and EC keys are supported")

    def close(self) -> None:
        self.session.close()


# --- the flow -------------------------------------------------------------------------------


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def sign_pending(server: Server, token: Token, pending: dict, out=sys.stdout) -> dict:
    digest = base64.b64decode(pending["digest"])
    attrs = base64.b64decode(pending["signed_attributes"])
    # Never sign blindly: the digest must be that of the signed attributes shown.
    if pending.get("digest_algorithm") != "sha256" or hashlib.sha256(attrs).digest() != digest:
        raise ClientError("the server sent an inconsistent digest; nothing was signed")
    print(f"Signing document {pending['document']}: {pending.get('subject', '')}", file=out)
    signature = token.sign_digest(digest)
    return server.call("POST", f"/api/signing/pending/{pending['id']}/complete/",
                       {"signature": b64(signature), "certificate": b64(token.certificate)})


def run(args: argparse.Namespace, out=sys.stdout) -> int:
    server = Server(args.server, args.api_token or os.environ.get("MTTQ_API_TOKEN", ""))
    if not server.token:
        if not args.user:
            raise ClientError("give --api-token or --user")
        password = os.environ.get("MTTQ_PASSWORD") or getpass.getpass("Password: ")
        otp = os.environ.get("MTTQ_OTP") or getpass.getpass(
            "Two-factor code (empty if your account has none): ")
        server.login(args.user, password, otp)
    pin = args.pin or os.environ.get("MTTQ_TOKEN_PIN") or getpass.getpass("Token PIN: ")
    token = Token(args.module, pin, token_label=args.token_label, slot=args.slot,
                  key_label=args.key, key_id=args.key_id)
    failures = 0
    try:
        if args.document:
            queue = []
            for document in args.document:
                queue.append(server.call("POST", f"/api/signing/documents/{document}/prepare/", {
                    "certificate": b64(token.certificate),
                    "chain": [b64(c) for c in token.chain]}))
        else:
            queue = server.call("GET", "/api/signing/pending/") or []
            if not queue:
                print("Nothing is waiting for your signature.", file=out)
        for pending in queue:
            try:
                result = sign_pending(server, token, pending, out=out)
                print(f"  signed: document {result['document']} is now {result['state']} "
                      f"(PDF SHA-256 {result['pdf_sha256']})", file=out)
            except ClientError as exc:
                failures += 1
                print(f"  refused: {exc}", file=out)
    finally:
        token.close()
    return 1 if failures else 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--server", required=True, help="base URL of the e-Office server")
    p.add_argument("--api-token", default="", help="API token (or MTTQ_API_TOKEN)")
    p.add_argument("--user", default="", help="log in with this username instead of a token "
                   "(password from MTTQ_PASSWORD or asked)")
    p.add_argument("--module", required=True,
                   help="path of the token vendor's PKCS#11 module (.dll / .so)")
    p.add_argument("--token-label", default="", help="label of the token to use")
    p.add_argument("--slot", type=int, default=None, help="slot number of the token")
    p.add_argument("--key", default="", help="label of the private key")
    p.add_argument("--key-id", default="", help="CKA_ID of the private key, hex")
    p.add_argument("--pin", default="", help="token PIN (better: MTTQ_TOKEN_PIN or prompt)")
    p.add_argument("--document", type=int, action="append",
                   help="document id to prepare and sign (repeatable); default: sign what is "
                        "pending")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return run(args)
    except ClientError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 1


if __name__ == "__main__":
    sys.exit(main())
