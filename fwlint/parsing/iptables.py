"""The iptables front end: iptables-save / iptables-restore files, ``iptables -S`` listings
and shell scripts of iptables commands, into the model (fwlint.model).

The file structure is parsed by a line-structured Lark grammar (grammars/iptables.lark);
each command line's options are then split and interpreted here, with the option table of
fwlint.parsing.iptables_modules.  Commands are applied in order, as iptables-restore (or
the shell) would, so the model is the ruleset the kernel ends up with.
"""

from __future__ import annotations

import functools
import gc
import re
from _socket import AF_INET, inet_pton  # socket.py costs 3.5 ms of import (enums)
from operator import itemgetter
from sys import intern
from dataclasses import dataclass, field
from typing import Any, Callable, Final, Iterator, NamedTuple, Optional, Union

from ..model import _FIELD_ORDER, _MATCH_ORDER  # the cheap part of match_sort_key
from ..model import (IPTABLES_BUILTIN_CHAINS, PROTOCOL_NUMBERS, AddressMatch, Chain,
                     CtStateMatch, IcmpTypeMatch, InterfaceMatch, MarkMatch, OpaqueMatch,
                     ParseError, ParseResult, PortMatch, ProtocolMatch, Rule, Ruleset,
                     SetMatch, Span, Statement, Table, TcpFlagsMatch, Verdict, match_sort_key)
from ..model import MAX_PACKED_COLUMN, packed_line
from .iptables_args import (ARITY, PARSERS, ArgError, canonical_args, parse_address,
                            parse_nat_to)
from .iptables_modules import (PROTOCOL_MODULES, STANDARD_TARGETS, TERMINATING_TARGETS,
                               Extension, matches, targets)
from .twins import bare, respanner, shared_maker

_parser_cache: list = []


def _parser():
    """The Lark parser for the file structure, built on first use and kept for the process.

    Lark's on-disk cache is not used: it is a pickle, and loading a pickle that someone else
    could have written (a restored CI cache) runs their code.  Building costs about 20 ms."""
    if not _parser_cache:
        from lark import Lark

        from ..resources import grammar_path
        _parser_cache.append(Lark(grammar_path("iptables.lark").read_text(encoding="utf-8"),
                                  parser="lalr", lexer="contextual",
                                  maybe_placeholders=False))
    return _parser_cache[0]


# --------------------------------------------------------------------------- words

# A word as a shell reads it: double-quoted parts (with backslash escapes), single-quoted
# parts, escaped characters and plain characters, glued together.  iptables-restore only
# knows double quotes (a single quote is an ordinary character there).
_SHELL_WORD_RE = re.compile(r"""(?:"(?:[^"\\]|\\.)*"|'[^']*'|\\.|[^\s"'\\])+|(?P<bad>["'])""")
_SHELL_UNQUOTE_RE = re.compile(r""""((?:[^"\\]|\\.)*)"|'([^']*)'|\\(.)""")
_RESTORE_UNQUOTE_RE = re.compile(r'"((?:[^"\\]|\\.)*)"')
_ESCAPE_RE = re.compile(r"\\(.)")


class Word(NamedTuple):
    """One word of a command line (a tuple: rules have many words, and tuples are cheap)."""

    text: str  # unquoted
    raw: str  # as written
    line: int
    column: int  # 1-based
    end_column: int  # inclusive


def _unquote(raw: str, shell: bool = True) -> str:
    if "\\" not in raw and ("'" not in raw or not shell):
        return raw.replace('"', "")
    pattern = _SHELL_UNQUOTE_RE if shell else _RESTORE_UNQUOTE_RE
    return pattern.sub(lambda m: _ESCAPE_RE.sub(r"\1", m.group(1)) if m.group(1) is not None
                       else (m.group(2) if m.group(2) is not None else m.group(3)), raw)


class WordError(Exception):
    def __init__(self, column: int, message: str):
        super().__init__(message)
        self.column = column


def split_words(text: str, line: int, column: int, shell: bool = False) -> list[Word]:
    """Split one line into words, as a shell (``shell``) or iptables-restore reads them;
    ``column`` is the 1-based column of ``text[0]``."""
    if shell and ("'" in text or "\\" in text):
        return _split_shell(text, line, column)
    pieces = text.split()
    if " ".join(pieces) == text:
        return _split_single_spaced(pieces, line, column)
    words: list[Word] = []
    pos = 0
    find = text.find
    new_word = tuple.__new__
    pieces_left = iter(pieces)
    for piece in pieces_left:
        start = find(piece, pos)
        end = start + len(piece)
        if '"' in piece:
            # a quoted part may hold spaces: extend the word until its quotes balance
            while (piece.count('"') - piece.count('\\"')) % 2:
                nxt = next(pieces_left, None)
                if nxt is None:
                    raise WordError(column + find('"', start), 'unterminated quote "')
                end = find(nxt, end) + len(nxt)
                piece = text[start:end]
            words.append(new_word(Word, (_unquote(piece, False), piece, line, column + start,
                                         column + end - 1)))
        else:
            words.append(new_word(Word, (piece, piece, line, column + start, column + end - 1)))
        pos = end
    return words


def _split_single_spaced(pieces: list[str], line: int, column: int) -> list[Word]:
    """split_words for a line whose words are separated by single spaces (what
    iptables-save writes): the columns follow from the lengths, no searching needed."""
    new_word = tuple.__new__
    words: list[Word] = []
    append = words.append
    start = column
    pieces_left = iter(pieces)
    for piece in pieces_left:
        if '"' in piece:
            while (piece.count('"') - piece.count('\\"')) % 2:
                nxt = next(pieces_left, None)
                if nxt is None:
                    raise WordError(start + piece.find('"'), 'unterminated quote "')
                piece = piece + " " + nxt
            end = start + len(piece)
            append(new_word(Word, (_unquote(piece, False), piece, line, start, end - 1)))
        else:
            end = start + len(piece)
            append(new_word(Word, (piece, piece, line, start, end - 1)))
        start = end + 1
    return words


def _split_shell(text: str, line: int, column: int) -> list[Word]:
    words = []
    for m in _SHELL_WORD_RE.finditer(text):
        if m.group("bad"):
            raise WordError(column + m.start(), f"unterminated quote {m.group('bad')}")
        raw = m.group()
        words.append(Word(_unquote(raw), raw, line, column + m.start(), column + m.end() - 1))
    return words


# --------------------------------------------------------------------------- builder


@dataclass(slots=True)
class _ChainState:
    name: str
    span: Union[Span, int]  # a Span, or a packed one (model.packed_line) from _FastRules
    builtin: Optional[tuple[str, str, int]]
    policy: Optional[str]
    rules: list[Rule] = field(default_factory=list)


@dataclass(slots=True)
class _TableState:
    family: str
    name: str
    span: Span
    chains: dict[str, _ChainState] = field(default_factory=dict)


class _OtherFamily(Exception):
    """A rule marked -4 read by ip6tables-restore, or -6 by iptables-restore: ignored."""


class _Error(Exception):
    """A command that cannot be applied: becomes a ParseError at ``word``."""

    def __init__(self, word: Optional[Word], message: str, expected: tuple[str, ...] = ()):
        super().__init__(message)
        self.word = word
        self.message = message
        self.expected = expected


_COMMANDS = {"-A": "-A", "--append": "-A", "-I": "-I", "--insert": "-I", "-D": "-D",
             "--delete": "-D", "-R": "-R", "--replace": "-R", "-N": "-N", "--new-chain": "-N",
             "-X": "-X", "--delete-chain": "-X", "-F": "-F", "--flush": "-F", "-Z": "-Z",
             "--zero": "-Z", "-P": "-P", "--policy": "-P", "-E": "-E", "--rename-chain": "-E",
             "-L": "-L", "--list": "-L", "-S": "-S", "--list-rules": "-S", "-C": "-C",
             "--check": "-C"}
_CORE = {"-p": "-p", "--protocol": "-p", "-s": "-s", "--source": "-s", "--src": "-s",
         "-d": "-d", "--destination": "-d", "--dst": "-d", "-i": "-i", "--in-interface": "-i",
         "-o": "-o", "--out-interface": "-o", "-j": "-j", "--jump": "-j", "-g": "-g",
         "--goto": "-g", "-m": "-m", "--match": "-m", "-f": "-f", "--fragment": "-f",
         "-c": "-c", "--set-counters": "-c", "-4": "-4", "--ipv4": "-4", "-6": "-6",
         "--ipv6": "-6", "-w": "-w", "--wait": "-w", "-W": "-W", "--wait-interval": "-W",
         "-v": "-v", "--verbose": "-v", "-n": "-n", "--numeric": "-n", "-x": "-x",
         "--exact": "-x", "--line-numbers": "--line-numbers", "-t": "-t", "--table": "-t"}
_ATTACHED = frozenset("psdiojgmct")
_CORE_MATCHES = frozenset({"-p", "-s", "-d", "-i", "-o", "-m", "-j", "-g"})
#: extension option sets already validated (see _RuleParser._validate)
_VALIDATED: set[tuple] = set()
_HOSTNAME_RE = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9-]+)*\.?$")
_COUNTERS_RE = re.compile(r"^\[(\d+):(\d+)\]$")


_SPAN_SLOTS = tuple(Span.__dict__[name].__set__
                    for name in ("path", "line", "column", "end_line", "end_column"))


def _span(path: str, first: Word, last: Word) -> Span:
    """The Span from ``first`` to ``last``, built through the slots directly: a frozen
    dataclass __init__ costs twice as much, and a large file has millions of spans."""
    span = object.__new__(Span)
    set_path, set_line, set_column, set_end_line, set_end_column = _SPAN_SLOTS
    set_path(span, path)
    set_line(span, first.line)
    set_column(span, first.column)
    set_end_line(span, last.line)
    set_end_column(span, last.end_column)
    return span


