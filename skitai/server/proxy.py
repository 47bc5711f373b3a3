"""Behind a reverse proxy: the client's address and scheme from ``Forwarded`` / ``X-Forwarded-*``.

A proxy or load balancer connects to the engine itself, so the peer address
is the proxy's and the scheme is whatever the proxy spoke to us.  The proxy
says who the client was in ``X-Forwarded-For`` / ``X-Forwarded-Proto`` or the
standard ``Forwarded`` (RFC 7239).  Anyone can send those headers, so they
count only when the peer is a trusted proxy (``--forwarded-allow-ips``,
default ``127.0.0.1,::1``, as gunicorn and uvicorn; ``*`` trusts every peer;
CIDR networks such as ``10.0.0.0/8`` are accepted too).  A request from any
other peer keeps its own address and scheme, whatever it sends.

Which hop is the client: proxies append the address they received from, so
the list is read from the right, skipping trusted proxies; the first address
that is not a trusted proxy is the client (a client cannot pose as someone
else by sending a forged list: its own real address is appended after it).
When every hop is trusted (``*``) the leftmost is taken.  The scheme is the
one the nearest proxy reports (the rightmost ``proto`` / ``X-Forwarded-Proto``).
``Forwarded`` wins over ``X-Forwarded-*`` when both are sent.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

__all__ = ["DEFAULT_FORWARDED_ALLOW_IPS", "TrustedProxies"]

#: Peers whose forwarding headers are believed by default: this host.
DEFAULT_FORWARDED_ALLOW_IPS = "127.0.0.1,::1"
#: Peer addresses whose trust is remembered (the cache starts over when full).
_PEER_CACHE_SIZE = 1024

_Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class TrustedProxies:
    """The peers allowed to say who the client is, and the reading of what they say."""

    def __init__(self, spec: str = DEFAULT_FORWARDED_ALLOW_IPS) -> None:
        entries = [entry.strip() for entry in spec.split(",") if entry.strip()]
        self.everyone = "*" in entries
        self.networks: list[_Network] = []
        for entry in entries:
            if entry == "*":
                continue
            try:
                self.networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                raise ValueError(
                    f"--forwarded-allow-ips: {entry!r} is not an IP address or network"
                ) from None
        #: trust of the peers seen lately: parsing an address on every request is costly
        self._peers: dict[str, bool] = {}

    def trusts(self, address: str) -> bool:
        """Whether ``address`` (a peer or a hop) is a trusted proxy."""
        if self.everyone:
            return True
        ip = _ip(address)
        return ip is not None and any(ip in network for network in self.networks)

    def resolve(
        self, peer: str, headers: Iterable[tuple[bytes, bytes]]
    ) -> tuple[str | None, str | None]:
        """``(client address, scheme)`` the trusted proxy ``peer`` reports (None: keep ours)."""
        trusted = self._peers.get(peer)
        if trusted is None:
            if len(self._peers) >= _PEER_CACHE_SIZE:
                self._peers.clear()
            trusted = self._peers[peer] = self.trusts(peer)
        if not trusted:
            return None, None
        forwarded: list[bytes] = []
        forwarded_for: list[bytes] = []
        proto: bytes | None = None
        for name, value in headers:
            if name == b"forwarded":
                forwarded.append(value)
            elif name == b"x-forwarded-for":
                forwarded_for.append(value)
            elif name == b"x-forwarded-proto":
                proto = value  # the last one: the nearest proxy's
        if not forwarded and not forwarded_for and proto is None:
            return None, None  # a direct request (the common case): nothing to read
        if forwarded:
            hops, scheme = _parse_forwarded(b",".join(forwarded).decode("latin-1"))
        else:
            hops = [h.strip() for h in b",".join(forwarded_for).decode("latin-1").split(",")]
            scheme = _scheme(proto.decode("latin-1").split(",")[-1]) if proto else None
        return self._client(hops), scheme

    def _client(self, hops: list[str]) -> str | None:
        addresses = [str(ip) for ip in map(_ip, hops) if ip is not None]
        if not addresses:
            return None
        for address in reversed(addresses):
            if not self.trusts(address):
                return address
        return addresses[0]


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address in ``1.2.3.4``, ``1.2.3.4:80``, ``[::1]:80`` or ``::1`` (None: not one)."""
    text = text.strip().strip('"')
    if text.startswith("["):
        text = text[1 : text.find("]")] if "]" in text else ""
    elif text.count(":") == 1:
        text = text.partition(":")[0]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None  # "unknown", an obfuscated "_hidden" name, garbage


def _scheme(text: str) -> str | None:
    value = text.strip().strip('"').lower()
    return value if value in ("http", "https") else None


def _parse_forwarded(value: str) -> tuple[list[str], str | None]:
    """The ``for`` values and the last ``proto`` of a ``Forwarded`` field (RFC 7239 §4)."""
    hops: list[str] = []
    scheme: str | None = None
    for element in value.split(","):
        for pair in element.split(";"):
            name, _, text = pair.partition("=")
            name = name.strip().lower()
            if name == "for":
                hops.append(text)
            elif name == "proto":
                scheme = _scheme(text) or scheme
    return hops, scheme
