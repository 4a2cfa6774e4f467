"""One nft rule (the text of a LINE token) -> model matches, statements and verdicts.

Lark reads the block structure; the inside of a rule is read here with one regular
expression and a small recursive reader, because that keeps 100k-rule files fast.  Values
are read by the type of the expression they are compared with (nft_exprs, nft_values).

A rule that holds a disjunction the model cannot say in one rule -- a verdict map
(``tcp dport vmap { 22 : accept, 80 : drop }``) or an anonymous set of concatenations --
becomes one model Rule per element, all sharing the rule's span and text, ordered by key:
the keys are disjoint, so first-match order among them does not matter (a ``*`` key comes
last).  ``jump { … }`` becomes a chain named ``__chainN``.

Meanings that are easy to get wrong, checked against the kernel: ``limit`` and ``quota``
are matches (packets over the rate do not match), so they become OpaqueMatch like
iptables' ``-m limit``; ``!=`` on a flag word (``ct status != dnat``, ``ct state != a,b``,
``tcp flags != syn``) compares the whole word, while ``tcp flags syn`` tests one bit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable, NamedTuple, NoReturn, Optional

from ..model import (AddressMatch, CtStateMatch, FamilyMatch, IcmpTypeMatch, InterfaceMatch,
                     MarkMatch, NamedSet, OpaqueMatch, PortMatch, ProtocolMatch, SetMatch,
                     Statement, TcpFlagsMatch, Verdict, match_sort_key)
from . import nft_values as V
from .nft_exprs import (BRIDGE_META, CT_DIRECTIONAL, CT_KEYS, FAMILY_OF_HEADER, IP_OPTION_FIELDS,
                        IP_OPTIONS, L4_OF, META_KEYS, META_UNQUALIFIED, NAT_STATEMENTS, PAYLOAD,
                        RAW_BASES, SCTP_CHUNK_FIELDS, SCTP_CHUNKS, TCP_OPTION_FIELDS,
                        TCP_OPTION_FIELDS_OF, TCP_OPTIONS,
                        TUNNELS, VERDICTS)

_TOKEN = re.compile(r'[ \t\r\n\f]+|\\\n|#[^\n]*|(?P<s>"(?:[^"\\\n]|\\.)*")'
                    r'|(?P<p>!=|==|<=|>=|<<|>>|[{}(),;<>&|^=!])|(?P<w>[^\s{}(),;"!=<>&|^#]+)'
                    r'|(?P<bad>.)', re.S)


class Tok(NamedTuple):
    kind: str  # "w" word, "s" string, "p" punctuation
    text: str
    offset: int


class RuleProblem(Exception):
    """Bad rule text: message, offset into the rule text, what was expected."""

    def __init__(self, message: str, offset: int, expected: tuple[str, ...] = (),
                 found: str = "") -> None:
        super().__init__(message)
        self.offset = offset
        self.expected = expected
        self.found = found


class ExpansionLimit(RuleProblem):
    """Variables expand to more tokens than the file's budget (a "billion laughs" of defines)."""


def tokenize(text: str) -> list[Tok]:
    """Split rule text into words, strings and punctuation."""
    toks = []
    append = toks.append
    for m in _TOKEN.finditer(text):
        kind = m.lastgroup
        if kind is None:
            continue
        if kind == "bad":
            raise RuleProblem(f"unexpected character {m.group()!r}", m.start(), found=m.group())
        append(Tok(kind, m.group(), m.start()))
    return toks


def expand_defines(toks: list[Tok], defines: dict[str, list[Tok]],
                   budget: Optional[int] = None) -> list[Tok]:
    """Replace ``$name`` by the define's tokens (defines are stored already expanded);
    ``budget`` bounds how many tokens the expansion adds, since each define may double
    the one before."""
    if not any(t.kind == "w" and "$" in t.text for t in toks):
        return toks
    out: list[Tok] = []
    grown = 0
    for tok in toks:
        if tok.kind == "w" and tok.text.startswith("$"):
            name = tok.text[1:]
            if name not in defines:
                raise RuleProblem(f"undefined variable ${name}", tok.offset, found=tok.text)
            grown += len(defines[name]) - 1
            if budget is not None and grown > budget:
                raise ExpansionLimit("variables expand past the budget", tok.offset,
                                     found=tok.text)
            out.extend(Tok(t.kind, t.text, tok.offset) for t in defines[name])
        elif tok.kind == "w" and "$" in tok.text:
            raise RuleProblem(f"cannot read {tok.text!r}: a variable inside a word",
                              tok.offset, found=tok.text)
        else:
            out.append(tok)
    return out


@dataclass
class RuleContext:
    """What a rule needs to know about where it is."""

    family: str
    chain_type: Optional[str] = None
    hook: Optional[str] = None
    sets: dict[str, NamedSet] = field(default_factory=dict)
    span_of: Callable[[int, int], object] = lambda start, end: None
    #: (kind, name) of the table's stateful objects, None when unknown
    objects: Optional[set] = None


@dataclass
class RuleParts:
    """A rule read: shared matches and statements, and its branches (extra matches, verdict)."""

    matches: list = field(default_factory=list)
    statements: list = field(default_factory=list)
    verdict: Optional[Verdict] = None
    comment: Optional[str] = None
    #: ``jump { … }``: where the rules of the anonymous chain are in the rule text
    binding: Optional[tuple[int, int]] = None
    branches: list = field(default_factory=lambda: [([], None)])


@dataclass
class _Field:
    """One part of a left-hand side: header, field and value type (``tcp``, ``dport``)."""

    header: str
    name: str
    kind: str
    text: str


@dataclass
class _Expr:
    fields: list
    start: int
    end: int
    text: str
    mask: Optional[str] = None


@dataclass
class _Elem:
    """A constant in a right-hand side: the words of each concatenated part, a map value."""

    parts: list  # list[str]
    value: Optional[list] = None  # map value tokens
    offset: int = 0


_REL_OPS = {"!": "!", "==": "==", "!=": "!=", "<": "<", ">": ">", "<=": "<=", ">=": ">=",
            "eq": "==", "ne": "!=", "lt": "<", "gt": ">", "le": "<=", "ge": ">="}
_WORD_OPS = {"==": "eq", "!=": "ne", "<": "lt", ">": "gt", "<=": "le", ">=": "ge"}
_MASK_OPS = {"&": "&", "|": "|", "^": "^", "<<": "<<", ">>": ">>", "and": "&", "or": "|",
             "xor": "^", "lshift": "<<", "rshift": ">>"}
_STATEMENT_WORDS = frozenset({"counter", "log", "limit", "quota", "notrack", "comment", "flow",
                              "dup", "fwd", "synproxy", "tproxy", "xt", "last", "add", "update",
                              "delete", "set", "masquerade", "redirect", "dnat", "snat", "meta",
                              "ct", "ip", "ip6", "tcp", "udp"})
_NAT_FLAGS = frozenset({"persistent", "random", "fully-random", "netmap", "prefix"})
_SET_TYPES = {"ipv4_addr": "ipv4_addr", "ipv6_addr": "ipv6_addr",
              "inet_service": "inet_service", "inet_proto": "inet_proto",
              "ether_addr": "ether_addr", "mark": "mark", "ifname": "ifname"}
_GLUED_VERDICT = re.compile(r"^(.+):(accept|drop|continue|return)$")
_RATE_WORD = re.compile(r"^(\d+|/|second|minute|hour|day|week|/\w+|(packets|bytes|kbytes|mbytes)(/\w+)?|\d+/\w+)$")
_EXPR_HEADS = frozenset(PAYLOAD) | META_UNQUALIFIED | RAW_BASES | frozenset(
    {"meta", "ct", "fib", "rt", "socket", "osf", "ipsec", "numgen", "jhash", "symhash",
     "exthdr", "tunnel"})


