"""nftables front end: ``nft -f`` input (hand-written files and ``nft list ruleset`` dumps).

Steps: includes are spliced in as text (nft's include is lexical, so it may sit inside a
chain); Lark (grammars/nft.lark) reads the block structure; each LINE is a command, a
property or a rule, applied in order to a mutable picture of the ruleset (``add``,
``insert``, ``delete``, ``flush`` change what came before); the picture is frozen into
the model at the end.

Normalisations that make a file and its ``nft list ruleset`` listing equal models live
here and in nft_rule.py: named priorities become numbers, counters' packet and byte counts
are dropped, the implicit protocol dependencies (``meta l4proto tcp`` before ``tcp
dport``) merge with explicit ones, ``meta nfproto`` implied by ICMP/ICMPv6 is stated on
both sides, base chains without a policy get nft's default ``accept``, set elements are
sorted and printed canonically, unmodelled expressions keep a canonical text (decimal
numbers, DSCP names as numbers, ``HH:MM`` times, sorted set elements), and verdict maps
become one rule per key in key order.
"""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass, field
from typing import Optional, Sequence

from ..limits import OUTSIDE_ROOT, Limits, include_root, inside, limit_error
from ..model import (FAMILIES, Chain, FamilyMatch, IcmpTypeMatch, NamedSet, ParseError,
                     ParseResult, ProtocolMatch, Rule, Ruleset, SetElement, Span, Table,
                     match_sort_key)

_PARSER = None

MAX_RECOVERIES = 8

PRIORITIES = {"raw": -300, "mangle": -150, "dstnat": -100, "filter": 0, "security": 50,
              "srcnat": 100}
BRIDGE_PRIORITIES = {"dstnat": -300, "filter": -200, "out": 100, "srcnat": 300}
HOOKS = {
    "ip": ("prerouting", "input", "forward", "output", "postrouting"),
    "ip6": ("prerouting", "input", "forward", "output", "postrouting"),
    "inet": ("prerouting", "input", "forward", "output", "postrouting", "ingress"),
    "arp": ("input", "output"),
    "bridge": ("prerouting", "input", "forward", "output", "postrouting"),
    "netdev": ("ingress", "egress"),
}
_ADD_VERBS = ("add", "create", "insert", "replace", "delete", "destroy", "flush", "list",
              "reset", "rename", "describe", "monitor", "export", "import")
_OBJECT_KINDS = ("counter", "quota", "limit", "ct", "synproxy", "secmark", "tunnel")


def _parser():
    """The Lark parser, built on first use and kept for the process.

    Lark's on-disk cache is not used: it is a pickle, and loading a pickle that someone else
    could have written (a restored CI cache) runs their code.  Building costs about 15 ms."""
    global _PARSER
    if _PARSER is None:
        from lark import Lark

        from ..resources import grammar_path
        _PARSER = Lark(grammar_path("nft.lark").read_text(encoding="utf-8"), parser="lalr",
                       lexer="contextual", propagate_positions=True, maybe_placeholders=False)
    return _PARSER


def parse_nft(text: str, path: str, include_dirs: Sequence[str] = (),
              limits: Optional[Limits] = None) -> ParseResult:
    """Parse an nft ruleset file (with its includes) into the model; never raises."""
    source = _Source(path, limits or Limits(), include_dirs)
    errors: list[ParseError] = []
    if "include" in text:
        text = source.expand(text, path, tuple(include_dirs), (os.path.abspath(path),), errors)
    else:
        source.sources.append(path)
    tree = _parse_structure(text, source, errors)
    builder = _Builder(source, text, errors)
    if tree is not None:
        builder.run(tree)
    ruleset = builder.freeze(path)
    return ParseResult(ruleset, tuple(sorted(errors, key=lambda e: (e.span.path != path,
                                                                    e.span.line,
                                                                    e.span.column))))


# --------------------------------------------------------------------------- includes


