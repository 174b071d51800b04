"""The SSRF guard: refuse fetch targets that resolve to non-public addresses unless config allows them.

A target is refused when *any* address its host resolves to is loopback, private, link-local, multicast,
reserved, unspecified or otherwise not globally routable (IPv4-mapped IPv6 addresses are judged by their IPv4
address). ``FetchConfig.allow_private_addresses`` turns the guard off; ``FetchConfig.allowed_hosts`` lets named
hosts, single IPs or CIDR networks through. On every hop (the first URL and each redirect) the fetcher resolves
the host once (:meth:`AddressGuard.resolve`), checks every address, and connects to the checked address itself
(the name goes in the Host header and TLS SNI), so a rebinding DNS server cannot answer a public address to the
check and a private one to the connect; it checks the peer it actually reached once more.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket

from mm_orch.exceptions import FetchBlockedError
from mm_orch.tools.config import FetchConfig
from mm_orch.tools.errors import FetchError

__all__ = ["AddressGuard", "blocked_reason"]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_FIX = "set fetch.allow_private_addresses: true, or add the host to fetch.allowed_hosts"


def blocked_reason(ip: IPAddress) -> str | None:
    """Why ``ip`` is not a public address ('loopback', 'private', ...), or ``None`` when it is public."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    for reason in ("loopback", "link_local", "multicast", "unspecified", "reserved", "private"):
        if getattr(ip, f"is_{reason}"):
            return reason.replace("_", "-")
    return None if ip.is_global else "non-global"


class AddressGuard:
    """Decides whether a host (before connecting) or a peer address (after connecting) may be fetched."""

    def __init__(self, config: FetchConfig) -> None:
        self.disabled = config.allow_private_addresses
        self._hosts: set[str] = set()
        self._networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
        for entry in config.allowed_hosts:
            try:
                self._networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                self._hosts.add(entry.lower().rstrip("."))

    def _host_allowed(self, host: str) -> bool:
        return self.disabled or host.lower().rstrip(".") in self._hosts

    def _ip_allowed(self, ip: IPAddress) -> bool:
        return any(ip in net for net in self._networks)

    def check_ip(self, url: str, host: str, address: str) -> None:
        """Raise FetchBlockedError when ``address`` (an IP string) may not be fetched for ``host``."""
        if self._host_allowed(host):
            return
        ip = ipaddress.ip_address(address.split("%", 1)[0])  # drop an IPv6 zone id
        reason = blocked_reason(ip)
        if reason is not None and not self._ip_allowed(ip):
            raise FetchBlockedError(
                f"Refused to fetch {url!r}: host {host!r} resolves to {reason} address {address}. "
                f"Private, loopback and link-local targets are blocked by default; to allow this one, {_FIX}."
            )

    def _checked(self, url: str, host: str, infos: list[tuple[object, ...]]) -> str:
        """Check every resolved address; the one the fetcher then connects to."""
        if not infos:
            raise FetchBlockedError(f"Refused to fetch {url!r}: host {host!r} resolved to no address.")
        addresses = []
        for info in infos:
            sockaddr = info[4]
            if not isinstance(sockaddr, tuple) or not sockaddr:
                raise FetchBlockedError(f"Refused to fetch {url!r}: host {host!r} resolved to {sockaddr!r}.")
            addresses.append(str(sockaddr[0]))
            self.check_ip(url, host, addresses[-1])
        # IPv4 first: a dual-stack name (localhost) whose service listens on IPv4 only is still reached.
        return min(addresses, key=lambda a: ":" in a)

    def resolve(self, url: str, host: str, port: int) -> str | None:
        """Resolve ``host`` once and check every address it has; the address to connect to, or ``None`` when the
        host is allowed by name (or the guard is off) and may be connected to as usual.

        Connecting to the returned address, rather than to the name again, is what defeats DNS rebinding: a
        second lookup between the check and the connect could answer a private address."""
        if self._host_allowed(host):
            return None
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as err:
            raise FetchError(f"Cannot fetch {url!r}: host {host!r} does not resolve ({err}).", url=url) from err
        return self._checked(url, host, list(infos))

    async def aresolve(self, url: str, host: str, port: int) -> str | None:
        """Async :meth:`resolve` (resolves in the event loop's resolver)."""
        if self._host_allowed(host):
            return None
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as err:
            raise FetchError(f"Cannot fetch {url!r}: host {host!r} does not resolve ({err}).", url=url) from err
        return self._checked(url, host, list(infos))

    def check_host(self, url: str, host: str, port: int) -> None:
        """Resolve ``host`` and check every address (see :meth:`resolve`)."""
        self.resolve(url, host, port)

    async def acheck_host(self, url: str, host: str, port: int) -> None:
        """Async :meth:`check_host`."""
        await self.aresolve(url, host, port)