class RuleReader:
    """Reads the tokens of one rule."""

    def __init__(self, toks: list[Tok], ctx: RuleContext, text: str) -> None:
        self.toks = toks
        self.words = [t.text if t.kind != "s" else "" for t in toks] + ["", ""]
        #: the comparison being read is exact (``==``/``!=`` or a set lookup), not nft's
        #: implicit flag test (``tcp flags syn`` means the syn bit is set)
        self.exact = False
        self.in_set = False
        #: the rule matched ``ether type arp`` (or another non-IP ethertype)
        self.not_ip = False
        #: the rule matched ``ether type ip``/``ip6`` (a vlan header can no longer follow)
        self.ether_type = ""
        self.pos = 0
        self.ctx = ctx
        self.text = text
        self.parts = RuleParts()

    # ------------------------------------------------------------------ token helpers

    def peek(self, ahead: int = 0) -> Optional[Tok]:
        index = self.pos + ahead
        return self.toks[index] if index < len(self.toks) else None

    def word(self, ahead: int = 0) -> str:
        index = self.pos + ahead
        return self.words[index] if index < len(self.words) else ""

    def take(self) -> Tok:
        tok = self.peek()
        if tok is None:
            raise RuleProblem("unexpected end of rule", len(self.text), found="end of line")
        self.pos += 1
        return tok

    def expect(self, *words: str) -> Tok:
        tok = self.peek()
        if tok is None or tok.text not in words:
            self.fail(f"expected {' or '.join(words)}", words)
        return self.take()

    def fail(self, message: str, expected: tuple[str, ...] = ()) -> NoReturn:
        tok = self.peek()
        if tok is None:
            raise RuleProblem(message + ", found end of rule", len(self.text), expected,
                              "end of line")
        raise RuleProblem(f"{message}, found {tok.text!r}", tok.offset, expected, tok.text)

    def take_value_word(self, what: str) -> str:
        tok = self.peek()
        if tok is None or tok.kind == "p":
            self.fail(f"expected {what}")
        self.pos += 1
        return tok.text[1:-1] if tok.kind == "s" else tok.text

    def span(self, start: int, end: int):
        return self.ctx.span_of(start, end)

    def end_of(self, index: int) -> int:
        tok = self.toks[index - 1]
        return tok.offset + len(tok.text)

    # ------------------------------------------------------------------ rule

    def read(self) -> RuleParts:
        if not self.toks:
            raise RuleProblem("empty rule", 0)
        try:
            return self._read()
        except V.ValueProblem as exc:
            tok = self.peek() or self.toks[-1]
            raise RuleProblem(str(exc), self.toks[max(self.pos - 1, 0)].offset,
                              found=tok.text) from None
        except (IndexError, KeyError, ValueError) as exc:
            raise RuleProblem(f"cannot read this rule ({type(exc).__name__}: {exc})",
                              self.toks[min(self.pos, len(self.toks) - 1)].offset) from None

    def _read(self) -> RuleParts:
        while self.peek() is not None:
            tok = self.peek()
            if tok.kind == "p":
                if tok.text == ";":
                    self.pos += 1
                    continue
                self.fail("expected a match or a statement")
            if self.parts.verdict is not None and tok.text not in ("comment", "counter", "log"):
                self.fail("nothing may follow a verdict but a comment")
            word = tok.text
            if word in VERDICTS:
                self.read_verdict()
            elif word in NAT_STATEMENTS:
                self.read_nat()
            elif word in _SIMPLE_STATEMENTS:
                _SIMPLE_STATEMENTS[word](self)
            elif word in ("add", "update", "delete") and self.word(1).startswith("@"):
                self.read_set_update()
            else:
                self.read_expression_statement()
        return self.parts

    def add_statement(self, kind: str, start_index: int, options=()) -> None:
        start = self.toks[start_index].offset
        end = self.end_of(self.pos)
        text = self.text[start:end]
        if kind == "opaque":
            options = (("nft", V.canonical_text(text)),)
        elif kind not in ("log", "nflog"):
            options = tuple(tuple(V.canonical_text(part) for part in option)
                            for option in options)
        else:
            options = tuple(tuple(option) for option in options)
        self.parts.statements.append(Statement(kind, options, self.span(start, end), text))

    def add_rate_match(self, module: str, start_index: int, options) -> None:
        """``limit`` and ``quota`` stop matching past their rate or quota: like iptables'
        ``-m limit``, they are matches fwlint cannot decide, not statements."""
        start = self.toks[start_index].offset
        end = self.end_of(self.pos)
        options = tuple(tuple(V.canonical_text(part) for part in option) for option in options)
        self.parts.matches.append(OpaqueMatch(module, options, False, self.span(start, end),
                                              self.text[start:end]))

    def set_verdict(self, verdict_kind: str, start_index: int, **kw) -> None:
        start = self.toks[start_index].offset
        self.parts.verdict = Verdict(verdict_kind, span=self.span(start, self.end_of(self.pos)),
                                     **kw)

    # ------------------------------------------------------------------ verdicts

    def read_verdict(self) -> None:
        start = self.pos
        word = self.take().text
        if word in ("jump", "goto"):
            if self.word() == "{":
                body_start = self.peek().offset
                self.skip_braces()
                self.parts.binding = (body_start + 1, self.toks[self.pos - 1].offset)
                self.set_verdict(word, start, target="")
                return
            target = self.take_value_word("a chain name")
            self.set_verdict(word, start, target=target)
        elif word == "queue":
            options = []
            while self.word() in ("num", "to", "flags", "bypass", "fanout"):
                key = self.take().text
                if key in ("bypass", "fanout"):
                    options.append((key,))
                    continue
                if key == "to" and self.word() in _EXPR_HEADS:
                    value_start = self.pos
                    assigned = self.read_set_value()
                    self.check_queue_target(assigned, options, self.toks[value_start].offset)
                    options.append((key, V.canonical_text(self._text(value_start))))
                    continue
                text = self.read_list_text()
                if key in ("num", "to"):
                    for part in re.split(r"[-,]", text):
                        V.parse_int(part.strip(), 16)
                options.append((key, text))
            self.set_verdict("queue", start, options=tuple(options))
        elif word == "reject":
            if self.not_ip:
                raise RuleProblem("reject is only possible for IPv4 and IPv6 packets",
                                  self.toks[start].offset)
            self.set_verdict("reject", start, options=self.read_reject())
        else:
            self.set_verdict(word, start)

    def check_queue_target(self, assigned: tuple, options: list, offset: int) -> None:
        if any("fanout" in "".join(option) for option in options):
            raise RuleProblem("queue fanout cannot be used with 'queue to EXPRESSION'", offset)
        if assigned[0] != "expr" or not (assigned[2] or assigned[1].fields[0].header in
                                         ("numgen", "jhash", "symhash")):
            raise RuleProblem("queue to needs a number, a hash, numgen or a map", offset)
        text = assigned[1].text
        modulus = re.search(r"\bmod (\d+)", text)
        shift = re.search(r"\boffset (\d+)", text)
        if modulus and int(modulus.group(1)) + (int(shift.group(1)) if shift else 0) > 65536:
            raise RuleProblem("queue numbers go up to 65535", offset)

    def read_reject(self) -> tuple:
        if self.word() != "with":
            return ()
        self.take()
        kind = self.expect("icmp", "icmpv6", "icmpx", "tcp").text
        if kind == "tcp":
            self.expect("reset")
            if self.l4_now() and self.l4_now() != {6}:
                raise RuleProblem("reject with tcp reset needs a tcp match first",
                                  self.toks[self.pos - 1].offset)
            return (("--reject-with", "tcp-reset"),)
        if self.word() == "type":
            self.take()
        code = self.take_value_word("a reject code")
        names = {"icmp": V.ICMP_CODES, "icmpv6": V.ICMPV6_CODES,
                 "icmpx": dict.fromkeys(V.ICMPX_CODES, 0)}[kind]
        if code not in names:
            V.parse_int(code, 8)
        family = self.family_now()
        if (kind == "icmp" and family == "ip6") or (kind == "icmpv6" and family == "ip"):
            raise RuleProblem(f"reject with {kind} is not possible for {family} packets",
                              self.toks[self.pos - 1].offset)
        default = {"ip": ("icmp", "port-unreachable"), "ip6": ("icmpv6", "port-unreachable"),
                   "inet": ("icmpx", "port-unreachable"),
                   "bridge": ("icmpx", "port-unreachable")}.get(self.ctx.family)
        if default == (kind, code):
            return ()
        prefix = {"icmp": "icmp-", "icmpv6": "icmp6-", "icmpx": "icmpx-"}[kind]
        if (kind, code) == ("icmpv6", "admin-prohibited"):
            code = "adm-prohibited"
        return (("--reject-with", prefix + code),)

    def read_nat(self) -> None:
        start = self.pos
        kind = self.take().text
        if self.ctx.chain_type not in (None, "nat"):
            raise RuleProblem(f"{kind} is only possible in a chain of type nat",
                              self.toks[start].offset, found=kind)
        family = self.family_now()
        if self.word() in ("ip", "ip6"):
            named = self.take().text
            if family not in (None, named) or self.ctx.family not in ("inet", named):
                raise RuleProblem(f"{kind} {named} in a rule for {family or self.ctx.family}",
                                  self.toks[start].offset)
            family = named
        addresses: tuple = ()
        ports: tuple = ()
        options: list = []
        if self.word() == "prefix":
            options.append(("flags", self.take().text))
        if self.word() == "to" or (kind in ("dnat", "snat") and self.peek() is not None
                                   and self.word() not in _NAT_FLAGS):
            if self.word() == "to":
                self.take()
            if self.word().startswith(":") and self.word()[1:] in _EXPR_HEADS:
                head = self.toks[self.pos]
                self.toks[self.pos] = Tok("w", head.text[1:], head.offset + 1)
                self.words[self.pos] = head.text[1:]
            target_start = self.pos
            if self._simple_nat_target():
                addresses, ports = self._nat_address(self.take().text, kind, family)
                if addresses and family is None:
                    raise RuleProblem(f"{kind} to an address in an inet table needs "
                                      f"'{kind} ip to' or 'ip6 to'", self.toks[start].offset)
            else:
                key = self.read_expression()
                if self.word() == "map":
                    self.take()
                    value = self.read_value()
                    if value[0] == "set" and any(e.value and "." in e.value for e in value[1]) \
                            and not any(f.header in L4_OF for f in key.fields):
                        ports = ((0, 65535),)
                options.append(("to", V.canonical_text(self._text(target_start))))
            if ports and not self.l4_now():
                raise RuleProblem(f"{kind} to a port needs a transport protocol match first "
                                  "(e.g. tcp dport or meta l4proto tcp)", self.toks[start].offset)
        elif kind in ("dnat", "snat"):
            self.fail(f"expected 'to' after {kind}", ("to",))
        while self.word() in _NAT_FLAGS:
            flags = self.read_list_text()
            options.append(("flags", flags))
        self.set_verdict(kind, start, to_addresses=addresses, to_ports=ports,
                         options=tuple(options))

    def family_now(self) -> Optional[str]:
        """The address family this rule is limited to so far (None: either)."""
        for match in self.parts.matches:
            if isinstance(match, FamilyMatch) and not match.negated:
                return match.family
        return self.ctx.family if self.ctx.family in ("ip", "ip6") else None

    def l4_now(self) -> frozenset:
        """Layer-4 protocols this rule is limited to so far (empty: any)."""
        found: Optional[frozenset] = None
        for match in self.parts.matches:
            if isinstance(match, ProtocolMatch) and not match.negated:
                found = match.protocols if found is None else found & match.protocols
        return found or frozenset()

    def _simple_nat_target(self) -> bool:
        tok = self.peek()
        if tok is None or tok.kind != "w":
            return False
        nxt = self.peek(1)
        return tok.text not in _EXPR_HEADS and not tok.text.startswith("@") and not (
            nxt is not None and nxt.kind == "w" and nxt.text in (".", "map"))

    def _nat_address(self, text: str, kind: str, family: str) -> tuple:
        offset = self.toks[self.pos - 1].offset
        try:
            address, port_text = _split_address_port(text, family)
            ports = (V.port_range(port_text),) if port_text else ()
            if not address:
                return (), ports
            if kind in ("masquerade", "redirect"):
                raise V.ValueProblem(f"{kind} takes only ports")
            if family is not None and (family == "ip6") != (":" in address):
                raise V.ValueProblem(f"{address} is not an {family} address")
            interval = V.ipv6_interval(address) if family == "ip6" or ":" in address \
                else V.ipv4_interval(address)
            return (interval,), ports
        except V.ValueProblem as exc:
            raise RuleProblem(str(exc), offset, found=text) from None

    # ------------------------------------------------------------------ statements

    def read_counter(self) -> None:
        start = self.pos
        self.take()
        options = []
        if self.word() == "name":
            self.take()
            options.append(("name", self.read_object_name("counter")))
        while self.word() in ("packets", "bytes"):
            self.take()
            V.parse_int(self.take_value_word("a number"), 64)
        self.add_statement("counter", start, options)

    def read_log(self) -> None:
        start = self.pos
        self.take()
        options = []
        while self.word() in ("prefix", "level", "group", "snaplen", "queue-threshold", "flags"):
            key = self.take().text
            if key == "flags":
                flag_start = self.pos
                while self.word() in ("tcp", "ip", "sequence", "options", "skuid", "ether",
                                      "all", ","):
                    self.take()
                if self.pos == flag_start:
                    self.fail("expected log flags", ("tcp", "ip", "skuid", "ether", "all"))
                options.append((key, self.text[self.toks[flag_start].offset:
                                               self.end_of(self.pos)]))
            else:
                value = self.take_value_word(f"a log {key}")
                if key == "level" and value not in ("emerg", "alert", "crit", "err", "warn",
                                                    "notice", "info", "debug", "audit"):
                    raise RuleProblem(f"unknown log level {value!r}",
                                      self.toks[self.pos - 1].offset, found=value)
                if key == "level" and value == "warn":
                    continue
                options.append((key, value))
        keys = {key for key, *_ in options} | ({"level"} if any(
            self.words[i] == "level" for i in range(start, self.pos)) else set())
        level = dict((key, value) for key, value in options).get("level")
        if "group" in keys and keys & {"level", "flags"}:
            raise RuleProblem("log group cannot be combined with level or flags",
                              self.toks[start].offset)
        if level == "audit" and len(keys) > 1:
            raise RuleProblem("log level audit takes no other options", self.toks[start].offset)
        if "group" in keys:
            names = {"group": "--nflog-group", "prefix": "--nflog-prefix",
                     "snaplen": "--nflog-size", "queue-threshold": "--nflog-threshold"}
            self.add_statement("nflog", start, sorted((names.get(key, key), *rest)
                                                      for key, *rest in options))
            return
        names = {"prefix": "--log-prefix", "level": "--log-level"}
        self.add_statement("log", start, sorted((names.get(key, key), *rest)
                                                for key, *rest in options))

    def read_limit(self) -> None:
        start = self.pos
        self.take()
        if self.word() == "name":
            self.take()
            self.add_rate_match("limit", start, (("name", self.read_object_name("limit")),))
            return
        self.expect("rate")
        words = []
        while self.peek() is not None and self.peek().kind == "w" and (
                self.word() in ("over", "until", "burst") or _RATE_WORD.match(self.word())):
            words.append(self.take().text)
        if not words:
            self.fail("expected a rate")
        joined = " ".join(words)
        byte_rate = bool(re.search(r"bytes\s*/", joined))
        burst = re.search(r"burst \d+ (\w+)", joined)
        if burst and (burst.group(1) == "packets") == byte_rate:
            raise RuleProblem("the burst unit must match the rate (packets or bytes)",
                              self.toks[start].offset)
        self.add_rate_match("limit", start, (("rate", joined),))

    def read_quota(self) -> None:
        start = self.pos
        self.take()
        if self.word() == "name":
            self.take()
            self.add_rate_match("quota", start, (("name", self.read_object_name("quota")),))
            return
        words = []
        while self.peek() is not None and self.peek().kind == "w" and (
                self.word() in ("over", "until", "used", "bytes", "kbytes", "mbytes", "gbytes")
                or self.word()[:1].isdigit()):
            words.append(self.take().text)
        self.add_rate_match("quota", start, (("quota", " ".join(words)),))

    def read_object_name(self, kind: str) -> str:
        """``counter name "c1"`` (which must exist) or ``counter name ip saddr map { … }``."""
        start = self.pos
        if self.word() in _EXPR_HEADS:
            self.read_set_value()
        else:
            name = self.take_value_word("a name")
            if self.ctx.objects is not None and (kind, name) not in self.ctx.objects:
                raise RuleProblem(f"no {kind} named {name!r} in this table",
                                  self.toks[start].offset, found=name)
        return self.text[self.toks[start].offset:self.end_of(self.pos)].strip('"')

    def read_notrack(self) -> None:
        start = self.pos
        self.take()
        self.add_statement("notrack", start)

    def read_comment(self) -> None:
        self.take()
        tok = self.take()
        if tok.kind != "s" and tok.kind != "w":
            raise RuleProblem("expected a comment string", tok.offset, ("string",), tok.text)
        self.parts.comment = tok.text[1:-1] if tok.kind == "s" else tok.text

    def read_opaque_statement(self) -> None:
        """``flow add @ft``, ``dup to``, ``fwd to``, ``synproxy``, ``tproxy``, ``last``, ``xt``."""
        start = self.pos
        word = self.take().text
        if word == "tproxy":
            self.check_tproxy(start)
        while self.peek() is not None:
            tok = self.peek()
            if tok.kind == "w" and (tok.text in VERDICTS or tok.text in _SIMPLE_STATEMENTS
                                    or tok.text in NAT_STATEMENTS) and tok.text != "counter" \
                    or tok.text == ";":
                break
            if tok.text == "{":
                self.read_value()
            else:
                self.pos += 1
        self.add_statement("opaque", start)

    def read_last(self) -> None:
        """``last`` or ``last used never|TIME``."""
        start = self.pos
        self.take()
        if self.word() == "used":
            self.take()
            when = self.take_value_word("never or a time")
            if when != "never":
                V.check_value("time", when)
        self.add_statement("opaque", start)

    def read_reset(self) -> None:
        """``reset tcp option NAME``."""
        start = self.pos
        self.take()
        self.expect("tcp")
        if self.word() != "option":
            self.fail("expected option", ("option",))
        self.read_option(start, "tcp", TCP_OPTIONS, frozenset())
        self.add_statement("opaque", start)

    def check_tproxy(self, start: int) -> None:
        offset = self.toks[start].offset
        if self.ctx.hook not in (None, "prerouting"):
            raise RuleProblem("tproxy is only possible in a prerouting chain", offset)
        if not self.l4_now() or not self.l4_now() <= {6, 17}:
            raise RuleProblem("tproxy needs a tcp or udp match first", offset)
        family = self.family_now()
        if self.word() in ("ip", "ip6"):
            named = self.word()
            if family not in (None, named) or self.ctx.family not in ("inet", named):
                raise RuleProblem(f"tproxy {named} in a rule for {family or self.ctx.family}",
                                  offset)
            family = named
            self.take()
        if self.word() != "to":
            raise RuleProblem("tproxy needs 'to'", offset, ("to",))
        target = self.word(1)
        address, _port = _split_address_port(target, family or "ip")
        if address and family is None:
            raise RuleProblem("tproxy to an address in an inet table needs 'tproxy ip to' or "
                              "'tproxy ip6 to'", offset)
        if address and (family == "ip6") != (":" in address):
            raise RuleProblem(f"{address} is not an {family} address", offset)

    def read_set_update(self) -> None:
        start = self.pos
        self.take()
        self.take()
        self.expect("{")
        self.pos -= 1
        self.skip_braces()
        self.add_statement("opaque", start)

    def skip_braces(self) -> None:
        depth = 0
        while True:
            tok = self.take()
            if tok.text == "{":
                depth += 1
            elif tok.text == "}":
                depth -= 1
                if depth == 0:
                    return

    # ------------------------------------------------------------------ expressions

    def read_expression_statement(self) -> None:
        start = self.pos
        expr = self.read_expression()
        word = self.word()
        if word == "set":
            self.take()
            value_start = self.pos
            self.check_set_value(expr, self.read_set_value(), self.toks[value_start].offset)
            kind = "opaque"
            if expr.fields[0].name == "mark" and len(expr.fields) == 1:
                kind = "ctmark" if expr.fields[0].header == "ct" else "mark"
            value = self.text[self.toks[value_start].offset:self.end_of(self.pos)]
            if kind != "opaque":
                value = canonical_mark_value(value)
            self.add_statement(kind, start, (("set", value),))
            return
        if word == "vmap":
            self.take()
            self.read_vmap(expr)
            return
        op = "=="
        explicit = False
        if self.peek() is not None and self.peek().text in _REL_OPS and (
                self.peek().kind == "p" or self.peek(1) is not None):
            op = _REL_OPS[self.take().text]
            explicit = True
        if op == "!" and expr.mask:
            raise RuleProblem("'!' cannot follow a bitmask; write '& … == 0'",
                              self.toks[self.pos - 1].offset)
        if self.peek() is None or (self.peek().kind == "w" and self.word() in VERDICTS
                                   and self.word() not in ("reject", "queue")):
            if expr.fields[0].kind != "bool":
                self.fail(f"expected a value for {expr.text}")
        value_offset = self.peek().offset if self.peek() is not None else len(self.text)
        value = self.read_value()
        self.exact = explicit and value[0] == "list" or value[0] == "set"
        self.in_set = value[0] == "set"
        try:
            self.add_match(expr, op, value, self.toks[start].offset, self.end_of(self.pos))
        except V.ValueProblem as exc:
            raise RuleProblem(str(exc), value_offset) from None

    def read_expression(self) -> _Expr:
        start = self.pos
        fields = [self.read_primary()]
        while self.word() == "." and self.peek().kind == "w":
            self.take()
            fields.append(self.read_primary())
        if any(f.kind == "ct_addr" for f in fields) and (len(fields) > 1 or
                                                         self.word() == "map"):
            raise RuleProblem("a conntrack address in a concatenation or map needs ip or ip6 "
                              "(ct original ip saddr)", self.toks[start].offset)
        mask = None
        while self.peek() is not None and self.peek().text in _MASK_OPS and not (
                self.peek().kind == "w" and self.peek(1) is None):
            op = _MASK_OPS[self.take().text]
            if self.word() in _EXPR_HEADS:
                operand_start = self.pos
                self.read_primary()
                operand = self._text(operand_start)
            else:
                operand = self.read_operand_text()
            mask = f"{mask or ''}{op} {operand}".strip()
        text = self.text[self.toks[start].offset:self.end_of(self.pos)]
        return _Expr(fields, self.toks[start].offset, self.end_of(self.pos), text, mask)

    def read_operand_text(self) -> str:
        start = self.pos
        if self.word() == "(":
            depth = 0
            while True:
                tok = self.take()
                depth += tok.text == "("
                depth -= tok.text == ")"
                if depth == 0:
                    break
        else:
            self.take_value_word("a value")
            while self.word() in ("|", ","):
                self.take()
                self.take_value_word("a value")
        return self.text[self.toks[start].offset:self.end_of(self.pos)]

    def read_primary(self, inner: bool = False) -> _Field:
        tok = self.peek()
        if tok is None or tok.kind != "w":
            self.fail("expected an expression")
        word = tok.text
        start = self.pos
        self.pos += 1
        family = self.ctx.family
        if word in PAYLOAD:
            header_family = FAMILY_OF_HEADER.get(word)
            if header_family and family in ("ip", "ip6") and header_family != family \
                    and not inner and word not in ("icmp", "icmpv6"):
                raise RuleProblem(f"{word} expression in a {family} table", tok.offset,
                                  found=word)
            if family == "arp" and word not in ("arp", "ether", "vlan") and not inner:
                raise RuleProblem(f"{word} expression in an arp table", tok.offset, found=word)
            if word == "rt" and self.word() in ("classid", "nexthop", "mtu", "ipsec", "ip",
                                                "ip6"):
                return self.read_route(start)
            if word == "vlan" and self.ether_type in ("ip", "ip6"):
                raise RuleProblem("a vlan header cannot follow ether type ip/ip6", tok.offset)
            if word in ("vxlan", "geneve") and not any(
                    isinstance(m, PortMatch) and m.field == "dport" for m in self.parts.matches):
                raise RuleProblem(f"{word} needs a udp dport match first", tok.offset)
            if word == "gre" and self.word() in ("ether", "vlan", "arp"):
                raise RuleProblem(f"gre carries no {self.word()} header (use gretap)",
                                  tok.offset)
            if word in TUNNELS and self.word() in PAYLOAD and self.word() not in PAYLOAD[word]:
                inner_field = self.read_primary(inner=True)
                return _Field(word + " " + inner_field.header, inner_field.name, "any",
                              self._text(start))
            if word == "tcp" and self.word() == "option":
                return self.read_option(start, "tcp", TCP_OPTIONS, TCP_OPTION_FIELDS)
            if word == "ip" and self.word() == "option":
                return self.read_option(start, "ip", IP_OPTIONS, IP_OPTION_FIELDS)
            if word == "dccp" and self.word() == "option":
                return self.read_option(start, "dccp", frozenset(), frozenset())
            if word == "sctp" and self.word() == "chunk":
                return self.read_option(start, "sctp", SCTP_CHUNKS, SCTP_CHUNK_FIELDS)
            if word == "arp" and self.word() in ("saddr", "daddr"):
                name = self.take().text
                kind = self.expect("ip", "ether").text
                return _Field("arp", name, "ipv4_addr" if kind == "ip" else "ether_addr",
                              self._text(start))
            name = self.word()
            fields = PAYLOAD[word]
            if word == "srh" and re.match(r"^sid\[\d+\]$", name):
                self.pos += 1
                return _Field(word, "sid", "ipv6_addr", self._text(start))
            if name not in fields:
                if word in ("hbh", "frag", "dst", "mh", "srh", "rt") and name in (
                        "exists", "missing"):
                    return _Field(word, "exists", "bool", self._text(start))
                self.fail(f"unknown {word} field", tuple(sorted(fields)))
            self.pos += 1
            return _Field(word, name, fields[name], self._text(start))
        if word == "meta":
            key = self.word()
            if key not in META_KEYS:
                self.fail("unknown meta key", tuple(sorted(META_KEYS)))
            self.pos += 1
            return self._meta(key, start)
        if word in META_UNQUALIFIED and not (word == "ipsec" and self.word() in ("in", "out")):
            return self._meta(word, start)
        if word == "ct":
            return self.read_ct(start)
        if word == "fib":
            return self.read_fib(start)
        if word in RAW_BASES:
            numbers = []
            for _ in range(2):
                self.expect(",")
                numbers.append(V.parse_int(self.take_value_word("a number"), 32))
            if numbers[1] == 0:
                raise RuleProblem("a raw payload expression needs a length of at least 1 bit",
                                  tok.offset)
            return _Field("raw", word, f"int{min(numbers[1], 128)}", self._text(start))
        if word == "exthdr":
            self.expect("hbh", "rt", "frag", "dst", "mh", "srh")
            return _Field("exthdr", "exists", "bool", self._text(start))
        if word == "socket":
            key = self.expect("transparent", "mark", "wildcard", "cgroupv2").text
            if key == "cgroupv2":
                self.expect("level")
                V.parse_int(self.take_value_word("a level"), 8)
            kind = "int1" if key in ("transparent", "wildcard") else "any"
            return _Field("socket", key, kind, self._text(start))
        if word == "osf":
            if self.word() == "ttl":
                self.take()
                self.expect("loose", "skip")
            self.expect("name", "version")
            return _Field("osf", "name", "string", self._text(start))
        if word == "ipsec":
            self.expect("in", "out")
            if self.word() == "spnum":
                self.take()
                V.parse_int(self.take_value_word("a number"), 8)
            key = self.expect("reqid", "spi", "ip", "ip6").text
            if key in ("ip", "ip6"):
                self.expect("saddr", "daddr")
            return _Field("ipsec", key, "any", self._text(start))
        if word in ("numgen", "jhash", "symhash"):
            return self.read_hash(word, start)
        if word == "tunnel":
            self.expect("id", "path")
            return _Field("tunnel", "id", "any", self._text(start))
        self.pos = start
        guess = _suggest(word, _VOCABULARY)
        self.fail("expected a match or a statement" + (f" (did you mean {guess!r}?)" if guess
                                                       else ""))

    def _text(self, start: int) -> str:
        return self.text[self.toks[start].offset:self.end_of(self.pos)]

    def _meta(self, key: str, start: int) -> _Field:
        if key in BRIDGE_META and self.ctx.family != "bridge":
            raise RuleProblem(f"meta {key} exists only in the bridge family",
                              self.toks[start].offset, found=key)
        return _Field("meta", key, META_KEYS[key], self._text(start))

    def read_route(self, start: int) -> _Field:
        family = self.family_now()
        if self.word() in ("ip", "ip6"):
            named = self.take().text
            if family not in (None, named):
                raise RuleProblem(f"rt {named} nexthop in a rule for {family}",
                                  self.toks[start].offset)
            self.expect("nexthop")
            return _Field("rt", "nexthop", "ipv4_addr" if named == "ip" else "ipv6_addr",
                          self._text(start))
        key = self.take().text
        if key == "nexthop":
            if family is None:
                raise RuleProblem("rt nexthop needs ip or ip6 in an inet table",
                                  self.toks[start].offset)
            return _Field("rt", "nexthop", "ipv4_addr" if family == "ip" else "ipv6_addr",
                          self._text(start))
        return _Field("rt", key, "any", self._text(start))

    def read_option(self, start: int, header: str, names, field_names) -> _Field:
        self.take()
        name = self.word()
        if name.startswith("@"):
            self.take()
            numbers = [V.parse_int(name[1:], 8)]
            while self.word() == ",":
                self.take()
                numbers.append(V.parse_int(self.take_value_word("a number"), 32))
            bits = numbers[-1] if len(numbers) == 3 and numbers[-1] else 32
            return _Field(header, "option", f"int{min(bits, 128)}", self._text(start))
        if name.isdigit():
            self.take()
            V.parse_int(name, 8)
            return _Field(header, "option", "bool_or_any", self._text(start))
        if name not in names:
            self.fail(f"unknown {header} option", tuple(sorted(names)))
        self.take()
        if self.word() in field_names:
            field_name = self.take().text
            allowed = TCP_OPTION_FIELDS_OF.get(name) if header == "tcp" else None
            if allowed is not None and field_name not in allowed:
                raise RuleProblem(f"tcp option {name} has no field {field_name}",
                                  self.toks[self.pos - 1].offset, tuple(sorted(allowed)),
                                  field_name)
            return _Field(header, "option", "any", self._text(start))
        return _Field(header, "option", "bool_or_any", self._text(start))

    def read_ct(self, start: int) -> _Field:
        direction = None
        if self.word() in ("original", "reply"):
            direction = self.take().text
        key = self.word()
        if key in ("ip", "ip6"):
            self.take()
            name = self.expect("saddr", "daddr").text
            if direction is None:
                self.fail("ct ip saddr needs original or reply")
            if self.family_now() not in (None, key):
                raise RuleProblem(f"ct {direction} {key} {name} in a rule for "
                                  f"{self.family_now()}", self.toks[start].offset)
            kind = "ipv4_addr" if key == "ip" else "ipv6_addr"
            return _Field("ct", name, kind, self._text(start))
        if key not in CT_KEYS:
            self.fail("unknown ct key", tuple(sorted(CT_KEYS)))
        self.take()
        if key == "count" and self.word() == "over":
            self.take()
        if direction is not None and key not in CT_DIRECTIONAL:
            raise RuleProblem(f"ct {key} has no direction", self.toks[start].offset)
        if key in ("saddr", "daddr"):
            if direction is None:
                raise RuleProblem(f"ct {key} needs original or reply", self.toks[start].offset)
            family = self.family_now()
            if family is None:
                raise RuleProblem(f"ct {direction} {key} needs ip or ip6 here "
                                  f"(ct {direction} ip {key})", self.toks[start].offset)
            return _Field("ct", key, "ct_addr", self._text(start))
        return _Field("ct", key, CT_KEYS[key], self._text(start))

    def read_fib(self, start: int) -> _Field:
        inputs = set()
        while True:
            inputs.add(self.expect("saddr", "daddr", "mark", "iif", "oif").text)
            if self.word() != ".":
                break
            self.take()
        offset = self.toks[start].offset
        if len(inputs & {"saddr", "daddr"}) != 1:
            raise RuleProblem("fib needs exactly one of saddr and daddr", offset)
        if {"iif", "oif"} <= inputs:
            raise RuleProblem("fib takes iif or oif, not both", offset)
        if "oif" in inputs and self.ctx.hook in ("prerouting", "input", "ingress"):
            raise RuleProblem(f"fib oif is not available in the {self.ctx.hook} hook", offset)
        self.expect("oif", "oifname", "type", "check")
        return _Field("fib", "fib", "any", self._text(start))

    def read_hash(self, word: str, start: int) -> _Field:
        if word == "numgen":
            self.expect("inc", "random")
        elif word == "jhash":
            self.read_expression()
        self.expect("mod")
        V.parse_int(self.take_value_word("a modulus"), 32)
        while self.word() in ("seed", "offset"):
            self.take()
            V.parse_int(self.take_value_word("a number"), 32)
        return _Field(word, "hash", "any", self._text(start))

    # ------------------------------------------------------------------ values

    def read_value(self) -> object:
        """A right-hand side: ``@set``, ``{ … }``, or constants (``a,b``, ``a . b``, ``a - b``)."""
        tok = self.peek()
        if tok is None:
            self.fail("expected a value")
        if tok.kind == "w" and tok.text.startswith("@") and tok.text not in RAW_BASES:
            self.pos += 1
            return ("ref", tok.text[1:])
        if tok.text == "{":
            return ("set", self.read_set_elements())
        elems = [self.read_element()]
        while self.word() == "," and self.peek(1) is not None:
            self.take()
            elems.append(self.read_element())
        return ("list", elems)

    def read_set_value(self) -> tuple:
        """What a ``set`` statement assigns: ("expr", expression, is_map) or
        ("value", value, operands)."""
        tok = self.peek()
        if tok is None:
            self.fail("expected a value to set")
        if tok.kind == "w" and tok.text in _EXPR_HEADS:
            expr = self.read_expression()
            if self.word() == "map":
                self.take()
                self.read_value()
                return ("expr", expr, True)
            return ("expr", expr, False)
        value = self.read_value()
        operands = []
        while self.peek() is not None and self.peek().text in _MASK_OPS and \
                self.peek(1) is not None:
            self.take()
            if self.word() in _EXPR_HEADS:
                self.read_expression()
            else:
                operands.append(self.read_operand_text())
        return ("value", value, operands)

    def check_set_value(self, target: _Expr, assigned: tuple, offset: int) -> None:
        """Reject what nft refuses to assign: sets, values too wide, inner tunnel headers."""
        fld = target.fields[0]
        if " " in fld.header:
            raise RuleProblem(f"{fld.header} {fld.name} cannot be set", offset)
        if assigned[0] == "expr":
            expr = assigned[1]
            if not assigned[2] and expr.mask and len(expr.fields) == 1 \
                    and expr.fields[0].kind == fld.kind:
                for number in re.findall(r"0x[0-9a-fA-F]+|\b\d+\b", expr.mask):
                    self.check(fld, number)
            return
        value = assigned[1]
        if value[0] == "set":
            raise RuleProblem(f"{target.text} can be set to one value, not a set", offset)
        if value[0] == "list":
            for elem in value[1]:
                if len(elem.parts) == 1 and fld.kind not in ("ct_event", "any", "string") \
                        and not elem.parts[0].startswith("("):
                    self.check(fld, elem.parts[0])
        if fld.kind == "ct_event":
            for word in [e.parts[0] for e in value[1]] + assigned[2]:
                names = [w for w in re.split(r"[|,\s]+", word.strip('"')) if w]
                if not all(n in V.CT_EVENTS or V.HEX_OR_INT.match(n) for n in names):
                    raise RuleProblem(f"unknown conntrack event {word!r}", offset, found=word)

    def read_set_elements(self) -> list:
        self.expect("{")
        elems: list = []
        while True:
            while self.word() in (",",) or (self.peek() is not None and self.peek().text == ";"):
                self.take()
            if self.word() == "}":
                self.take()
                return elems
            if self.word() == "{":
                elems.extend(self.read_set_elements())
                continue
            elem = self.read_element(in_set=True)
            glued = _GLUED_VERDICT.match(elem.parts[-1])
            if glued and self.word() != ":":
                elem.parts[-1] = glued.group(1)
                elem.value = [glued.group(2)]
            if self.word() == ":":
                self.take()
                value_start = self.pos
                while self.peek() is not None and self.peek().text not in (",", "}"):
                    self.pos += 1
                elem.value = [t.text for t in self.toks[value_start:self.pos]]
            elems.append(elem)
            if self.word() not in (",", "}") and not (self.peek() is not None
                                                      and self.peek().text == ";"):
                self.fail("expected , or } in a set (is its '}' missing?)", (",", "}"))

    def read_element(self, in_set: bool = False) -> _Elem:
        offset = self.peek().offset if self.peek() is not None else len(self.text)
        parts = [self.read_atom()]
        while self.word() == ".":
            self.take()
            parts.append(self.read_atom())
        while in_set and self.word() in ("timeout", "expires", "comment", "counter", "limit",
                                         "quota", "ct", "last") and self.peek().kind == "w":
            key = self.take().text
            if key in ("counter", "limit", "quota", "ct", "last"):
                while self.peek() is not None and self.peek().text not in (",", "}", ":"):
                    self.take()
                continue
            self.take_value_word(key)
        return _Elem(parts, offset=offset)

    def read_atom(self) -> str:
        tok = self.peek()
        if tok is None or tok.kind == "p" and tok.text not in ("(",):
            self.fail("expected a value")
        if tok.text == "(":
            return self.read_operand_text()
        self.pos += 1
        text = tok.text[1:-1] if tok.kind == "s" else tok.text
        if tok.kind == "s":
            text = '"' + text
        if self.word() == "-" and self.peek(1) is not None:
            self.take()
            text += "-" + self.take_value_word("the end of a range")
        elif self.word() in ("bytes", "kbytes", "mbytes", "packets") and \
                self.word(1).startswith("/"):
            text += " " + self.take().text + self.take().text
        elif self.word() == "/":
            self.take()
            text += "/" + self.read_list_text()
        while self.word() == "|" and self.peek(1) is not None:
            self.take()
            text += "|" + self.take_value_word("a value")
        return text

    def read_list_text(self) -> str:
        start = self.pos
        self.take_value_word("a value")
        while self.word() == ",":
            self.take()
            self.take_value_word("a value")
        return self.text[self.toks[start].offset:self.end_of(self.pos)]

    def read_vmap(self, expr: _Expr) -> None:
        start_index = self.pos
        self.exact = self.in_set = True
        value = self.read_value()
        if value[0] == "ref":
            named = self.ctx.sets.get(value[1])
            if named is None:
                raise RuleProblem(f"no map named {value[1]!r} in this table",
                                  self.toks[start_index].offset, found="@" + value[1])
            elems = [_Elem(list(el.key), (el.value or "").split(), 0)
                     for el in named.elements]
        elif value[0] == "set":
            elems = value[1]
        else:
            self.fail("expected a verdict map")
        branches = []
        catch_all = None
        for elem in elems:
            if not elem.value:
                raise RuleProblem("a verdict map element needs ': verdict'", elem.offset)
            verdict_words = elem.value
            verdict_kind = verdict_words[0]
            if verdict_kind not in ("accept", "drop", "continue", "return", "jump", "goto",
                                    "queue"):
                raise RuleProblem(f"{verdict_kind!r} is not a verdict", elem.offset,
                                  found=verdict_kind)
            target = verdict_words[1].strip('"') if verdict_kind in ("jump", "goto") and \
                len(verdict_words) > 1 else None
            if verdict_kind in ("jump", "goto") and target is None:
                raise RuleProblem(f"{verdict_kind} needs a chain", elem.offset)
            if elem.parts == ["*"]:
                catch_all = ([], Verdict(verdict_kind, target=target,
                                         span=self.span(expr.start, self.end_of(self.pos))))
                continue
            matches = self.matches_for(expr, "==", ("list", [elem]), elem.offset,
                                       elem.offset + 1)
            verdict = Verdict(verdict_kind, target=target,
                              span=self.span(expr.start, self.end_of(self.pos)))
            branches.append((matches, verdict))
        branches.sort(key=_branch_key)
        _check_disjoint(branches, expr.start)
        if catch_all is not None:
            branches.append(catch_all)
        self._multiply(branches)

    def _multiply(self, branches: list) -> None:
        self.parts.branches = [(old + new, verdict or old_verdict)
                               for old, old_verdict in self.parts.branches
                               for new, verdict in branches]

    # ------------------------------------------------------------------ model

    def add_match(self, expr: _Expr, op: str, value, start: int, end: int) -> None:
        if value[0] == "set" and len(expr.fields) > 1 and op in ("==",) and value[1]:
            branches = []
            for elem in value[1]:
                branches.append((self.matches_for(expr, "==", ("list", [elem]), start, end),
                                 None))
            branches.sort(key=_branch_key)
            self._multiply(branches)
            return
        self.parts.matches.extend(self.matches_for(expr, op, value, start, end))

    def matches_for(self, expr: _Expr, op: str, value, start: int, end: int) -> list:
        """Model matches for ``expr op value`` (implied protocol and family included)."""
        span = self.span(start, end)
        negated = op == "!="
        implied = self.implied(expr)
        if value[0] == "ref":
            name = value[1]
            if name not in self.ctx.sets:
                raise RuleProblem(f"no set named {name!r} in this table", start,
                                  found="@" + name)
            key_type = self.ctx.sets[name].key_type
            kinds = tuple(f.kind for f in expr.fields)
            if len(key_type) == len(kinds) and all(
                    k in _SET_TYPES and t in _SET_TYPES.values() and _SET_TYPES[k] != t
                    for k, t in zip(kinds, key_type)):
                raise RuleProblem(f"set {name} holds {' . '.join(key_type)}, not "
                                  f"{expr.text}", start, found="@" + name)
            return implied + [SetMatch(name, tuple(f.name for f in expr.fields), negated, span)]
        elems = value[1]
        if len(expr.fields) == 1 and expr.mask is None:
            model = self.single_field(expr.fields[0], op, elems, span, expr.text)
            if model is not None:
                return implied + model
        if len(expr.fields) > 1 and expr.mask is None and op == "==" and len(elems) == 1 \
                and len(elems[0].parts) == len(expr.fields):
            parts = [self.single_field(fld, op, [_Elem([part], offset=elems[0].offset)], span,
                                       fld.text)
                     for fld, part in zip(expr.fields, elems[0].parts)]
            if all(part is not None for part in parts):
                return implied + [match for part in parts for match in part]
        if expr.mask is not None and len(expr.fields) == 1:
            masked = self.masked(expr, op, elems, span)
            if masked is not None:
                return implied + masked
        for elem in elems:
            if len(elem.parts) != len(expr.fields) and not (
                    len(expr.fields) == 1 or len(elem.parts) == 1):
                raise V.ValueProblem(f"{len(elem.parts)} values for a concatenation of "
                                     f"{len(expr.fields)}")
            if expr.mask is None:
                for part, fld in zip(elem.parts, expr.fields):
                    self.check(fld, part)
        values = sorted(" . ".join(self.canonical_part(fld, part) for fld, part in
                                   zip(expr.fields * len(elem.parts), elem.parts))
                        for elem in elems)
        value_text = "{ " + ", ".join(values) + " }" if value[0] == "set" else ", ".join(values)
        return implied + [OpaqueMatch("nft", ((V.canonical_text(expr.text), op, value_text),),
                                      negated, span, self.text[start:end])]

    @staticmethod
    def canonical_part(fld: _Field, text: str) -> str:
        """A constant of an unmodelled expression, spelled as nft lists it."""
        names = {"icmp_type": V.ICMP_TYPES, "icmpv6_type": V.ICMPV6_TYPES,
                 "icmp_code": V.ICMP_CODES, "icmpv6_code": V.ICMPV6_CODES,
                 "dscp": V.DSCP}.get(fld.kind)
        if names is not None and text in names:
            return str(names[text])
        if text.startswith('"'):
            text = text + '"'
        return V.canonical_text(text)

    def implied(self, expr: _Expr) -> list:
        out: list = []
        multi_family = self.ctx.family in ("inet", "bridge", "netdev")
        for fld in expr.fields:
            header = fld.header
            if multi_family and header in FAMILY_OF_HEADER and header not in ("icmp", "icmpv6"):
                out.append(FamilyMatch(FAMILY_OF_HEADER[header]))
            if header in L4_OF:
                out.append(ProtocolMatch(frozenset({L4_OF[header]})))
        return out

    def check(self, fld: _Field, text: str) -> None:
        kind = fld.kind
        if text in ("exists", "missing"):
            return
        if text.startswith('"'):
            text = text[1:]
            if kind in ("any", "bool_or_any"):
                return
        if kind in ("icmp_type", "icmpv6_type", "icmp_code", "icmpv6_code"):
            names = {"icmp_type": V.ICMP_TYPES, "icmpv6_type": V.ICMPV6_TYPES,
                     "icmp_code": V.ICMP_CODES, "icmpv6_code": V.ICMPV6_CODES}[kind]
            for word in text.split("-") if text not in names else (text,):
                _symbol(word, names, kind.replace("_", " "), 8)
            return
        if kind in V.SYMBOLS:
            if text not in V.SYMBOLS[kind]:
                V.parse_int(text, 8)
            return
        if kind in ("string", "ifname"):
            if not text or len(text) > 16:
                raise V.ValueProblem(f'"{text}" must be 1 to 16 characters')
            return
        if kind == "ct_state":
            _symbol(text, V.CT_STATE_NAMES, "conntrack state", 32)
            return
        if kind == "ct_status":
            _symbol(text, V.CT_STATUS_NAMES, "conntrack status", 32)
            return
        if kind == "tcp_flag":
            for word in re.split(r"[|,/]", text):
                _symbol(word, V.TCP_FLAGS, "tcp flag", 8)
            return
        if kind == "mark":
            for part in re.split(r"[-/]", text):
                V.parse_int(part, 32)
            return
        if kind == "dscp":
            if text not in V.DSCP:
                for part in re.split(r"[-/]", text):
                    V.parse_int(part, 6)
            return
        if kind == "ecn":
            if text not in ("not-ect", "ect1", "ect0", "ce"):
                V.parse_int(text, 2)
            return
        V.check_value(kind, text)

    def single_field(self, fld: _Field, op: str, elems: list, span, text: str):
        """The model match of one field, or None to keep it opaque."""
        negated = op == "!="
        key = (fld.header, fld.name)
        if op in ("<", ">", "<=", ">=") and fld.kind == "inet_service" and len(elems) == 1:
            port = V.port_range(elems[0].parts[0])[0]
            low, high = {"<": (0, port - 1), "<=": (0, port), ">": (port + 1, 65535),
                         ">=": (port, 65535)}[op]
            return [PortMatch(fld.name, ((low, high),), False, span, (elems[0].parts[0],))]
        if op == "!" and key == ("ct", "status") and all(
                len(elem.parts) == 1 and elem.parts[0] in ("dnat", "snat") for elem in elems):
            # "ct status ! dnat": none of these status bits is set (how nft lists "!= dnat"
            # written against a flag); the virtual states are the same bits
            return [CtStateMatch(frozenset(elem.parts[0] for elem in elems), True, span, "ct")]
        if op not in ("==", "!="):
            for elem in elems:
                self.check(fld, elem.parts[0])
            return None
        for elem in elems:
            if len(elem.parts) != 1:
                raise V.ValueProblem("a concatenated value for a single field")
        words = [elem.parts[0] if fld.kind == "ifname" else elem.parts[0].lstrip('"')
                 for elem in elems]
        if fld.kind in ("ipv4_addr", "ipv6_addr") and fld.header in ("ip", "ip6"):
            version = 4 if fld.kind == "ipv4_addr" else 6
            parse = V.ipv4_interval if version == 4 else V.ipv6_interval
            intervals = V.merge_ranges(parse(w) for w in words)
            return [AddressMatch(fld.name, version, intervals, negated, span, tuple(words))]
        if fld.kind == "inet_service" and fld.header not in ("ct",):
            ranges = V.merge_ranges(V.port_range(w) for w in words)
            return [PortMatch(fld.name, ranges, negated, span, tuple(words))]
        if key in (("ip", "protocol"), ("ip6", "nexthdr"), ("meta", "l4proto")):
            protocols = frozenset(number for w in words for number in V.protocol_numbers(w))
            return [ProtocolMatch(protocols, negated, span)]
        if key == ("meta", "nfproto"):
            for w in words:
                V.check_value("nf_proto", w)
            if len(words) == 1:
                return [FamilyMatch(V.NFPROTO[words[0]], negated, span)]
            return None
        if key in (("meta", "protocol"), ("ether", "type")) and len(words) == 1 \
                and not negated:
            self.not_ip = words[0] == "arp"
            self.ether_type = words[0] if key == ("ether", "type") else ""
            if words[0] in ("ip", "ip6") and self.ctx.family in ("inet", "bridge", "netdev"):
                return [FamilyMatch(words[0], negated, span)]
        if fld.header == "meta" and fld.name in ("iif", "iifname", "oif", "oifname"):
            names, wildcard = [], []
            for w in words:
                name = w.lstrip('"')
                if not name or len(name) > 16:
                    raise V.ValueProblem(f'interface name "{name}" must be 1 to 16 characters')
                wild = name.endswith("*") and not name.endswith("\\*")
                names.append(name[:-1] if wild else name.replace("\\*", "*"))
                wildcard.append(wild)
            return [InterfaceMatch(fld.name[:3], tuple(names), tuple(wildcard), negated, span)]
        if key == ("ct", "state"):
            for w in words:
                self.check(fld, w)
            if not all(w in V.CT_STATE_NAMES for w in words):
                return None
            if negated and len(words) > 1 and len(elems) == len(words) and self.exact \
                    and not self.in_set:
                # "!= a,b" compares the state with a|b; a state is one bit: always unequal
                return [CtStateMatch(frozenset(V.CT_STATE_NAMES), False, span, "ct")]
            return [CtStateMatch(frozenset(words), negated, span, "ct")]
        if key == ("ct", "status") and set(words) <= {"dnat", "snat"}:
            if negated and self.exact and not self.in_set:
                # "!= dnat" compares the whole status word, which also holds the NAT-done
                # and confirmed bits: it is never exactly DNAT, so the match always holds
                return []
            return [CtStateMatch(frozenset(words), negated, span, "ct")]
        if fld.kind in ("icmp_type", "icmpv6_type", "icmp_code", "icmpv6_code"):
            for w in words:
                self.check(fld, w)
            version = 4 if fld.header == "icmp" else 6
            names = {"icmp_type": V.ICMP_TYPES, "icmpv6_type": V.ICMPV6_TYPES,
                     "icmp_code": V.ICMP_CODES, "icmpv6_code": V.ICMPV6_CODES}[fld.kind]
            ranges = V.merge_ranges(_named_range(w, names) for w in words)
            if fld.name == "type":
                return [IcmpTypeMatch(version, ranges, (), negated, span)]
            return [IcmpTypeMatch(version, ((0, 255),), ranges, negated, span)]
        if key == ("tcp", "flags"):
            for w in words:
                self.check(fld, w)
            if "/" in words[-1]:
                words = [",".join(words)]
            if len(words) == 1 and "/" in words[0]:
                comp_text, _, mask_text = words[0].partition("/")
                comp = frozenset(w for w in re.split(r"[|,]", comp_text) if w)
                mask = frozenset(w for w in re.split(r"[|,]", mask_text) if w)
                if (comp | mask) <= set(V.TCP_FLAGS):
                    return [TcpFlagsMatch(mask, comp, negated, span)]
                return None
            if len(words) == 1 and words[0] in V.TCP_FLAGS:
                flags = frozenset(words)
                mask = frozenset(V.TCP_FLAGS) if self.exact else flags
                return [TcpFlagsMatch(mask, flags, negated, span)]
            return None
        if fld.name == "mark" and fld.header in ("meta", "ct") and len(words) == 1 \
                and "-" not in words[0] and "/" not in words[0]:
            return [MarkMatch(V.parse_int(words[0], 32), 0xFFFFFFFF, negated,
                              fld.header == "ct", span)]
        for w in words:
            self.check(fld, w)
        return None

    def masked(self, expr: _Expr, op: str, elems: list, span):
        """``tcp flags & (syn|ack) == syn``, ``meta mark & 0xff == 1``."""
        fld = expr.fields[0]
        mask_text = expr.mask
        if not mask_text.startswith("& ") or len(elems) != 1 or op not in ("==", "!="):
            return None
        operand = mask_text[2:].strip("() ")
        if (fld.header, fld.name) == ("tcp", "flags"):
            mask = frozenset(w.strip() for w in re.split(r"[|,]", operand) if w.strip())
            comp_text = elems[0].parts[0].strip("()")
            comp = frozenset(w.strip() for w in re.split(r"[|,]", comp_text) if w.strip())
            if comp == {"0"} or comp == {"0x0"}:
                comp = frozenset()
            if not (mask | comp) <= set(V.TCP_FLAGS):
                return None
            return [TcpFlagsMatch(mask, comp, op == "!=", span)]
        if fld.name == "mark" and fld.header in ("meta", "ct"):
            try:
                mask = V.parse_int(operand, 32)
                value = V.parse_int(elems[0].parts[0], 32)
            except V.ValueProblem:
                return None
            return [MarkMatch(value, mask, op == "!=", fld.header == "ct", span)]
        return None


