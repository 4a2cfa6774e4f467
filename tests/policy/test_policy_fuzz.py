"""Whatever a policy file holds, loading it gives a Policy or a UsageError whose every line
starts with file:line:column: never another exception."""

from __future__ import annotations

import re

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fwlint.errors import UsageError
from fwlint.policy import Policy, load_policy

KEYS = ["fwlint-policy", "name", "description", "extends", "default-deny", "services", "ports",
        "forbidden", "require", "trusted", "findings", "from", "port", "ports", "proto",
        "hooks", "service", "reason", "world-open", "interfaces", "sources", "ssh", "http",
        "https", "telnet", "domain", "well-known", "registered", "dynamic", "shadowed-rule"]
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-5, 70000),
                    st.sampled_from(["tcp", "udp", "icmp", "input", "forward", "deny", "allow",
                                     "deny-unlisted", "10.0.0.0/8", "10.0.0.1/8", "::/0",
                                     "22-25", "25-22", "1-70000", "baseline", "ssh", "nosuch",
                                     "high", "loopback-accept", "lan+", ""]))
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=4),
    st.dictionaries(st.sampled_from(KEYS), inner, max_size=4)), max_leaves=12)
POSITION = re.compile(r"^[^:\n]+:\d+:\d+: ")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=st.dictionaries(st.sampled_from(KEYS), VALUES, max_size=6),
       version=st.sampled_from([1, 1, 1, 2, "1", None]))
def test_random_policies_load_or_fail_with_positions(tmp_path_factory, body, version):
    document = dict(body)
    if version is not None:
        document["fwlint-policy"] = version
    path = tmp_path_factory.mktemp("fuzz") / "policy.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    try:
        policy = load_policy(str(path))
    except UsageError as exc:
        lines = str(exc).splitlines()
        assert lines and all(POSITION.match(line) for line in lines), str(exc)
    else:
        assert isinstance(policy, Policy)
        assert isinstance(policy.to_data(), dict)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=st.text(alphabet="fwlint-policy: 1\n services{}[],&*!<>|#'\"\t?@%`", max_size=120))
def test_random_text_loads_or_fails_with_positions(tmp_path_factory, text):
    path = tmp_path_factory.mktemp("fuzz") / "policy.yaml"
    path.write_text(text)
    try:
        load_policy(str(path))
    except UsageError as exc:
        lines = str(exc).splitlines()
        assert lines and all(POSITION.match(line) for line in lines), str(exc)