class _Source:
    """Where each line of the spliced text came from."""

    def __init__(self, path: str, limits: Limits, include_dirs: Sequence[str]) -> None:
        self.path = path
        self.origins: Optional[list[tuple[str, int]]] = None
        self.lines: list[str] = []
        self.sources: list[str] = []
        self.limits = limits
        self.roots = (include_root(path), *include_dirs)
        self.includes = 0

    def position(self, line: int) -> tuple[str, int]:
        if self.origins is None:
            return self.path, line
        if 0 < line <= len(self.origins):
            return self.origins[line - 1]
        return self.path, line

    def span(self, line: int, column: int, end_line: int, end_column: int) -> Span:
        path, first = self.position(line)
        _, last = self.position(end_line)
        return Span(path, first, column, last, end_column)

    def expand(self, text: str, path: str, include_dirs: tuple, stack: tuple,
               errors: list) -> str:
        out: list[str] = []
        self.origins = []
        self._splice(text, path, include_dirs, stack, errors, out)
        return "\n".join(out)

    def _splice(self, text: str, path: str, include_dirs: tuple, stack: tuple,
                errors: list, out: list) -> None:
        import re
        self.sources.append(path)
        pattern = re.compile(r'^\s*include\s+"([^"]*)"\s*;?\s*(#.*)?$')
        for number, line in enumerate(text.split("\n"), 1):
            found = pattern.match(line) if "include" in line else None
            out.append("" if found else line)
            self.origins.append((path, number))
            if not found:
                continue
            span = Span(path, number, line.index("include") + 1, number, len(line))
            for included in self._resolve(found.group(1), path, include_dirs, span, errors):
                real = os.path.abspath(included)
                if real in stack:
                    errors.append(ParseError(span, f"include cycle: {included} includes "
                                                   f"itself through {path}",
                                             found=found.group(1), source_line=line))
                    continue
                problem = self._limit_problem(included, len(stack))
                if problem:
                    if problem[0]:
                        errors.append(limit_error(span, problem[0], problem[1], line))
                    continue
                try:
                    with open(included, encoding="utf-8", errors="replace") as handle:
                        content = handle.read(self.limits.max_file_bytes + 1)
                except OSError as exc:
                    errors.append(ParseError(span, f"cannot read include {included}: "
                                                   f"{exc.strerror}", source_line=line))
                    continue
                self._splice(content, included, include_dirs, stack + (real,), errors, out)

    def _limit_problem(self, included: str, depth: int) -> Optional[tuple[str, str]]:
        """(limit, message) when reading ``included`` would go past a limit."""
        limits = self.limits
        self.includes += 1
        if self.includes > limits.max_includes + 1:
            return ("", "")  # said once, at the first include over the limit
        if self.includes > limits.max_includes:
            return ("max-includes", f"more than {limits.max_includes} included files: "
                                    f"{included} and the includes after it not read")
        if depth >= limits.max_include_depth:
            return ("max-include-depth", f"includes nested more than "
                                         f"{limits.max_include_depth} deep: {included} not read")
        if not inside(included, self.roots):
            return (OUTSIDE_ROOT, f"include {included} is outside {self.roots[0]}: not read "
                                  f"(pass -I {os.path.dirname(os.path.abspath(included))} "
                                  "to read it)")
        try:
            size = os.path.getsize(included)
        except OSError:
            return None  # reading it says why
        if size > limits.max_file_bytes:
            return ("max-file-bytes", f"include {included} is {size} bytes, more than the "
                                      f"limit of {limits.max_file_bytes}: not read")
        return None

    @staticmethod
    def _resolve(name: str, path: str, include_dirs: tuple, span: Span,
                 errors: list) -> list[str]:
        is_glob = any(c in name for c in "*?[")
        if os.path.isabs(name):
            bases = [""]
        else:
            bases = [os.path.dirname(os.path.abspath(path)) if path not in ("<stdin>", "")
                     else os.getcwd(), *include_dirs]
        for base in bases:
            candidate = os.path.join(base, name)
            if is_glob:
                matches = sorted(m for m in glob.glob(candidate) if os.path.isfile(m))
                if matches:
                    return matches
            elif os.path.isfile(candidate):
                return [candidate]
        if is_glob:
            return []
        errors.append(ParseError(span, f"include file {name!r} not found", found=name))
        return []


# --------------------------------------------------------------------------- structure


def _parse_structure(text: str, source: _Source, errors: list):
    """Lark over the block structure; on a syntax error, record it, blank the line and retry."""
    from lark.exceptions import UnexpectedInput
    for _attempt in range(MAX_RECOVERIES):
        try:
            return _parser().parse(text + "\n")
        except UnexpectedInput as exc:
            error, line = _structure_error(exc, text, source)
            errors.append(error)
            if line is None:
                text = text + "\n}"
                continue
            lines = text.split("\n")
            if not lines[line - 1].strip():
                return None
            lines[line - 1] = ""
            text = "\n".join(lines)
    return None


def _structure_error(exc, text: str, source: _Source) -> tuple[ParseError, Optional[int]]:
    from lark.exceptions import UnexpectedEOF, UnexpectedToken
    lines = text.split("\n")
    token = getattr(exc, "token", None)
    at_end = isinstance(exc, UnexpectedEOF) or (token is not None and token.type == "$END")
    if at_end:
        line = len(lines)
        span = source.span(line, 1, line, 1)
        return ParseError(span, "missing '}': a block is still open at the end of the file",
                          ("}",), "end of file"), None
    line, column = exc.line, exc.column
    found = str(token) if token is not None else text[exc.pos_in_stream:exc.pos_in_stream + 1]
    expected = tuple(sorted(_label(t) for t in (getattr(exc, "expected", None)
                                                or getattr(exc, "allowed", None) or ())))
    if found == "{":
        message = "unexpected '{': an unclosed '{' or a missing '}' or ';' before it?"
    elif found == "}":
        message = "unexpected '}': no block is open here"
    elif isinstance(exc, UnexpectedToken):
        message = f"unexpected {found!r}"
    else:
        message = f"unexpected character {found!r}"
    source_line = lines[line - 1] if 0 < line <= len(lines) else ""
    return ParseError(source.span(line, column, line, column), message, expected, found,
                      source_line), line