class _Builder:
    """Applies iptables commands in order and builds the final model."""

    def __init__(self, path: str, fmt: str):
        self.path = path
        self.format = fmt
        self.errors: list[ParseError] = []
        self.tables: dict[tuple[str, str], _TableState] = {}
        self.lines: list[str] = []

    # ---------------------------------------------------------------- errors

    def error(self, span: Span, message: str, expected: tuple[str, ...] = (),
              found: str = "") -> None:
        source = self.lines[span.line - 1] if 0 < span.line <= len(self.lines) else ""
        self.errors.append(ParseError(span, message, expected, found, source.rstrip("\r")))

    def word_error(self, exc: _Error, words: list[Word]) -> None:
        word = exc.word or (words[-1] if words else None)
        if word is None:
            return
        if exc.word is None:  # missing something at the end of the line
            span = Span(self.path, word.line, word.end_column + 1, word.line,
                        word.end_column + 1)
            found = "end of line"
        else:
            span = _span(self.path, word, word)
            found = _short(word.raw)
        self.error(span, exc.message, exc.expected, found)

    # ---------------------------------------------------------------- tables and chains

    def table(self, family: str, name: str, span: Span, flush: bool) -> _TableState:
        key = (family, name)
        state = self.tables.get(key)
        if state is None or flush:
            state = _TableState(family, name, span)
            self.tables[key] = state
        return state

    def chain(self, table: _TableState, name: str, span: Span) -> _ChainState:
        """The chain a command names; iptables-restore --test accepts rules for a chain the
        input never declares (it may exist already, with --noflush), so it is created."""
        chain = table.chains.get(name)
        if chain is None:
            builtin = IPTABLES_BUILTIN_CHAINS.get(table.name, {}).get(name)
            chain = _ChainState(name, span, builtin, "accept" if builtin else None)
            table.chains[name] = chain
        return chain

    def declare(self, table: _TableState, words: list[Word]) -> None:
        """``:CHAIN POLICY [packets:bytes]``."""
        first = words[0]
        name = first.text[1:]
        span = _span(self.path, first, words[-1])
        if not name:
            self.error(span, "chain name missing after ':'", ("a chain name",), first.raw)
            return
        policy = words[1].text if len(words) > 1 else "-"
        builtin = IPTABLES_BUILTIN_CHAINS.get(table.name, {}).get(name)
        if policy not in ("ACCEPT", "DROP", "-"):
            self.error(_span(self.path, words[1], words[1]), f"invalid policy {policy!r}",
                       ("ACCEPT", "DROP", "-"), policy)
            policy = "-"
        chain = table.chains.get(name)
        if chain is None:
            chain = _ChainState(name, span, builtin, None)
            table.chains[name] = chain
        chain.span = span
        chain.policy = policy.lower() if policy != "-" else ("accept" if builtin else None)

    def finish(self, fmt: str, skipped: int = 0) -> ParseResult:
        tables = []
        for state in self.tables.values():
            chains = []
            for chain in state.chains.values():  # in line (see twins.bare): 35,911 on 100,000 rules
                made = _BareChain()
                made.name = chain.name
                made.rules = tuple(chain.rules)
                made.hook, made.type, made.priority = chain.builtin or _NO_HOOK
                made.policy = chain.policy
                made.device = None
                made.span = chain.span
                made.__class__ = _CHAIN
                chains.append(made)
            tables.append(Table(state.family, state.name, tuple(chains), span=state.span))
        end = max(len(self.lines), 1)
        ruleset = Ruleset(self.path, fmt, tuple(tables),
                          span=Span(self.path, 1, 1, end, len(self.lines[-1]) + 1
                                    if self.lines else 1),
                          skipped_lines=skipped, sources=(self.path,))
        errors = tuple(sorted(self.errors, key=lambda e: (e.span.line, e.span.column)))
        return ParseResult(ruleset, errors)

    # ---------------------------------------------------------------- commands

    def command(self, table: _TableState, words: list[Word], family: int,
                script: Optional[list[Word]] = None) -> None:
        """Apply one command line (``[p:b] -A CHAIN rule…``, ``-N CHAIN``, …); for a
        script, ``script`` is the whole command (``iptables -t nat …``) the rule spans."""
        try:
            self._command(table, words, family, script)
        except _Error as exc:
            self.word_error(exc, words)
        except _OtherFamily:
            pass

    def _command(self, table: _TableState, words: list[Word], family: int,
                 script: Optional[list[Word]]) -> None:
        counters = None
        start = 0
        if words[0].text[:1] == "[":
            match = _COUNTERS_RE.match(words[0].text)
            if not match:
                raise _Error(words[0], f"invalid counters {words[0].raw!r}",
                             ("[packets:bytes]",))
            counters = (int(match.group(1)), int(match.group(2)))
            start = 1
        index = None
        for i in range(start, len(words)):
            if words[i].text in _COMMANDS:
                index = i
                break
            if not script and words[i].text in ("-t", "--table"):
                raise _Error(words[i], "-t cannot be used in iptables-restore input; "
                             "use a *table line")
        if index is None:
            raise _Error(words[start] if start < len(words) else None,
                         "expected a command (-A, -I, -D, -R, -N, -X, -F, -P, -E)",
                         ("-A", "-I", "-D", "-N", "-P"))
        cmd = _COMMANDS[words[index].text]
        if cmd in ("-L", "-S", "-C"):
            return
        if cmd in ("-N", "-X", "-F", "-Z", "-P", "-E"):
            self._chain_command(table, cmd, words[index], words[index + 1:])
            return
        if index + 1 >= len(words):
            raise _Error(None, f"{words[index].text} needs a chain name", ("a chain name",))
        chain_word = words[index + 1]
        rest = words[start:index] + words[index + 2:]
        position = None
        if cmd in ("-I", "-R", "-D") and rest and words[index + 2:] and \
                words[index + 2].text.isdigit():
            position = int(words[index + 2].text)
            rest = words[start:index] + words[index + 3:]
        chain = self.chain(table, chain_word.text, _span(self.path, chain_word, chain_word))
        # Rule numbers beyond the chain are not errors: with --noflush they refer to rules
        # loaded before, which iptables-restore --test accepts too.
        if cmd == "-D" and position is not None and not rest:
            if 1 <= position <= len(chain.rules):
                del chain.rules[position - 1]
            return
        if cmd == "-R" and position is None:
            raise _Error(words[index + 2] if len(words) > index + 2 else None,
                         "-R needs a rule number", ("a rule number",))
        text = " ".join([w.raw for w in words[index:]])
        whole = script or words
        rule = _RuleParser(self, table, chain.name, family, rest, text,
                           _span(self.path, whole[0], whole[-1])).parse()
        if counters and rule.counters is None:
            rule = _with_counters(rule, counters)
        if cmd == "-A":
            chain.rules.append(rule)
        elif cmd == "-I":
            chain.rules.insert(min(position or 1, len(chain.rules) + 1) - 1, rule)
        elif cmd == "-R":
            assert position is not None  # raised above otherwise
            if 1 <= position <= len(chain.rules):
                chain.rules[position - 1] = rule
            else:
                chain.rules.append(rule)
        elif cmd == "-D" and rule in chain.rules:
            chain.rules.remove(rule)

    def _chain_command(self, table: _TableState, cmd: str, cmd_word: Word,
                       args: list[Word]) -> None:
        name = args[0].text if args else None
        if cmd == "-N":
            if name is None:
                raise _Error(None, "-N needs a chain name", ("a chain name",))
            if name in table.chains:
                if self.format != "iptables-script":
                    raise _Error(args[0], f"chain {name} already exists")
                return
            if len(name) > 28:
                raise _Error(args[0], f"chain name {name!r} is longer than 28 characters")
            table.chains[name] = _ChainState(name, _span(self.path, cmd_word, args[0]),
                                             None, None)
        elif cmd == "-X":
            if name is None:
                for chain_name in [n for n, c in table.chains.items() if not c.builtin]:
                    del table.chains[chain_name]
            elif name in table.chains and not table.chains[name].builtin:
                del table.chains[name]
            elif self.format != "iptables-script":
                raise _Error(args[0], f"cannot delete chain {name}")
        elif cmd == "-F":
            if name is None:
                for chain in table.chains.values():
                    chain.rules.clear()
            elif name in table.chains:
                table.chains[name].rules.clear()
            elif self.format != "iptables-script":
                raise _Error(args[0], f"chain {name} does not exist")
        elif cmd == "-P":
            if len(args) < 2:
                raise _Error(None, "-P needs a chain and a policy", ("ACCEPT", "DROP"))
            policy = args[1].text
            if policy not in ("ACCEPT", "DROP"):
                raise _Error(args[1], f"invalid policy {policy!r}", ("ACCEPT", "DROP"))
            chain = self.chain(table, args[0].text, _span(self.path, cmd_word, args[1]))
            if not chain.builtin:
                raise _Error(args[0], f"cannot set a policy on user chain {name}")
            chain.policy = policy.lower()
        elif cmd == "-E":
            if len(args) < 2:
                raise _Error(None, "-E needs the old and the new chain name",
                             ("a chain name",))
            renamed = table.chains.pop(args[0].text, None)
            if renamed is None:
                raise _Error(args[0], f"chain {name} does not exist")
            renamed.name = args[1].text
            table.chains[renamed.name] = renamed


def _with_counters(rule: Rule, counters: tuple[int, int]) -> Rule:
    return Rule(rule.matches, rule.statements, rule.verdict, rule.comment, rule.span,
                rule.text, counters)


# --------------------------------------------------------------------------- rules

#: option word -> (option name, inline argument); rules repeat the same few option words
_OPTION_NAMES: dict[str, tuple[Optional[str], Optional[str]]] = {}


def _option_name(text: str) -> tuple[Optional[str], Optional[str]]:
    """``--dport=22`` -> ("--dport", "22"), ``-ptcp`` -> ("-p", "tcp"), ``--syn`` ->
    ("--syn", None); (None, None) for a word that is not an option."""
    parsed: tuple[Optional[str], Optional[str]]
    if text in _CORE or text[:2] == "--" and "=" not in text:
        parsed = text, None
    elif text.startswith("--"):
        name, eq, value = text.partition("=")
        parsed = name, (value if eq else None)
    elif text.startswith("-") and len(text) >= 2:
        parsed = (text[:2], text[2:]) if len(text) > 2 and text[1] in _ATTACHED else (text, None)
    else:
        parsed = None, None
    if len(_OPTION_NAMES) > 4096:
        _OPTION_NAMES.clear()
    _OPTION_NAMES[text] = parsed
    return parsed



@dataclass(slots=True)
class _Instance:
    """One loaded match module or target with the options given to it."""

    ext: Optional[Extension]
    name: str
    first: Word
    last: Word
    options: dict[str, tuple[tuple[str, ...], Any, bool, Word, Word]] = field(
        default_factory=dict)  # name -> (args, value, negated, first word, last word)
    order: list[str] = field(default_factory=list)


