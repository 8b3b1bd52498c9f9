"""A submitted form, checked on the server whatever the browser checked.

Values arrive as text (from a form) or JSON; each field is normalised by its
type (a CPR number gets its dash, a phone number its +45), required, pattern,
choice and length rules are applied, and fields hidden by `visible_if` are
dropped, so a hidden field never reaches a system.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from typing import Any

from anyplace.errors import AnyplaceError
from anyplace.microapps.definitions import FieldSpec, MicroappSpec
from anyplace.microapps.validators import VALIDATORS, Invalid

__all__ = ["FormErrors", "clean_form", "is_visible"]

TRUE = {"true", "on", "1", "yes", "ja"}


class FormErrors(AnyplaceError):
    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{name}: {message}" for name, message in errors.items()))
        self.errors = errors


def is_visible(spec: FieldSpec, values: Mapping[str, Any]) -> bool:
    rule = spec.visible_if
    if rule is None:
        return True
    current = values.get(rule.field)
    if rule.one_of is not None:
        return str(current) in rule.one_of
    if isinstance(rule.equals, bool):
        return bool(current) is rule.equals
    return current == rule.equals or str(current) == str(rule.equals)


def _convert(spec: FieldSpec, raw: Any) -> Any:
    if spec.type == "boolean":
        return raw if isinstance(raw, bool) else str(raw).strip().lower() in TRUE
    text = str(raw).strip()
    if len(text) > spec.max_length:
        raise Invalid(f"at most {spec.max_length} characters")
    if spec.type in VALIDATORS:
        return VALIDATORS[spec.type](text)
    if spec.type == "number":
        try:
            return float(text) if "." in text else int(text)
        except ValueError:
            raise Invalid("not a number") from None
    if spec.type == "date":
        try:
            return date.fromisoformat(text).isoformat()
        except ValueError:
            raise Invalid("a date is YYYY-MM-DD") from None
    if spec.type == "choice" and text not in {c.value for c in spec.choices}:
        raise Invalid("not one of the choices")
    if spec.pattern and not re.fullmatch(spec.pattern, text):
        raise Invalid("not in the expected form")
    return text


def _blank(raw: Any) -> bool:
    return raw is None or (isinstance(raw, str) and not raw.strip())


def clean_form(spec: MicroappSpec, raw: Mapping[str, Any]) -> dict[str, Any]:
    """The submission's values, normalised; FormErrors naming each bad field otherwise."""
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    for field in spec.fields:
        given = raw.get(field.name)
        if field.type == "boolean":
            given = _convert(field, given) if given is not None else bool(field.default)
        elif _blank(given) and field.default is not None:
            given = field.default
        values[field.name] = given
    cleaned: dict[str, Any] = {}
    for field in spec.fields:
        if not is_visible(field, values):
            continue
        given = values[field.name]
        if field.type == "boolean":
            cleaned[field.name] = given
            continue
        if _blank(given):
            if field.required:
                errors[field.name] = "required"
            continue
        try:
            cleaned[field.name] = _convert(field, given)
        except Invalid as exc:
            errors[field.name] = str(exc)
    unknown = sorted(set(raw) - {f.name for f in spec.fields} - {"csrf_token"})
    for name in unknown:
        errors[name] = "not a field of this form"
    if errors:
        raise FormErrors(errors)
    return cleaned
