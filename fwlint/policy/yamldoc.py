"""Read a YAML document safely, keeping the position of every key and value.

PyYAML's composer gives the node tree with marks; constructing values ourselves from it
(instead of ``yaml.safe_load``) is what lets every error name file:line:column.  Only the
plain YAML types are accepted (no object tags, no merge keys), duplicate keys are errors,
and alias expansion is bounded so a "billion laughs" document fails fast.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..model import Span

#: most values one document may expand to (aliases included)
MAX_VALUES = 50_000
MAX_DEPTH = 64

Path = tuple  # of str | int: where a value sits in the document

_SCALAR_TAGS = {
    "tag:yaml.org,2002:str", "tag:yaml.org,2002:int", "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool", "tag:yaml.org,2002:null",
}


class DocumentError(Exception):
    """A problem at one place of a document: ``span`` and a message."""

    def __init__(self, span: Span, message: str):
        super().__init__(f"{span}: {message}")
        self.span = span
        self.message = message


@dataclass
class Document:
    """A document's plain value and the spans of every value and mapping key by path."""

    path: str
    data: Any
    values: dict[Path, Span] = field(default_factory=dict)
    keys: dict[Path, Span] = field(default_factory=dict)

    def span(self, path: Path, key: bool = False) -> Span:
        """The span at ``path`` (its key's span when ``key``), else the nearest ancestor's."""
        path = tuple(path)
        if key and path in self.keys:
            return self.keys[path]
        while path not in self.values:
            path = path[:-1]
        return self.values[path]

    def data_at(self, path: Path) -> Any:
        """The value at ``path`` (None when the path does not exist)."""
        value = self.data
        for part in path:
            try:
                value = value[part]
            except (KeyError, IndexError, TypeError):
                return None
        return value


def mark_span(path: str, start, end) -> Span:
    return Span(path, start.line + 1, start.column + 1, end.line + 1, max(end.column, 1))


def read_document(text: str, path: str, bundled: bool = False) -> Document:
    """Parse ``text`` (one YAML document) into a :class:`Document`; raises DocumentError.

    ``bundled``: a policy shipped with fwlint (tested to read the same through libyaml)."""
    import yaml

    try:
        node = _compose_bundled(text) if bundled else yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = Span(path, mark.line + 1, mark.column + 1, mark.line + 1, mark.column + 1) \
            if mark else Span(path, 1, 1, 1, 1)
        problem = " ".join(filter(None, (exc.context, exc.problem)))
        raise DocumentError(where, f"YAML syntax error: {problem}") from None
    except yaml.YAMLError as exc:
        raise DocumentError(Span(path, 1, 1, 1, 1), f"YAML error: {exc}") from None
    document = Document(path, None)
    if node is None:
        raise DocumentError(Span(path, 1, 1, 1, 1), "empty document (expected a mapping)")
    document.data = _Builder(document).build(node, (), 0)
    return document


def _compose_bundled(text: str):
    """The node tree of a bundled policy: through libyaml when PyYAML has it (1 ms instead
    of 12 ms for policies/baseline.yaml, most of a small file's policy load), else, or when
    libyaml refuses it, through PyYAML's Python parser.  Only for bundled files: on odd
    input the two parsers may disagree, and a user's policy must read as it always has
    (tests/policy/test_builtin_policies.py checks both give the same nodes and marks)."""
    import yaml

    fast = getattr(yaml, "CSafeLoader", None)
    if fast is not None and not yaml.reader.Reader.NON_PRINTABLE.search(text):
        try:
            return yaml.compose(text, Loader=fast)
        except yaml.YAMLError:
            pass
    return yaml.compose(text, Loader=yaml.SafeLoader)


class _Builder:
    def __init__(self, document: Document):
        import yaml

        self.document = document
        self.count = 0
        #: one constructor for the document's scalars (a loader per scalar cost 10 us each)
        self.constructor = yaml.constructor.SafeConstructor()

    def build(self, node, path: Path, depth: int) -> Any:
        import yaml

        doc = self.document
        span = mark_span(doc.path, node.start_mark, node.end_mark)
        self.count += 1
        if self.count > MAX_VALUES or depth > MAX_DEPTH:
            raise DocumentError(span, "document too large or too deeply nested after expanding "
                                      f"aliases (more than {MAX_VALUES} values or {MAX_DEPTH} "
                                      "levels)")
        doc.values.setdefault(path, span)
        if isinstance(node, yaml.MappingNode):
            if node.tag != "tag:yaml.org,2002:map":
                raise DocumentError(span, f"tag {node.tag!r} is not allowed in a policy")
            result: dict[str, Any] = {}
            for key_node, value_node in node.value:
                key_span = mark_span(doc.path, key_node.start_mark, key_node.end_mark)
                if key_node.tag == "tag:yaml.org,2002:merge":
                    raise DocumentError(key_span, "merge keys (<<) are not supported in a policy")
                if not isinstance(key_node, yaml.ScalarNode):
                    raise DocumentError(key_span, "mapping keys must be plain strings")
                key = str(self.scalar(key_node, key_span, self.constructor))
                if key in result:
                    first = doc.keys[path + (key,)]
                    raise DocumentError(key_span, f"duplicate key {key!r} (first defined at "
                                                  f"line {first.line}, column {first.column})")
                doc.keys[path + (key,)] = key_span
                result[key] = self.build(value_node, path + (key,), depth + 1)
            return result
        if isinstance(node, yaml.SequenceNode):
            if node.tag != "tag:yaml.org,2002:seq":
                raise DocumentError(span, f"tag {node.tag!r} is not allowed in a policy")
            return [self.build(item, path + (i,), depth + 1) for i, item in enumerate(node.value)]
        return self.scalar(node, span, self.constructor)

    @staticmethod
    def scalar(node, span: Span, constructor=None) -> Any:
        import yaml

        if node.tag not in _SCALAR_TAGS:
            if node.tag == "tag:yaml.org,2002:timestamp":
                return node.value  # a date-like plain scalar: keep the text, the schema judges it
            raise DocumentError(span, f"tag {node.tag!r} is not allowed in a policy")
        try:
            return (constructor or yaml.SafeLoader("")).construct_object(node)
        except yaml.YAMLError as exc:
            raise DocumentError(span, f"bad value: {exc}") from None