class _RuleParser:
    """Interprets one rule's options, as iptables' own option parser does."""

    __slots__ = ("b", "table", "chain", "family", "words", "text", "span", "path", "matches",
                 "protocol", "modules", "target", "jump", "counters")

    def __init__(self, builder: _Builder, table: _TableState, chain: str, family: int,
                 words: list[Word], text: str, span: Span):
        self.b = builder
        self.table = table
        self.chain = chain
        self.family = family
        self.words = words
        self.text = text
        self.span = span
        self.path = builder.path
        self.matches: list = []
        self.protocol: Optional[tuple[int, bool]] = None  # (number, negated)
        self.modules: list[_Instance] = []
        self.target: Optional[_Instance] = None
        self.jump: Optional[tuple[str, str, Word]] = None  # (kind, chain, word)
        self.counters: Optional[tuple[int, int]] = None

    def parse(self) -> Rule:
        self._read()
        return self._build()

    def _read(self) -> None:
        """Read every option word, loading modules and the target (models nothing yet)."""
        words = self.words
        i = 0
        n = len(words)
        while i < n:
            word = words[i]
            negated = False
            first = word
            if word.text == "!":
                if i + 1 >= n:
                    raise _Error(None, "'!' must be followed by an option", ("an option",))
                negated = True
                i += 1
                word = words[i]
            parsed = _OPTION_NAMES.get(word.text)
            if parsed is None:
                parsed = _option_name(word.text)
            name, inline = parsed
            if name is None:
                raise _Error(word, f"{word.raw!r} is not an option",
                             ("an option such as -p, -s, -m, -j",))
            if i + 1 < n and words[i + 1].text == "!" and not negated and \
                    name not in ("-j", "-g", "-m"):
                negated = True  # old style: --dport ! 22
                i += 1
            core = _CORE.get(name)
            if core is not None and not name.startswith("--") or core is not None and \
                    self._owner(name) is None:
                i = self._core(core, name, inline, negated, first, i)
                continue
            i = self._extension_option(name, inline, negated, first, word, i)

    def _args(self, count: int, inline: Optional[str], i: int, option: str
              ) -> tuple[list[str], Word, int]:
        """Take ``count`` argument words after word ``i``; returns (args, last word, next i)."""
        if count == 1 and inline is None and i + 1 < len(self.words):
            last = self.words[i + 1]
            return [last.text], last, i + 2
        args: list[str] = []
        last = self.words[i]
        if inline is not None:
            args.append(inline)
            count -= 1
        for _ in range(count):
            i += 1
            if i >= len(self.words):
                raise _Error(None, f"option {option} requires an argument",
                             ("an argument",))
            last = self.words[i]
            args.append(last.text)
        return args, last, i + 1

    # ---------------------------------------------------------------- core options

    def _core(self, core: str, name: str, inline: Optional[str], negated: bool, first: Word,
              i: int) -> int:
        if core not in _CORE_MATCHES:
            return self._core_special(core, name, inline, negated, first, i)
        args, last, nxt = self._args(1, inline, i, name)
        value = args[0]
        if core == "-p":
            if self.protocol is not None:
                raise _Error(self.words[i], "multiple -p flags not allowed")
            number = _protocol_number(value)
            if number is None:
                raise _Error(last, f"unknown protocol {value!r}",
                             ("a protocol name or number",))
            if number == 0:
                if negated:
                    raise _Error(first, "rule would never match protocol (! -p all)")
                self.protocol = (0, False)
                return nxt
            self.protocol = (number, negated)
            self.matches.append(ProtocolMatch(frozenset((number,)), negated,
                                              _span(self.path, first, last)))
        elif core in ("-s", "-d"):
            self.matches.append(self._address("saddr" if core == "-s" else "daddr", value,
                                              negated, _span(self.path, first, last), last,
                                              name))
        elif core in ("-i", "-o"):
            if len(value) > 15:
                raise _Error(last, f"interface name {value!r} is longer than 15 characters")
            if value == "+" and not negated:
                return nxt
            wildcard = value.endswith("+")
            self.matches.append(InterfaceMatch("iif" if core == "-i" else "oif",
                                               (value[:-1] if wildcard else value,),
                                               (wildcard,), negated,
                                               _span(self.path, first, last)))
        elif core == "-m":
            if negated:
                raise _Error(first, "-m cannot be negated")
            self._load_match(value, first, last)
        elif core in ("-j", "-g"):
            if negated:
                raise _Error(first, f"{name} cannot be negated")
            if self.target is not None or self.jump is not None:
                raise _Error(self.words[i], "multiple -j/-g flags not allowed")
            if core == "-g" or (value not in STANDARD_TARGETS and value not in targets()
                                and value not in TERMINATING_TARGETS):
                self.jump = ("goto" if core == "-g" else "jump", value, last)
            else:
                ext = targets().get(value)
                self.target = _Instance(ext, value, first, last)
        return nxt

    def _core_special(self, core: str, name: str, inline: Optional[str], negated: bool,
                      first: Word, i: int) -> int:
        """Core options that are neither matches nor targets (-f, -c, -w, -4/-6, -t)."""
        if core in ("-f", "-4", "-6", "-v", "-n", "-x", "--line-numbers"):
            if core == "-f":
                self.matches.append(OpaqueMatch("fragment", (), negated,
                                                _span(self.path, first, self.words[i])))
            elif core == "-6" and self.family == 4 or core == "-4" and self.family == 6:
                raise _OtherFamily()
            return i + 1
        if core in ("-w", "-W"):
            nxt = i + 1
            if nxt < len(self.words) and self.words[nxt].text.isdigit():
                nxt += 1
            return nxt
        if core == "-c":
            args, last, nxt = self._args(1, inline, i, name)
            if "," in args[0]:
                packets, _, byte_count = args[0].partition(",")
            else:
                args2, last, nxt = self._args(1, None, nxt - 1, name)
                packets, byte_count = args[0], args2[0]
            if not (packets.isdigit() and byte_count.isdigit()):
                raise _Error(last, f"invalid counters {packets!r},{byte_count!r}",
                             ("PACKETS,BYTES",))
            self.counters = (int(packets), int(byte_count))
            return nxt
        raise _Error(self.words[i], "-t must come before the command")

    def _address(self, field_name: str, value: str, negated: bool, span: Span, word: Word,
                 option: str):
        version = 6 if self.family == 6 else 4
        intervals = []
        items = value.split(",")
        if negated and len(items) > 1:
            raise _Error(word, f"! not allowed with multiple addresses in {option}")
        for item in items:
            try:
                first, last, contiguous = parse_address(item, version)
            except ArgError as exc:
                if _HOSTNAME_RE.match(item) and not item.replace(".", "").isdigit():
                    return OpaqueMatch("address", ((option, value),), negated, span,
                                       text=f"{option} {value}")
                raise _Error(word, _short(str(exc), 160), ("an address",)) from None
            if not contiguous:
                return OpaqueMatch("address", ((option, _masked_text(item, version)),),
                                   negated, span, text=f"{option} {value}")
            intervals.append((first, last))
        return AddressMatch(field_name, version, _merge(intervals), negated, span,
                            tuple(items))

    # ---------------------------------------------------------------- extensions

    def _load_match(self, name: str, first: Word, last: Word) -> None:
        ext = matches().get(name)
        if ext is None:
            self.modules.append(_Instance(None, name, first, last))
            return
        if ext.family and ext.family != self.family:
            raise _Error(last, f"match {name!r} is only for "
                         + ("iptables" if ext.family == 4 else "ip6tables"))
        self.modules.append(_Instance(ext, ext.name, first, last))

    def _owner(self, option: str) -> Optional[_Instance]:
        """Which loaded module takes ``option``: the target first, then the most recently
        loaded match (as iptables merges option tables)."""
        if self.target is not None and self.target.ext is not None and \
                option in self.target.ext.options:
            return self.target
        for inst in reversed(self.modules):
            if inst.ext is not None and option in inst.ext.options:
                return inst
        return None

    def _extension_option(self, name: str, inline: Optional[str], negated: bool, first: Word,
                          word: Word, i: int) -> int:
        inst = self._owner(name)
        if inst is None and self.protocol and not self.protocol[1]:
            module = PROTOCOL_MODULES.get(self.protocol[0])
            ext = matches().get(module) if module else None
            if ext is not None and name in ext.options and \
                    (not ext.family or ext.family == self.family):
                inst = _Instance(ext, ext.name, word, word)
                self.modules.append(inst)
        if inst is None:
            return self._opaque_option(name, inline, negated, first, word, i)
        assert inst.ext is not None  # _owner and the protocol module have one
        option = inst.ext.options[name]
        if negated and not option.invertible:
            raise _Error(first, f"{option.name} cannot be negated")
        key = option.name
        if key in inst.options:
            if "--next" not in inst.order[inst.order.index(key):]:
                raise _Error(word, f"{option.name} given twice")
            key = f"{key}\0{len(inst.order)}"
        arity = ARITY.get(option.kind, 1)
        args, last, nxt = self._args(arity, inline, i, name)
        try:
            value = PARSERS[option.kind](args, self.family)
        except ArgError as exc:
            raise _Error(last, _short(f"{option.name}: {exc}", 160)) from None
        inst.options[key] = (tuple(args), value, negated, first, last)
        inst.order.append(key)
        inst.last = last
        return nxt

    def _opaque_option(self, name: str, inline: Optional[str], negated: bool, first: Word,
                       word: Word, i: int) -> int:
        """An option of an unknown module or target: keep it and the words up to the next
        option as its arguments; an unknown option of a known module is an error."""
        candidates = [m for m in self.modules if m.ext is None or m.ext.loose]
        if self.target is not None and self.target.ext is None:
            candidates.append(self.target)
        if self.jump is not None and self.jump[0] == "jump":
            target_word = self.jump[2]
            candidates.append(_Instance(None, self.jump[1], target_word, target_word))
        inst = max(candidates, key=lambda c: (c.first.line, c.first.column), default=None)
        if inst is not None and self.jump is not None and inst.first is self.jump[2]:
            self.jump = None
            self.target = inst
        if inst is None:
            raise self._unknown_option(name, word)
        args = [inline] if inline is not None else []
        last = word
        j = i + 1
        while j < len(self.words) and not (self.words[j].text.startswith("-") and
                                           len(self.words[j].text) > 1) \
                and self.words[j].text != "!":
            args.append(self.words[j].text)
            last = self.words[j]
            j += 1
        inst.options[name + ("\0" + str(len(inst.order)) if name in inst.options else "")] = \
            (tuple(args), None, negated, first, last)
        inst.order.append(name)
        inst.last = last
        return j

    def _unknown_option(self, name: str, word: Word) -> _Error:
        """The error for an option no loaded module takes, with the likely intended one."""
        import difflib
        loaded = [m for m in self.modules if m.ext is not None]
        if self.target is not None and self.target.ext is not None:
            loaded.append(self.target)
        known = set(_CORE)
        for inst in loaded:
            if inst.ext is not None:
                known.update(inst.ext.options)
        if self.protocol and self.protocol[0] in PROTOCOL_MODULES:
            module = matches().get(PROTOCOL_MODULES[self.protocol[0]])
            known.update(module.options if module else ())
        close = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.75)
        if close:
            return _Error(word, f"unknown option {name!r} (did you mean {close[0]}?)")
        names = [inst.name for inst in loaded]
        hint = (f" (not an option of {', '.join(names)})" if names else
                " (load its module first, e.g. -p tcp or -m NAME)")
        return _Error(word, f"unknown option {name!r}{hint}")

    # ---------------------------------------------------------------- validation + model

    def _validate(self, inst: _Instance, is_target: bool) -> None:
        """Refuse what iptables refuses: missing or conflicting options, wrong protocol,
        family, table or chain.  Rules repeat the same shapes, so what passed is kept."""
        ext = inst.ext
        assert ext is not None  # only modules and targets fwlint knows are validated
        given = inst.options
        key = None
        if ext.check is None:
            key = (ext.name, tuple(given), ext.protocols and self.protocol,
                   ext.family and self.family, ext.tables and self.table.name,
                   ext.chains and self.chain)
            if key in _VALIDATED:
                return
        self._check_extension(inst, is_target)
        if key is not None:
            if len(_VALIDATED) > 4096:
                _VALIDATED.clear()
            _VALIDATED.add(key)

    def _check_extension(self, inst: _Instance, is_target: bool) -> None:
        ext = inst.ext
        assert ext is not None  # see _validate
        given = inst.options
        kind = "target" if is_target else "match"
        for group in ext.required:
            if not any(opt in given for opt in group):
                raise _Error(inst.first if is_target else inst.last,
                             f"{kind} {ext.name} needs " + " or ".join(group), group)
        for group in ext.exclusive:
            present = [opt for opt in group if opt in given]
            if len(present) > 1:
                raise _Error(given[present[1]][3], f"{present[0]} and {present[1]} cannot "
                             "be used together")
        if ext.protocols:
            proto = self.protocol
            if proto is None or proto[1] or proto[0] not in ext.protocols:
                names = "/".join(sorted(_PROTO_NAME.get(p, str(p)) for p in ext.protocols))
                raise _Error(inst.first, f"{kind} {ext.name} needs -p {names}",
                             tuple(f"-p {_PROTO_NAME.get(p, p)}" for p in ext.protocols))
        if ext.family and ext.family != self.family:
            raise _Error(inst.first, f"{kind} {ext.name} is only for "
                         + ("iptables" if ext.family == 4 else "ip6tables"))
        if ext.tables and self.table.name not in ext.tables:
            raise _Error(inst.first, f"{kind} {ext.name} is only valid in the "
                         + "/".join(ext.tables) + " table")
        if ext.chains and self.chain in IPTABLES_BUILTIN_CHAINS.get(self.table.name, {}) \
                and self.chain not in ext.chains:
            raise _Error(inst.first, f"{kind} {ext.name} is only valid in "
                         + ", ".join(ext.chains))
        if ext.check is not None:
            message = ext.check({k: v[0] for k, v in given.items()}, self.family)
            if message:
                raise _Error(inst.first, f"{kind} {ext.name}: {message}")

    def _build(self) -> Rule:
        comments: list[str] = []
        for inst in self.modules:
            if inst.ext is not None:
                self._validate(inst, False)
                self._model_match(inst, comments)
            else:
                self.matches.append(self._opaque(inst))
        statements: tuple[Statement, ...] = ()
        verdict = None
        if self.jump is not None:
            kind, target, word = self.jump
            verdict = Verdict(kind, target, span=_span(self.path, word, word))
        elif self.target is not None:
            if self.target.ext is not None:
                self._validate(self.target, True)
            verdict, statement = self._model_target(self.target)
            statements = (statement,) if statement else ()
        return Rule(canonical_order(self.matches), statements, verdict,
                    "; ".join(comments) if comments else None, self.span, self.text,
                    self.counters)

    def _options(self, inst: _Instance, names: Optional[list[str]] = None
                 ) -> tuple[tuple[str, ...], ...]:
        """The options of an unmodelled module or target, in iptables-save's form."""
        options = []
        for key in (names if names is not None else inst.options):
            args, value, negated, _, _ = inst.options[key]
            name = key.split("\0")[0]
            if inst.ext is not None and name in inst.ext.options:
                canonical = canonical_args(inst.ext.options[name].kind, args, value, negated)
                if canonical is None:
                    continue
                args = canonical
            options.append((("!",) if negated else ()) + (name,) + args)
        return canonical_options(inst.name, options, self.family)

    def _opaque(self, inst: _Instance, names: Optional[list[str]] = None) -> OpaqueMatch:
        options = self._options(inst, names)
        span = _span(self.path, inst.first, inst.last)
        text = " ".join(w.raw for w in self.words if inst.first.column <= w.column and
                        w.end_column <= inst.last.end_column and w.line == inst.first.line)
        return OpaqueMatch(inst.name, tuple(options), False, span, text=text)

    def _model_match(self, inst: _Instance, comments: list[str]) -> None:
        name = inst.name
        rest: list[str] = []
        path = self.path
        for key in inst.order:
            args, value, negated, first, last = inst.options[key]
            if key == "--comment":
                comments.append(value)
                continue
            if key not in _MODELLED_OPTIONS or name not in _MODELLED_OPTIONS[key]:
                rest.append(key)
                continue
            if key in _PORT_FIELDS:
                ranges = [r for r in value if r.valid]
                if not negated and len(value) == 1 and ranges == [(0, 65535)]:
                    continue
                self.matches.append(PortMatch(_PORT_FIELDS[key], _merge(ranges), negated,
                                              _span(path, first, last),
                                              tuple(args[0].split(","))))
            elif key in ("--tcp-flags", "--syn"):
                mask, comp = value if key == "--tcp-flags" else _SYN
                self.matches.append(TcpFlagsMatch(mask, comp, negated, _span(path, first, last)))
            elif key in ("--icmp-type", "--icmpv6-type"):
                icmp_type, low, high = value
                version = 6 if key == "--icmpv6-type" else 4
                types = ((0, 255),) if (version == 4 and icmp_type == 255) else \
                    ((icmp_type, icmp_type),)
                codes = () if (low, high) == (0, 255) or types == ((0, 255),) else \
                    ((low, high),)
                self.matches.append(IcmpTypeMatch(version, types, codes, negated,
                                                  _span(path, first, last)))
            elif key in ("--state", "--ctstate"):
                self.matches.append(CtStateMatch(frozenset(value), negated,
                                                 _span(path, first, last), module=name))
            elif key == "--mark":
                self.matches.append(MarkMatch(value[0], value[1], negated, name == "connmark",
                                              _span(path, first, last)))
            elif key == "--match-set":
                set_name, flags = value
                fields = tuple(("saddr" if f == "src" else "daddr") if n == 0 else
                               ("sport" if f == "src" else "dport")
                               for n, f in enumerate(flags))
                self.matches.append(SetMatch(set_name, fields, negated, _span(path, first, last)))
            else:  # --src-range / --dst-range
                self.matches.append(AddressMatch(
                    "saddr" if key == "--src-range" else "daddr", 6 if self.family == 6 else 4,
                    (value,), negated, _span(path, first, last), (args[0],)))
        if rest or name not in _MODELLED_MODULES:
            self.matches.append(self._opaque(inst, rest))

    def _model_target(self, inst: _Instance) -> tuple[Optional[Verdict], Optional[Statement]]:
        name = inst.name
        span = _span(self.path, inst.first, inst.last)
        given = inst.options
        flags = tuple((key,) for key in inst.order if key in ("--random", "--persistent",
                                                             "--random-fully"))
        if name in STANDARD_TARGETS:
            return Verdict(STANDARD_TARGETS[name], span=span), None
        if name == "REJECT":
            default = "icmp6-port-unreachable" if self.family == 6 else "icmp-port-unreachable"
            kind = given["--reject-with"][1] if "--reject-with" in given else default
            if kind == "tcp-reset" and self.protocol != (6, False):
                raise _Error(given["--reject-with"][4], "--reject-with tcp-reset needs -p tcp")
            return Verdict("reject", options=(("--reject-with", kind),), span=span), None
        if name in ("DNAT", "SNAT"):
            addresses, ports = given["--to-destination" if name == "DNAT" else
                                     "--to-source"][1]
            if ports is not None and (self.protocol is None or self.protocol[1] or
                                      self.protocol[0] not in _NAT_PORT_PROTOS):
                raise _Error(inst.first, f"{name} with a port needs -p tcp, udp, sctp or dccp")
            base = given["--to-destination" if name == "DNAT" else "--to-source"][0][0]
            extra = (("--to-ports-offset", base.rsplit("/", 1)[1]),) if "/" in base.rsplit(
                ":", 1)[-1] and ports is not None else ()
            return Verdict(name.lower(), to_addresses=(addresses,) if addresses else (),
                           to_ports=(ports,) if ports else (), options=flags + extra,
                           span=span), None
        if name in ("MASQUERADE", "REDIRECT"):
            ports = given.get("--to-ports", (None, None))[1]
            if ports is not None and (self.protocol is None or self.protocol[1] or
                                      self.protocol[0] not in _NAT_PORT_PROTOS):
                raise _Error(inst.first, f"{name} --to-ports needs -p tcp, udp, sctp or dccp")
            return Verdict(name.lower(), to_ports=(ports,) if ports else (), options=flags,
                           span=span), None
        if name == "NFQUEUE":
            return Verdict("queue", options=self._target_options(inst), span=span), None
        if name == "LOG":
            log_options: list[tuple[str, ...]] = []
            for key in inst.order:
                args, value, _, _, _ = given[key]
                if key == "--log-level":
                    if value != 4:
                        log_options.append((key, str(value)))
                else:
                    log_options.append((key, *args))
            return None, Statement("log", tuple(log_options), span, self._words_text(inst))
        if name == "MARK":
            return None, Statement("mark", (("--set-xmark", _xmark(inst)),), span,
                                   self._words_text(inst))
        kind = {"NFLOG": "nflog", "CONNMARK": "ctmark", "TCPMSS": "tcpmss",
                "CLASSIFY": "classify", "NOTRACK": "notrack"}.get(name)
        if name == "CT" and "--notrack" in given:
            kind = "notrack"
        options = self._target_options(inst)
        if kind is not None:
            return None, Statement(kind, options, span, self._words_text(inst))
        if name in TERMINATING_TARGETS:
            return Verdict("opaque", name, options=options, span=span), None
        return None, Statement("opaque", (("target", name),) + options, span,
                               self._words_text(inst))

    def _target_options(self, inst: _Instance) -> tuple[tuple[str, ...], ...]:
        return self._options(inst)

    def _words_text(self, inst: _Instance) -> str:
        return " ".join(w.raw for w in self.words if w.line == inst.first.line and
                        inst.first.column <= w.column <= inst.last.column)


