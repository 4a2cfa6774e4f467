"""Ask the kernel what a ruleset does with a packet.

Two (optionally three) private network namespaces, created and removed by this module
only: the receiver ("rx") holds the ruleset and one veth per interface name the caller
wants (so ``iif`` rules can be exercised); the sender ("tx") holds the other veth ends.
Packets are written as whole Ethernet frames on an AF_PACKET socket in the sender, so any
source address works without configuring it and without neighbour discovery.  Raw IP
sockets in the receiver see a packet only once filter INPUT accepted it, and see it with
the destination after NAT (DESIGN.md, "Measured facts").

No helper processes: this process switches one thread into a namespace with setns(2)
just long enough to open a socket there; sockets stay in the namespace they were made in.
That is what makes hundreds of verdicts per second possible.
"""

from __future__ import annotations

import contextlib
import ctypes
import ipaddress
import itertools
import json
import os
import re
import select
import socket
import struct
import subprocess
import time
from dataclasses import dataclass
from typing import Iterator, Optional, Sequence

CLONE_NEWNET = 0x40000000
NETLINK_NETFILTER = 12
ETH_P_IP, ETH_P_IPV6 = 0x0800, 0x86DD
PROTOCOLS = {"tcp": 6, "udp": 17, "icmp": 1, "icmpv6": 58}

#: Receiver addresses: interface i gets RX4.format(i) and RX6.format(i) (test ranges only).
RX4 = "198.18.{}.1"
RX6 = "fd00:f0f0:0:{}::1"
#: The inner host behind the receiver when it acts as a router.
INNER4, INNER6 = "198.19.255.2", "fd00:f0f0:ffff::2"
ROUTER4, ROUTER6 = "198.19.255.1", "fd00:f0f0:ffff::1"

_counter = itertools.count()
_libc = ctypes.CDLL(None, use_errno=True)


class OracleError(Exception):
    """The kernel refused a ruleset or a namespace could not be set up."""


@dataclass(frozen=True)
class Probe:
    """One packet to send: a TCP SYN, a UDP datagram or an ICMP echo request."""

    family: str  # "ip" | "ip6"
    protocol: str  # "tcp" | "udp" | "icmp" (ICMPv6 for ip6)
    saddr: str
    daddr: str
    dport: int = 0
    sport: int = 0
    iif: str = "eth0"


@dataclass(frozen=True)
class Arrival:
    """Where a probe ended: ``host`` "rx" (the receiver itself), "inner" (forwarded to the
    host behind it) or None (dropped or rejected); address and port after NAT."""

    host: Optional[str]
    daddr: Optional[str] = None
    dport: Optional[int] = None

    @property
    def arrived(self) -> bool:
        return self.host is not None


def _run(argv: Sequence[str], stdin: str | None = None,
         cwd: Optional[str] = None) -> subprocess.CompletedProcess:
    return subprocess.run(list(argv), input=stdin, capture_output=True, text=True, timeout=60,
                          cwd=cwd)


def _checked(argv: Sequence[str], stdin: str | None = None, cwd: Optional[str] = None) -> str:
    done = _run(argv, stdin, cwd)
    if done.returncode != 0:
        raise OracleError(f"{' '.join(argv)}: {done.stderr.strip() or done.stdout.strip()}")
    return done.stdout


@contextlib.contextmanager
def _inside(netns_name: str) -> Iterator[None]:
    """Run the body with this thread in the named network namespace."""
    home = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    target = os.open(f"/run/netns/{netns_name}", os.O_RDONLY)
    try:
        if _libc.setns(target, CLONE_NEWNET) != 0:
            raise OracleError(f"setns {netns_name}: {os.strerror(ctypes.get_errno())}")
        try:
            yield
        finally:
            if _libc.setns(home, CLONE_NEWNET) != 0:
                raise OracleError("setns back to the original namespace failed")
    finally:
        os.close(target)
        os.close(home)