def _label(terminal: str) -> str:
    return {"LBRACE": "{", "RBRACE": "}", "_SEP": "newline or ;", "LINE": "a statement",
            "WORD": "a name"}.get(terminal, terminal.lower())


# --------------------------------------------------------------------------- building


@dataclass
class _ChainState:
    name: str
    span: Span
    hook: Optional[str] = None
    type: Optional[str] = None
    priority: Optional[int] = None
    policy: Optional[str] = None
    device: Optional[str] = None
    rules: list = field(default_factory=list)  # [handle, [Rule, ...]]


@dataclass
class _TableState:
    family: str
    name: str
    span: Span
    chains: dict = field(default_factory=dict)
    sets: dict = field(default_factory=dict)
    handle: int = 0
    bindings: int = 0
    #: (kind, name) of the stateful objects and flowtables declared so far
    objects: set = field(default_factory=set)

    def next_handle(self) -> int:
        self.handle += 1
        return self.handle


class _Builder:
    """Applies the file's items in order to a mutable ruleset, then freezes it."""

    def __init__(self, source: _Source, text: str, errors: list) -> None:
        self.source = source
        self.text = text
        self.errors = errors
        self.tables: dict[tuple[str, str], _TableState] = {}
        self.defines: dict[str, list] = {}
        self.expanded = 0  # tokens variables have added so far (bounded by limits)

    # ------------------------------------------------------------------ walking

    def run(self, tree) -> None:
        for item in tree.children:
            try:
                if isinstance(item, str):
                    self.top_line(item)
                else:
                    self.table_block(item)
            except _LineError as exc:
                self.errors.append(exc.error)

    def table_block(self, item) -> None:
        words = [str(t) for t in item.children[1:] if getattr(t, "type", "") == "WORD"]
        body = item.children[-1] if getattr(item.children[-1], "data", "") == "body" else None
        family, name = (words[0], words[1]) if len(words) == 2 else ("ip", words[0])
        if family not in FAMILIES:
            raise _LineError(self.token_error(item.children[1], f"unknown family {family!r}",
                                              FAMILIES))
        table = self.get_table(family, name, self.token_span(item.children[0]), create=True)
        if body is None:
            return
        for child in body.children:
            try:
                if isinstance(child, str):
                    self.table_line(table, child)
                elif child.data == "chain":
                    self.chain_block(table, child)
                elif child.data == "set":
                    self.set_block(table, child)
                else:
                    self.object_block(table, child)
            except _LineError as exc:
                self.errors.append(exc.error)

    def chain_block(self, table: _TableState, item) -> None:
        name_tok = item.children[1]
        chain = self.get_chain(table, str(name_tok), self.token_span(item.children[0]),
                               create=True)
        for tok in item.children[2].children:
            if not tok.replace("\\", " ").strip():  # only a line continuation
                continue
            try:
                first = tok.split(None, 1)[0]
                if first in ("type", "policy", "comment", "devices", "device", "flags"):
                    self.chain_property(table, chain, tok)
                elif first in ("define", "redefine", "undefine"):
                    self.define(self.tokens(tok), tok)
                else:
                    self.append_rule(table, chain, tok, self.tokens(tok), 0)
            except _LineError as exc:
                self.errors.append(exc.error)

    def set_block(self, table: _TableState, item) -> None:
        kind = str(item.children[0])
        name = str(item.children[1])
        lines = item.children[2].children
        self.define_set(table, name, kind == "map", lines, self.token_span(item.children[0]))

    def object_block(self, table: _TableState, item) -> None:
        """A stateful object or flowtable: checked for readable tokens, and its name kept so
        that rules may refer to it (``counter name "c1"``)."""
        words = [str(t) for t in item.children if getattr(t, "type", "") in ("WORD", "OBJECT",
                                                                               "FLOWTABLE")]
        table.objects.add((words[0], words[-1].strip('"')))
        table.next_handle()
        for line in item.children[-1].children:
            self.tokens(line)

    def table_line(self, table: _TableState, tok) -> None:
        toks = self.tokens(tok)
        if not toks:  # only a line continuation
            return
        first = toks[0].text
        if first in ("flags", "comment"):
            return
        if first in ("define", "redefine", "undefine"):
            self.define(toks, tok)
            return
        raise _LineError(self.problem_error(tok, f"unexpected {first!r} in a table", 0,
                                            ("chain", "set", "map", "flags", "comment", "}"),
                                            first))

    def top_line(self, tok) -> None:
        toks = self.tokens(tok, expand=False)
        if not toks:  # only a line continuation
            return
        first = toks[0].text
        if first in ("define", "redefine", "undefine"):
            self.define(toks, tok)
            return
        if first == "include":
            raise _LineError(self.problem_error(
                tok, "include must stand on a line of its own", 0, (), first))
        toks = self.expand(toks, tok)
        verb = first
        rest = toks[1:]
        if verb in ("table", "chain", "rule", "set", "map", "element") + _OBJECT_KINDS:
            verb, rest = "add", toks
        if verb not in _ADD_VERBS:
            raise _LineError(self.problem_error(tok, f"unknown command {first!r}", 0,
                                                ("table", "add", "flush", "define",
                                                 "include"), first))
        self.command(verb, rest, tok)

    # ------------------------------------------------------------------ tokens and errors

    def tokens(self, tok, expand: bool = True) -> list:
        from .nft_rule import RuleProblem, tokenize
        try:
            toks = tokenize(str(tok))
        except RuleProblem as exc:
            raise _LineError(self.problem_error(tok, str(exc), exc.offset, exc.expected,
                                                exc.found)) from None
        return self.expand(toks, tok) if expand else toks

    def expand(self, toks: list, tok) -> list:
        from .nft_rule import ExpansionLimit, RuleProblem, expand_defines
        budget = self.source.limits.max_expanded_tokens - self.expanded
        try:
            out = expand_defines(toks, self.defines, budget)
        except ExpansionLimit as exc:
            span = self.offset_span(tok, exc.offset, exc.offset + len(exc.found))
            raise _LineError(limit_error(
                span, "max-expanded-tokens",
                f"{exc.found}: variables expand to more than "
                f"{self.source.limits.max_expanded_tokens} tokens in this file: line not read",
                str(tok))) from None
        except RuleProblem as exc:
            raise _LineError(self.problem_error(tok, str(exc), exc.offset, exc.expected,
                                                exc.found)) from None
        self.expanded += len(out) - len(toks)
        return out

    def offset_span(self, tok, start: int, end: int) -> Span:
        text = str(tok)
        if "\n" not in text:
            column = tok.column + start
            if self.source.origins is None:
                return Span(self.source.path, tok.line, column, tok.line,
                            column + max(end - start, 1) - 1)
            return self.source.span(tok.line, column, tok.line, column + max(end - start, 1) - 1)
        before = text[:start]
        newlines = before.count("\n")
        line = tok.line + newlines
        column = (tok.column + start) if not newlines else start - before.rfind("\n")
        inner = text[start:max(end, start + 1)]
        inner_newlines = inner.count("\n")
        end_line = line + inner_newlines
        end_column = (column + len(inner) - 1) if not inner_newlines \
            else len(inner) - inner.rfind("\n") - 1
        return self.source.span(line, column, end_line, end_column)

    def token_span(self, tok) -> Span:
        return self.source.span(tok.line, tok.column, tok.end_line or tok.line,
                                max((tok.end_column or tok.column + 1) - 1, 1))

    def problem_error(self, tok, message: str, offset: int, expected=(), found="") -> ParseError:
        span = self.offset_span(tok, offset, offset + max(len(found), 1))
        lines = self.text.split("\n") if len(self.text) < 1 << 20 else []
        line_index = tok.line + str(tok)[:offset].count("\n") - 1
        source_line = lines[line_index] if 0 <= line_index < len(lines) else ""
        return ParseError(span, message, tuple(expected), found, source_line)

    def token_error(self, tok, message: str, expected=()) -> ParseError:
        return self.problem_error(tok, message, 0, expected, str(tok))

    # ------------------------------------------------------------------ objects

    def get_table(self, family: str, name: str, span: Span, create: bool,
                  tok=None) -> _TableState:
        key = (family, name)
        if key not in self.tables:
            if not create:
                raise _LineError(self.token_error(tok, f"no table {family} {name}"))
            self.tables[key] = _TableState(family, name, span)
        return self.tables[key]

    def get_chain(self, table: _TableState, name: str, span: Span, create: bool,
                  tok=None) -> _ChainState:
        if name not in table.chains:
            if not create:
                raise _LineError(self.token_error(
                    tok, f"no chain {name!r} in table {table.family} {table.name}"))
            table.chains[name] = _ChainState(name, span)
            table.next_handle()
        return table.chains[name]

    def chain_property(self, table: _TableState, chain: _ChainState, tok) -> None:
        toks = self.tokens(tok)
        words = [t.text for t in toks]
        first = words[0]
        if first == "type":
            self.base_chain(table, chain, toks, tok)
        elif first == "policy":
            if len(words) != 2 or words[1] not in ("accept", "drop"):
                raise _LineError(self.problem_error(tok, "policy must be accept or drop",
                                                    toks[-1].offset, ("accept", "drop"),
                                                    words[-1]))
            chain.policy = words[1]
        elif first in ("device", "devices"):
            names = [w.strip('"') for w in words[1:] if w not in ("=", "{", "}", ",")]
            chain.device = ",".join(names)

    def base_chain(self, table: _TableState, chain: _ChainState, toks: list, tok) -> None:
        words = [t.text.strip('"') for t in toks]
        index = 1

        def fail(message: str, expected=()):
            position = toks[min(index, len(toks) - 1)]
            found = position.text if index < len(toks) else "end of line"
            raise _LineError(self.problem_error(tok, message, position.offset, expected, found))

        if len(words) < 2 or words[1] not in ("filter", "nat", "route"):
            fail("chain type must be filter, nat or route", ("filter", "nat", "route"))
        chain.type = words[1]
        index = 2
        if index >= len(words) or words[index] != "hook":
            fail("expected hook", ("hook",))
        index += 1
        if index >= len(words) or words[index] not in HOOKS[table.family]:
            fail(f"not a hook of the {table.family} family", HOOKS[table.family])
        chain.hook = words[index]
        index += 1
        if index < len(words) and words[index] == "device":
            chain.device = words[index + 1] if index + 1 < len(words) else None
            index += 2
        if index < len(words) and words[index] == "devices":
            names = []
            index += 1
            while index < len(words) and words[index] != "priority":
                if words[index] not in ("=", "{", "}", ","):
                    names.append(words[index])
                index += 1
            chain.device = ",".join(names)
        if index >= len(words) or words[index] != "priority":
            fail("expected priority", ("priority",))
        index += 1
        for position in range(index + 1, len(words)):
            if words[position] in ("policy", "comment", "device", "devices"):
                index = position
                fail(f"missing ';' before {words[position]!r}", (";",))
        named = words[index] if index < len(words) else ""
        if table.family != "bridge" and (named, chain.hook) in (
                ("dstnat", "input"), ("dstnat", "output"), ("dstnat", "postrouting"),
                ("srcnat", "prerouting"), ("srcnat", "input"), ("srcnat", "output")):
            fail(f"priority {named} is not possible in the {chain.hook} hook (use a number)")
        chain.priority = self.priority(table.family, words[index:], fail)

    @staticmethod
    def priority(family: str, words: list, fail) -> int:
        if not words:
            fail("expected a priority")
        names = BRIDGE_PRIORITIES if family == "bridge" else PRIORITIES
        first, rest = words[0], words[1:]
        if first in names:
            value = names[first]
        else:
            try:
                value = int(first, 0)
            except ValueError:
                fail("not a priority", tuple(names))
            if rest:
                fail(_missing_semicolon(rest))
            return value
        if rest and rest[0].startswith("-") and rest[0] != "-":
            rest = ["-", rest[0][1:]] + rest[1:]
        if rest and rest[0].startswith("+") and rest[0] != "+":
            rest = ["+", rest[0][1:]] + rest[1:]
        if len(rest) == 2 and rest[0] in ("+", "-") and rest[1].isdigit():
            return value + int(rest[1]) if rest[0] == "+" else value - int(rest[1])
        if rest:
            fail(_missing_semicolon(rest) if rest[0] in ("policy", "comment")
                 else "expected '+ N' or '- N' after a named priority", ("+", "-", ";"))
        return value

    def define(self, toks: list, tok) -> None:
        verb = toks[0].text
        if len(toks) < 2:
            raise _LineError(self.problem_error(tok, f"{verb} needs a name", 0))
        name = toks[1].text
        if verb == "undefine":
            if name not in self.defines:
                raise _LineError(self.problem_error(tok, f"undefine of unknown ${name}",
                                                    toks[1].offset, (), name))
            del self.defines[name]
            return
        if len(toks) < 4 or toks[2].text != "=":
            raise _LineError(self.problem_error(tok, f"expected '=' after {verb} {name}",
                                                toks[-1].offset, ("=",), toks[-1].text))
        if verb == "define" and name in self.defines:
            raise _LineError(self.problem_error(tok, f"${name} is already defined "
                                                     "(use redefine)", toks[1].offset, (),
                                                name))
        self.defines[name] = self.expand(toks[3:], tok)

    def define_set(self, table: _TableState, name: str, is_map: bool, lines: list,
                   span: Span) -> None:
        from .nft_rule import RuleContext, RuleProblem, RuleReader
        key_type: tuple = ()
        value_type = None
        flags: tuple = ()
        elements: list = []
        existing = table.sets.get(name)
        if existing is not None:
            key_type, value_type = existing.key_type, existing.value_type
            flags, elements = existing.flags, list(existing.elements)
        else:
            table.next_handle()
        for tok in lines:
            toks = self.tokens(tok)
            if not toks:  # only a line continuation
                continue
            first = toks[0].text
            if first in ("type", "typeof"):
                text = str(tok).split(None, 1)[1] if len(toks) > 1 else ""
                key_text, _, value_text = text.partition(" : ")
                key_type = tuple(p.strip() for p in key_text.split(" . "))
                value_type = value_text.strip() or None
            elif first == "flags":
                flags = tuple(sorted(set(flags) | {t.text for t in toks[1:] if t.text != ","}))
            elif first == "timeout":
                flags = tuple(sorted(set(flags) | {"timeout"}))
            elif first == "elements":
                reader = RuleReader(toks[2:], RuleContext(table.family), str(tok))
                try:
                    elems = reader.read_set_elements()
                except RuleProblem as exc:
                    raise _LineError(self.problem_error(tok, str(exc), exc.offset,
                                                        exc.expected, exc.found)) from None
                elements.extend(SetElement(tuple(e.parts), " ".join(e.value) if e.value
                                           else None, span) for e in elems)
            elif first not in ("gc-interval", "size", "policy", "auto-merge",
                               "comment", "counter", "quota", "limit", "ct", "last"):
                raise _LineError(self.problem_error(
                    tok, f"unexpected {first!r} in a set", 0,
                    ("type", "typeof", "flags", "elements", "timeout", "size", "policy"),
                    first))
        table.sets[name] = NamedSet(name, key_type, _canonical_elements(key_type, elements),
                                    flags, is_map, value_type, span)

    # ------------------------------------------------------------------ commands

    def command(self, verb: str, toks: list, tok) -> None:
        if not toks:
            raise _LineError(self.problem_error(tok, f"{verb} what?", 0, ("table", "chain",
                                                                         "rule")))
        what = toks[0].text
        if verb == "flush" and what == "ruleset":
            self.tables.clear()
            return
        if verb in ("list", "reset", "describe", "monitor", "export", "import"):
            return
        if what in ("map", "set") or what == "element":
            self.set_command(verb, toks, tok)
            return
        if what not in ("table", "chain", "rule", "flowtable") + _OBJECT_KINDS:
            raise _LineError(self.problem_error(tok, f"unknown object {what!r}", toks[0].offset,
                                                ("table", "chain", "rule", "set", "map",
                                                 "element"), what))
        index = 2 if what == "ct" else 1
        family = "ip"
        if index < len(toks) and toks[index].text in FAMILIES:
            family = toks[index].text
            index += 1
        if index >= len(toks):
            raise _LineError(self.problem_error(tok, "expected a table name", len(str(tok))))
        table_tok = toks[index]
        index += 1
        span = self.offset_span(tok, 0, len(str(tok)))
        if what == "table":
            if verb in ("delete", "destroy"):
                self.tables.pop((family, table_tok.text), None)
            elif verb == "flush":
                table = self.get_table(family, table_tok.text, span, False, tok)
                for chain in table.chains.values():
                    chain.rules.clear()
            else:
                table = self.get_table(family, table_tok.text, span, True)
                if index < len(toks) and toks[index].text == "{":
                    self.errors.append(self.problem_error(
                        tok, "write 'table F NAME { … }' for a table with a body",
                        toks[index].offset))
            return
        table = self.get_table(family, table_tok.text, span, verb not in ("delete", "flush")
                               and what == "chain", tok)
        if what in _OBJECT_KINDS or what == "flowtable":
            if verb in ("add", "create") and index < len(toks):
                table.objects.add((what, toks[index].text.strip('"')))
            return
        if index >= len(toks):
            raise _LineError(self.problem_error(tok, "expected a chain name", len(str(tok))))
        chain_name = toks[index].text.strip('"')
        index += 1
        if what == "chain":
            self.chain_command(verb, table, chain_name, toks[index:], tok, span)
            return
        chain = self.get_chain(table, chain_name, span, False, tok)
        self.rule_command(verb, table, chain, toks[index:], tok)

    def chain_command(self, verb: str, table: _TableState, name: str, toks: list, tok,
                      span: Span) -> None:
        if verb in ("delete", "destroy"):
            table.chains.pop(name, None)
            return
        if verb == "flush":
            self.get_chain(table, name, span, False, tok).rules.clear()
            return
        if verb == "rename":
            chain = table.chains.pop(name, None)
            if chain is not None and toks:
                chain.name = toks[0].text
                table.chains[chain.name] = chain
            return
        chain = self.get_chain(table, name, span, True)
        if toks and toks[0].text == "{":
            body = str(tok)[toks[0].offset + 1:toks[-1].offset]
            for part in _split_body(body):
                start = toks[0].offset + 1 + part[0]
                words = part[1].split(None, 1)
                sub = _SubToken(part[1], tok, start)
                if words and words[0] in ("type", "policy", "comment", "devices", "device",
                                          "flags"):
                    self.chain_property(table, chain, sub)

    def rule_command(self, verb: str, table: _TableState, chain: _ChainState, toks: list,
                     tok) -> None:
        where = None
        if len(toks) >= 2 and toks[0].text in ("position", "handle", "index"):
            where = (toks[0].text, toks[1].text)
            toks = toks[2:]
        if verb in ("delete", "destroy"):
            if where is None:
                raise _LineError(self.problem_error(tok, "delete rule needs a handle", 0,
                                                    ("handle",)))
            chain.rules[:] = [r for r in chain.rules if str(r[0]) != where[1]]
            return
        if not toks:
            raise _LineError(self.problem_error(tok, "expected a rule", len(str(tok))))
        offset = toks[0].offset
        position = None
        if where is not None:
            if where[0] == "index":
                position = int(where[1]) if where[1].isdigit() else 0
                position += verb != "insert"
            else:
                handles = [str(r[0]) for r in chain.rules]
                if where[1] not in handles:
                    raise _LineError(self.problem_error(
                        tok, f"no rule with handle {where[1]} in chain {chain.name}", 0))
                position = handles.index(where[1]) + (verb not in ("insert", "replace"))
        elif verb == "insert":
            position = 0
        self.append_rule(table, chain, tok, toks, offset, position,
                         replace=verb == "replace")

    def set_command(self, verb: str, toks: list, tok) -> None:
        what = toks[0].text
        index = 1
        family = "ip"
        if index < len(toks) and toks[index].text in FAMILIES:
            family = toks[index].text
            index += 1
        if index + 1 >= len(toks):
            raise _LineError(self.problem_error(tok, f"expected a table and a {what} name",
                                                len(str(tok))))
        span = self.offset_span(tok, 0, len(str(tok)))
        table = self.get_table(family, toks[index].text, span, False, tok)
        name = toks[index + 1].text
        rest_offset = toks[index + 2].offset if index + 2 < len(toks) else len(str(tok))
        body = str(tok)[rest_offset:].strip()
        if what == "element":
            if name not in table.sets:
                raise _LineError(self.problem_error(tok, f"no set {name!r}", toks[index + 1]
                                                    .offset, (), name))
            named = table.sets[name]
            if verb in ("delete", "destroy", "flush"):
                return
            self.define_set(table, name, named.is_map,
                            [_SubToken("elements = " + body, tok, rest_offset, -11)],
                            named.span)
            return
        if verb in ("delete", "destroy"):
            table.sets.pop(name, None)
            return
        if verb == "flush":
            if name in table.sets:
                old = table.sets[name]
                table.sets[name] = NamedSet(old.name, old.key_type, (), old.flags, old.is_map,
                                            old.value_type, old.span)
            return
        lines = []
        if body.startswith("{") and body.endswith("}"):
            inner_offset = rest_offset + str(tok)[rest_offset:].index("{") + 1
            for start, part in _split_body(body[1:-1]):
                lines.append(_SubToken(part, tok, inner_offset + start))
        self.define_set(table, name, what == "map", lines, span)

    # ------------------------------------------------------------------ rules

    def append_rule(self, table: _TableState, chain: _ChainState, tok, toks: list,
                    offset: int, position: Optional[int] = None, replace: bool = False) -> None:
        from .nft_rule import RuleContext, RuleProblem, RuleReader
        text = str(tok)
        context = RuleContext(table.family, chain.type, chain.hook, table.sets,
                              lambda start, end: self.offset_span(tok, start, end),
                              table.objects)
        try:
            parts = RuleReader(toks, context, text).read()
        except RuleProblem as exc:
            raise _LineError(self.problem_error(tok, str(exc), exc.offset, exc.expected,
                                                exc.found)) from None
        if parts.binding is not None:
            parts.verdict = self.chain_binding(table, tok, parts)
        span = self.offset_span(tok, offset, len(text.rstrip()))
        rule_text = " ".join(text[offset:].split())
        base = _icmp_family(_normalise(parts.matches), table.family)
        rules = [Rule(tuple(_icmp_family(_normalise(base + extra), table.family)) if extra
                      else tuple(base),
                      tuple(parts.statements), verdict or parts.verdict, parts.comment, span,
                      rule_text)
                 for extra, verdict in parts.branches]
        entry = [table.next_handle(), rules]
        if replace and position is not None:
            entry[0] = chain.rules[position][0]
            chain.rules[position] = entry
        elif position is None:
            chain.rules.append(entry)
        else:
            chain.rules.insert(position, entry)

    def chain_binding(self, table: _TableState, tok, parts):
        """``jump { … }``: an anonymous chain, named ``__chainN`` in order of appearance."""
        import dataclasses
        table.bindings += 1
        name = f"__chain{table.bindings}"
        start, end = parts.binding
        chain = self.get_chain(table, name, self.offset_span(tok, start, end), True)
        for offset, line in _split_body(str(tok)[start:end]):
            sub = _SubToken(line, tok, start + offset)
            try:
                self.append_rule(table, chain, sub, self.tokens(sub), 0)
            except _LineError as exc:
                self.errors.append(exc.error)
        return dataclasses.replace(parts.verdict, target=name)

    # ------------------------------------------------------------------ result

    def freeze(self, path: str) -> Ruleset:
        tables = []
        for table in self.tables.values():
            chains = tuple(
                Chain(c.name, tuple(rule for _, rules in c.rules for rule in rules), c.hook,
                      c.type, c.priority, c.policy or ("accept" if c.hook else None),
                      c.device, c.span)
                for c in table.chains.values())
            tables.append(Table(table.family, table.name, chains, tuple(table.sets.values()),
                                table.span))
        return Ruleset(path, "nft", tuple(tables), Span(path, 1, 1, 1, 1),
                       sources=tuple(self.source.sources))


