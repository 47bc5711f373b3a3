"""JWT (HS256 pinned), one-time tokens and RFC 6238 one-time passwords."""

# ruff: noqa: F401, F811 - live, browser, server_dir are pytest fixtures from secure_server

from __future__ import annotations

import time

import jwt
import pytest
import secure_server
from secure_server import (
    SECUREKEY,
    browser,
    live,
    server_dir,
)

from atila.otp import OTPVerifier, generate_otp
from atila.tokens import OneTimeTokens, decode_jwt, encode_jwt
from skitai.testing import LiveClient

# -- JWT -------------------------------------------------------------------------------


def test_jwt_round_trip_through_the_server(live: LiveClient) -> None:
    token = live.get("/token/jwt", params={"username": "hans"}).text
    header = jwt.get_unverified_header(token)
    assert header["alg"] == "HS256"
    claims = jwt.decode(token, SECUREKEY, algorithms=["HS256"])
    assert claims["username"] == "hans" and claims["exp"] > time.time()


def test_decode_jwt_refusals() -> None:
    key = SECUREKEY
    good = encode_jwt({"u": 1, "exp": time.time() + 60}, key)
    assert decode_jwt(good, key)["u"] == 1
    assert decode_jwt(good, key + "x")["err"].startswith("invalid token")
    assert decode_jwt(encode_jwt({"exp": time.time() - 1}, key), key) == {"err": "token expired"}
    assert decode_jwt(jwt.encode({"u": 1}, key, "HS384"), key) == {"err": "algorithm not allowed"}
    assert "err" in decode_jwt(jwt.encode({"u": 1}, None, "none"), key)
    assert "err" in decode_jwt(good + "x", key)
    assert decode_jwt("", key) == {"err": "no token"}
    not_yet = encode_jwt({"nbf": time.time() + 60}, key)
    assert "err" in decode_jwt(not_yet, key)


def test_remembered_tokens_are_copies_and_still_expire() -> None:
    key = SECUREKEY
    token = encode_jwt({"u": 2, "exp": int(time.time()) + 1}, key)
    first = decode_jwt(token, key)
    first["u"] = "changed by a handler"
    assert decode_jwt(token, key)["u"] == 2  # remembered, and not the handler's dict
    assert decode_jwt(token, key + "other")["err"].startswith("invalid token")
    while time.time() < first["exp"]:  # the token's own clock: nothing else to wait on
        time.sleep(0.05)
    assert decode_jwt(token, key) == {"err": "token expired"}


# -- one-time tokens -----------------------------------------------------------------------


def test_ott_round_trip_tamper_and_revoke(live: LiveClient) -> None:
    token = live.get("/token/ott", params={"data": "hans"}).text
    assert "hans" not in token
    assert live.get("/token/ott/use", params={"token": token}).json() == {"value": "hans"}
    tampered = token[:-3] + ("AAA" if token[-3:] != "AAA" else "BBB")
    assert live.get("/token/ott/use", params={"token": tampered}).status_code == 400
    live.get("/token/ott/revoke", params={"token": token})
    assert live.get("/token/ott/use", params={"token": token}).status_code == 400


def test_ott_bound_to_a_session(live: LiveClient) -> None:
    owner = secure_server.new_browser(live)
    token = owner.get("/token/ott", params={"data": "reset-hans", "bind": "_reset_token"}).text
    stranger = secure_server.new_browser(live)
    assert stranger.get("/token/ott/use", params={"token": token}).status_code == 400
    assert owner.get("/token/ott/use", params={"token": token}).json() == {"value": "reset-hans"}
    owner.get("/token/ott/revoke", params={"token": token})
    assert owner.get("/token/ott/use", params={"token": token}).status_code == 400
    owner.close()
    stranger.close()


def test_ott_expiry() -> None:
    tokens = OneTimeTokens()
    token = tokens.encode(SECUREKEY, {"a": 1}, -1)
    assert tokens.decode(SECUREKEY, token) is None
    token = tokens.encode(SECUREKEY, {"a": 1}, 60)
    assert tokens.decode(SECUREKEY, token) == {"a": 1}
    assert tokens.decode(SECUREKEY + "x", token) is None


# -- one-time passwords ----------------------------------------------------------------------

RFC6238 = [
    (59, "94287082", "sha1"), (1111111109, "07081804", "sha1"), (1111111111, "14050471", "sha1"),
    (1234567890, "89005924", "sha1"), (2000000000, "69279037", "sha1"),
    (20000000000, "65353130", "sha1"), (59, "46119246", "sha256"), (59, "90693936", "sha512"),
    (1111111109, "68084774", "sha256"), (20000000000, "47863826", "sha512"),
]  # fmt: skip
SEEDS = {
    "sha1": b"12345678901234567890",
    "sha256": b"12345678901234567890123456789012",
    "sha512": b"1234567890123456789012345678901234567890123456789012345678901234",
}


@pytest.mark.parametrize(("at", "expected", "algorithm"), RFC6238)
def test_totp_matches_rfc6238_vectors(at: int, expected: str, algorithm: str) -> None:
    assert generate_otp(SEEDS[algorithm], at=at, digits=8, algorithm=algorithm) == expected


def test_verify_window_and_replay() -> None:
    verifier = OTPVerifier()
    now = 1_700_000_000.0
    assert verifier.verify(generate_otp("k", at=now - 30), "k", at=now)  # one step of drift
    assert not verifier.verify(generate_otp("k", at=now - 90), "k", at=now)
    code = generate_otp("k", at=now)
    assert verifier.verify(code, "k", at=now)
    assert not verifier.verify(code, "k", at=now + 1)  # replay
    assert not verifier.verify("12345", "k", at=now) and not verifier.verify(None, "k")
    assert not verifier.verify("abcdef", "k", at=now)


def test_otp_through_the_server(live: LiveClient) -> None:
    from atila.was import generate_otp as public_generate_otp

    assert live.get("/otp-task", headers={"X-OTP": "abcdef"}).status_code == 403
    code = public_generate_otp(SECUREKEY)
    ok = live.get("/otp-task", headers={"X-OTP": code})
    assert ok.text == "done"
    assert live.get("/otp-task", headers={"X-OTP": code}).status_code == 403
    assert live.get("/otp-task").status_code == 403
