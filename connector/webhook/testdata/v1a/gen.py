"""Generates vectors.json: Standard Webhooks v1a (Ed25519) deliveries signed
and judged by an implementation independent of Go's crypto/ed25519.

The signer and the judge are the Standard Webhooks Python library as of
standard-webhooks/standard-webhooks pull request #304, commit
ba202c1c76e552c68332d98d5236f66f29cb9cbf ("py: add support for v1a (ed25519)
signing and verification"), which uses pyca/cryptography (OpenSSL). No v1a
vector is in the specification repository's main branch (b2fa7b8719fb75d3,
2026-08-17): spec/standard-webhooks.md shows one v1a signature without its
public key.

Run (the library is not on PyPI with v1a; take it from the commit):

  git -C <standard-webhooks clone> show ba202c1c:libraries/python/standardwebhooks/webhooks.py > sw/standardwebhooks/webhooks.py
  git -C <standard-webhooks clone> show ba202c1c:libraries/python/standardwebhooks/__init__.py > sw/standardwebhooks/__init__.py
  PYTHONPATH=sw python3 gen.py > vectors.json      # cryptography 48.0.0

Secret keys are whsk_ + base64 of the 32-byte Ed25519 seed, as the Python
library reads them (pull request #308's JavaScript tests write the 64-byte
seed||public key instead; the public key, whpk_, is 32 bytes in both).
"""

import base64
import json
from datetime import datetime, timezone

import cryptography.hazmat.primitives.asymmetric.ed25519 as ed

import standardwebhooks.webhooks as sw

# Judge without the clock: the vectors' timestamps are fixed.
sw.Webhook._Webhook__verify_timestamp = lambda self, h: datetime.fromtimestamp(int(h), tz=timezone.utc)

MSG_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
TS = 1614265330
BODY = '{"test": 2432232314}'
WHSEC = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def b64(b):
    return base64.b64encode(b).decode("ascii")


def pair(seed):
    priv = ed.Ed25519PrivateKey.from_private_bytes(seed)
    return "whsk_" + b64(seed), "whpk_" + b64(priv.public_key().public_bytes_raw())


def sign(key, msg_id=MSG_ID, ts=TS, body=BODY):
    return sw.Webhook(key).sign(msg_id, datetime.fromtimestamp(ts, tz=timezone.utc), body)


def judge(keys, msg_id, ts, body, header):
    for k in keys:
        try:
            sw.Webhook(k).verify(body, {"webhook-id": msg_id, "webhook-timestamp": str(ts), "webhook-signature": header}, json_parse=False)
            return True
        except sw.WebhookVerificationError:
            pass
    return False


# Seeds: 0x01 * 32 is pull request #308's fixture (JavaScript, @stablelib/ed25519);
# "TESTSIGNINGKEYDONOTUSETHISFORANY" is pull request #253's (Go).
sk308, pk308 = pair(bytes([1]) * 32)
sk253, pk253 = pair(base64.b64decode("VEVTVFNJR05JTkdLRVlET05PVFVTRVRISVNGT1JBTlk="))
skOld, pkOld = pair(bytes(range(32)))
skNew, pkNew = pair(bytes(range(100, 132)))
skOther, pkOther = pair(bytes([9]) * 32)

# The expected signatures the other libraries' tests pin.
assert sign(sk308) == "v1a,Ykcu7AtGZGmZxFEH1Gaa2Nd7feY/CTuruoL4fqgnKwfbHU4DhemoVHZdvGfIvKvn4BIgwktLGGPGIr/i9nK7AA=="
assert sign(sk253) == "v1a,tQ9V2XOqn7jL/DQenEFpqIugdBVtiMmER5mhSkXBNwM0mkATuDe6KYYUuxqtaiHeYGb7KaaBRdM5WqyeFiL8Ag=="

cases = []


def case(name, keys, header, valid, msg_id=MSG_ID, ts=TS, body=BODY):
    got = judge(keys, msg_id, ts, body, header)
    assert got == valid, (name, got)
    cases.append({"name": name, "keys": keys, "id": msg_id, "timestamp": str(ts), "body": body,
                  "signature": header, "valid": valid})


case("pr308 fixture", [pk308], sign(sk308), True)
case("pr253 fixture", [pk253], sign(sk253), True)
case("pr308 signature, pr253 key", [pk253], sign(sk308), False)
both = sign(skOld) + " " + sign(skNew)
case("rotation: both signatures, both keys", [pkOld, pkNew], both, True)
case("rotation: both signatures, new key only", [pkNew], both, True)
case("rotation: both signatures, old key only", [pkOld], both, True)
case("rotation: old signature, both keys", [pkNew, pkOld], sign(skOld), True)
case("rotation: old signature, old key removed", [pkNew], sign(skOld), False)
case("rotation: both signatures, another key", [pkOther], both, False)
mixed = sign(WHSEC) + " " + sign(skNew)
case("mixed v1 v1a, public key", [pkNew], mixed, True)
case("mixed v1 v1a, secret", [WHSEC], mixed, True)
case("mixed v1 v1a, another public key", [pkOther], mixed, False)
case("mixed v1 v1a, v1a first", [pkNew], sign(skNew) + " " + sign(WHSEC), True)
case("v1 only, public key", [pkNew], sign(WHSEC), False)
case("v1a only, secret", [WHSEC], sign(skNew), False)
uni = '{"name": "Zoë Ångström 🦆",\n "note": "line\\nbreak"}\n'
case("unicode body", [pkNew], sign(skNew, body=uni), True, body=uni)
case("empty body", [pkNew], sign(skNew, body=""), True, body="")
case("tampered body", [pkNew], sign(skNew), False, body=BODY.replace("2432", "2433"))
case("tampered id", [pkNew], sign(skNew), False, msg_id=MSG_ID + "x")
case("tampered timestamp", [pkNew], sign(skNew), False, ts=TS + 1)
case("signature for another id", [pkNew], sign(skNew, msg_id="msg_other"), False)
case("signature labelled v1", [pkNew], "v1," + sign(skNew)[4:], False)

print(json.dumps({"generator": "gen.py", "cases": cases}, indent=1, ensure_ascii=False))