_NAT_PORT_PROTOS = frozenset({6, 17, 132, 33, 136})
_PORTS_MODULES = frozenset({"tcp", "udp", "udplite", "sctp", "dccp", "multiport"})
#: option -> the modules in which fwlint models it (everything else stays opaque)
_MODELLED_OPTIONS = {
    "--sport": _PORTS_MODULES, "--dport": _PORTS_MODULES, "--sports": _PORTS_MODULES,
    "--dports": _PORTS_MODULES, "--ports": _PORTS_MODULES, "--tcp-flags": {"tcp"},
    "--syn": {"tcp"}, "--icmp-type": {"icmp"}, "--icmpv6-type": {"icmp6"},
    "--state": {"state"}, "--ctstate": {"conntrack"}, "--mark": {"mark", "connmark"},
    "--match-set": {"set"}, "--src-range": {"iprange"}, "--dst-range": {"iprange"},
}
#: modules that leave no opaque match behind when all their options are modelled
_MODELLED_MODULES = _PORTS_MODULES | {"icmp", "icmp6", "state", "conntrack", "mark",
                                      "connmark", "set", "comment", "iprange"}
_PORT_FIELDS = {"--sport": "sport", "--sports": "sport", "--dport": "dport",
                "--dports": "dport", "--ports": "port"}
_SYN = (frozenset(("fin", "syn", "rst", "ack")), frozenset(("syn",)))
_PROTO_NAME = {6: "tcp", 17: "udp", 1: "icmp", 58: "ipv6-icmp", 132: "sctp", 33: "dccp",
               136: "udplite", 50: "esp", 51: "ah", 108: "ipcomp", 135: "mh"}
_EXTRA_PROTOCOLS = {"all": 0, "ipcomp": 108, "mobility-header": 135, "ipv6-mh": 135,
                    "hopopt": 0, "ipencap": 4, "icmp6": 58, "ipv6-icmp": 58}