def _remove_stale_namespaces() -> None:
    """Namespaces of this harness whose process died without cleaning up (SIGKILL)."""
    try:
        names = os.listdir("/run/netns")
    except FileNotFoundError:
        return
    for name in names:
        found = re.fullmatch(r"fwl-(\d+)-\d+-(rx|tx|in)", name)
        if found and not os.path.exists(f"/proc/{found.group(1)}"):
            _run(["ip", "netns", "del", name])


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def _frame(probe: Probe, tag: int, src_mac: bytes, dst_mac: bytes) -> bytes:
    """A complete Ethernet frame with correct checksums (conntrack checks them)."""
    v6 = probe.family == "ip6"
    saddr = ipaddress.ip_address(probe.saddr).packed
    daddr = ipaddress.ip_address(probe.daddr).packed
    if probe.protocol == "tcp":
        proto = 6
        l4 = struct.pack("!HHIIBBHHH", probe.sport, probe.dport, tag, 0, 5 << 4, 0x02,
                         64240, 0, 0)
    elif probe.protocol == "udp":
        proto = 17
        l4 = struct.pack("!HHHHI", probe.sport, probe.dport, 12, 0, tag)
    else:
        proto = 58 if v6 else 1
        # the echo identifier is part of the conntrack tuple: keep it distinct per probe
        l4 = struct.pack("!BBHHHI", 128 if v6 else 8, 0, 0, tag & 0xFFFF, tag >> 16, tag)
    if v6:
        pseudo = saddr + daddr + struct.pack("!IxxxB", len(l4), proto)
    else:
        pseudo = saddr + daddr + struct.pack("!xBH", proto, len(l4))
    if proto == 1:
        pseudo = b""
    csum = _checksum(pseudo + l4)
    if proto == 17 and csum == 0:
        csum = 0xFFFF
    offset = {6: 16, 17: 6, 1: 2, 58: 2}[proto]
    l4 = l4[:offset] + struct.pack("!H", csum) + l4[offset + 2:]
    if v6:
        header = struct.pack("!IHBB", 6 << 28, len(l4), proto, 64) + saddr + daddr
        return dst_mac + src_mac + struct.pack("!H", ETH_P_IPV6) + header + l4
    header = struct.pack("!BBHHHBBH", 0x45, 0, 20 + len(l4), tag & 0xFFFF, 0x4000, 64,
                         proto, 0) + saddr + daddr
    header = header[:10] + struct.pack("!H", _checksum(header)) + header[12:]
    return dst_mac + src_mac + struct.pack("!H", ETH_P_IP) + header + l4


def _tag_of(protocol: int, l4: bytes) -> Optional[tuple[int, int]]:
    """(tag, destination port) of one of our packets, None for other traffic."""
    if protocol == 6 and len(l4) >= 20:
        return struct.unpack_from("!I", l4, 4)[0], struct.unpack_from("!H", l4, 2)[0]
    if protocol == 17 and len(l4) >= 12:
        return struct.unpack_from("!I", l4, 8)[0], struct.unpack_from("!H", l4, 2)[0]
    if protocol in (1, 58) and len(l4) >= 12 and l4[0] in (8, 128):
        return struct.unpack_from("!I", l4, 8)[0], 0
    return None