_VOCABULARY = (VERDICTS | NAT_STATEMENTS | frozenset(PAYLOAD) | META_UNQUALIFIED | frozenset(
    {"counter", "log", "limit", "quota", "notrack", "comment", "meta", "ct", "fib", "tproxy",
     "queue", "dup", "fwd", "synproxy", "socket", "osf", "ipsec", "numgen", "jhash", "symhash"}))


def _symbol(text: str, names, what: str, bits: int) -> None:
    """Accept a symbolic name or a number; otherwise say which names exist."""
    if text in names or V.HEX_OR_INT.match(text):
        if text not in names:
            V.parse_int(text, bits)
        return
    guess = _suggest(text, names)
    hint = f"did you mean {guess!r}?" if guess else "expected " + ", ".join(sorted(names)[:8])
    raise V.ValueProblem(f"unknown {what} {text!r}; {hint}")


def _suggest(word: str, vocabulary) -> Optional[str]:
    import difflib
    close = difflib.get_close_matches(word, sorted(vocabulary), n=1, cutoff=0.75)
    return close[0] if close else None


def _check_disjoint(branches: list, offset: int) -> None:
    """Keys of a verdict map must not overlap (nft refuses it)."""
    spans = []
    for matches, _verdict in branches:
        keyed = [m for m in matches if isinstance(m, (AddressMatch, PortMatch))]
        if len(keyed) != 1:
            return
        spans.extend(getattr(keyed[0], "intervals", None) or keyed[0].ranges)
    spans.sort()
    for (_low, high), (next_low, _next_high) in zip(spans, spans[1:]):
        if next_low <= high:
            raise RuleProblem("the keys of this map overlap", offset)