def canonical_order(matches: list) -> tuple:
    """``matches`` sorted by model.match_sort_key.  That key ends with repr(match), which is
    slow; it only decides between matches of the same type and field, so the cheap part
    sorts alone unless two matches tie on it."""
    if len(matches) < 2:
        return tuple(matches)
    keys = [(_MATCH_ORDER[type(m)], _FIELD_ORDER.get(_key_name(m), 9), _key_name(m))
            for m in matches]
    if len(set(keys)) < len(keys):
        return tuple(sorted(matches, key=match_sort_key))
    return tuple(m for _, m in sorted(zip(keys, matches), key=lambda pair: pair[0]))


def _key_name(match) -> str:
    return getattr(match, "field", None) or getattr(match, "module", None) or ""


def _protocol_number(text: str) -> Optional[int]:
    lowered = text.lower()
    if lowered.isdigit():
        number = int(lowered)
        return number if number <= 255 else None
    known = PROTOCOL_NUMBERS.get(lowered)
    if known is None:
        known = _EXTRA_PROTOCOLS.get(lowered)
    return known


def _xmark(inst: _Instance) -> str:
    """MARK's options as the ``--set-xmark VALUE/MASK`` iptables-save prints."""
    given = inst.options
    if "--set-xmark" in given:
        value, mask = given["--set-xmark"][1]
    elif "--set-mark" in given:
        value, mask = given["--set-mark"][1]
        mask |= value
    elif "--and-mark" in given:
        value, mask = 0, ~given["--and-mark"][1] & 0xFFFFFFFF
    elif "--or-mark" in given:
        value = mask = given["--or-mark"][1]
    else:
        value, mask = given["--xor-mark"][1], 0
    return f"0x{value:x}/0x{mask:x}"


_DROPPED_DEFAULTS = {"NFLOG": {("--nflog-group", "0")},
                     "string": {("--from", "0"), ("--to", "65535")}}
_RATE_UNITS = {"s": "sec", "sec": "sec", "second": "sec", "m": "min", "min": "min",
               "minute": "min", "h": "hour", "hour": "hour", "d": "day", "day": "day"}


def canonical_options(module: str, options: list[tuple[str, ...]], family: int
                      ) -> tuple[tuple[str, ...], ...]:
    """An unmodelled module's options as iptables-save prints them: defaults made explicit
    or dropped the way it does, rate units spelled one way, options sorted (their order
    does not change the meaning, except around policy's --next)."""
    present = {o[1] if o[0] == "!" else o[0] for o in options}
    if module == "limit":
        options = [(o[0], _canonical_rate(o[1])) if o[0] == "--limit" else o for o in options
                   if o != ("--limit-burst", "5")]
    elif module in _DROPPED_DEFAULTS:
        options = [o for o in options if o not in _DROPPED_DEFAULTS[module]]
    elif module == "hashlimit" and "--hashlimit-burst" not in present:
        options.append(("--hashlimit-burst", "5"))
    elif module == "connlimit":
        if "--connlimit-mask" not in present:
            options.append(("--connlimit-mask", "128" if family == 6 else "32"))
        if "--connlimit-daddr" not in present and "--connlimit-saddr" not in present:
            options.append(("--connlimit-saddr",))
    elif module == "CONNMARK" and ({"--save-mark", "--restore-mark"} & present):
        options += [(o, "0xffffffff") for o in ("--nfmask", "--ctmask") if o not in present]
    elif module == "NFQUEUE" and not ({"--queue-num", "--queue-balance"} & present):
        options.append(("--queue-num", "0"))
    elif module == "recent":
        if "--name" not in present:
            options.append(("--name", "DEFAULT"))
        if "--mask" not in present:
            options.append(("--mask", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff" if family == 6
                            else "255.255.255.255"))
        if "--rdest" not in present and "--rsource" not in present:
            options.append(("--rsource",))
    if module == "policy":
        return tuple(options)
    return tuple(sorted(options))


def _canonical_rate(text: str) -> str:
    number, slash, unit = text.partition("/")
    return f"{number}/{_RATE_UNITS.get(unit, unit)}" if slash else f"{number}/sec"


def _masked_text(item: str, version: int) -> str:
    """``addr/mask`` with a non-contiguous mask, as iptables-save prints it (host bits
    cleared, canonical address text)."""
    import ipaddress
    addr_text, _, mask_text = item.partition("/")
    cls = ipaddress.IPv6Address if version == 6 else ipaddress.IPv4Address
    mask = int(cls(mask_text))
    return f"{cls(int(cls(addr_text)) & mask)}/{cls(mask)}"


def _merge(intervals) -> tuple[tuple[int, int], ...]:
    """Sorted, merged closed intervals (adjacent ones joined)."""
    if len(intervals) == 1:
        low, high = intervals[0]
        return ((int(low), int(high)),)
    if not intervals:
        return ()
    merged: list[list[int]] = []
    for low, high in sorted(intervals):
        if merged and low <= merged[-1][1] + 1:
            merged[-1][1] = max(merged[-1][1], high)
        else:
            merged.append([low, high])
    return tuple((a, b) for a, b in merged)


# --------------------------------------------------------------------------- fast path


#: the fast path keeps what it parsed in dicts of its own, dropped with the parse, instead
#: of filling parse_address's process-wide cache with every address of a large file
_parse_address_uncached = parse_address.__wrapped__

# What the fast path uses on every rule is declared Final, imported names too (under a name
# of their own): a mypyc-compiled build keeps a Final name in a C static, and looks any
# other global name up in the module's dict at every use.
_make_verdict: Final = shared_maker(Verdict)
_make_interface: Final = shared_maker(InterfaceMatch)
_BareRule: Final = bare(Rule)
_BareVerdict: Final = bare(Verdict)
_BareProtocol: Final = bare(ProtocolMatch)
_BareAddress: Final = bare(AddressMatch)
_BarePort: Final = bare(PortMatch)
_BareChain: Final = bare(Chain)
_RULE: Final = Rule
_VERDICT: Final = Verdict
_PROTOCOL_MATCH: Final = ProtocolMatch
_ADDRESS_MATCH: Final = AddressMatch
_PORT_MATCH: Final = PortMatch
_CHAIN: Final = Chain
_STANDARD_TARGETS: Final = STANDARD_TARGETS
_MAX_COLUMN: Final = MAX_PACKED_COLUMN
_intern: Final = intern
#: hook, type and priority of a user chain
_NO_HOOK: Final = (None, None, None)


def _line_span(path: str, line: int, column: int, end_column: int) -> Span:
    """A Span within one line, built through the slots (see _span)."""
    span = object.__new__(Span)
    set_path, set_line, set_column, set_end_line, set_end_column = _SPAN_SLOTS
    set_path(span, path)
    set_line(span, line)
    set_column(span, column)
    set_end_line(span, line)
    set_end_column(span, end_column)
    return span


def _sort_key(match) -> tuple:
    """The cheap part of model.match_sort_key (see canonical_order)."""
    name = _key_name(match)
    return (_MATCH_ORDER[type(match)], _FIELD_ORDER.get(name, 9), name)


_PROTOCOL_KEY: Final = (_MATCH_ORDER[ProtocolMatch], 9, "")
#: splits a rule line into [head, letter, body, letter, body, …] at the core options that
#: start a group (`` -p ``, `` -m ``, …; a "!" before one is left at the end of the piece
#: before it, see _FastRules.append).  The literal " -" before the group makes it a quarter
#: faster than splitting at ``" (-[psdiomjg]|! -[psdiomjg]) "``, the option with its "!"
#: (0.13 instead of 0.16-0.17 s for the lines of the 100,000-rule file, best of 7).
_GROUP_SPLIT: Final = re.compile(r" -([psdiomjg]) ")
#: ``-m tcp --dport N`` and the udp one, read directly when the rule's protocol is theirs
_SINGLE_PORT_GROUPS: Final = {"tcp --dport ": (6, False), "udp --dport ": (17, False)}
_SINGLE_PORT_PREFIXES: Final = tuple(_SINGLE_PORT_GROUPS)
#: the rule's protocol for which ``-m multiport --dports LIST`` is read directly
_MULTIPORT_PROTOCOLS: Final = ((6, False), (17, False))
_DPORT_KEY: Final = (_MATCH_ORDER[PortMatch], _FIELD_ORDER["dport"], "dport")
#: the letter of a core match's option, with "!" before it when negated -> (option, negated)
_CORE_KINDS: Final = {**{letter: ("-" + letter, False) for letter in "psdio"},
                      **{"!" + letter: ("-" + letter, True) for letter in "psdio"}}
_CORE_FIELDS: Final = {"-s": ("saddr", (_MATCH_ORDER[AddressMatch], 0, "saddr")),
                "-d": ("daddr", (_MATCH_ORDER[AddressMatch], 1, "daddr")),
                "-i": ("iif", (_MATCH_ORDER[InterfaceMatch], 0, "iif")),
                "-o": ("oif", (_MATCH_ORDER[InterfaceMatch], 1, "oif"))}
_TARGETS = targets()
#: ``-j NAME`` with any other NAME is a jump to a chain (see _RuleParser._core)
_NOT_JUMPS: Final = frozenset(STANDARD_TARGETS) | frozenset(_TARGETS) | TERMINATING_TARGETS


def _full_order(matches: list, key: Callable) -> tuple:
    return tuple(sorted(matches, key=key))


#: a group's text -> its model values and comments, or None: not for the fast path
_Template = Optional[tuple]
#: what the fast path's caches give for a key they do not hold: a tuple of its own, so that
#: it has their values' type (a compiled build checks that) and is none of them
_NO_TEMPLATE: Final[tuple] = ("not cached",)
#: the template of a group that makes no value and no comment
_EMPTY_GROUP: Final[tuple] = ((), ())


