"""The emulator's default responder: a deterministic extractive answer shaped as each model
family's real response, with token usage from the emulator's tokenizer (:func:`input_tokens`,
which CountTokens answers with too); and the answer faults the emulator draws (text that is not
the JSON asked for, an answer cut at ``max_tokens``), applied to any responder's output."""

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


def prompt_text(mi: dict[str, Any]) -> str:
    """Everything a body asks the model to read, as one text: the system prompt and every
    message (a Converse request, a Messages body), the whole prompt string (Llama) or the input
    text (Titan). Inference parameters (``max_tokens``, ``inferenceConfig``, ...) are not in it,
    so a body and the same body with another limit read the same."""
    if "prompt" in mi:
        return str(mi["prompt"])
    if "inputText" in mi:
        return str(mi["inputText"])
    sys_ = mi.get("system", "")
    parts = [sys_ if isinstance(sys_, str) else _text_of(sys_)]
    for m in mi.get("messages") or []:
        if isinstance(m, dict):
            parts.append(_text_of(m.get("content")))
    return "".join(parts)


def input_tokens(mi: dict[str, Any]) -> int:
    """The emulator's tokenizer: the input tokens of a body (a model's native request, a
    Converse request or CountTokens' ``converse`` input), deterministic, at least 1. The default
    responder reports it as usage and CountTokens returns it, so both agree on every body."""
    return _core.estimate_tokens(prompt_text(mi)) or 1


def prompt_key(mi: dict[str, Any]) -> str:
    """A digest of :func:`prompt_text`: the same records' bodies in a batch job, a Converse
    request and an InvokeModel call have the same key."""
    return hashlib.sha1(prompt_text(mi).encode("utf-8", "surrogatepass")).hexdigest()


def asks_json(mi: dict[str, Any]) -> bool:
    """Whether the prompt asks for JSON (the default responder then answers JSON)."""
    system, user, prefill = _prompt_parts(mi)
    return "json" in (system + user).lower() or prefill.startswith(("{", "["))


def prefill_of(mi: dict[str, Any]) -> str:
    return _prompt_parts(mi)[2]


# The output limit a family applies when a body names none (Llama's max_gen_len default).
_DEFAULT_MAX = {"llama3": 512, "llama4": 512}


def max_tokens_of(family: str, mi: dict[str, Any]) -> int | None:
    """The body's output limit (``max_tokens``, ``max_gen_len``, ``inferenceConfig.maxTokens``
    or Nova's ``max_new_tokens``); the family's default when it names none; None: no limit."""
    for v in (mi.get("max_tokens"), mi.get("max_gen_len")):
        if isinstance(v, int):
            return v
    cfg = mi.get("inferenceConfig")
    if isinstance(cfg, dict):
        for k in ("maxTokens", "max_new_tokens"):
            if isinstance(cfg.get(k), int):
                return int(cfg[k])
    return _DEFAULT_MAX.get(family)


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
        tin = input_tokens(mi)
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


# --- an output's text, usage and stop reason, whatever the family ------------------------------

# The stop reason each response shape gives an answer cut at its output limit.
MAX_TOKENS_STOP = {"messages": "max_tokens", "converse": "max_tokens", "llama": "length"}
_END_STOP = {"messages": "end_turn", "converse": "end_turn", "llama": "stop"}


def shape_of(out: dict[str, Any]) -> str | None:
    """ "messages" (Anthropic Claude), "converse" (Converse, Nova), "llama", or None (an
    embedding, or a shape without text)."""
    if isinstance(out.get("content"), list):
        return "messages"
    if isinstance(out.get("output"), dict):
        return "converse"
    if isinstance(out.get("generation"), str):
        return "llama"
    return None


def text_of_output(out: dict[str, Any]) -> str | None:
    shape = shape_of(out)
    if shape == "messages":
        return _text_of(out["content"])
    if shape == "converse":
        return _text_of((out["output"].get("message") or {}).get("content"))
    if shape == "llama":
        return str(out["generation"])
    return None


