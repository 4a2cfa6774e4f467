"""The registry of checks: one explicit, ordered import list (no discovery magic).

To add a check: write ``fwlint/checks/fwNNN_name.py`` (see ``base.py``), add its module
name below, and add ``tests/checks/cases/FWNNN.yaml``.  ``tests/checks/test_registry.py``
fails if any of the three disagree.
"""

from __future__ import annotations

import importlib
from functools import lru_cache

from .base import CheckInfo

_MODULES = (
    "fw001_parse_error",
    "fw002_unused_suppression",
    "fw003_expired_suppression",
    "fw004_stale_baseline_entry",
    "fw010_resource_limit",
    "fw101_accept_policy",
    "fw102_any_source_admin_port",
    "fw103_dnat_bypasses_input",
    "fw203_undefined_jump_target",
    "fw204_jump_cycle",
    "fw206_invalid_port",
    "fw207_port_without_protocol",
    "fw208_builtin_chain_wrong_table",
    "fw201_shadowed_rule",
    "fw202_redundant_rule",
    "fw209_correlated_rules",
    "fw210_port_forward_conflict",
    "fw301_unused_chain",
    "fw302_address_host_bits",
    "fw303_duplicate_rule",
    "fw304_deprecated_state_match",
    "fw305_empty_ruleset",
    "fw401_unlisted_port_open",
    "fw402_forbidden_port_open",
    "fw403_broken_port_remap",
    "fw404_unlisted_service_source",
    "fw405_service_protocol_mismatch",
    "fw406_hook_without_default_deny",
    "fw407_missing_loopback_accept",
    "fw408_missing_established_accept",
    "fw409_ipv6_exposure_exceeds_ipv4",
)


@lru_cache(maxsize=None)
def registry() -> dict[str, CheckInfo]:
    """Every check by code, in code order."""
    checks = {}
    for module_name in _MODULES:
        module = importlib.import_module(f"{__name__}.{module_name}")
        info = CheckInfo.from_module(module)
        if info.code in checks:
            raise RuntimeError(f"duplicate check code {info.code} in {module_name}")
        checks[info.code] = info
    return dict(sorted(checks.items()))


def lookup(code_or_name: str) -> CheckInfo | None:
    """Find a check by code (``FW201``), name (``shadowed-rule``) or alias."""
    wanted = code_or_name.strip()
    for info in registry().values():
        if wanted.upper() == info.code or wanted == info.name or wanted in info.aliases:
            return info
    return None