class _Listener:
    """Raw sockets in one namespace that report which of our packets were delivered."""

    def __init__(self, netns_name: str, host: str):
        self.host = host
        self.sockets: list[tuple[socket.socket, int, int]] = []
        with _inside(netns_name):
            for family, proto in ((socket.AF_INET, 6), (socket.AF_INET, 17), (socket.AF_INET, 1),
                                  (socket.AF_INET6, 6), (socket.AF_INET6, 17),
                                  (socket.AF_INET6, 58)):
                sock = socket.socket(family, socket.SOCK_RAW, proto)
                sock.setblocking(False)
                sock.setsockopt(socket.SOL_SOCKET, 33, 8 << 20)  # SO_RCVBUFFORCE
                if family == socket.AF_INET6:
                    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_RECVPKTINFO, 1)
                self.sockets.append((sock, family, proto))

    def drain(self, seen: dict[int, Arrival]) -> None:
        """Read everything queued, recording our packets by tag."""
        for sock, family, proto in self.sockets:
            while True:
                try:
                    data, ancillary, _flags, _addr = sock.recvmsg(2048, 256)
                except BlockingIOError:
                    break
                if family == socket.AF_INET:
                    header_length = (data[0] & 0x0F) * 4
                    daddr = socket.inet_ntop(socket.AF_INET, data[16:20])
                    l4 = data[header_length:]
                else:
                    daddr = None
                    for level, kind, value in ancillary:
                        if level == socket.IPPROTO_IPV6 and kind == socket.IPV6_PKTINFO:
                            daddr = socket.inet_ntop(socket.AF_INET6, value[:16])
                    l4 = data
                found = _tag_of(proto, l4)
                if found is not None:
                    tag, dport = found
                    seen[tag] = Arrival(self.host, daddr, dport if proto in (6, 17) else None)

    def close(self) -> None:
        for sock, _family, _proto in self.sockets:
            sock.close()


