"""The node's side: a dummy interface holding the local IPs, and NOTRACK/ACCEPT rules, via `ip` and `iptables`."""

from __future__ import annotations

import ipaddress
import json
import subprocess
from collections.abc import Callable
from dataclasses import dataclass

from kdns.log import logger

log = logger("nodelocal")

SKIP_CONNTRACK = "NodeLocal DNS Cache: skip conntrack"
ALLOW_DNS = "allow DNS traffic"
#: seconds iptables waits for the xtables lock before giving up
LOCK_WAIT = "5"

#: runs a command, returns (exit status, stderr text); replaced in tests
Runner = Callable[[list[str]], tuple[int, str]]


class SetupError(Exception):
    """A setup step failed; ``errortype`` is the label of coredns_nodecache_setup_errors_total."""

    def __init__(self, errortype: str, msg: str) -> None:
        super().__init__(msg)
        self.errortype = errortype


def run(cmd: list[str]) -> tuple[int, str]:
    """Run ``cmd``; (exit status, stderr). A missing binary is status 127."""
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=30, check=False)
    except FileNotFoundError as e:
        return 127, str(e)
    except subprocess.TimeoutExpired:
        return 124, f"{cmd[0]}: timed out"
    return p.returncode, p.stderr.strip()


def is_v6(ip: str) -> bool:
    return ipaddress.ip_address(ip).version == 6


@dataclass(frozen=True, slots=True)
class Rule:
    """One iptables rule: table, chain and the rule's match/target arguments."""

    table: str
    chain: str
    args: tuple[str, ...]
    v6: bool = False

    def cmd(self, op: str) -> list[str]:
        """``op`` is -C (check), -I (insert first) or -D (delete)."""
        binary = "ip6tables" if self.v6 else "iptables"
        position = [self.chain, "1"] if op == "-I" else [self.chain]
        return [binary, "-w", LOCK_WAIT, "-t", self.table, op, *position, *self.args]


def _rule(ip: str, table: str, chain: str, proto: str, way: str, port: int, target: str) -> Rule:
    comment = SKIP_CONNTRACK if target == "NOTRACK" else ALLOW_DNS
    addr, portopt = ("-d", "--dport") if way == "to" else ("-s", "--sport")
    args = ("-p", proto, addr, ip, portopt, str(port), "-j", target, "-m", "comment", "--comment", comment)
    return Rule(table, chain, args, is_v6(ip))


def rules(ips: list[str], port: int, health_port: int) -> list[Rule]:
    """node-cache's rules for each local IP: DNS to and from it, and health checks, skip conntrack."""
    out: list[Rule] = []
    for ip in ips:
        for proto in ("tcp", "udp"):
            out.append(_rule(ip, "raw", "PREROUTING", proto, "to", port, "NOTRACK"))
            out.append(_rule(ip, "filter", "INPUT", proto, "to", port, "ACCEPT"))
            out.append(_rule(ip, "raw", "OUTPUT", proto, "from", port, "NOTRACK"))
            out.append(_rule(ip, "filter", "OUTPUT", proto, "from", port, "ACCEPT"))
            out.append(_rule(ip, "raw", "OUTPUT", proto, "to", port, "NOTRACK"))  # queries of hostNetwork clients
        out.append(_rule(ip, "raw", "OUTPUT", "tcp", "to", health_port, "NOTRACK"))  # the liveness probe
        out.append(_rule(ip, "raw", "OUTPUT", "tcp", "from", health_port, "NOTRACK"))
    return out


def _iptables_error(status: int, err: str, what: str) -> SetupError:
    kind = "iptables_lock" if status == 4 or "xtables lock" in err else "iptables"
    return SetupError(kind, f"{what}: {err or f'exit status {status}'}")


def ensure_rules(want: list[Rule], run: Runner = run) -> list[Rule]:
    """Insert the rules that are missing; return those it added. Raises SetupError for the first failure."""
    added: list[Rule] = []
    for r in want:
        status, err = run(r.cmd("-C"))
        if status == 0:
            continue
        if status != 1:  # 1: no such rule; anything else is a real failure
            raise _iptables_error(status, err, f"check {' '.join(r.cmd('-C'))}")
        status, err = run(r.cmd("-I"))
        if status != 0:
            raise _iptables_error(status, err, f"add {' '.join(r.cmd('-I'))}")
        added.append(r)
    return added


def delete_rules(have: list[Rule], run: Runner = run) -> list[str]:
    """Delete every rule present (repeatedly, if added twice); return the error messages."""
    errors: list[str] = []
    for r in have:
        for _ in range(10):
            status, err = run(r.cmd("-D"))
            if status != 0:
                if status not in (1, 2):
                    errors.append(err or f"exit status {status}")
                break
    return errors


def _prefix(ip: str) -> str:
    return f"{ip}/{128 if is_v6(ip) else 32}"


def interface_addrs(name: str, run_out: Callable[[list[str]], tuple[int, str, str]] | None = None) -> set[str] | None:
    """The addresses on interface ``name``, or None when there is no such interface."""
    cmd = ["ip", "-j", "addr", "show", "dev", name]
    if run_out is None:
        try:
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=30, check=False)
        except (OSError, subprocess.TimeoutExpired) as e:
            raise SetupError("interface_check", f"ip addr show: {e}") from e
        status, out, err = p.returncode, p.stdout, p.stderr.strip()
    else:
        status, out, err = run_out(cmd)
    if status != 0:
        if "does not exist" in err or "Cannot find device" in err:
            return None
        raise SetupError("interface_check", f"ip addr show dev {name}: {err}")
    try:
        links = json.loads(out or "[]")
    except ValueError as e:
        raise SetupError("interface_check", f"ip -j addr: {e}") from e
    return {a["local"] for link in links for a in link.get("addr_info", []) if "local" in a}


def ensure_interface(name: str, ips: list[str], run: Runner = run) -> bool:
    """Create the dummy interface ``name`` and put every IP on it (what is missing). True if it changed anything.

    Where the kernel has no dummy driver, an empty bridge holds the addresses instead (it has no ports, so
    it carries no traffic either).
    """
    have = interface_addrs(name)
    changed = False
    if have is None:
        status, err = run(["ip", "link", "add", name, "type", "dummy"])
        if status != 0 and "Unknown device type" in err:
            log.warning("no dummy interface support in the kernel; using an empty bridge for %s", name)
            status, err = run(["ip", "link", "add", name, "type", "bridge"])
        if status != 0:
            raise SetupError("interface_add", f"ip link add {name}: {err}")
        have, changed = set(), True
    for ip in ips:
        if ip not in have:
            status, err = run(["ip", "addr", "add", _prefix(ip), "dev", name])
            if status != 0 and "File exists" not in err:
                raise SetupError("interface_add", f"ip addr add {ip} dev {name}: {err}")
            changed = True
    return changed


def remove_interface(name: str, run: Runner = run) -> str | None:
    """Delete the interface; the error message, or None (also when it was already gone)."""
    status, err = run(["ip", "link", "del", name])
    if status != 0 and "Cannot find device" not in err:
        return err or f"exit status {status}"
    return None
