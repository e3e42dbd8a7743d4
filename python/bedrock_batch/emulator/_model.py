"""Request validation from botocore's ``bedrock`` 2023-04-20 and ``bedrock-runtime`` 2023-09-30
service models (shapes, patterns, ranges, enums, required members, error status codes), so the
emulator answers as Bedrock's front door does."""

from __future__ import annotations

import base64
import binascii
import gzip
import json
import os
import re
from functools import lru_cache
from typing import Any

BEDROCK = "bedrock"
RUNTIME = "bedrock-runtime"
_VERSIONS = {BEDROCK: "2023-04-20", RUNTIME: "2023-09-30"}


@lru_cache(maxsize=2)
def service_model(service: str = BEDROCK) -> dict[str, Any]:
    """botocore's service model of ``bedrock`` (the control plane) or ``bedrock-runtime``."""
    import botocore

    base = os.path.join(os.path.dirname(botocore.__file__), "data", service, _VERSIONS[service])
    path = os.path.join(base, "service-2.json")
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            return dict(json.load(f))
    with gzip.open(path + ".gz", "rt", encoding="utf-8") as f:
        return dict(json.load(f))


def operation(name: str, service: str = BEDROCK) -> dict[str, Any]:
    return dict(service_model(service)["operations"][name])


def error_status(shape: str, service: str = BEDROCK) -> int:
    s = service_model(service)["shapes"].get(shape, {})
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


def check(shape_name: str, value: Any, where: str, service: str = BEDROCK) -> None:
    """Raises :class:`Invalid` when ``value`` (as JSON decoded it) does not fit the shape."""
    shape = service_model(service)["shapes"][shape_name]
    t = shape["type"]
    if shape.get("document"):
        return  # any JSON value
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
                check(members[k]["shape"], v, f"{where}.{k}" if where else k, service)
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
            check(shape["member"]["shape"], v, f"{where}[{i}]", service)
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
    elif t in ("float", "double"):
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            raise Invalid(f"{where} must be a number")
        if ("min" in shape and value < shape["min"]) or ("max" in shape and value > shape["max"]):
            raise Invalid(
                f"Value '{value}' at '{where}' failed to satisfy constraint: Member must have value between {shape.get('min')} and {shape.get('max')}"
            )
    elif t == "map":
        if not isinstance(value, dict):
            raise Invalid(f"{where} must be an object")
        for k, v in value.items():
            check(shape["value"]["shape"], v, f"{where}.{k}", service)
    elif t == "blob":
        # In a JSON body a blob is base64 text.
        if not isinstance(value, str):
            raise Invalid(f"{where} must be base64 text")
        try:
            base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise Invalid(
                f"Value at '{where}' failed to satisfy constraint: Member must be base64-encoded"
            ) from None
    elif t == "boolean" and not isinstance(value, bool):
        raise Invalid(f"{where} must be a boolean")
