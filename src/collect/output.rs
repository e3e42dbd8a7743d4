//! What each model family's `modelOutput` holds: the answer text, stop reason, token counts or
//! embedding, or the error it reports.

use std::borrow::Cow;

use crate::tape::{Kind as TapeKind, Val};

pub(super) fn get_str(o: Val<'_, '_>, k: &str) -> Option<String> {
    o.get(k).and_then(Val::as_str).map(Cow::into_owned)
}

pub(super) fn get_u64(o: Val<'_, '_>, k: &str) -> Option<u64> {
    o.get(k).and_then(Val::as_u64)
}

pub(super) fn get_obj<'t, 'a>(o: Val<'t, 'a>, k: &str) -> Option<Val<'t, 'a>> {
    o.get(k).filter(|v| v.kind() == TapeKind::Object)
}

/// `errorCode` may be a number or a string.
pub(super) fn code_of(v: Val<'_, '_>) -> String {
    v.as_str()
        .map_or_else(|| v.raw().to_string(), Cow::into_owned)
}

/// Text, stop reason, token counts or embedding of a `modelOutput`, for every family.
#[allow(clippy::struct_field_names)]
pub(super) struct Output {
    pub(super) text: Option<String>,
    pub(super) stop_reason: Option<String>,
    pub(super) input_tokens: Option<u64>,
    pub(super) output_tokens: Option<u64>,
    pub(super) embedding: Option<Vec<f64>>,
}

/// Reads a modelOutput; `Err((code, message))` when it reports an error itself or has an
/// unknown shape.
pub(super) fn parse_output(o: Val<'_, '_>) -> Result<Output, (String, String)> {
    if o.kind() != TapeKind::Object {
        return Err((
            "invalid_output".to_string(),
            "modelOutput is not a JSON object".to_string(),
        ));
    }
    if let Some(e) = o.get("error") {
        let eo = (e.kind() == TapeKind::Object).then_some(e);
        let msg = eo
            .and_then(|eo| get_str(eo, "errorMessage").or_else(|| get_str(eo, "message")))
            .or_else(|| e.as_str().map(Cow::into_owned))
            .unwrap_or_else(|| e.raw().to_string());
        let code = eo
            .and_then(|eo| eo.get("errorCode").map(code_of))
            .unwrap_or_else(|| "model_error".into());
        return Err((code, msg));
    }
    if let Some(content) = o.get("content") {
        // Anthropic Claude messages.
        let not_blocks = || {
            (
                "invalid_output".to_string(),
                "modelOutput.content is not a list of blocks".to_string(),
            )
        };
        let blocks = content.objects().ok_or_else(not_blocks)?;
        let mut text = String::new();
        // As a typed reader would: null is absent, any other wrong type is not a block list.
        for b in blocks {
            let kind = match b.get("type").and_then(Val::present) {
                Some(t) => Some(t.as_str().ok_or_else(not_blocks)?),
                None => None,
            };
            match kind.as_deref() {
                Some("text") | None => {
                    if let Some(t) = b.get("text").and_then(Val::present) {
                        text.push_str(&t.as_str().ok_or_else(not_blocks)?);
                    }
                }
                Some("tool_use") => {
                    if let Some(input) = b.get("input") {
                        text.push_str(input.raw());
                    }
                }
                _ => {}
            }
        }
        let usage = get_obj(o, "usage");
        return Ok(Output {
            text: Some(text),
            stop_reason: get_str(o, "stop_reason"),
            input_tokens: usage.and_then(|u| get_u64(u, "input_tokens")),
            output_tokens: usage.and_then(|u| get_u64(u, "output_tokens")),
            embedding: None,
        });
    }
    if let Some(output) = get_obj(o, "output") {
        // Converse and Amazon Nova: output.message.content[].text
        let text = get_obj(output, "message")
            .and_then(|m| m.get("content"))
            .and_then(Val::objects)
            .and_then(|blocks| {
                let mut text = String::new();
                for b in blocks {
                    match b.get("text") {
                        Some(t) if t.kind() != TapeKind::Null => text.push_str(&t.as_str()?),
                        _ => {}
                    }
                }
                Some(text)
            });
        let usage = get_obj(o, "usage");
        return Ok(Output {
            text,
            stop_reason: get_str(o, "stopReason"),
            input_tokens: usage.and_then(|u| get_u64(u, "inputTokens")),
            output_tokens: usage.and_then(|u| get_u64(u, "outputTokens")),
            embedding: None,
        });
    }
    if o.get("generation").is_some() {
        // Meta Llama.
        return Ok(Output {
            text: get_str(o, "generation"),
            stop_reason: get_str(o, "stop_reason"),
            input_tokens: get_u64(o, "prompt_token_count"),
            output_tokens: get_u64(o, "generation_token_count"),
            embedding: None,
        });
    }
    if let Some(e) = o.get("embedding") {
        // Titan text embeddings.
        let v: Vec<f64> = serde_json::from_str(e.raw()).map_err(|_| {
            (
                "invalid_output".to_string(),
                "modelOutput.embedding is not a list of numbers".to_string(),
            )
        })?;
        return Ok(Output {
            text: None,
            stop_reason: None,
            input_tokens: get_u64(o, "inputTextTokenCount"),
            output_tokens: Some(0),
            embedding: Some(v),
        });
    }
    if let Some(results) = o.get("results") {
        // Titan text generation.
        let first = results.objects().and_then(|r| r.into_iter().next());
        return Ok(Output {
            text: first.and_then(|r| get_str(r, "outputText")),
            stop_reason: first.and_then(|r| get_str(r, "completionReason")),
            input_tokens: get_u64(o, "inputTextTokenCount"),
            output_tokens: first.and_then(|r| get_u64(r, "tokenCount")),
            embedding: None,
        });
    }
    let mut keys: Vec<String> = o
        .members()
        .map(|(k, _)| {
            k.as_str()
                .map_or_else(|| k.raw().to_string(), Cow::into_owned)
        })
        .collect();
    keys.sort_unstable();
    Err((
        "invalid_output".into(),
        format!("unknown modelOutput shape (keys: {})", keys.join(", ")),
    ))
}
