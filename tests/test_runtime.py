"""The Bedrock runtime calls of the Rust client (InvokeModel, Converse, CountTokens) against the
local emulator over real HTTP on loopback: sync and async twins side by side, boto3's
bedrock-runtime client as the reference, bodies refused before they are sent, error codes."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from typing import Any, Literal

import pytest

import bedrock_batch as bb
from bedrock_batch import _core
from bedrock_batch.emulator import Emulator
from bedrock_batch.exceptions import AwsError, AwsValidationError, InputError, ThrottlingError

MODEL = "us.anthropic.claude-haiku-4-5-20251001-v1:0"
ROWS = [
    {"id": "r1", "title": "猫の記事", "content": "<p>本文です。An article about cats.</p>"},
    {
        "id": "r2",
        "title": "Second",
        "content": "<p>Another body, a little longer than the first one.</p>",
    },
]
PROMPT = bb.Prompt(
    user="タイトル: {title}\n\n記事:\n{content}",
    system='JSON形式で出力してください: {{"summary": ...}}',
    max_tokens=300,
    temperature=0.5,
    stop_sequences=["</s>"],
    prefill="{",
)


def core_for(emu: Emulator, **knobs: Any) -> _core._AwsClient:
    return _core._AwsClient(
        region=emu.region,
        endpoint_url=emu.endpoint_url,
        access_key_id="testing",
        secret_access_key="testing",
        **knobs,
    )


def model_inputs(invocation: Literal["invoke", "converse"]) -> list[dict[str, Any]]:
    recs = bb.pack(
        ROWS, prompt=PROMPT, model=MODEL, invocation=invocation, clean={"content": "html"}
    )
    return [r["modelInput"] for r in recs.head(len(ROWS))]


def encode(mi: dict[str, Any]) -> bytes:
    return json.dumps(mi, ensure_ascii=False).encode()


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with bb.emulator.start(time_scale=0.02) as e:
        yield e


@pytest.fixture(scope="module")
def core(emu: Emulator) -> _core._AwsClient:
    return core_for(emu)


@pytest.fixture(scope="module")
def boto(emu: Emulator) -> Any:
    return emu.boto3_client("bedrock-runtime")


def without_latency(out: dict[str, Any]) -> dict[str, Any]:
    out = dict(out)
    out.pop("ResponseMetadata", None)
    out.pop("metrics")
    return out


# --- InvokeModel ---------------------------------------------------------------------------


def test_invoke_model_returns_the_body_unchanged(core: _core._AwsClient, boto: Any) -> None:
    for mi in model_inputs("invoke"):
        body = encode(mi)
        out = core.invoke_model(MODEL, body)
        assert isinstance(out, bytes)
        ref = boto.invoke_model(
            modelId=MODEL, body=body, contentType="application/json", accept="application/json"
        )["body"].read()
        assert out == ref
        answer = json.loads(out)
        assert answer["content"][0]["type"] == "text"
        assert answer["usage"]["input_tokens"] > 0


@pytest.mark.asyncio
async def test_invoke_model_async(core: _core._AwsClient) -> None:
    bodies = [encode(mi) for mi in model_inputs("invoke")]
    got = await asyncio.gather(*(core.invoke_model_async(MODEL, b) for b in bodies))
    assert all(isinstance(g, bytes) for g in got)
    assert list(got) == [core.invoke_model(MODEL, b) for b in bodies]


# --- Converse ------------------------------------------------------------------------------


def test_converse_answers_as_a_converse_job_record(core: _core._AwsClient, boto: Any) -> None:
    for mi in model_inputs("converse"):
        assert set(mi) == {"system", "messages", "inferenceConfig"}
        out = json.loads(core.converse(MODEL, encode(mi)))
        # The shape of a Converse job's modelOutput (the runtime's response).
        assert out["output"]["message"]["role"] == "assistant"
        assert isinstance(out["output"]["message"]["content"][0]["text"], str)
        assert out["stopReason"] == "end_turn"
        usage = out["usage"]
        assert usage["totalTokens"] == usage["inputTokens"] + usage["outputTokens"]
        assert isinstance(out["metrics"]["latencyMs"], int)
        # What boto3 parses from the same call.
        ref = boto.converse(modelId=MODEL, **mi)
        assert without_latency(out) == without_latency(ref)


def test_converse_sends_additional_model_request_fields(core: _core._AwsClient, boto: Any) -> None:
    mi = model_inputs("converse")[0]
    mi["additionalModelRequestFields"] = {"top_k": 40, "nested": {"x": [1, 2.5, None, True]}}
    out = json.loads(core.converse(MODEL, encode(mi)))
    assert without_latency(out) == without_latency(boto.converse(modelId=MODEL, **mi))


@pytest.mark.asyncio
async def test_converse_async(core: _core._AwsClient) -> None:
    bodies = [encode(mi) for mi in model_inputs("converse")]
    got = await asyncio.gather(*(core.converse_async(MODEL, b) for b in bodies))
    assert all(isinstance(g, bytes) for g in got)
    sync = [json.loads(core.converse(MODEL, b)) for b in bodies]
    assert [without_latency(json.loads(g)) for g in got] == [without_latency(s) for s in sync]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (
            lambda mi: mi["messages"][0]["content"].append(
                {"image": {"format": "png", "source": {"bytes": "AA=="}}}
            ),
            "messages[0].content[1].image",
        ),
        (
            lambda mi: mi["system"].append({"cachePoint": {"type": "default"}}),
            "system[1].cachePoint",
        ),
        (lambda mi: mi.update(toolConfig={"tools": []}), "toolConfig"),
        (lambda mi: mi["inferenceConfig"].update(maxTokens="300"), "inferenceConfig.maxTokens"),
        (lambda mi: mi["messages"][1].update(role="system"), "messages[1].role"),
    ],
)
def test_a_body_it_does_not_read_is_refused_before_sending(
    emu: Emulator, core: _core._AwsClient, change: Any, field: str
) -> None:
    mi = model_inputs("converse")[0]
    change(mi)
    before = emu.stats()
    with pytest.raises(InputError, match=f"Converse body: {re.escape(field)}: "):
        core.converse(MODEL, encode(mi))
    with pytest.raises(InputError, match="Converse body"):
        core.count_tokens(MODEL, encode(mi), converse=True)
    after = emu.stats()
    assert (after["converses"], after["count_tokens"]) == (
        before["converses"],
        before["count_tokens"],
    )


def test_not_json_is_refused(core: _core._AwsClient) -> None:
    with pytest.raises(InputError, match="Converse body: not valid JSON"):
        core.converse(MODEL, b"{not json")


# --- CountTokens ---------------------------------------------------------------------------


def test_count_tokens_of_either_body(core: _core._AwsClient, boto: Any) -> None:
    for mi in model_inputs("invoke"):
        body = encode(mi)
        n = core.count_tokens(MODEL, body)
        assert isinstance(n, int) and n > 0
        assert (
            n
            == boto.count_tokens(modelId=MODEL, input={"invokeModel": {"body": body}})[
                "inputTokens"
            ]
        )
    for mi in model_inputs("converse"):
        n = core.count_tokens(MODEL, encode(mi), converse=True)
        counted = {k: v for k, v in mi.items() if k != "inferenceConfig"}
        assert n > 0
        assert n == boto.count_tokens(modelId=MODEL, input={"converse": counted})["inputTokens"]


@pytest.mark.asyncio
async def test_count_tokens_async(core: _core._AwsClient) -> None:
    invoke = [encode(mi) for mi in model_inputs("invoke")]
    converse = [encode(mi) for mi in model_inputs("converse")]
    got = await asyncio.gather(
        *(core.count_tokens_async(MODEL, b) for b in invoke),
        *(core.count_tokens_async(MODEL, b, converse=True) for b in converse),
    )
    want = [core.count_tokens(MODEL, b) for b in invoke] + [
        core.count_tokens(MODEL, b, converse=True) for b in converse
    ]
    assert list(got) == want


@pytest.mark.asyncio
async def test_sync_calls_work_inside_a_running_loop(core: _core._AwsClient) -> None:
    asyncio.get_running_loop()  # as in a notebook cell
    assert core.count_tokens(MODEL, encode(model_inputs("invoke")[0])) > 0


# --- endpoints and errors ------------------------------------------------------------------


def test_runtime_endpoint_from_the_environment(
    emu: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", emu.endpoint_url)
    c = _core._AwsClient(region=emu.region, access_key_id="testing", secret_access_key="testing")
    before = emu.stats()["count_tokens"]
    assert c.count_tokens(MODEL, encode(model_inputs("invoke")[0])) > 0
    assert emu.stats()["count_tokens"] == before + 1


def test_explicit_keys_sign_even_with_an_api_key_in_the_environment(
    emu: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The emulator routes runtime calls by their SigV4 signature; a bearer token would not be one.
    monkeypatch.setenv("AWS_BEARER_TOKEN_BEDROCK", "not-a-real-key")
    assert core_for(emu).count_tokens(MODEL, encode(model_inputs("invoke")[0])) > 0


def test_validation_error(core: _core._AwsClient) -> None:
    body = encode(model_inputs("invoke")[0])
    with pytest.raises(AwsValidationError) as info:
        core.invoke_model("no such model!", body)
    assert info.value.code == "ValidationException"
    assert "InvokeModel no such model!" in str(info.value)


@pytest.mark.asyncio
async def test_validation_error_async(core: _core._AwsClient) -> None:
    with pytest.raises(AwsValidationError) as info:
        await core.converse_async("no such model!", encode(model_inputs("converse")[0]))
    assert info.value.code == "ValidationException"


def test_throttling_and_server_errors_keep_their_codes() -> None:
    with bb.emulator.start(time_scale=0.02, runtime_throttle_rate=1.0) as emu:
        core = core_for(emu, max_attempts=1)
        with pytest.raises(ThrottlingError) as info:
            core.converse(MODEL, encode(model_inputs("converse")[0]))
        assert info.value.code == "ThrottlingException"
    with bb.emulator.start(time_scale=0.02, runtime_error_rate=1.0) as emu:
        core = core_for(emu, max_attempts=1)
        codes = set()
        for mi in model_inputs("invoke") * 4:
            with pytest.raises(AwsError) as err:
                core.invoke_model(MODEL, encode(mi))
            assert not isinstance(err.value, (ThrottlingError, AwsValidationError))
            codes.add(err.value.code)
        assert codes <= {"InternalServerException", "ServiceUnavailableException"}
        assert codes


@pytest.mark.asyncio
async def test_throttling_async() -> None:
    with bb.emulator.start(time_scale=0.02, runtime_throttle_rate=1.0) as emu:
        core = core_for(emu, max_attempts=1)
        with pytest.raises(ThrottlingError):
            await core.count_tokens_async(MODEL, encode(model_inputs("invoke")[0]))