class _LineError(Exception):
    def __init__(self, error: ParseError) -> None:
        super().__init__(error.message)
        self.error = error


class _SubToken(str):
    """Part of a LINE (a property inside ``add chain … { … }``) positioned like a token."""

    def __new__(cls, text: str, parent, offset: int, shift: int = 0):
        self = super().__new__(cls, text)
        before = str(parent)[:max(offset, 0)]
        newlines = before.count("\n")
        self.line = parent.line + newlines
        self.column = (parent.column + offset if not newlines
                       else offset - before.rfind("\n")) + shift
        self.end_line = self.line
        self.end_column = self.column + len(text)
        return self


def _missing_semicolon(rest: list) -> str:
    if rest[0] in ("policy", "comment", "device", "devices"):
        return f"missing ';' before {rest[0]!r}"
    return "unexpected words after the priority"


def _split_body(body: str) -> list[tuple[int, str]]:
    """Split the inside of ``{ … }`` at ``;`` and newlines outside nested braces."""
    parts, depth, start = [], 0, 0
    in_string = False
    for index, char in enumerate(body):
        if char == '"':
            in_string = not in_string
        elif in_string:
            continue
        elif char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
        elif char in ";\n" and depth == 0:
            if body[start:index].strip():
                lead = len(body[start:index]) - len(body[start:index].lstrip())
                parts.append((start + lead, body[start:index].strip()))
            start = index + 1
    if body[start:].strip():
        lead = len(body[start:]) - len(body[start:].lstrip())
        parts.append((start + lead, body[start:].strip()))
    return parts


