"""The SSRF guard: refuse fetch targets that resolve to non-public addresses unless config allows them.

A target is refused when *any* address its host resolves to is loopback, private, link-local, multicast,
reserved, unspecified or otherwise not globally routable (IPv4-mapped IPv6 addresses are judged by their IPv4
address). ``FetchConfig.allow_private_addresses`` turns the guard off; ``FetchConfig.allowed_hosts`` lets named
hosts, single IPs or CIDR networks through. The fetcher checks before connecting and again on the address it
actually connected to (which defeats DNS rebinding between the check and the connect), after every redirect.
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

    def _check_infos(self, url: str, host: str, infos: list[tuple[object, ...]]) -> None:
        if not infos:
            raise FetchBlockedError(f"Refused to fetch {url!r}: host {host!r} resolved to no address.")
        for info in infos:
            sockaddr = info[4]
            assert isinstance(sockaddr, tuple)
            self.check_ip(url, host, str(sockaddr[0]))

    def check_host(self, url: str, host: str, port: int) -> None:
        """Resolve ``host`` and check every address; DNS failures become FetchBlockedError too."""
        if self._host_allowed(host):
            return
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as err:
            raise FetchError(f"Cannot fetch {url!r}: host {host!r} does not resolve ({err}).", url=url) from err
        self._check_infos(url, host, list(infos))

    async def acheck_host(self, url: str, host: str, port: int) -> None:
        """Async :meth:`check_host` (resolves in the event loop's resolver)."""
        if self._host_allowed(host):
            return
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as err:
            raise FetchError(f"Cannot fetch {url!r}: host {host!r} does not resolve ({err}).", url=url) from err
        self._check_infos(url, host, list(infos))
