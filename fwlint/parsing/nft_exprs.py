"""What nft expressions exist and what type their values have.

The rule reader (nft_rule.py) looks words up here: a protocol header and its fields, the
meta and conntrack keys, and the keys that stand alone.  The type names are the ones
nft_values.check_value understands; "any" accepts any constant.
"""

from __future__ import annotations

_PORTS = {"sport": "inet_service", "dport": "inet_service"}

#: header -> field -> value type
PAYLOAD: dict[str, dict[str, str]] = {
    "ether": {"daddr": "ether_addr", "saddr": "ether_addr", "type": "ether_type"},
    "vlan": {"id": "int12", "dei": "int1", "cfi": "int1", "pcp": "int3", "type": "ether_type"},
    "arp": {"htype": "int16", "ptype": "ether_type", "hlen": "int8", "plen": "int8",
            "operation": "arp_op"},
    "ip": {"version": "int4", "hdrlength": "int4", "dscp": "dscp", "ecn": "ecn",
           "length": "int16", "id": "int16", "frag-off": "int16", "ttl": "int8",
           "protocol": "inet_proto", "checksum": "int16", "saddr": "ipv4_addr",
           "daddr": "ipv4_addr"},
    "icmp": {"type": "icmp_type", "code": "icmp_code", "checksum": "int16", "id": "int16",
             "sequence": "int16", "gateway": "int32", "mtu": "int16"},
    "igmp": {"type": "igmp_type", "mrt": "int8", "checksum": "int16", "group": "int32"},
    "ip6": {"version": "int4", "dscp": "dscp", "ecn": "ecn", "flowlabel": "int20",
            "length": "int16", "nexthdr": "inet_proto", "hoplimit": "int8",
            "saddr": "ipv6_addr", "daddr": "ipv6_addr"},
    "icmpv6": {"type": "icmpv6_type", "code": "icmpv6_code", "checksum": "int16",
               "parameter-problem": "int32", "packet-too-big": "int32", "id": "int16",
               "sequence": "int16", "max-delay": "int16", "mtu": "int32", "taddr": "ipv6_addr",
               "daddr": "ipv6_addr"},
    "tcp": {**_PORTS, "sequence": "int32", "ackseq": "int32", "doff": "int4",
            "reserved": "int4", "flags": "tcp_flag", "window": "int16", "checksum": "int16",
            "urgptr": "int16"},
    "udp": {**_PORTS, "length": "int16", "checksum": "int16"},
    "udplite": {**_PORTS, "csumcov": "int16", "checksum": "int16"},
    "sctp": {**_PORTS, "vtag": "int32", "checksum": "int32"},
    "dccp": {**_PORTS, "type": "dccp_type"},
    "th": dict(_PORTS),
    "ah": {"nexthdr": "inet_proto", "hdrlength": "int8", "reserved": "int16", "spi": "int32",
           "sequence": "int32"},
    "esp": {"spi": "int32", "sequence": "int32"},
    "comp": {"nexthdr": "inet_proto", "flags": "int8", "cpi": "int16"},
    "gre": {"version": "int3", "flags": "int5", "protocol": "ether_type"},
    "gretap": {},
    "vxlan": {"vni": "int24", "flags": "int8"},
    "geneve": {"vni": "int24", "flags": "int8"},
    "hbh": {"nexthdr": "inet_proto", "hdrlength": "int8"},
    "frag": {"nexthdr": "inet_proto", "reserved": "int8", "frag-off": "int13",
             "reserved2": "int2", "more-fragments": "int1", "id": "int32"},
    "dst": {"nexthdr": "inet_proto", "hdrlength": "int8"},
    "mh": {"nexthdr": "inet_proto", "hdrlength": "int8", "type": "mh_type",
           "reserved": "int8", "checksum": "int16"},
    "srh": {"last-entry": "int8", "flags": "int8", "tag": "int16", "nexthdr": "inet_proto",
            "hdrlength": "int8", "type": "int8", "seg-left": "int8"},
    "rt": {"nexthdr": "inet_proto", "hdrlength": "int8", "type": "int8", "seg-left": "int8"},
    "rt0": {"addr": "ipv6_addr"},
    "rt2": {"addr": "ipv6_addr"},
    "rt4": {"last-entry": "int8", "flags": "int8", "tag": "int16"},
}

#: headers that carry an inner packet (``vxlan ip saddr 10.0.0.1``)
TUNNELS = frozenset({"vxlan", "geneve", "gre", "gretap"})

#: the next header each payload expression depends on (its implied layer-4 protocol)
L4_OF = {"tcp": 6, "udp": 17, "udplite": 136, "sctp": 132, "dccp": 33, "icmp": 1,
         "icmpv6": 58, "igmp": 2, "ah": 51, "esp": 50, "comp": 108, "gre": 47}

