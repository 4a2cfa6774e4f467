"""fwlint: a firewall-rule linter and policy checker for iptables and nftables files."""

__version__ = "0.1.0"

from . import _native

_native.install()