def _normalise(matches: list) -> list:
    """Merge what nft merges when it lists a rule, and sort into the model's canonical order."""
    protocols = [m for m in matches if type(m) is ProtocolMatch and not m.negated]
    icmp = [m for m in matches if type(m) is IcmpTypeMatch and not m.negated]
    merged_ids = {id(m) for m in protocols} | {id(m) for m in icmp}
    others = []
    seen = set()
    for match in matches:
        if id(match) in merged_ids:
            continue
        if isinstance(match, FamilyMatch) and match in seen:
            continue
        seen.add(match)
        others.append(match)
    if protocols:
        merged = protocols[0].protocols
        for match in protocols[1:]:
            merged = merged & match.protocols
        others.append(ProtocolMatch(merged, False, protocols[0].span))
    for version in (4, 6):
        same = [m for m in icmp if m.version == version]
        if not same:
            continue
        types = next((m.types for m in same if m.types != ((0, 255),)), ((0, 255),))
        codes = next((m.codes for m in same if m.codes), ())
        others.append(IcmpTypeMatch(version, types, codes, False, same[0].span))
    unique = list(dict.fromkeys(others))
    quick = [match_sort_key_head(m) for m in unique]
    if len(set(quick)) == len(quick):
        return [m for _, m in sorted(zip(quick, unique), key=lambda pair: pair[0])]
    return sorted(unique, key=match_sort_key)