class _FastRules:
    """Reads the common iptables-save rule line (``-A CHAIN`` and single-spaced options)
    without the general option reader, to the same model values, spans and errors.

    Core options (-p, -s, -d, -i, -o) are modelled directly.  Each module's or target's
    option group (``-m tcp --dport 3000``, ``-j REJECT --reject-with …``) is read once by
    the general reader (_RuleParser), alone, and kept as a template keyed by its exact text
    and what its meaning depends on (the rule's protocol, the table); a later occurrence
    only copies the template's values with its own spans.  The groups that differ on every
    rule of a kube-proxy dump (comments, DNAT endpoints, jumps to per-service chains) are
    read directly.  Anything else (old-style negation, counters, implicit protocol modules,
    unknown or loose modules, modules limited to some chains, any error) returns False and
    the line goes through the general path, which stays the reference: the tests in
    tests/parsing/test_iptables_fast_path.py compare both paths, spans included, on every
    corpus file and on the benchmark files.  Spans are stored packed (model.packed_line).

    Why, measured on bench/out/iptables-100000.rules (CPU seconds of parse_text, a loaded
    2-core machine): the general reader takes 5.9 s, about 45 us a rule (a Word per word,
    an _Instance per module, option lookups, a Span per value).  This path takes 1.55 s
    with _read_structure: the split at option groups is one regex call (2 us a rule), a
    template lookup replaces reading a group (a few hundred templates for the whole file),
    spans are packed ints (0.1 us instead of 0.9 us), and values are built through twins
    (twins.maker, 0.5 us instead of 1 us).  What is left is mostly building the model: about
    three objects a rule.

    Later, 1.53 -> 1.22 s (and 1.72 -> 1.42 s for the whole ``parse`` row of bench/run.py,
    python start, import, read and freeing the model included, best of 5): the commonest
    values built in line on bare twins (twins.bare), the costly line checks made once on the
    whole text (_plain_text), one big-int operation per packed span, shared templates for
    groups that make nothing, multiport port lists read directly, DNAT ports from the
    --dport cache.  Measured by ablation, the split and checks now cost 0.15 s, chain
    declarations 0.09 s and the structure loop 0.08 s; the rest, about 9 us a rule, is
    reading the groups and building the values.  Outside parse_text the row spends 0.08 s
    freeing the model and 0.05 s importing (0.02 s of it fwlint.model's dataclasses).

    Compiled with mypyc (this module in the build's list; fwlint.parsing.twins stays pure):
    parse_text on the same file runs 4.2 instead of 6.2 G instructions (callgrind, -32%),
    0.60-0.74 instead of 0.84-0.97 s of CPU (best of 3, loaded machine).  The gain comes
    from typed locals, str operations done natively and the Final names above; the rest is
    what compiling cannot speed up: the regex split (a fifth of the compiled parse) and the
    stores into the twins' slots (about 20 a rule, each a generic setattr of about 250
    instructions when compiled, no cheaper than the interpreter's specialised store).
    """

    __slots__ = ("b", "path", "path_bits", "family", "version", "templates", "addresses",
                 "protocols", "interfaces", "orders", "ports", "plain", "comments")

    def __init__(self, builder: _Builder, family: int):
        self.b = builder
        self.path = builder.path
        self.path_bits = packed_line(builder.path, 0)
        #: every line is plain (see _plain_text): most per-line checks can be skipped
        self.plain = False
        self.family = family
        self.version = 6 if family == 6 else 4
        self.templates: dict[tuple, dict[str, _Template]] = {}
        self.addresses: dict[str, Optional[tuple]] = {}
        self.protocols: dict[str, Optional[tuple]] = {}
        self.interfaces: dict[str, tuple] = {}
        self.orders: dict[tuple, Callable[[list], tuple]] = {}
        self.ports: dict[str, tuple] = {}
        #: each distinct Rule.comment, so equal comments are one string: kube-proxy writes
        #: the same comment on a service's rules (46,188 distinct among 99,997 comments on
        #: bench/out/iptables-100000.rules, 8.4 MB of strings kept as 4.2 MB)
        self.comments: dict[str, str] = {}

    def append(self, table: _TableState, line: str, number: int) -> bool:
        """Apply ``line`` (an ``-A`` command) to ``table``; False: use the general path."""
        if not self.plain:
            if line[-1] == "\r":  # CRLF files: the general path reads the line without it too
                line = line.rstrip("\r")
            if not line or not line.isprintable() or "  " in line or "\\" in line or \
                    line[-1] == " " or len(line) > _MAX_COLUMN:
                return False
        elif "  " in line or line[-1] == " " or len(line) > _MAX_COLUMN:
            return False
        # [head, letter, body, letter, body, …]: the letter of each core option that starts
        # a group, each body the words up to the next one
        pieces: list[str] = _GROUP_SPLIT.split(line)  # its one group always takes part
        if "!" in line:  # maybe a negated option (9% of the 100,000-rule file's lines); one
            # character is looked for with memchr, four ("! -") cost ten times as much
            for index in range(0, len(pieces) - 1, 2):
                if pieces[index][-2:] == " !":  # "… ! -s …": "!s", as "! -s" is written
                    pieces[index] = pieces[index][:-2]
                    pieces[index + 1] = "!" + pieces[index + 1]
        head = pieces[0]
        chain_name = head[3:]
        if head[:3] != "-A " or not chain_name or " " in chain_name or '"' in chain_name:
            return False
        base = self.path_bits | number << 40
        matches: list = []
        keys: list[tuple] = []
        comment_text: Optional[str] = None  # the comments joined by "; " (Rule.comment)
        templates: Optional[dict[str, _Template]] = None  # set by the first module group
        target: Optional[str] = None  # the body of -j or -g (option and start stay its own)
        protocol: Optional[tuple[int, bool]] = None
        offset = len(head) + 1  # of the next option word
        rest: Iterator[str] = iter(pieces)
        next(rest)
        for option, body in zip(rest, rest):
            start = offset
            # the option is written "-p" or "! -p": twice as long as "p" or "!p"
            offset += 2 * len(option) + 2 + len(body)
            if option == "m":
                if body[:18] == "comment --comment ":
                    if body[-1] == '"' and body[18] == '"' and len(body) > 20:
                        comment = body[19:-1]
                        if '"' in comment or len(comment) > 255 or comment == "!":
                            return False
                    else:
                        if body[18:19] == '"':
                            return False
                        comment = body[18:]
                        if not comment or " " in comment or '"' in comment or \
                                len(comment) > 255 or comment == "!":
                            return False
                    comment_text = comment if comment_text is None else \
                        comment_text + "; " + comment
                    continue
                if templates is None:  # the protocol is known: iptables-save writes -p first
                    templates = self.templates.get((protocol, table.name))
                    if templates is None:
                        templates = self.templates[(protocol, table.name)] = {}
                port = None  # a destination port read directly: (ranges, raw)
                if body.startswith(_SINGLE_PORT_PREFIXES) and \
                        protocol == _SINGLE_PORT_GROUPS[body[:12]]:
                    port = self.ports.get(body[12:])
                    if port is None:
                        port = self._port(body[12:])
                    column = start + 8
                elif body[:19] == "multiport --dports " and protocol in _MULTIPORT_PROTOCOLS:
                    port = self._port_list(body[19:])  # KUBE-FORWARD's, one list a rule
                    column = start + 14
                if port:
                    match = _BarePort()
                    match.field = "dport"
                    match.ranges, match.raw = port
                    match.negated = False
                    match.span = base | (column << 20 | (offset - 1))
                    match.__class__ = _PORT_MATCH
                    matches.append(match)
                    keys.append(_DPORT_KEY)
                    continue
                text = line[start:offset - 1]
                template = templates.get(text, _NO_TEMPLATE)
                if template is _NO_TEMPLATE:
                    template = templates[text] = self._group_template(table, chain_name, text,
                                                                      protocol, False)
                if template is _EMPTY_GROUP:  # ``-m tcp`` alone, as kube-proxy writes it
                    continue
                if template is None:
                    return False
                values, group_comments = template
                for respan, value, column, end_column, key in values:
                    matches.append(respan(value, base | ((start + column) << 20 |
                                                  (start + end_column))))
                    keys.append(key)
                for comment in group_comments:
                    comment_text = comment if comment_text is None else \
                        comment_text + "; " + comment
                continue
            if option == "j" or option == "g":
                target = body
                break
            try:
                kind, negated = _CORE_KINDS[option]
            except KeyError:  # a negated -m, -j or -g
                return False
            if " " in body or '"' in body or body == "!":
                return False
            span = base | ((start + 1) << 20 | (offset - 1))
            if kind == "-p":
                if protocol is not None or templates is not None:
                    return False
                known = self.protocols.get(body, _NO_TEMPLATE)
                if known is _NO_TEMPLATE:
                    known = self._protocol(body)
                if known is None:
                    return False
                if known[0] == 0:
                    if negated:
                        return False
                    protocol = (0, False)
                else:
                    protocol = (known[0], negated)
                    match = _BareProtocol()
                    match.protocols = known[1]
                    match.negated = negated
                    match.span = span
                    match.__class__ = _PROTOCOL_MATCH
                    matches.append(match)
                    keys.append(_PROTOCOL_KEY)
            elif kind == "-s" or kind == "-d":
                address = self.addresses.get(body, _NO_TEMPLATE)
                if address is _NO_TEMPLATE:
                    address = self._address(body)
                if address is None:
                    return False
                match = _BareAddress()
                match.field, key = _CORE_FIELDS[kind]
                match.version = self.version
                match.intervals, match.raw = address
                match.negated = negated
                match.span = span
                match.__class__ = _ADDRESS_MATCH
                matches.append(match)
                keys.append(key)
            else:  # -i, -o
                if len(body) > 15:
                    return False
                if body == "+" and not negated:
                    continue
                interface = self.interfaces.get(body)
                if interface is None:
                    wildcard = body.endswith("+")
                    interface = ((body[:-1] if wildcard else body,), (wildcard,))
                    self.interfaces[body] = interface
                field_name, key = _CORE_FIELDS[kind]
                matches.append(_make_interface(field_name, interface[0], interface[1], negated,
                                               span))
                keys.append(key)

        statements: tuple = ()
        verdict = None
        if target is not None:
            if next(rest, None) is not None:  # options after it: the general path tells
                return False
            body, kind = target, option
            end = start + len(body) + 3
            if kind == "j" and body not in _NOT_JUMPS and " " not in body and \
                    '"' not in body:
                verdict = _BareVerdict()
                verdict.kind = "jump"
                verdict.target = _intern(body)
                verdict.to_addresses = verdict.to_ports = verdict.options = ()
                verdict.span = base | ((start + 4) << 20 | end)
                verdict.__class__ = _VERDICT
            elif kind == "g" and " " not in body and '"' not in body:
                verdict = _make_verdict("goto", _intern(body), (), (), (),
                                        base | ((start + 4) << 20 | end))
            elif kind == "j" and body in _STANDARD_TARGETS:
                verdict = _make_verdict(_STANDARD_TARGETS[body], None, (), (), (),
                                        base | ((start + 1) << 20 | end))
            elif kind == "j" and body[:22] == "DNAT --to-destination " and \
                    table.name == "nat":
                verdict = self._dnat(body[22:], protocol, base | ((start + 1) << 20 | end))
                if verdict is None:
                    return False
            else:
                if templates is None:
                    templates = self.templates.get((protocol, table.name))
                    if templates is None:
                        templates = self.templates[(protocol, table.name)] = {}
                text = line[start:end]
                template = templates.get(text, _NO_TEMPLATE)
                if template is _NO_TEMPLATE:
                    template = templates[text] = self._group_template(table, chain_name, text,
                                                                      protocol, True)
                if template is None:
                    return False
                respan, value, column, end_column, _ = template[0][0]
                made = respan(value, base | ((start + column) << 20 | (start + end_column)))
                if made.__class__ is _VERDICT:
                    verdict = made
                else:
                    statements = (made,)

        if len(matches) < 2:
            ordered = tuple(matches)
        else:
            order = self.orders.get(tuple(keys))
            if order is None:
                order = self._order(keys)
            ordered = order(matches)
        rule = _BareRule()
        rule.matches = ordered
        rule.statements = statements
        rule.verdict = verdict
        if comment_text is not None:
            comment_text = self.comments.setdefault(comment_text, comment_text)
        rule.comment = comment_text
        rule.span = base | (1 << 20 | len(line))
        rule.text = line
        rule.counters = None
        rule.__class__ = _RULE
        try:
            chain = table.chains[chain_name]
        except KeyError:
            chain = self.b.chain(table, _intern(chain_name),
                                 _line_span(self.path, number, 4, len(head)))
        chain.rules.append(rule)
        return True

    def declare(self, table: _TableState, line: str, number: int) -> bool:
        """Apply ``:CHAIN POLICY [packets:bytes]`` as _Builder.declare does; False: use the
        general path."""
        if not self.plain:
            if line[-1] == "\r":
                line = line.rstrip("\r")
            if not line or not line.isprintable() or "  " in line or "\\" in line or \
                    line[-1] == " " or len(line) > _MAX_COLUMN:
                return False
        elif "  " in line or line[-1] == " " or len(line) > _MAX_COLUMN:
            return False
        if '"' in line:
            return False
        words = line.split(" ", 2)
        name = words[0][1:]
        policy = words[1] if len(words) > 1 else "-"
        if not name or policy not in ("ACCEPT", "DROP", "-"):
            return False
        span = self.path_bits | number << 40 | (1 << 20 | len(line))
        builtin = IPTABLES_BUILTIN_CHAINS.get(table.name, {}).get(name)
        chain = table.chains.get(name)
        chain_policy = policy.lower() if policy != "-" else ("accept" if builtin else None)
        if chain is None:
            table.chains[name] = _ChainState(_intern(name), span, builtin, chain_policy, [])
        else:
            chain.span = span
            chain.policy = chain_policy
        return True

    def _order(self, keys: list[tuple]) -> Callable[[list], tuple]:
        """How to put matches with these sort keys in canonical order (canonical_order):
        a permutation when the keys decide it, else the full sort."""
        order: Callable[[list], tuple]
        if len(set(keys)) < len(keys):
            order = functools.partial(_full_order, key=match_sort_key)
        else:
            order = itemgetter(*sorted(range(len(keys)), key=keys.__getitem__))
        self.orders[tuple(keys)] = order
        return order

    def _port(self, text: str) -> tuple:
        """(ranges, raw) of a plain port number as --dport reads it; () for anything else."""
        port: tuple = ()
        if text.isdigit() and text.isascii() and int(text) <= 65535:
            port = (((int(text), int(text)),), (text,))
        self.ports[text] = port
        return port

    @staticmethod
    def _port_list(text: str) -> tuple:
        """(ranges, raw) of a list of plain port numbers as ``multiport --dports`` reads it;
        () for anything else.  Read directly because the lists differ from rule to rule:
        a template each took 25 us, 33 ms for the 1,326 of the 100,000-rule file."""
        items = text.split(",")
        if len(items) > 15 or not all(item.isdigit() and item.isascii() and int(item) <= 65535
                                      for item in items):
            return ()
        return _merge([(int(item), int(item)) for item in items]), tuple(items)

    def _protocol(self, value: str) -> Optional[tuple[int, frozenset]]:
        number = _protocol_number(value)
        known = None if number is None else (number, frozenset((number,)))
        self.protocols[value] = known
        return known

    def _address(self, value: str) -> Optional[tuple]:
        """(intervals, raw) of a single address or CIDR; None for anything else (lists,
        host names, non-contiguous masks, errors)."""
        address = None
        text, slash, prefix = value.partition("/")
        if self.version == 4 and (not slash or prefix == "32" or prefix.isdigit() and
                                  prefix.isascii() and int(prefix) <= 32):
            try:  # the common IPv4 ADDR[/LEN] without parse_address's layers
                low = int.from_bytes(inet_pton(AF_INET, text), "big")
            except OSError:
                pass
            else:
                if not slash or prefix == "32":  # a host, kube-proxy's -s of an endpoint
                    address = (((low, low),), (value,))
                else:
                    host = (1 << (32 - int(prefix))) - 1
                    low &= ~host
                    address = (((low, low | host if host else low),), (value,))
        if address is None and "," not in value:
            try:
                low, high, contiguous = _parse_address_uncached(value, self.version)
            except ArgError:
                contiguous = False
            if contiguous:  # one int object for both ends of a host address
                address = (((low, low if low == high else high),), (value,))
        self.addresses[value] = address
        return address

    def _dnat(self, to: str, protocol: Optional[tuple[int, bool]], span: int
              ) -> Optional[Verdict]:
        """``-j DNAT --to-destination TO`` as _RuleParser._model_target reads it."""
        if "/" in to:
            return None
        address, colon, port = to.partition(":")
        known_port = self.ports.get(port)  # a plain port number's ranges, shared (as --dport)
        if known_port is None:
            known_port = self._port(port)
        to_addresses: tuple[tuple[int, int], ...]
        to_ports: tuple[tuple[int, int], ...]
        try:
            if self.family == 4 and address and known_port and "-" not in address:
                try:  # ADDR:PORT, what kube-proxy writes
                    low = int.from_bytes(inet_pton(AF_INET, address), "big")
                except OSError:
                    low = _parse_address_uncached(address, 4)[0]
                to_addresses, to_ports, has_ports = ((low, low),), known_port[0], True
            else:
                addresses, ports = parse_nat_to(to, self.family)
                to_addresses = (addresses,) if addresses else ()
                to_ports = (ports,) if ports else ()
                has_ports = ports is not None
        except ArgError:
            return None
        if has_ports and (protocol is None or protocol[1] or
                          protocol[0] not in _NAT_PORT_PROTOS):
            return None
        verdict = _BareVerdict()
        verdict.kind = "dnat"
        verdict.target = None
        verdict.to_addresses = to_addresses
        verdict.to_ports = to_ports
        verdict.options = ()
        verdict.span = span
        verdict.__class__ = _VERDICT
        return verdict

    def _group_template(self, table: _TableState, chain: str, text: str,
                        protocol: Optional[tuple[int, bool]], is_target: bool) -> _Template:
        """Read one option group (``-m tcp --dport 22``) alone with the general reader: its
        model values, with spans whose columns count from the group's first character
        (1-based), with their sort keys, and its comments."""
        try:
            words = split_words(text, 0, 1)
        except WordError:
            return None
        parser = _RuleParser(self.b, table, chain, self.family, words, "", Span("", 0, 0, 0, 0))
        parser.protocol = protocol
        comments: list[str] = []
        try:
            parser._read()
            if parser.matches or parser.counters is not None:
                return None
            if is_target:
                if parser.modules or (parser.target is None) == (parser.jump is None):
                    return None
                made: list[Any]
                if parser.jump is not None:
                    kind, name, word = parser.jump
                    made = [Verdict(kind, name, span=_span(self.path, word, word))]
                else:
                    target = parser.target
                    assert target is not None  # one of the two, tested above
                    if target.ext is not None:
                        parser._validate(target, True)
                    made = [value for value in parser._model_target(target) if value]
            else:
                if len(parser.modules) != 1 or parser.target is not None or \
                        parser.jump is not None:
                    return None
                inst = parser.modules[0]
                if inst.ext is None or inst.ext.loose or inst.ext.chains:
                    return None
                parser._validate(inst, False)
                parser._model_match(inst, comments)
                made = parser.matches
        except (_Error, _OtherFamily):
            return None
        values = tuple((respanner(type(value)), value, value.span.column, value.span.end_column,
                        None if is_target else _sort_key(value)) for value in made)
        return (values, tuple(comments)) if values or comments else _EMPTY_GROUP


