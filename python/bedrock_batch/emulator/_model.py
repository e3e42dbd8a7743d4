"""Request validation from botocore's ``bedrock`` 2023-04-20 service model (shapes, patterns,
ranges, enums, required members), so the emulator answers as Bedrock's front door does."""

from __future__ import annotations

import gzip
import json
import os
import re
from functools import lru_cache
from typing import Any


@lru_cache(maxsize=1)
def service_model() -> dict[str, Any]:
    import botocore

    base = os.path.join(os.path.dirname(botocore.__file__), "data", "bedrock", "2023-04-20")
    path = os.path.join(base, "service-2.json")
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            return dict(json.load(f))
    with gzip.open(path + ".gz", "rt", encoding="utf-8") as f:
        return dict(json.load(f))


def operation(name: str) -> dict[str, Any]:
    return dict(service_model()["operations"][name])


def error_status(shape: str) -> int:
    s = service_model()["shapes"].get(shape, {})
    return int(s.get("error", {}).get("httpStatusCode", 400))


class Invalid(Exception):
    """A request value that breaks the model; the message names the member."""


# Patterns of the model whose nested quantifiers backtrack exponentially in Python's re on some
# inputs (a run of hyphens then a bad character), mapped to equivalent unambiguous ones; the
# shape's min/max length still applies.
_EQUIVALENT = {
    "[a-zA-Z0-9]{1,63}(-*[a-zA-Z0-9\\+\\-\\.]){0,63}": "[a-zA-Z0-9][-a-zA-Z0-9+.]*",
    "[a-zA-Z0-9]{1,256}(-*[a-zA-Z0-9]){0,256}": "[a-zA-Z0-9]+(?:-+[a-zA-Z0-9]+)*",
}


def check(shape_name: str, value: Any, where: str) -> None:
    """Raises :class:`Invalid` when ``value`` does not fit the shape."""
    shape = service_model()["shapes"][shape_name]
    t = shape["type"]
    if t == "structure":
        if not isinstance(value, dict):
            raise Invalid(f"{where} must be an object")
        members = shape.get("members", {})
        for req in shape.get("required", []):
            if value.get(req) is None:
                raise Invalid(
                    f"Value null at '{where}.{req}' failed to satisfy constraint: Member must not be null"
                )
        present = [k for k in value if k in members]
        if shape.get("union") and len(present) != 1:
            raise Invalid(f"{where} must set exactly one of {', '.join(members)}")
        for k, v in value.items():
            if k in members and v is not None:
                check(members[k]["shape"], v, f"{where}.{k}" if where else k)
    elif t == "list":
        if not isinstance(value, list):
            raise Invalid(f"{where} must be a list")
        if ("min" in shape and len(value) < shape["min"]) or (
            "max" in shape and len(value) > shape["max"]
        ):
            raise Invalid(
                f"{where} must have {shape.get('min', 0)} to {shape.get('max', '∞')} items"
            )
        for i, v in enumerate(value):
            check(shape["member"]["shape"], v, f"{where}[{i}]")
    elif t == "string":
        if not isinstance(value, str):
            raise Invalid(f"{where} must be a string")
        if "enum" in shape and value not in shape["enum"]:
            raise Invalid(
                f"Value '{value}' at '{where}' failed to satisfy constraint: Member must satisfy enum value set: {shape['enum']}"
            )
        if ("min" in shape and len(value) < shape["min"]) or (
            "max" in shape and len(value) > shape["max"]
        ):
            raise Invalid(
                f"Value at '{where}' failed to satisfy constraint: Member must have length between {shape.get('min', 0)} and {shape.get('max')}"
            )
        pattern = shape.get("pattern")
        if pattern and not re.fullmatch(_EQUIVALENT.get(pattern, pattern), value):
            raise Invalid(
                f"Value '{value}' at '{where}' failed to satisfy constraint: Member must satisfy regular expression pattern: {pattern}"
            )
    elif t in ("integer", "long"):
        if not isinstance(value, int) or isinstance(value, bool):
            raise Invalid(f"{where} must be an integer")
        if ("min" in shape and value < shape["min"]) or ("max" in shape and value > shape["max"]):
            raise Invalid(
                f"Value '{value}' at '{where}' failed to satisfy constraint: Member must have value between {shape.get('min')} and {shape.get('max')}"
            )
    elif t == "boolean" and not isinstance(value, bool):
        raise Invalid(f"{where} must be a boolean")