def match_sort_key_head(match) -> tuple:
    """match_sort_key without its last part (a repr): the same order when no two matches
    share type and field, and much cheaper on 100k-rule files."""
    from ..model import _FIELD_ORDER, _MATCH_ORDER
    name = getattr(match, "field", None) or getattr(match, "module", None) or ""
    return _MATCH_ORDER[type(match)], _FIELD_ORDER.get(name, 9), name


def _icmp_family(matches: list, family: str) -> list:
    """nft treats ``meta nfproto ipv6`` as implied by ``meta l4proto ipv6-icmp`` (and ipv4
    by icmp) and leaves it out of listings; say the family explicitly on both sides."""
    if family not in ("inet", "bridge", "netdev"):
        return matches
    for match in matches:
        if isinstance(match, ProtocolMatch) and not match.negated and \
                match.protocols in ({1}, {58}):
            implied = FamilyMatch("ip" if match.protocols == {1} else "ip6")
            if implied not in matches:
                return sorted(matches + [implied], key=match_sort_key)
    return matches


def _canonical_elements(key_type: tuple, elements: list) -> tuple:
    """Set elements in a canonical spelling and order (a set has no order)."""
    from . import nft_values as V
    out = {}
    for element in elements:
        key = tuple(_canonical_key(kind, part, V) for kind, part in
                    zip(key_type + ("",) * len(element.key), element.key))
        out[key] = SetElement(key, element.value, element.span)
    return tuple(out[k] for k in sorted(out, key=lambda k: tuple(_sort_part(p) for p in k)))