# --------------------------------------------------------------------------- save format


def _without_cyclic_gc(parse: Callable[..., ParseResult]) -> Callable[..., ParseResult]:
    """Run a front end with the cyclic garbage collector paused, then move what is alive
    (the model above all) out of its reach with ``gc.freeze``.

    A large file becomes millions of small immutable objects that form no cycles.  The
    collector would walk all of them on every full collection: during parsing (a sixth of
    the parse time on 100,000 rules) and again during every check that allocates (FW204
    spent 1.2 of its 1.4 s there).  Reference counting still frees every one of them."""

    @functools.wraps(parse)
    def paused(*args, **kwargs) -> ParseResult:
        enabled = gc.isenabled()
        gc.disable()
        try:
            return parse(*args, **kwargs)
        finally:
            if enabled:
                gc.freeze()
                gc.enable()
    return paused


@_without_cyclic_gc
def parse_iptables_save(text: str, path: str = "<stdin>", ipv6: bool = False,
                        fast: bool = True) -> ParseResult:
    """Parse iptables-save / iptables-restore input (or an ``iptables -S`` listing).

    ``fast`` False takes the reference paths: the Lark grammar (grammars/iptables.lark) for
    the file structure and the general reader for every line.  The fast paths
    (_read_structure, _FastRules) give the same result, which the tests check."""
    builder = _Builder(path, "iptables-save")
    builder.lines = text.split("\n")
    family = 6 if ipv6 else 4
    reader = _SaveReader(builder, "ip6" if ipv6 else "ip", family, fast)
    if reader.fast is not None:
        reader.fast.plain = _plain_text(text)
        if _read_structure(reader, builder.lines):
            _missing_commit(builder)
        return builder.finish("iptables-save")

    from lark.exceptions import UnexpectedInput
    from lark.lexer import Token

    missing_commit: list[bool] = []

    def on_error(exc) -> bool:
        if getattr(exc, "token", None) is not None and exc.token.type == "$END" and \
                "COMMIT" in exc.expected:
            missing_commit.append(True)
            exc.interactive_parser.feed_token(Token("COMMIT", "COMMIT"))
            return True
        return False

    try:
        tree = _parser().parse(text, on_error=on_error)
    except UnexpectedInput as exc:  # the grammar is total: only a broken invariant
        line = getattr(exc, "line", 1) or 1
        builder.error(Span(path, line, 1, line, 1),
                      "cannot read the file structure: " + str(exc).splitlines()[0])
        return builder.finish("iptables-save")
    for child in tree.children:
        if isinstance(child, Token):
            reader.token(child)
            continue
        reader.start_table(child.children[0].value, child.children[0].line)
        for token in child.children[1:-1]:
            reader.token(token)
        reader.table = None
    if missing_commit:
        _missing_commit(builder)
    return builder.finish("iptables-save")


#: the printable ASCII characters and the newline
_PLAIN_CHARACTERS = bytes(range(0x20, 0x7f)) + b"\n"


def _plain_text(text: str) -> bool:
    """True when every line of ``text`` is ASCII and printable, with no carriage return and
    no backslash: the checks _FastRules makes of a line that cost.  On the whole text at
    once they take 15 ms on the 100,000-rule file instead of 75 ms line by line
    (str.isprintable looks each character up in Unicode's tables).  Double spaces and a
    space at the end are still looked for line by line: ``"  " in text`` alone takes 16 ms,
    spaces being a tenth of the text."""
    return text.isascii() and "\\" not in text and \
        not text.encode("ascii").translate(None, _PLAIN_CHARACTERS)


def _missing_commit(builder: _Builder) -> None:
    last = len(builder.lines)
    while last > 1 and not builder.lines[last - 1].strip():
        last -= 1
    builder.error(Span(builder.path, last, 1, last, max(len(builder.lines[last - 1]), 1)),
                  "table not committed: COMMIT missing at the end of the file",
                  ("COMMIT",), "end of file")