def _branch_key(branch) -> list:
    """Order of the rules a disjunction becomes: by key, numerically."""
    return [(match_sort_key(m)[:3], getattr(m, "ranges", None) or getattr(m, "intervals", None)
             or getattr(m, "types", None) or (), repr(m)) for m in branch[0]]


def _named_range(word: str, names: dict[str, int]) -> tuple[int, int]:
    if word in names:
        return names[word], names[word]
    low, _, high = word.partition("-")
    first = names.get(low, None)
    first = V.parse_int(low, 8) if first is None else first
    if not high:
        return first, first
    last = names.get(high, None)
    return first, V.parse_int(high, 8) if last is None else last


def _split_address_port(text: str, family: str) -> tuple[str, str]:
    if text.startswith(":") and not text.startswith("::"):
        return "", text[1:]
    if text.startswith("["):
        address, _, rest = text[1:].partition("]")
        return address, rest[1:] if rest.startswith(":") else ""
    if text.count(":") == 1:
        address, _, port = text.partition(":")
        return address, port
    if text.replace("-", "").isdigit():
        return "", text
    return text, ""


_SIMPLE_STATEMENTS: dict[str, Callable[[RuleReader], None]] = {
    "counter": RuleReader.read_counter,
    "log": RuleReader.read_log,
    "limit": RuleReader.read_limit,
    "quota": RuleReader.read_quota,
    "notrack": RuleReader.read_notrack,
    "comment": RuleReader.read_comment,
    "flow": RuleReader.read_opaque_statement,
    "dup": RuleReader.read_opaque_statement,
    "fwd": RuleReader.read_opaque_statement,
    "synproxy": RuleReader.read_opaque_statement,
    "tproxy": RuleReader.read_opaque_statement,
    "xt": RuleReader.read_opaque_statement,
    "last": RuleReader.read_last,
    "reset": RuleReader.read_reset,
}


