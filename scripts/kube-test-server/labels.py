"""Label selectors (query syntax and metav1.LabelSelector objects) and field selectors."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

_NAME = r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?"
_KEY = re.compile(rf"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?{_NAME}$")
_VALUE = re.compile(rf"^({_NAME})?$")
_SET_TERM = re.compile(r"^(\S+)\s+(in|notin)\s*\((.*)\)$")


class SelectorError(ValueError):
    """A selector that cannot be parsed; answered with 400."""


def valid_label_key(key: str) -> bool:
    name = key.rpartition("/")[2]
    return bool(_KEY.match(key)) and len(name) <= 63 and len(key) <= 317


def valid_label_value(value: str) -> bool:
    return len(value) <= 63 and bool(_VALUE.match(value))


@dataclass(frozen=True)
class Requirement:
    key: str
    operator: str  # "=", "!=", "in", "notin", "exists", "!", "gt", "lt"
    values: tuple[str, ...] = ()

    def matches(self, labels: dict[str, str]) -> bool:
        present = self.key in labels
        value = labels.get(self.key)
        if self.operator in ("=", "in"):
            return present and value in self.values
        if self.operator in ("!=", "notin"):
            return not present or value not in self.values
        if self.operator == "exists":
            return present
        if self.operator == "!":
            return not present
        if not present:
            return False
        try:
            number = int(value or "")
        except ValueError:
            return False
        return number > int(self.values[0]) if self.operator == "gt" else number < int(self.values[0])

    def __str__(self) -> str:
        if self.operator in ("=", "!="):
            return f"{self.key}{self.operator}{self.values[0]}"
        if self.operator in ("in", "notin"):
            return f"{self.key} {self.operator} ({','.join(self.values)})"
        if self.operator == "exists":
            return self.key
        if self.operator == "!":
            return f"!{self.key}"
        return f"{self.key}{'>' if self.operator == 'gt' else '<'}{self.values[0]}"


class LabelSelector:
    """A conjunction of requirements; the empty selector matches everything."""

    def __init__(self, requirements: list[Requirement] | None = None, matches_nothing: bool = False):
        self.requirements = requirements or []
        self.matches_nothing = matches_nothing

    @classmethod
    def parse(cls, text: str | None) -> LabelSelector:
        """Parses the labelSelector query syntax: `a=b,c!=d,e in (f,g),h notin (i),j,!k`."""
        if not text or not text.strip():
            return cls()
        return cls([_parse_term(term) for term in _split_terms(text)])

    @classmethod
    def from_object(cls, selector: dict[str, Any] | None) -> LabelSelector:
        """From a metav1.LabelSelector. A missing selector matches nothing; an empty one matches everything."""
        if selector is None:
            return cls(matches_nothing=True)
        requirements = [
            Requirement(key, "=", (str(value),)) for key, value in sorted((selector.get("matchLabels") or {}).items())
        ]
        operators = {"In": "in", "NotIn": "notin", "Exists": "exists", "DoesNotExist": "!"}
        for expression in selector.get("matchExpressions") or []:
            operator = operators.get(expression.get("operator", ""))
            if operator is None:
                raise SelectorError(f"{expression.get('operator')!r} is not a valid label selector operator")
            requirements.append(Requirement(expression.get("key", ""), operator, tuple(expression.get("values") or ())))
        return cls(requirements)

    def matches(self, labels: dict[str, str] | None) -> bool:
        if self.matches_nothing:
            return False
        labels = labels or {}
        return all(requirement.matches(labels) for requirement in self.requirements)

    def __str__(self) -> str:
        return ",".join(str(requirement) for requirement in self.requirements)


def _split_terms(text: str) -> list[str]:
    terms: list[str] = []
    depth = 0
    current = ""
    for character in text:
        if character == "(":
            depth += 1
        elif character == ")":
            depth -= 1
        if character == "," and depth == 0:
            terms.append(current)
            current = ""
        else:
            current += character
    terms.append(current)
    return [term.strip() for term in terms]


def _parse_term(term: str) -> Requirement:
    if not term:
        raise SelectorError("unable to parse requirement: found '', expected: identifier")
    match = _SET_TERM.match(term)
    if match:
        key, operator, inner = match.group(1), match.group(2), match.group(3)
        values = tuple(value.strip() for value in inner.split(",")) if inner.strip() else ()
        if not values:
            raise SelectorError(
                f"unable to parse requirement: {term!r}: for 'in', 'notin' operators, values set can't be empty"
            )
        return _checked(Requirement(key, operator, values))
    if term.startswith("!"):
        return _checked(Requirement(term[1:].strip(), "!"))
    for symbol, operator in (("!=", "!="), ("==", "="), ("=", "="), (">", "gt"), ("<", "lt")):
        if symbol in term:
            key, _, value = term.partition(symbol)
            requirement = Requirement(key.strip(), operator, (value.strip(),))
            if operator in ("gt", "lt") and not requirement.values[0].lstrip("-").isdigit():
                raise SelectorError(
                    f"unable to parse requirement: for 'Gt', 'Lt' operators, the value must be an integer: {term!r}"
                )
            return _checked(requirement)
    return _checked(Requirement(term, "exists"))


def _checked(requirement: Requirement) -> Requirement:
    if not valid_label_key(requirement.key):
        raise SelectorError(f"unable to parse requirement: invalid label key {requirement.key!r}")
    if requirement.operator not in ("gt", "lt"):
        for value in requirement.values:
            if not valid_label_value(value):
                raise SelectorError(f"unable to parse requirement: invalid label value: {value!r}")
    return requirement


# MARK: - Field selectors


def _path(*keys: str) -> Callable[[dict[str, Any]], str]:
    def read(obj: dict[str, Any]) -> str:
        value: Any = obj
        for key in keys:
            value = value.get(key) if isinstance(value, dict) else None
        return "" if value is None else str(value)

    return read


_COMMON_FIELDS = {"metadata.name": _path("metadata", "name"), "metadata.namespace": _path("metadata", "namespace")}

# The fields each resource can be selected on, as the real API server allows them.
SELECTABLE_FIELDS: dict[str, dict[str, Callable[[dict[str, Any]], str]]] = {
    "pods": {
        "spec.nodeName": _path("spec", "nodeName"),
        "spec.restartPolicy": _path("spec", "restartPolicy"),
        "spec.schedulerName": _path("spec", "schedulerName"),
        "spec.serviceAccountName": _path("spec", "serviceAccountName"),
        "spec.hostNetwork": lambda obj: "true" if obj.get("spec", {}).get("hostNetwork") else "false",
        "status.phase": _path("status", "phase"),
        "status.podIP": _path("status", "podIP"),
        "status.nominatedNodeName": _path("status", "nominatedNodeName"),
    },
    "jobs": {"status.successful": lambda obj: str(obj.get("status", {}).get("succeeded") or 0)},
    "events": {
        "involvedObject.kind": _path("involvedObject", "kind"),
        "involvedObject.namespace": _path("involvedObject", "namespace"),
        "involvedObject.name": _path("involvedObject", "name"),
        "involvedObject.uid": _path("involvedObject", "uid"),
        "involvedObject.apiVersion": _path("involvedObject", "apiVersion"),
        "involvedObject.resourceVersion": _path("involvedObject", "resourceVersion"),
        "involvedObject.fieldPath": _path("involvedObject", "fieldPath"),
        "reason": _path("reason"),
        "reportingComponent": _path("reportingComponent"),
        "source": _path("source", "component"),
        "type": _path("type"),
    },
    "namespaces": {"status.phase": _path("status", "phase")},
    "secrets": {"type": _path("type")},
}


class FieldSelector:
    """`metadata.name=x,status.phase!=Running`: equality terms on the resource's selectable fields."""

    def __init__(self, terms: list[tuple[str, bool, str, Callable[[dict[str, Any]], str]]] | None = None):
        self.terms = terms or []

    @classmethod
    def parse(cls, text: str | None, resource: str) -> FieldSelector:
        if not text or not text.strip():
            return cls()
        fields = {**_COMMON_FIELDS, **SELECTABLE_FIELDS.get(resource, {})}
        terms = []
        for term in _split_terms(text):
            for symbol, negated in (("!=", True), ("==", False), ("=", False)):
                if symbol in term:
                    field, _, value = term.partition(symbol)
                    break
            else:
                raise SelectorError(f"invalid selector: '{text}'; can't understand '{term}'")
            field = field.strip()
            if field not in fields:
                raise SelectorError(f"field label not supported: {field}")
            terms.append((field, negated, value.strip(), fields[field]))
        return cls(terms)

    def matches(self, obj: dict[str, Any]) -> bool:
        return all((read(obj) == value) != negated for _, negated, value, read in self.terms)

    def name(self) -> str | None:
        """The name a `metadata.name=X` term pins, if any."""
        for field, negated, value, _ in self.terms:
            if field == "metadata.name" and not negated:
                return value
        return None