def _read_structure(reader: _SaveReader, lines: list[str]) -> bool:
    """Read the file structure as grammars/iptables.lark does, line by line, handing each
    line to the reader; True when the last table is not committed.

    The grammar's tokens are whole lines: TABLE (``*name``), COMMIT (only inside a table),
    LINES (blank, comment, ``-``, ``:`` and ``[`` lines) and OTHER (anything else; a
    ``*name`` line inside a table too), and its only syntax error is a table never
    committed.  Lark's lexer matches a run of LINES with one repeated regex group, which on
    a 100,000-rule file held about 110 MB at its peak (the parse's peak RSS) and took about
    0.2 s with importing Lark and building the parser; this loop needs neither."""
    fast = reader.fast
    assert fast is not None  # the reader of the fast paths has one
    in_table = False
    table = reader.table  # read again after every other line (which may change it)
    for number, line in enumerate(lines, 1):  # a last empty line reads as nothing
        if line[:3] == "-A ":  # LINES, the commonest
            if table is None or not fast.append(table, line, number):
                reader.line(line, number)
            continue
        if line[:1] == ":" and table is not None:  # LINES, a chain declaration
            if not fast.declare(table, line, number):
                reader.line(line, number)
            continue
        rest = line.lstrip(" \t\r")
        if not rest or rest[0] in "-:[#":  # LINES
            reader.line(line, number)
        elif in_table:
            if line.lstrip(" \t").rstrip(" \t\r") == "COMMIT":
                reader.table = None
                in_table = False
            else:
                reader.other(line.rstrip("\r"), number)
        elif line.lstrip(" \t")[:1] == "*":
            reader.start_table(line, number)
            in_table = True
        else:
            reader.other(line.rstrip("\r"), number)
        table = reader.table
    if in_table:
        reader.table = None
    return in_table


_TABLE_NAMES = ("filter", "nat", "mangle", "raw", "security")


class _SaveReader:
    """Feeds the lines of the grammar's tokens to the builder, tracking the current table."""

    def __init__(self, builder: _Builder, fam: str, family: int, fast: bool = True):
        self.b = builder
        self.fam = fam
        self.family = family
        self.fast = _FastRules(builder, family) if fast else None
        self.table: Optional[_TableState] = None
        self.implicit: Optional[_TableState] = None

    def start_table(self, value: str, number: int) -> None:
        """A ``*table`` line (``value``, its newline optional) at line ``number``."""
        text = value.strip()
        name = text[1:].strip()
        span = Span(self.b.path, number, 1, number, max(len(value.rstrip()), 1))
        if name not in IPTABLES_BUILTIN_CHAINS:
            self.b.error(span, f"unknown table {name!r}", _TABLE_NAMES, text)
        self.table = self.b.table(self.fam, name or "filter", span, True)

    def token(self, token) -> None:
        if token.type == "LINES":  # whole lines: read them from the file's lines, no copy
            lines = self.b.lines
            last = token.line + token.value.count("\n") - token.value.endswith("\n")
            fast, table = self.fast, self.table
            if fast is None or table is None:
                for number in range(token.line, last + 1):
                    self.line(lines[number - 1], number)
                return
            append, declare = fast.append, fast.declare
            for number in range(token.line, last + 1):
                line = lines[number - 1]
                if line[:3] == "-A ":
                    if append(table, line, number):
                        continue
                elif line[:1] == ":" and declare(table, line, number):
                    continue
                self.line(line, number)
        else:
            self.other(token.value.rstrip("\n\r"), token.line)

    def line(self, line: str, number: int) -> None:
        stripped = line.strip()
        if not stripped or stripped[0] == "#":
            return
        try:
            words = split_words(line.rstrip("\r"), number, 1)
        except WordError as exc:
            self.b.error(Span(self.b.path, number, exc.column, number, exc.column), str(exc),
                         ('"',), "end of line")
            return
        if stripped[0] == ":":
            if self.table is None:
                self.b.error(_span(self.b.path, words[0], words[-1]),
                             "chain declaration outside a table: add a *table line first",
                             ("*filter",), words[0].raw)
                return
            self.b.declare(self.table, words)
            return
        table = self.table
        if table is None:
            if self.implicit is None:
                self.implicit = self.b.table(self.fam, _listing_table(self.b),
                                             _span(self.b.path, words[0], words[-1]), False)
            table = self.implicit
        self.b.command(table, words, self.family)

    def other(self, value: str, number: int) -> None:
        stripped = value.strip()
        if not stripped:
            return
        column = len(value) - len(value.lstrip()) + 1
        first = stripped.split()[0]
        span = Span(self.b.path, number, column, number, column + len(first) - 1)
        if stripped == "COMMIT":
            self.b.error(span, "COMMIT without a table: add a *table line before the rules",
                         ("*filter", "*nat"), "COMMIT")
        elif stripped.startswith("*") and self.table is not None:
            self.b.error(span, f"table {self.table.name!r} not committed before {stripped}",
                         ("COMMIT",), stripped)
            name = stripped[1:].strip()
            self.table = self.b.table(self.fam, name, span, True)
        else:
            self.b.error(span, f"not an iptables-restore line: {_short(stripped)!r}",
                         ("*table", ":CHAIN POLICY", "-A CHAIN …", "COMMIT"), first)


_NAT_LISTING = re.compile(r"^-P (PREROUTING|POSTROUTING) |^-A \S+ .*-j (DNAT|SNAT|MASQUERADE|"
                          r"REDIRECT|NETMAP)\b", re.M)


def _listing_table(builder: _Builder) -> str:
    """The table of an ``iptables [-t TABLE] -S`` listing, which does not name it: nat when
    its chains or targets are nat's, else filter."""
    text = "\n".join(builder.lines[:2000])
    return "nat" if _NAT_LISTING.search(text) else "filter"


def _short(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[:limit - 3] + "..."


# --------------------------------------------------------------------------- scripts

_SCRIPT_COMMANDS = re.compile(r"^(?:\S*/)?(ip6?tables)(?:-legacy|-nft)?$")
_ASSIGN_RE = re.compile(r"^(?:export\s+|readonly\s+|local\s+)?([A-Za-z_][A-Za-z0-9_]*)=(\S*)\s*$")
_VAR_RE = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?")
_SHELL_OPERATORS = frozenset({";", "&&", "||", "|", "&", ">", ">>", "2>", "2>>", "2>&1",
                              ">/dev/null", "2>/dev/null", "&>/dev/null", "&>"})


@_without_cyclic_gc
def parse_iptables_script(text: str, path: str = "<stdin>") -> ParseResult:
    """Parse a shell script of iptables/ip6tables commands; other lines are skipped."""
    builder = _Builder(path, "iptables-script")
    builder.lines = text.split("\n")
    variables: dict[str, str] = {}
    skipped = 0
    for words, line_count in _logical_lines(builder):
        if not words:
            continue
        assignment = _ASSIGN_RE.match(" ".join(w.raw for w in words))
        if assignment and len(words) == 1 or assignment and words[0].text in (
                "export", "readonly", "local"):
            name, value = assignment.groups()
            variables[name] = _unquote(value)
            skipped += line_count
            continue
        index = 0
        while index < len(words) and words[index].text in ("sudo", "command", "exec", "-E"):
            index += 1
        if index >= len(words):
            skipped += line_count
            continue
        program = _VAR_RE.sub(lambda m: variables.get(m.group(1), m.group(0)),
                              words[index].text)
        match = _SCRIPT_COMMANDS.match(program)
        if not match:
            skipped += line_count
            continue
        family = 6 if match.group(1) == "ip6tables" else 4
        args: list[Word] = []
        unresolved = False  # a shell variable the script does not set: the command is skipped
        for word in words[index + 1:]:
            if word.raw in _SHELL_OPERATORS or word.raw.startswith((">", "2>", "&>", "|", "&")):
                break
            ends_command = word.raw.endswith(";") and not word.raw.endswith("\\;")
            if ends_command:  # "-j ACCEPT; echo done"
                word = Word(word.text[:-1], word.raw[:-1], word.line, word.column,
                            word.end_column - 1)
            if "$" in word.text and word.raw[:1] != "'":
                substituted = _VAR_RE.sub(lambda m: variables.get(m.group(1), m.group(0)),
                                          word.text)
                if "$" in substituted:
                    builder.error(_span(path, word, word),
                                  f"cannot resolve shell variable in {word.raw!r}",
                                  found=word.raw)
                    unresolved = True
                    break
                word = Word(substituted, word.raw, word.line, word.column, word.end_column)
            if word.raw:
                args.append(word)
            if ends_command:
                break
        if unresolved:
            continue
        if not args:
            builder.error(_span(path, words[index], words[index]),
                          f"{words[index].text} without a command", ("-A", "-I", "-N"))
            continue
        table_name = "filter"
        rest = []
        i = 0
        while i < len(args):
            if args[i].text in ("-t", "--table") and i + 1 < len(args):
                table_name = args[i + 1].text
                i += 2
                continue
            if args[i].text.startswith("--table="):
                table_name = args[i].text.split("=", 1)[1]
            elif args[i].text.startswith("-t") and len(args[i].text) > 2 and \
                    not args[i].text.startswith("--"):
                table_name = args[i].text[2:]
            else:
                rest.append(args[i])
            i += 1
        if table_name not in IPTABLES_BUILTIN_CHAINS:
            builder.error(_span(path, args[0], args[-1]), f"unknown table {table_name!r}",
                          tuple(IPTABLES_BUILTIN_CHAINS), table_name)
            continue
        if not rest:
            continue
        table = builder.table("ip6" if family == 6 else "ip", table_name,
                              _span(path, words[0], words[-1]), False)
        builder.command(table, rest, family, script=words[:index + 1] + args)
    return builder.finish("iptables-script", skipped)


def _logical_lines(builder: _Builder):
    """Yield (words, physical line count) per logical shell line: backslash continuations
    joined, comments removed."""
    pending: list[Word] = []
    count = 0
    for number, line in enumerate(builder.lines, start=1):
        count += 1
        stripped = line.rstrip("\r")
        continued = stripped.endswith("\\") and not stripped.endswith("\\\\")
        if continued:
            stripped = stripped[:-1]
        body = _strip_comment(stripped)
        try:
            pending.extend(split_words(body, number, 1, shell=True))
        except WordError as exc:
            builder.error(Span(builder.path, number, exc.column, number, exc.column),
                          str(exc), ('"',), "end of line")
            pending = []
            count = 0
            continue
        if continued:
            continue
        yield pending, count
        pending = []
        count = 0
    if pending:
        yield pending, count


def _strip_comment(line: str) -> str:
    """Drop a shell comment (a ``#`` starting a word, outside quotes)."""
    if "#" not in line:
        return line
    quote = None
    for i, char in enumerate(line):
        if quote:
            if char == quote:
                quote = None
        elif char in "\"'":
            quote = char
        elif char == "#" and (i == 0 or line[i - 1].isspace()):
            return line[:i]
    return line