def usage_of(out: dict[str, Any]) -> tuple[int, int]:
    """(input tokens, output tokens) an output reports, in any family's fields; 0 when absent."""
    usage = out.get("usage") if isinstance(out.get("usage"), dict) else {}
    assert isinstance(usage, dict)
    tin = usage.get(
        "input_tokens",
        usage.get("inputTokens", out.get("prompt_token_count", out.get("inputTextTokenCount", 0))),
    )
    tout = usage.get(
        "output_tokens", usage.get("outputTokens", out.get("generation_token_count", 0))
    )
    return int(tin or 0), int(tout or 0)


def with_text(out: dict[str, Any], text: str, *, output_tokens: int, cut: bool) -> dict[str, Any]:
    """``out`` with another answer text, its output tokens and the stop reason of an answer that
    ended (``cut=False``) or reached its output limit (``cut=True``)."""
    shape = shape_of(out)
    if shape is None:
        return out
    out = json.loads(json.dumps(out))  # the caller's output is left as it was
    stop = (MAX_TOKENS_STOP if cut else _END_STOP)[shape]
    tin, _ = usage_of(out)
    if shape == "messages":
        out["content"] = [{"type": "text", "text": text}]
        out["stop_reason"] = stop
        out.setdefault("usage", {})["output_tokens"] = output_tokens
    elif shape == "converse":
        out["output"] = {"message": {"role": "assistant", "content": [{"text": text}]}}
        out["stopReason"] = stop
        out["usage"] = {
            **out.get("usage", {}),
            "inputTokens": tin,
            "outputTokens": output_tokens,
            "totalTokens": tin + output_tokens,
        }
        if isinstance(out.get("metrics"), dict):
            out["metrics"]["latencyMs"] = 900 + output_tokens
    else:
        out["generation"] = text
        out["stop_reason"] = stop
        out["generation_token_count"] = output_tokens
    return out


def broken_json(text: str, prefill: str) -> str:
    """An answer that is not the JSON asked for: the object without its closing brace, in prose
    (after a prefill, the model's text goes on from it, so the prose comes after the object)."""
    body = text.rstrip()
    body = body[:-1] if body.endswith(("}", "]")) else body
    if prefill:
        return body + "\n\nI hope this summary is what you were looking for!"
    return "Here is the JSON you asked for:\n" + body + "\n\nI hope this helps!"


def lengthened(text: str, prefill: str, tokens: int) -> str:
    """``text`` made as long as ``tokens`` output tokens (as :func:`_core.estimate_tokens`
    counts, never more): a JSON answer's last string value grows, other text gets more prose."""
    full = prefill + text
    try:
        obj = json.loads(full)
    except ValueError:
        obj = None
    key = None
    if isinstance(obj, dict):
        key = next((k for k in reversed(list(obj)) if isinstance(obj[k], str)), None)
    seed = " ".join((str(obj[key]) if key is not None and isinstance(obj, dict) else text).split())
    seed = seed or "The article goes on."
    filler = (" " + seed) * (tokens * 8 // len(seed) + 2)

    def build(n: int) -> str:
        if key is None or not isinstance(obj, dict):
            return text + filler[:n]
        longer = json.dumps({**obj, key: str(obj[key]) + filler[:n]}, ensure_ascii=False)
        return longer[len(prefill) :] if prefill and longer.startswith(prefill) else longer

    lo, hi = 0, len(filler)
    while lo < hi:  # the longest filler whose answer has at most ``tokens`` tokens
        mid = (lo + hi + 1) // 2
        if _core.estimate_tokens(build(mid)) <= tokens:
            lo = mid
        else:
            hi = mid - 1
    return build(lo)


def cut_at(text: str, tokens: int) -> str:
    """The longest start of ``text`` of at most ``tokens`` tokens, short of its last two
    characters (an answer cut at its limit never ends where the whole one does)."""
    lo, hi = 0, max(0, len(text) - 2)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if _core.estimate_tokens(text[:mid]) <= tokens:
            lo = mid
        else:
            hi = mid - 1
    return text[:lo]
