"""The iptables match and target extensions fwlint knows, with the shape of each option.

``iptables-restore`` refuses a rule whose option belongs to no loaded module, whose
argument is malformed or out of range, or that lacks a required option.  Describing every
extension's options here lets the front end refuse the same rules (as FW001) instead of
modelling nonsense; ``tests/test_corpus_iptables.py`` measures the agreement on iptables'
own ``extensions/*.t`` files.

An option spec is ``name|alias:kind`` (no kind: a flag without argument; kind ``-``: a
flag that cannot be negated); kinds are the argument parsers in
``fwlint.parsing.iptables_args``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Callable, Optional

#: protocol numbers of modules that need ``-p`` (tcp, udp, …)
TCP, UDP, ICMP, ICMP6, SCTP, DCCP, UDPLITE, ESP, AH, IPCOMP, MH = 6, 17, 1, 58, 132, 33, 136, \
    50, 51, 108, 135
PORT_PROTOS = frozenset({TCP, UDP, SCTP, DCCP, UDPLITE})


@dataclass(frozen=True, slots=True)
class Option:
    name: str  # canonical long name, e.g. "--dport"
    kind: str  # "" for a flag
    invertible: bool = True


@dataclass(frozen=True, slots=True)
class Extension:
    """One match module (``-m NAME``) or target (``-j NAME``)."""

    name: str
    options: dict[str, Option]  # by every spelling, aliases included
    protocols: frozenset[int] = frozenset()  # the rule must match one of these (-p)
    required: tuple[tuple[str, ...], ...] = ()  # at least one option of each group
    exclusive: tuple[tuple[str, ...], ...] = ()  # at most one option of each group
    family: int = 0  # 4 or 6 when only iptables or ip6tables has it
    tables: tuple[str, ...] = ()  # only valid in these tables (targets)
    chains: tuple[str, ...] = ()  # only valid in these built-in chains
    loose: bool = False  # options fwlint does not list: accept any, keep them opaque
    check: Optional[Callable[[dict[str, tuple[str, ...]], int], Optional[str]]] = None


def _spec(name: str, options: str, *, protocols=(), required: str = "", exclusive: str = "",
          family: int = 0, tables: str = "", chains: str = "", loose: bool = False,
          check=None, target: bool = False) -> Extension:
    opts: dict[str, Option] = {}
    for item in options.split():
        names, _, kind = item.partition(":")
        canonical, *aliases = names.split("|")
        invertible = not target and kind != "-"
        option = Option("--" + canonical, kind.strip("-"), invertible)
        for spelling in (canonical, *aliases):
            opts["--" + spelling] = option
    return Extension(
        name=name, options=opts, protocols=frozenset(protocols),
        required=tuple(tuple("--" + o for o in group.split("|")) for group in required.split()),
        exclusive=tuple(tuple("--" + o for o in group.split("|")) for group in exclusive.split()),
        family=family, tables=tuple(tables.split()), chains=tuple(chains.split()),
        loose=loose, check=check)


# --------------------------------------------------------------------------- extra rules


def _recent(opts, family):
    if ("--rttl" in opts or "--hitcount" in opts or "--seconds" in opts) and \
            not ({"--rcheck", "--update"} & opts.keys()):
        return "--rttl, --hitcount and --seconds need --rcheck or --update"
    return None


def _statistic(opts, family):
    mode = opts.get("--mode", ("",))[0]
    if mode == "random" and "--probability" not in opts:
        return "--mode random needs --probability"
    if mode == "nth":
        if "--every" not in opts:
            return "--mode nth needs --every"
        if "--packet" in opts and int(opts["--packet"][0], 0) >= int(opts["--every"][0], 0):
            return "--packet must be smaller than --every"
    if mode == "random" and ({"--every", "--packet"} & opts.keys()):
        return "--every/--packet need --mode nth"
    return None


def _cluster(opts, family):
    total = int(opts["--cluster-total-nodes"][0], 0)
    node = opts.get("--cluster-local-node")
    if node and not 1 <= int(node[0], 0) <= total:
        return "--cluster-local-node must be between 1 and --cluster-total-nodes"
    return None


def _owner(opts, family):
    if "--suppl-groups" in opts and list(opts).index("--suppl-groups") < \
            (list(opts).index("--gid-owner") if "--gid-owner" in opts else 1 << 30):
        return "--suppl-groups must follow --gid-owner"
    return None


def _policy(opts, family):
    if "--strict" in opts and not ({"--reqid", "--spi", "--proto", "--mode", "--tunnel-src",
                                    "--tunnel-dst"} & opts.keys()):
        return "--strict needs at least one policy element (--reqid, --spi, --proto, …)"
    if ({"--tunnel-src", "--tunnel-dst"} & opts.keys()) and \
            opts.get("--mode", ("",))[0] != "tunnel":
        return "--tunnel-src/--tunnel-dst need --mode tunnel"
    return None


# --------------------------------------------------------------------------- the tables

_PORTS = "sport|source-port:portr dport|destination-port:portr"

_MATCH_SPECS = (
    _spec("tcp", _PORTS + " tcp-flags:tcpflags syn tcp-option:u8", protocols=(TCP,)),
    _spec("udp", _PORTS, protocols=(UDP,)),
    _spec("udplite", _PORTS, protocols=(UDPLITE,)),
    _spec("sctp", _PORTS + " chunk-types:sctpchunks", protocols=(SCTP,)),
    _spec("dccp", _PORTS + " dccp-types:dccptypes dccp-option:u8", protocols=(DCCP,)),
    _spec("multiport", "sports|source-ports:ports dports|destination-ports:ports ports:ports",
          protocols=PORT_PROTOS, required="sports|dports|ports", exclusive="sports|dports|ports"),
    _spec("icmp", "icmp-type:icmp4", protocols=(ICMP,), family=4),
    _spec("icmp6", "icmpv6-type:icmp6", protocols=(ICMP6,), family=6),
    _spec("state", "state:states", required="state"),
    _spec("conntrack", "ctstate:ctstates ctproto:ctproto ctorigsrc:addr ctorigdst:addr "
          "ctreplsrc:addr ctrepldst:addr ctorigsrcport:ctport ctorigdstport:ctport "
          "ctreplsrcport:ctport ctrepldstport:ctport ctstatus:ctstatus ctexpire:r32 "
          "ctdir:ctdir", required="ctstate|ctproto|ctorigsrc|ctorigdst|ctreplsrc|ctrepldst|"
          "ctorigsrcport|ctorigdstport|ctreplsrcport|ctrepldstport|ctstatus|ctexpire|ctdir"),
    _spec("mark", "mark:mark", required="mark"),
    _spec("connmark", "mark:mark", required="mark"),
    _spec("set", "match-set:setref return-nomatch update-counters update-subcounters "
          "packets-eq:u64 packets-lt:u64 packets-gt:u64 bytes-eq:u64 bytes-lt:u64 "
          "bytes-gt:u64", required="match-set"),
    _spec("comment", "comment:comment", required="comment"),
    _spec("iprange", "src-range:iprange dst-range:iprange", required="src-range|dst-range"),
    _spec("limit", "limit:rate limit-burst:u32"),
    _spec("hashlimit", "hashlimit-upto:hrate hashlimit-above:hrate hashlimit:hrate "
          "hashlimit-burst:hburst hashlimit-mode:hmode hashlimit-srcmask:u8 "
          "hashlimit-dstmask:u8 hashlimit-name:str hashlimit-htable-size:u32 "
          "hashlimit-htable-max:u32 hashlimit-htable-gcinterval:u32 "
          "hashlimit-htable-expire:u32 hashlimit-rate-match hashlimit-rate-interval:u32",
          required="hashlimit-name hashlimit-upto|hashlimit-above|hashlimit",
          exclusive="hashlimit-upto|hashlimit-above|hashlimit"),
    _spec("recent", "set rcheck update remove seconds:u32 reap hitcount:hitcount rttl "
          "name:str rsource rdest mask:addr", exclusive="set|rcheck|update|remove "
          "rsource|rdest", check=_recent),
    _spec("owner", "uid-owner:idrange gid-owner:idrange socket-exists suppl-groups:-",
          required="uid-owner|gid-owner|socket-exists", chains="OUTPUT POSTROUTING",
          check=_owner),
    _spec("physdev", "physdev-in:iface physdev-out:iface physdev-is-in physdev-is-out "
          "physdev-is-bridged", required="physdev-in|physdev-out|physdev-is-in|"
          "physdev-is-out|physdev-is-bridged"),
    _spec("pkttype", "pkt-type:pkttype", required="pkt-type"),
    _spec("addrtype", "src-type:addrtypes dst-type:addrtypes limit-iface-in limit-iface-out",
          required="src-type|dst-type", exclusive="limit-iface-in|limit-iface-out"),
    _spec("length", "length:r16", required="length"),
    _spec("ttl", "ttl-eq:u8 ttl-lt:u8 ttl-gt:u8", required="ttl-eq|ttl-lt|ttl-gt",
          exclusive="ttl-eq|ttl-lt|ttl-gt", family=4),
    _spec("hl", "hl-eq:u8 hl-lt:u8 hl-gt:u8", required="hl-eq|hl-lt|hl-gt",
          exclusive="hl-eq|hl-lt|hl-gt", family=6),
    _spec("tos", "tos:tos", required="tos"),
    _spec("dscp", "dscp:dscp dscp-class:dscpclass", required="dscp|dscp-class",
          exclusive="dscp|dscp-class"),
    _spec("ecn", "ecn-tcp-cwr ecn-tcp-ece ecn-ip-ect:ect", protocols=(TCP,),
          required="ecn-tcp-cwr|ecn-tcp-ece|ecn-ip-ect"),
    _spec("esp", "espspi:r32", protocols=(ESP,)),
    _spec("ipcomp", "ipcompspi:r32 compres", protocols=(IPCOMP,)),
    _spec("helper", "helper:str", required="helper"),
    _spec("cpu", "cpu:u32", required="cpu"),
    _spec("quota", "quota:u64", required="quota"),
    _spec("statistic", "mode:statmode probability:probability every:u32 packet:u32",
          required="mode", check=_statistic),
    _spec("string", "algo:algo string:pattern hex-string:hexpattern from:u16 to:u16 icase",
          required="algo string|hex-string"),
    _spec("time", "timestart:any timestop:any monthdays:any weekdays:any datestart:any "
          "datestop:any kerneltz localtz contiguous utc"),
    _spec("u32", "u32:str", required="u32"),
    _spec("bpf", "bytecode:str object-pinned:str", required="bytecode|object-pinned"),
    _spec("cgroup", "cgroup:u32 path:str", required="cgroup|path", exclusive="cgroup|path"),
    _spec("cluster", "cluster-total-nodes:u32 cluster-local-node:u32 "
          "cluster-local-nodemask:u32 cluster-hash-seed:u32",
          required="cluster-total-nodes cluster-local-node|cluster-local-nodemask "
          "cluster-hash-seed", check=_cluster),
    _spec("connbytes", "connbytes:r64 connbytes-mode:cbmode connbytes-dir:cbdir",
          required="connbytes connbytes-mode connbytes-dir"),
    _spec("connlabel", "label:str set", required="label"),
    _spec("connlimit", "connlimit-upto:u32 connlimit-above:u32 connlimit-mask:u8 "
          "connlimit-saddr connlimit-daddr", required="connlimit-upto|connlimit-above",
          exclusive="connlimit-upto|connlimit-above connlimit-saddr|connlimit-daddr"),
    _spec("mac", "mac-source:mac", required="mac-source"),
    _spec("nfacct", "nfacct-name:str", required="nfacct-name"),
    _spec("policy", "dir:poldir pol:pol strict reqid:u32 spi:u32 proto:polproto "
          "mode:polmode tunnel-src:addr tunnel-dst:addr next", required="dir pol",
          check=_policy),
    _spec("realm", "realm:mark", required="realm", family=4),
    _spec("socket", "transparent nowildcard restore-skmark"),
    _spec("rpfilter", "loose validmark accept-local invert"),
    _spec("osf", "genre:str ttl:osfttl log:osflog", protocols=(TCP,), required="genre"),
    _spec("ipvs", "ipvs vproto:ctproto vaddr:addr vport:port vdir:ctdir vmethod:vmethod "
          "vportctl:port"),
    _spec("devgroup", "src-group:mark dst-group:mark", required="src-group|dst-group"),
    _spec("tcpmss", "mss:r16", protocols=(TCP,), required="mss"),
    _spec("ah", "ahspi:r32 ahlen:u32 ahres"),
    _spec("frag", "fragid:r32 fraglen:u32 fragres fragfirst fragmore fraglast",
          exclusive="fragmore|fraglast", family=6),
    _spec("dst", "dst-len:u32 dst-opts:str", family=6),
    _spec("hbh", "hbh-len:u32 hbh-opts:str", family=6),
    _spec("eui64", "", family=6, chains="PREROUTING INPUT FORWARD"),
    _spec("rt", "rt-type:u32 rt-segsleft:r32 rt-len:u32 rt-0-res rt-0-addrs:str "
          "rt-0-not-strict", family=6),
    _spec("mh", "mh-type:r8", protocols=(MH,), family=6),
    _spec("ipv6header", "header:str soft", required="header", family=6),
    _spec("srh", "", family=6, loose=True),
    _spec("rateest", "", loose=True),
    _spec("l2tp", "", loose=True),
)

_NAT_TABLE = "nat"
_TARGET_SPECS = (
    _spec("REJECT", "reject-with:rejectwith", target=True),
    _spec("LOG", "log-level:loglevel log-prefix:logprefix log-tcp-sequence log-tcp-options "
          "log-ip-options log-uid log-macdecode", target=True),
    _spec("NFLOG", "nflog-group:u16 nflog-prefix:str nflog-range:u32 nflog-size:u32 "
          "nflog-threshold:u16", target=True),
    _spec("DNAT", "to-destination:natto random persistent random-fully", target=True,
          required="to-destination", tables=_NAT_TABLE),
    _spec("SNAT", "to-source:natto random persistent random-fully", target=True,
          required="to-source", tables=_NAT_TABLE),
    _spec("MASQUERADE", "to-ports:natports random random-fully", target=True,
          tables=_NAT_TABLE),
    _spec("REDIRECT", "to-ports:natports random", target=True, tables=_NAT_TABLE),
    _spec("NETMAP", "to:netmap", target=True, required="to", tables=_NAT_TABLE),
    _spec("MARK", "set-mark:mark set-xmark:mark and-mark:u32 or-mark:u32 xor-mark:u32",
          target=True, required="set-mark|set-xmark|and-mark|or-mark|xor-mark",
          exclusive="set-mark|set-xmark|and-mark|or-mark|xor-mark"),
    _spec("CONNMARK", "set-mark:mark set-xmark:mark save-mark restore-mark and-mark:u32 "
          "or-mark:u32 xor-mark:u32 nfmask:u32 ctmask:u32 mask:u32", target=True,
          required="set-mark|set-xmark|save-mark|restore-mark|and-mark|or-mark|xor-mark"),
    _spec("CT", "notrack helper:str ctevents:ctevents expevents:expevents zone:u16 "
          "zone-orig:u16 zone-reply:u16 timeout:str", target=True, tables="raw"),
    _spec("NOTRACK", "", target=True, tables="raw"),
    _spec("TRACE", "", target=True, tables="raw"),
    _spec("TCPMSS", "set-mss:u16 clamp-mss-to-pmtu", target=True, protocols=(TCP,),
          required="set-mss|clamp-mss-to-pmtu", exclusive="set-mss|clamp-mss-to-pmtu"),
    _spec("TCPOPTSTRIP", "strip-options:tcpopts", target=True, protocols=(TCP,),
          tables="mangle"),
    _spec("CLASSIFY", "set-class:classid", target=True, required="set-class"),
    _spec("DSCP", "set-dscp:dscp set-dscp-class:dscpclass", target=True,
          required="set-dscp|set-dscp-class", exclusive="set-dscp|set-dscp-class",
          tables="mangle"),
    _spec("TOS", "set-tos:tos and-tos:u8 or-tos:u8 xor-tos:u8", target=True,
          required="set-tos|and-tos|or-tos|xor-tos", tables="mangle"),
    _spec("TTL", "ttl-set:u8 ttl-inc:ttlstep ttl-dec:ttlstep", target=True, family=4,
          required="ttl-set|ttl-inc|ttl-dec", exclusive="ttl-set|ttl-inc|ttl-dec",
          tables="mangle"),
    _spec("HL", "hl-set:u8 hl-inc:ttlstep hl-dec:ttlstep", target=True, family=6,
          required="hl-set|hl-inc|hl-dec", exclusive="hl-set|hl-inc|hl-dec", tables="mangle"),
    _spec("ECN", "ecn-tcp-remove ecn-tcp-cwr ecn-tcp-ece ecn-ip-ect:ect", target=True,
          family=4, protocols=(TCP,), required="ecn-tcp-remove|ecn-tcp-cwr|ecn-tcp-ece|"
          "ecn-ip-ect", tables="mangle"),
    _spec("AUDIT", "type:audittype", target=True, required="type"),
    _spec("CHECKSUM", "checksum-fill", target=True, required="checksum-fill",
          tables="mangle"),
    _spec("CONNSECMARK", "save restore", target=True, required="save|restore",
          exclusive="save|restore"),
    _spec("SECMARK", "selctx:str", target=True, required="selctx"),
    _spec("HMARK", "hmark-tuple:str hmark-mod:u32 hmark-offset:u32 hmark-src-prefix:u8 "
          "hmark-dst-prefix:u8 hmark-sport-mask:u16 hmark-dport-mask:u16 hmark-spi-mask:u32 "
          "hmark-proto-mask:u16 hmark-rnd:u32 hmark-ct", target=True,
          required="hmark-mod"),
    _spec("IDLETIMER", "timeout:u32 label:str alarm", target=True, required="timeout label"),
    _spec("LED", "led-trigger-id:str led-delay:any led-always-blink", target=True,
          required="led-trigger-id"),
    _spec("RATEEST", "rateest-name:str rateest-interval:any rateest-ewmalog:any",
          target=True, required="rateest-name rateest-interval rateest-ewmalog"),
    _spec("SET", "add-set:setref del-set:setref map-set:setref timeout:u32 exist "
          "map-mark map-prio map-queue", target=True, required="add-set|del-set|map-set"),
    _spec("SYNPROXY", "mss:u16 wscale:u8 sack-perm timestamp ecn", target=True,
          protocols=(TCP,)),
    _spec("TEE", "gateway:addr oif:iface", target=True, required="gateway"),
    _spec("TPROXY", "on-port:port on-ip:addr tproxy-mark:mark", target=True,
          protocols=(TCP, UDP), required="on-port", tables="mangle"),
    _spec("NFQUEUE", "queue-num:u16 queue-balance:qbalance queue-bypass queue-cpu-fanout "
          "fail-open", target=True, exclusive="queue-num|queue-balance"),
    _spec("DNPT", "src-pfx:prefix dst-pfx:prefix", target=True, family=6,
          required="src-pfx dst-pfx", tables="mangle"),
    _spec("SNPT", "src-pfx:prefix dst-pfx:prefix", target=True, family=6,
          required="src-pfx dst-pfx", tables="mangle"),
)

#: standard targets: no options; their Verdict kind
STANDARD_TARGETS = {"ACCEPT": "accept", "DROP": "drop", "RETURN": "return", "QUEUE": "queue"}
#: targets that end evaluation (the packet does not reach the next rule)
TERMINATING_TARGETS = frozenset({"REJECT", "DNAT", "SNAT", "MASQUERADE", "REDIRECT", "NETMAP",
                                 "NFQUEUE", "TPROXY", "SYNPROXY", "CLUSTERIP", "MIRROR",
                                 "TARPIT", "DROP", "ACCEPT", "RETURN", "QUEUE"})


@lru_cache(maxsize=1)
def matches() -> dict[str, Extension]:
    table = {ext.name: ext for ext in _MATCH_SPECS}
    table["icmpv6"] = table["icmp6"]
    table["ipv6-icmp"] = table["icmp6"]
    return table


@lru_cache(maxsize=1)
def targets() -> dict[str, Extension]:
    return {ext.name: ext for ext in _TARGET_SPECS}


#: a match whose module is loaded implicitly by ``-p NAME`` when an unknown option follows
PROTOCOL_MODULES = {TCP: "tcp", UDP: "udp", UDPLITE: "udplite", SCTP: "sctp", DCCP: "dccp",
                    ICMP: "icmp", ICMP6: "icmp6", ESP: "esp", AH: "ah", MH: "mh",
                    IPCOMP: "ipcomp"}
