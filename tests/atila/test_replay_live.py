"""Replay protection across worker processes: a real server with ``--workers 2``.

A digest request, a revoked one-time token and a used one-time password are
refused by *both* workers, not only by the one that saw them first: the checks
use the engine's shared replay table (``environ["skitai.replay"]``).  Each
probe goes on a fresh connection until both worker pids have answered.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import requests
from secure_server import challenges, digest_header
from test_hub_live import wait_until

from skitai.testing import LiveClient

SECUREKEY = "replay-securekey-0123456789-abcdefghijklmnopqrstuvwxyz-ABCDEF"

APP = f"""
    import os
    import skitai
    import atila

    app = atila.Atila("replay")
    app.securekey = {SECUREKEY!r}
    app.realm = "Replay"
    app.users = {{"app": "secret-password"}}

    @app.route("/digest", authenticate="digest")
    def digest(was):
        return was.API(name=was.request.user.name)

    @app.route("/ott")
    def ott(was):
        return was.encode_ott("payload", 600)

    @app.route("/ott/use")
    def ott_use(was, token):
        if was.decode_ott(token) is None:
            return was.response("400 Bad Request", "refused")
        return "accepted"

    @app.route("/ott/revoke")
    def ott_revoke(was, token):
        was.revoke_ott(token)
        return "revoked"

    @app.route("/otp")
    def otp(was):
        ok = was.verify_otp(was.request.get_header("x-otp"))
        return was.response("200 OK" if ok else "403 Forbidden", "otp")

    def with_pid(environ, start_response):
        # every answer (a 401 too) says which worker gave it
        def start(status, headers, exc_info=None):
            return start_response(status, headers + [("X-Worker-Pid", str(os.getpid()))], exc_info)
        return app(environ, start)

    skitai.mount("/", with_pid)
    skitai.run(workers=2, threads=2)
"""

#: Fresh connections tried before giving up on seeing both workers.
MAX_PROBES = 400


def probe_both_workers(send: Callable[[], requests.Response], expect: int) -> dict[int, int]:
    """Send until two worker pids answered (bounded); every answer must be ``expect``."""
    answered: dict[int, int] = {}
    for _ in range(MAX_PROBES):
        response = send()  # requests.get: a new connection each time
        assert response.status_code == expect, (response.status_code, response.text)
        pid = int(response.headers["X-Worker-Pid"])
        answered[pid] = answered.get(pid, 0) + 1
        if len(answered) == 2:
            break
    assert len(answered) == 2, f"only worker(s) {sorted(answered)} answered {MAX_PROBES} probes"
    return answered


def test_digest_replay_is_refused_by_every_worker(serve: Callable[..., LiveClient]) -> None:
    live = serve(APP, "--workers", "2")
    url = live.url_for("/digest")
    first = requests.get(url, timeout=10)
    assert first.status_code == 401
    challenge = challenges(first)[0]
    header = digest_header(challenge, "app", "secret-password", "GET", "/digest")
    accepted = requests.get(url, headers={"Authorization": header}, timeout=10)
    assert accepted.status_code == 200 and accepted.json() == {"name": "app"}

    probe_both_workers(
        lambda: requests.get(url, headers={"Authorization": header}, timeout=10), 401
    )
    # the next count of the same nonce is a new request, accepted once
    nc2 = digest_header(challenge, "app", "secret-password", "GET", "/digest", nc=2)
    assert requests.get(url, headers={"Authorization": nc2}, timeout=10).status_code == 200
    assert requests.get(url, headers={"Authorization": nc2}, timeout=10).status_code == 401


def test_revoked_one_time_token_is_refused_by_every_worker(
    serve: Callable[..., LiveClient],
) -> None:
    live = serve(APP, "--workers", "2")
    token = requests.get(live.url_for("/ott"), timeout=10).text
    use = live.url_for("/ott/use")

    def send() -> requests.Response:
        return requests.get(use, params={"token": token}, timeout=10)

    probe_both_workers(send, 200)  # valid on both before the revocation
    revoked = requests.get(live.url_for("/ott/revoke"), params={"token": token}, timeout=10)
    assert revoked.status_code == 200 and revoked.text == "revoked"
    probe_both_workers(send, 400)


def test_used_one_time_password_is_refused_by_every_worker(
    serve: Callable[..., LiveClient],
) -> None:
    from atila.otp import generate_otp

    live = serve(APP, "--workers", "2")
    url = live.url_for("/otp")
    code = generate_otp(SECUREKEY)
    # (one step of drift is accepted, so a step turning now does not matter)
    assert requests.get(url, headers={"X-OTP": code}, timeout=10).status_code == 200
    probe_both_workers(lambda: requests.get(url, headers={"X-OTP": code}, timeout=10), 403)


def test_replays_are_refused_by_another_engine_sharing_a_broker(
    serve: Callable[..., LiveClient], redis_server: Any
) -> None:
    """Two engines on one Redis: what one accepted or revoked, the other refuses."""
    first = serve(APP, "--workers", "2", "--broker", redis_server.url)
    second = serve(APP, "--workers", "2", "--broker", redis_server.url)
    url = first.url_for("/digest")
    challenge = challenges(requests.get(url, timeout=10))[0]
    header = digest_header(challenge, "app", "secret-password", "GET", "/digest")
    assert requests.get(url, headers={"Authorization": header}, timeout=10).status_code == 200
    replayed = second.url_for("/digest")
    probe_both_workers(
        lambda: requests.get(replayed, headers={"Authorization": header}, timeout=10), 401
    )

    token = requests.get(first.url_for("/ott"), timeout=10).text
    revoked = requests.get(first.url_for("/ott/revoke"), params={"token": token}, timeout=10)
    assert revoked.text == "revoked"
    use = second.url_for("/ott/use")
    # A revocation is announced, not claimed: it reaches the other engine as soon as
    # the broker delivers it (docs/deployment.md); a digest count or an OTP is claimed
    # in Redis, and refused by the other engine at once.
    wait_until(
        lambda: requests.get(use, params={"token": token}, timeout=10).status_code == 400,
        what="the revocation announced to the other engine",
    )
    probe_both_workers(lambda: requests.get(use, params={"token": token}, timeout=10), 400)

    from atila.otp import generate_otp

    code = generate_otp(SECUREKEY)
    assert requests.get(first.url_for("/otp"), headers={"X-OTP": code}, timeout=10).ok
    otp = second.url_for("/otp")
    probe_both_workers(lambda: requests.get(otp, headers={"X-OTP": code}, timeout=10), 403)