_MARK_OPS = {"and": "&", "&": "&", "or": "|", "|": "|", "xor": "^", "^": "^"}


def canonical_mark_value(value: str) -> str:
    """A mark value as the kernel keeps it: ``SOURCE mark & MASK ^ XOR`` (or one number).

    nft lists ``mark and 0xffff0054 xor 0xab`` as ``meta mark & 0xffff00ff | 0xab``; both
    are ``(mark & 0xffff0054) ^ 0xab``.  Text it cannot fold is returned unchanged."""
    words = value.replace("&", " & ").replace("|", " | ").replace("^", " ^ ").split()
    if len(words) == 1 and words[0] != "mark":
        try:
            return f"{int(words[0], 0):#010x}"
        except ValueError:
            return value
    source = "meta"
    if words[0] in ("meta", "ct"):
        source, words = words[0], words[1:]
    if not words or words[0] != "mark" or len(words) % 2 == 0:
        return value
    mask, xor = 0xFFFFFFFF, 0
    for op_word, number in zip(words[1::2], words[2::2]):
        op = _MARK_OPS.get(op_word)
        try:
            operand = int(number, 0) & 0xFFFFFFFF
        except ValueError:
            return value
        if op == "&":
            mask, xor = mask & operand, xor & operand
        elif op == "|":
            mask, xor = mask & ~operand & 0xFFFFFFFF, xor | operand
        elif op == "^":
            xor ^= operand
        else:
            return value
    return f"{source} mark & {mask:#010x} ^ {xor:#010x}"
