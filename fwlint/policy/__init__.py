"""YAML policies: what a host may expose, loaded with positions and checked by FW4xx.

``load_policy(name_or_path_or_mapping)`` is the entry point the engine uses; see
``policies/policy.schema.json`` for the language and ``policies/*.yaml`` for examples.
"""

from __future__ import annotations

from .loader import builtin_policies, load_policy, resolve_policy_path
from .model import ForbiddenPorts, Policy, ServicePolicy, Setting, SeverityOverride

__all__ = ["ForbiddenPorts", "Policy", "ServicePolicy", "Setting", "SeverityOverride",
           "builtin_policies", "load_policy", "resolve_policy_path"]