class Oracle:
    """A receiver namespace with a ruleset, a sender namespace, and optionally an inner
    host behind the receiver (``router=True``: forwarding on, inner host at INNER4/INNER6).

    Use as a context manager; namespaces are removed on exit, also after failures.
    """

    def __init__(self, interfaces: Sequence[str] = ("eth0", "eth1"), router: bool = False,
                 settle: float = 0.03):
        if not interfaces or len(set(interfaces)) != len(interfaces):
            raise ValueError("need distinct interface names")
        self.interfaces = tuple(interfaces)
        self.router = router
        self.settle = settle
        base = f"fwl-{os.getpid()}-{next(_counter)}"
        self.rx, self.tx, self.inner = f"{base}-rx", f"{base}-tx", f"{base}-in"
        self._created: list[str] = []
        self._senders: dict[str, tuple[socket.socket, bytes, bytes]] = {}
        self._listeners: list[_Listener] = []
        self._netlink: Optional[socket.socket] = None
        self._batch = 0

    # ------------------------------------------------------------------ lifecycle

    def __enter__(self) -> "Oracle":
        try:
            self._setup()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def address(self, interface: str, family: str = "ip") -> str:
        """The receiver's own address on one of its interfaces."""
        index = self.interfaces.index(interface)
        return (RX6 if family == "ip6" else RX4).format(index)

    def _setup(self) -> None:
        _remove_stale_namespaces()
        spaces = [self.rx, self.tx] + ([self.inner] if self.router else [])
        for name in spaces:
            _checked(["ip", "netns", "add", name])
            self._created.append(name)
        batch = []
        for index, name in enumerate(self.interfaces):
            batch.append(f"link add tx{index} netns {self.tx} type veth peer name {name} "
                         f"netns {self.rx}")
        if self.router:
            batch.append(f"link add in0 netns {self.inner} type veth peer name fwl-inner "
                         f"netns {self.rx}")
        _checked(["ip", "-batch", "-"], "\n".join(batch) + "\n")
        forwarding = "1" if self.router else "0"
        rx_script = [
            "sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0",
            f"sysctl -qw net.ipv4.ip_forward={forwarding} "
            f"net.ipv6.conf.all.forwarding={forwarding}",
            "sysctl -qw net.ipv6.conf.default.accept_dad=0 net.ipv6.conf.all.accept_dad=0",
            "ip link set lo up",
        ]
        for index, name in enumerate(self.interfaces):
            rx_script += [
                f"ip link set dev {name} up",
                f"ip addr add {RX4.format(index)}/24 dev {name}",
                f"ip addr add {RX6.format(index)}/64 dev {name} nodad",
            ]
        if self.router:
            rx_script += [
                "ip link set dev fwl-inner up",
                f"ip addr add {ROUTER4}/24 dev fwl-inner",
                f"ip addr add {ROUTER6}/64 dev fwl-inner nodad",
            ]
        _checked(["nsenter", f"--net=/run/netns/{self.rx}", "sh", "-ec", "\n".join(rx_script)])
        tx_script = ["sysctl -qw net.ipv6.conf.all.disable_ipv6=1", "ip link set lo up"]
        tx_script += [f"ip link set dev tx{index} up" for index in range(len(self.interfaces))]
        _checked(["nsenter", f"--net=/run/netns/{self.tx}", "sh", "-ec", "\n".join(tx_script)])
        if self.router:
            inner_script = [
                "sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0",
                "ip link set lo up", "ip link set dev in0 up",
                f"ip addr add {INNER4}/24 dev in0",
                f"ip addr add {INNER6}/64 dev in0 nodad",
                f"ip route add default via {ROUTER4}",
                f"ip -6 route add default via {ROUTER6}",
            ]
            _checked(["nsenter", f"--net=/run/netns/{self.inner}", "sh", "-ec",
                      "\n".join(inner_script)])
            self._prime_inner_neighbours()
        rx_links = {link["ifname"]: bytes.fromhex(link["address"].replace(":", ""))
                    for link in json.loads(_checked(["ip", "-n", self.rx, "-j", "link"]))}
        tx_links = {link["ifname"]: bytes.fromhex(link["address"].replace(":", ""))
                    for link in json.loads(_checked(["ip", "-n", self.tx, "-j", "link"]))}
        with _inside(self.tx):
            for index, name in enumerate(self.interfaces):
                sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
                sock.bind((f"tx{index}", 0))
                self._senders[name] = (sock, tx_links[f"tx{index}"], rx_links[name])
        self._listeners.append(_Listener(self.rx, "rx"))
        if self.router:
            self._listeners.append(_Listener(self.inner, "inner"))
        with _inside(self.rx):
            self._netlink = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)

    def _prime_inner_neighbours(self) -> None:
        """Forwarded packets must not wait for ARP/ND while the batch settles."""
        inner_links = json.loads(_checked(["ip", "-n", self.inner, "-j", "link", "show", "in0"]))
        mac = inner_links[0]["address"]
        _checked(["ip", "-n", self.rx, "-batch", "-"],
                 f"neigh replace {INNER4} lladdr {mac} dev fwl-inner nud permanent\n"
                 f"neigh replace {INNER6} lladdr {mac} dev fwl-inner nud permanent\n")

    def close(self) -> None:
        for sock, _src, _dst in self._senders.values():
            sock.close()
        self._senders.clear()
        for listener in self._listeners:
            listener.close()
        self._listeners.clear()
        if self._netlink is not None:
            self._netlink.close()
            self._netlink = None
        while self._created:
            _run(["ip", "netns", "del", self._created.pop()])

    def add_addresses(self, addresses: Sequence[str], interface: str) -> None:
        """Make more addresses the receiver's own (rules that match a daddr need them)."""
        commands = []
        for address in addresses:
            ip = ipaddress.ip_address(address)
            suffix = "/128 nodad" if ip.version == 6 else "/32"
            commands.append(f"addr add {ip}{suffix} dev {interface}")
        if commands:
            _checked(["ip", "-n", self.rx, "-batch", "-"], "\n".join(commands) + "\n")

    def add_inner_addresses(self, addresses: Sequence[str]) -> None:
        """Give the inner host more addresses, routed to it from the receiver (DNAT targets
        named by a ruleset).  Needs ``router=True``."""
        if not self.router:
            raise ValueError("the inner host exists only with router=True")
        mac = json.loads(_checked(["ip", "-n", self.inner, "-j", "link", "show", "in0"]))[0]
        inner, router = [], []
        for address in addresses:
            ip = ipaddress.ip_address(address)
            host = f"{ip}/{ip.max_prefixlen}"
            inner.append(f"addr add {host} dev in0" + (" nodad" if ip.version == 6 else ""))
            router.append(f"route replace {host} dev fwl-inner")
            router.append(f"neigh replace {ip} lladdr {mac['address']} dev fwl-inner "
                          "nud permanent")
        if inner:
            _checked(["ip", "-n", self.inner, "-batch", "-"], "\n".join(inner) + "\n")
            _checked(["ip", "-n", self.rx, "-batch", "-"], "\n".join(router) + "\n")

    # ------------------------------------------------------------------ rulesets

    def load(self, text: str, format: str, directory: Optional[str] = None) -> None:
        """Replace the receiver's ruleset and forget all connections (raises OracleError).

        ``directory``: where an nft file's relative includes are found.
        """
        _checked(["nsenter", f"--net=/run/netns/{self.rx}", "nft", "flush", "ruleset"])
        if format == "nft":
            argv = ["nft", *(["-I", directory] if directory else []), "-f", "-"]
        elif format in ("iptables-save", "ip6tables-save"):
            argv = ["ip6tables-restore" if format == "ip6tables-save" else "iptables-restore"]
        else:
            raise ValueError(f"cannot load format {format!r}")
        _checked(["nsenter", f"--net=/run/netns/{self.rx}", *argv], text, cwd=directory)
        self.flush_conntrack()

    def flush_conntrack(self) -> None:
        """ctnetlink IPCTNL_MSG_CT_DELETE without a tuple empties the table: no NAT binding
        or connection from an earlier ruleset may decide a later packet."""
        assert self._netlink is not None
        for family in (socket.AF_INET, socket.AF_INET6):
            message = struct.pack("=IHHII", 20, (1 << 8) | 2, 0x1 | 0x4, 1, 0)
            message += struct.pack("=BBH", family, 0, 0)
            self._netlink.send(message)
            reply = self._netlink.recv(4096)
            error = struct.unpack_from("=i", reply, 16)[0]
            # ENOENT: conntrack is not loaded or the table was empty.
            if error not in (0, -2):
                raise OracleError(f"conntrack flush failed: {os.strerror(-error)}")

    # ------------------------------------------------------------------ packets

    def send(self, probes: Sequence[Probe]) -> list[Arrival]:
        """Send every probe once and report where each arrived (in the same order).

        The caller keeps (saddr, sport, dport, protocol) distinct within a batch so that
        every probe starts its own connection.
        """
        if len(probes) > 1 << 16:
            raise ValueError("at most 65536 probes per batch (ICMP echo ids must differ)")
        self._batch = (self._batch + 1) & 0xFFF
        seen: dict[int, Arrival] = {}
        for index, probe in enumerate(probes):
            sock, src_mac, dst_mac = self._senders[probe.iif]
            sock.send(_frame(probe, self._batch << 20 | index, src_mac, dst_mac))
            if index % 64 == 63:
                self._drain(seen)
        self._settle(seen)
        return [seen.get(self._batch << 20 | index, Arrival(None))
                for index in range(len(probes))]

    def _drain(self, seen: dict[int, Arrival]) -> None:
        """Keep this batch's packets; late ones from an earlier batch are ignored."""
        everything: dict[int, Arrival] = {}
        for listener in self._listeners:
            listener.drain(everything)
        for tag, arrival in everything.items():
            if tag >> 20 == self._batch:
                seen[tag] = arrival

    def _settle(self, seen: dict[int, Arrival]) -> None:
        """Packets are processed in softirq right after each send; wait for a quiet spell."""
        sockets = [sock for listener in self._listeners for sock, _f, _p in listener.sockets]
        deadline = time.monotonic() + 2.0
        while time.monotonic() < deadline:
            ready, _w, _x = select.select(sockets, [], [], self.settle)
            if not ready:
                return
            self._drain(seen)