def _canonical_key(kind: str, text: str, V) -> str:
    text = text.lstrip('"')
    try:
        if kind in ("ipv4_addr", "ip saddr", "ip daddr"):
            low, high = V.ipv4_interval(text)
            return _interval_text(low, high, 32, 4)
        if kind in ("ipv6_addr", "ip6 saddr", "ip6 daddr"):
            low, high = V.ipv6_interval(text)
            return _interval_text(low, high, 128, 6)
        if kind in ("inet_service",) or kind.endswith(" dport") or kind.endswith(" sport"):
            low, high = V.port_range(text)
            return str(low) if low == high else f"{low}-{high}"
        if kind in ("inet_proto", "meta l4proto", "ip protocol"):
            return str(V.protocol_number(text))
        if kind in ("mark", "meta mark", "ct mark"):
            return str(int(text, 0))
    except (V.ValueProblem, ValueError):
        return text
    return text


def _interval_text(low: int, high: int, bits: int, version: int) -> str:
    import ipaddress
    make = ipaddress.IPv4Address if version == 4 else ipaddress.IPv6Address
    if low == high:
        return str(make(low))
    size = high - low + 1
    if size & (size - 1) == 0 and low % size == 0:
        return f"{make(low)}/{bits - size.bit_length() + 1}"
    return f"{make(low)}-{make(high)}"


def _sort_part(text: str) -> tuple:
    import ipaddress
    head = text.split("/")[0].split("-")[0]
    try:
        return (0, int(ipaddress.ip_address(head)), text)
    except ValueError:
        pass
    if head.isdigit():
        return (1, int(head), text)
    return (2, 0, text)
