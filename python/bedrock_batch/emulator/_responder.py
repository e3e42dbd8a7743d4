"""The emulator's default responder: a deterministic extractive answer shaped as each model
family's real response, with plausible token usage."""

from __future__ import annotations

import hashlib
import json
import re
from functools import lru_cache
from typing import Any, Callable

from .. import _core

Responder = Callable[[str, dict[str, Any]], dict[str, Any]]
"""(recordId, modelInput) -> modelOutput. Raise :class:`RecordError` for an error line."""


class RecordError(Exception):
    """Raised by a responder to make the record an error line."""

    def __init__(self, code: int | str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


_KEY = re.compile(r"\b([a-z][a-z0-9]*_[a-z0-9_]+)\b")


@lru_cache(maxsize=64)
def _keys_of_system(system: str) -> tuple[str, ...]:
    """The snake_case keys a system prompt names; one system prompt serves a whole job."""
    return tuple(_KEY.findall(system))


def _keys(system: str, user: str) -> list[str]:
    """``_KEY.findall(system + "\n" + user)``, without rescanning the system prompt per record or
    a user text that has no ``_`` (a key cannot span the newline, which is not a word byte)."""
    return [*_keys_of_system(system), *(_KEY.findall(user) if "_" in user else ())]


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(b.get("text", "")) for b in content if isinstance(b, dict))
    return ""


def _prompt_parts(mi: dict[str, Any]) -> tuple[str, str, str]:
    """(system, user, prefill) of any family's body."""
    if "prompt" in mi:
        p = str(mi["prompt"])
        m = re.search(r"user<\|(?:end_header_id|header_end)\|>\n\n(.*?)<\|eot(?:_id)?\|>", p, re.S)
        user = m.group(1) if m else p
        s = re.search(
            r"system<\|(?:end_header_id|header_end)\|>\n\n(.*?)<\|eot(?:_id)?\|>", p, re.S
        )
        tail = p.rsplit("\n\n", 1)[-1] if p.rstrip().endswith(("{", "[")) else ""
        return (s.group(1) if s else "", user, tail)
    if "inputText" in mi:
        return "", str(mi["inputText"]), ""
    sys_ = mi.get("system", "")
    system = sys_ if isinstance(sys_, str) else _text_of(sys_)
    msgs = mi.get("messages") or []
    user = _text_of(msgs[0].get("content")) if msgs else ""
    prefill = (
        _text_of(msgs[-1].get("content"))
        if len(msgs) > 1 and msgs[-1].get("role") == "assistant"
        else ""
    )
    return system, user, prefill


def _answer(system: str, user: str, prefill: str) -> str:
    """Extractive: the title line and the first sentences of the article; JSON when asked."""
    title = ""
    m = re.search(r"(?:タイトル|Title)\s*[:：]\s*(.+)", user)
    if m:
        title = m.group(1).strip()
    body = user.split("\n\n", 1)[-1] if title else user
    body = re.sub(r"^(?:記事|Article)\s*[:：]\s*", "", body.strip())
    text = " ".join(body.split())
    summary = text[:200]
    if "json" in (system + user).lower() or prefill.startswith(("{", "[")):
        keys = list(dict.fromkeys(_keys(system, user))) or ["summary"]
        out = {}
        for k in keys:
            if k.startswith("title"):
                out[k] = (title or text[:60])[:60]
            elif k.endswith("_en"):
                out[k] = summary[:200]
            else:
                out[k] = summary
        answer = json.dumps(out, ensure_ascii=False)
        # The model continues after the prefill: its text does not repeat it.
        return answer[len(prefill) :] if prefill and answer.startswith(prefill) else answer
    return summary or "(empty)"


def _embedding(text: str, dims: int) -> list[float]:
    seed = hashlib.sha256(text.encode()).digest()
    vals = [((seed[i % 32] + i * 7) % 251) / 125.0 - 1.0 for i in range(dims)]
    norm = sum(v * v for v in vals) ** 0.5 or 1.0
    return [round(v / norm, 6) for v in vals]


def default_responder(family: str, converse: bool) -> Responder:
    """The responder for a model family ("claude", "nova", "titan-embed", "llama3", "llama4")."""

    def respond(record_id: str, mi: dict[str, Any]) -> dict[str, Any]:
        system, user, prefill = _prompt_parts(mi)
        tin = _core.estimate_tokens(system + user + prefill) or 1
        if family == "titan-embed":
            dims = int(mi.get("dimensions", 1024))
            vec = _embedding(user, dims)
            return {
                "embedding": vec,
                "inputTextTokenCount": tin,
                "embeddingsByType": {"float": vec},
            }
        text = _answer(system, user, prefill)
        tout = _core.estimate_tokens(text) or 1
        if converse or family == "nova":
            return {
                "output": {"message": {"role": "assistant", "content": [{"text": text}]}},
                "stopReason": "end_turn",
                "usage": {"inputTokens": tin, "outputTokens": tout, "totalTokens": tin + tout},
                "metrics": {"latencyMs": 900 + tout},
            }
        if family.startswith("llama"):
            return {
                "generation": text,
                "prompt_token_count": tin,
                "generation_token_count": tout,
                "stop_reason": "stop",
            }
        return {
            "id": "msg_bdrk_" + hashlib.sha1(record_id.encode()).hexdigest()[:24],
            "type": "message",
            "role": "assistant",
            "model": "claude-emulated",
            "content": [{"type": "text", "text": text}],
            "stop_reason": "end_turn",
            "stop_sequence": None,
            "usage": {"input_tokens": tin, "output_tokens": tout},
        }

    return respond
