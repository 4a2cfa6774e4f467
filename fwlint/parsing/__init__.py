"""Front ends: file text -> model.  One module per format; this module only dispatches.

``parse_text(text, path, format=None)`` returns a :class:`fwlint.model.ParseResult`; it
never raises for bad input (errors become ``ParseError`` values, reported as FW001).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Optional, Sequence

from ..model import ParseResult

if TYPE_CHECKING:
    from ..limits import Limits

FORMATS = ("iptables-save", "ip6tables-save", "iptables-script", "nft")

_NFT_HINT = re.compile(r"^\s*(table|flush\s+ruleset|define|include|add\s+(table|chain|rule)"
                       r"|chain\s+\S+\s*\{)", re.M)
_SAVE_HINT = re.compile(r"^(\*[a-z]+\s*$|:[A-Za-z0-9_.-]+ [A-Z-]+|-A |COMMIT\s*$)", re.M)
_SCRIPT_HINT = re.compile(r"(^|[\s;&|(`])(\S*/)?(ip6?tables(-legacy|-nft)?|\$\{?[A-Za-z_][A-Za-z0-9_]*\}?)\s+"
                          r"(-[tAIDNPFXZRE]|--(append|insert|new-chain|policy|table))", re.M)


def detect_format(text: str, path: str = "") -> str:
    """Guess the format from the content (the file name only breaks ties)."""
    head = text[:65536]
    if _SAVE_HINT.search(head) and not _SCRIPT_HINT.search(head):
        return "ip6tables-save" if ("ip6tables" in head[:200] or _looks_ipv6(head)) \
            else "iptables-save"
    if _SCRIPT_HINT.search(head):
        return "iptables-script"
    if _NFT_HINT.search(head) or path.endswith(".nft") or path.endswith("nftables.conf"):
        return "nft"
    if re.search(r"ip6tables|rules\.v6|6\.rules$", path):
        return "ip6tables-save"
    return "iptables-save"


def _looks_ipv6(text: str) -> bool:
    return bool(re.search(r"^-A .*\s-[sd]\s+[0-9a-fA-F]*:[0-9a-fA-F:]*(/\d+)?\s", text, re.M)) \
        or bool(re.search(r"icmpv6|ipv6-icmp", text))


def parse_text(text: str, path: str = "<stdin>", format: Optional[str] = None,
               include_dirs: Sequence[str] = (), limits: Optional["Limits"] = None) -> ParseResult:
    """Parse one file's text into the model (``limits`` bound what nft includes may read)."""
    fmt = format or detect_format(text, path)
    if fmt == "nft":
        from .nft import parse_nft
        return parse_nft(text, path, include_dirs=include_dirs, limits=limits)
    if fmt == "iptables-script":
        from .iptables import parse_iptables_script
        return parse_iptables_script(text, path)
    from .iptables import parse_iptables_save
    return parse_iptables_save(text, path, ipv6=(fmt == "ip6tables-save"))
