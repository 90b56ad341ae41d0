"""Addresses of the host's network interfaces, by interface name.

``ip -j addr`` gives every address; without it, IPv6 comes from ``/proc/net/if_inet6`` and IPv4
(the primary address only) from the SIOCGIFADDR ioctl. Link-local IPv6 addresses carry their
``%iface`` zone so they can be bound.
"""

from __future__ import annotations

import fcntl
import ipaddress
import json
import shutil
import socket
import struct
import subprocess

SIOCGIFADDR = 0x8915


def with_zone(addr: str, iface: str) -> str:
    """``addr`` in canonical form, with ``%iface`` when it is a link-local IPv6 address."""
    ip = ipaddress.ip_address(addr.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.is_link_local:
        return f"{ip}%{iface}"
    return str(ip)


def from_ip_json(text: str) -> dict[str, list[str]]:
    """Parse ``ip -j addr`` output into {interface: [addresses]} (pure)."""
    out: dict[str, list[str]] = {}
    for link in json.loads(text):
        name = link.get("ifname")
        if not name:
            continue
        addrs = out.setdefault(name, [])
        for info in link.get("addr_info", []):
            local = info.get("local")
            if local and info.get("family") in ("inet", "inet6"):
                addrs.append(with_zone(local, name))
    return out


def from_proc_inet6(text: str) -> dict[str, list[str]]:
    """Parse ``/proc/net/if_inet6`` into {interface: [IPv6 addresses]} (pure)."""
    out: dict[str, list[str]] = {}
    for line in text.splitlines():
        f = line.split()
        if len(f) < 6 or len(f[0]) != 32:
            continue
        addr = ":".join(f[0][i : i + 4] for i in range(0, 32, 4))
        out.setdefault(f[5], []).append(with_zone(addr, f[5]))
    return out


def _ipv4_of(name: str) -> str | None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            res = fcntl.ioctl(s.fileno(), SIOCGIFADDR, struct.pack("256s", name.encode()[:15]))
        except OSError:
            return None
    return socket.inet_ntoa(res[20:24])


def interfaces() -> dict[str, list[str]]:
    """{interface name: [its addresses]} for every interface of this host."""
    ip = shutil.which("ip")
    if ip is not None:
        try:
            res = subprocess.run([ip, "-j", "addr"], capture_output=True, text=True, timeout=5, check=True)
            return from_ip_json(res.stdout)
        except (OSError, subprocess.SubprocessError, ValueError):
            pass
    out: dict[str, list[str]] = {name: [] for _, name in socket.if_nameindex()}
    for name in out:
        v4 = _ipv4_of(name)
        if v4 is not None:
            out[name].append(v4)
    try:
        with open("/proc/net/if_inet6") as f:
            for name, addrs in from_proc_inet6(f.read()).items():
                out.setdefault(name, []).extend(addrs)
    except OSError:
        pass
    return out