META_KEYS: dict[str, str] = {
    "length": "int32", "protocol": "ether_type", "priority": "any", "mark": "mark",
    "iif": "ifname", "iifname": "ifname", "iiftype": "any", "oif": "ifname",
    "oifname": "ifname", "oiftype": "any", "skuid": "any", "skgid": "any",
    "nftrace": "int1", "rtclassid": "any", "ibriport": "ifname", "obriport": "ifname",
    "ibrname": "ifname", "obrname": "ifname", "ibridgename": "ifname",
    "obridgename": "ifname", "pkttype": "pkttype", "cpu": "int32", "iifgroup": "any",
    "oifgroup": "any", "cgroup": "int32", "random": "int32", "ipsec": "int1",
    "secpath": "int1", "nfproto": "nf_proto", "l4proto": "inet_proto",
    "ibrpvid": "int16", "ibrvproto": "ether_type", "time": "date", "day": "day",
    "hour": "hour", "secmark": "int32", "sdif": "ifname", "sdifname": "ifname",
    "iifkind": "any", "oifkind": "any", "broute": "int1",
}
META_UNQUALIFIED = frozenset({
    "mark", "iif", "iifname", "iiftype", "oif", "oifname", "oiftype", "skuid", "skgid",
    "nftrace", "rtclassid", "ibriport", "obriport", "ibrname", "obrname", "ibridgename",
    "obridgename", "pkttype", "cpu", "iifgroup", "oifgroup", "cgroup", "ipsec", "time",
    "day", "hour",
})
#: meta keys only the bridge family has
BRIDGE_META = frozenset({"ibriport", "obriport", "ibrname", "obrname", "ibridgename",
                         "obridgename", "ibrpvid", "ibrvproto", "broute"})

CT_KEYS: dict[str, str] = {
    "state": "ct_state", "direction": "ct_dir", "status": "ct_status", "mark": "mark",
    "expiration": "time", "helper": "string", "l3proto": "nf_proto", "protocol": "inet_proto",
    "bytes": "int64", "packets": "int64", "avgpkt": "int64", "zone": "int16",
    "event": "ct_event", "label": "int7", "id": "int32", "saddr": "any", "daddr": "any",
    "proto-src": "inet_service", "proto-dst": "inet_service", "secmark": "int32",
    "count": "int32", "expectation": "string", "timeout": "string",
}
CT_DIRECTIONAL = frozenset({"bytes", "packets", "avgpkt", "zone", "l3proto", "protocol",
                            "saddr", "daddr", "proto-src", "proto-dst", "ip", "ip6"})

TCP_OPTIONS = frozenset({"eol", "nop", "maxseg", "mss", "window", "sack-perm", "sack-permitted",
                         "sack", "sack0", "sack1", "sack2", "sack3", "timestamp", "fastopen",
                         "md5sig", "mptcp"})
TCP_OPTION_FIELDS = frozenset({"kind", "length", "size", "count", "left", "right", "tsval",
                               "tsecr", "subtype"})
IP_OPTIONS = frozenset({"lsrr", "rr", "ssrr", "ra"})
IP_OPTION_FIELDS = frozenset({"type", "length", "value", "ptr", "addr"})
SCTP_CHUNKS = frozenset({"data", "init", "init-ack", "sack", "heartbeat", "heartbeat-ack",
                         "abort", "shutdown", "shutdown-ack", "error", "cookie-echo",
                         "cookie-ack", "ecne", "cwr", "shutdown-complete", "asconf-ack",
                         "forward-tsn", "asconf"})
SCTP_CHUNK_FIELDS = frozenset({"type", "flags", "length", "tsn", "stream", "ssn", "ppid",
                               "init-tag", "a-rwnd", "num-outbound-streams",
                               "num-inbound-streams", "initial-tsn", "cum-tsn-ack",
                               "num-gap-ack-blocks", "num-dup-tsns", "lowest-tsn",
                               "seqno", "new-cum-tsn"})

TCP_OPTION_FIELDS_OF = {
    "eol": {"kind"}, "nop": {"kind"}, "maxseg": {"kind", "length", "size"},
    "mss": {"kind", "length", "size"}, "window": {"kind", "length", "count"},
    "sack-perm": {"kind", "length"}, "sack-permitted": {"kind", "length"},
    "sack": {"kind", "length", "left", "right"}, "sack0": {"kind", "length", "left", "right"},
    "sack1": {"kind", "length", "left", "right"}, "sack2": {"kind", "length", "left", "right"},
    "sack3": {"kind", "length", "left", "right"},
    "timestamp": {"kind", "length", "tsval", "tsecr"}, "mptcp": {"kind", "length", "subtype"},
}

RAW_BASES = frozenset({"@ll", "@nh", "@th", "@ih"})

#: headers that exist only for one address family
FAMILY_OF_HEADER = {"ip": "ip", "icmp": "ip", "igmp": "ip", "ip6": "ip6", "icmpv6": "ip6",
                    "hbh": "ip6", "frag": "ip6", "dst": "ip6", "mh": "ip6", "srh": "ip6",
                    "rt0": "ip6", "rt2": "ip6", "rt4": "ip6"}

VERDICTS = frozenset({"accept", "drop", "continue", "return", "jump", "goto", "queue",
                      "reject"})
NAT_STATEMENTS = frozenset({"dnat", "snat", "masquerade", "redirect"})
