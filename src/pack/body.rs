//! The `modelInput` body of each family, as Bedrock documents it:
//! - Claude: the Anthropic Messages body (`anthropic_version: "bedrock-2023-05-31"`, `max_tokens`,
//!   `system`, `messages`, `temperature`, `top_p`, `stop_sequences`);
//! - Nova (native) and every model under the Converse invocation type: `system: [{text}]`,
//!   `messages: [{role, content: [{text}]}]`, `inferenceConfig: {maxTokens, temperature, topP,
//!   stopSequences}`;
//! - Titan text embeddings: `inputText` (plus `dimensions`, `normalize` through `extra`);
//! - Llama: `prompt` in the model's chat template, `max_gen_len`, `temperature`, `top_p`.

use serde_json::{Map, Value};

use super::model::{Family, Invocation};
use crate::json;

/// Everything of a prompt except its templates, which are rendered per row.
#[derive(Clone, Debug, Default)]
pub struct Settings {
    pub max_tokens: u64,
    pub temperature: Option<f64>,
    pub top_p: Option<f64>,
    pub stop_sequences: Vec<String>,
    pub prefill: Option<String>,
    /// Extra `modelInput` members (`top_k`, `dimensions`, ...); under the Converse invocation type
    /// they go to `additionalModelRequestFields`.
    pub extra: Map<String, Value>,
}

fn extras(out: &mut Vec<u8>, extra: &Map<String, Value>) {
    for (k, v) in extra {
        out.push(b',');
        json::string(out, k);
        out.push(b':');
        // serde_json writes UTF-8 as is: the same as ensure_ascii=False.
        let _ = serde_json::to_writer(&mut *out, v);
    }
}

/// Writes the user text as a JSON string literal: `user` appends its escaped content.
fn user_string(out: &mut Vec<u8>, user: &mut dyn FnMut(&mut Vec<u8>)) {
    out.push(b'"');
    user(out);
    out.push(b'"');
}

fn messages_blocks(out: &mut Vec<u8>, user: &mut dyn FnMut(&mut Vec<u8>), prefill: Option<&str>) {
    json::key(out, "messages");
    out.extend_from_slice(b"[{\"role\":\"user\",\"content\":[{\"text\":");
    user_string(out, user);
    out.extend_from_slice(b"}]}");
    if let Some(p) = prefill {
        out.extend_from_slice(b",{\"role\":\"assistant\",\"content\":[{\"text\":");
        json::string(out, p);
        out.extend_from_slice(b"}]}");
    }
    out.push(b']');
}

/// `,"temperature":x,"top_p":y` with the family's key names, for the settings that are set.
fn sampling(out: &mut Vec<u8>, s: &Settings, temperature: &str, top_p: &str) {
    for (k, v) in [(temperature, s.temperature), (top_p, s.top_p)] {
        if let Some(v) = v {
            out.push(b',');
            json::key(out, k);
            json::number(out, v);
        }
    }
}

fn string_list(out: &mut Vec<u8>, items: &[String]) {
    out.push(b'[');
    for (i, s) in items.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        json::string(out, s);
    }
    out.push(b']');
}

/// The Llama 3 and Llama 4 chat templates (Meta's model cards), ending with the assistant header
/// (and the prefill) so the model completes the assistant turn.
pub fn llama_prompt(
    family: Family,
    system: Option<&str>,
    user: &str,
    prefill: Option<&str>,
) -> String {
    let (head, tail) = llama_around(family, system, prefill);
    head + user + &tail
}

/// The Llama chat template before and after the user text.
fn llama_around(family: Family, system: Option<&str>, prefill: Option<&str>) -> (String, String) {
    let (start, end, eot) = if family == Family::Llama4 {
        ("<|header_start|>", "<|header_end|>", "<|eot|>")
    } else {
        ("<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>")
    };
    let mut head = String::from("<|begin_of_text|>");
    if let Some(s) = system {
        for piece in [start, "system", end, "\n\n", s, eot] {
            head.push_str(piece);
        }
    }
    for piece in [start, "user", end, "\n\n"] {
        head.push_str(piece);
    }
    let mut tail = String::new();
    for piece in [eot, start, "assistant", end, "\n\n"] {
        tail.push_str(piece);
    }
    if let Some(pre) = prefill {
        tail.push_str(pre);
    }
    (head, tail)
}

/// Appends the `modelInput` object for one record; `user` appends the user text's escaped
/// content (the inside of its JSON string), once.
pub fn write(
    out: &mut Vec<u8>,
    family: Family,
    invocation: Invocation,
    s: &Settings,
    system: Option<&str>,
    user: &mut dyn FnMut(&mut Vec<u8>),
) {
    out.push(b'{');
    let prefill = s.prefill.as_deref();
    if invocation == Invocation::Converse || family == Family::Nova {
        if let Some(sys) = system {
            json::key(out, "system");
            out.extend_from_slice(b"[{\"text\":");
            json::string(out, sys);
            out.extend_from_slice(b"}],");
        }
        messages_blocks(out, user, prefill);
        out.push(b',');
        json::key(out, "inferenceConfig");
        out.push(b'{');
        json::key(out, "maxTokens");
        json::number(out, s.max_tokens as f64);
        sampling(out, s, "temperature", "topP");
        if !s.stop_sequences.is_empty() {
            out.push(b',');
            json::key(out, "stopSequences");
            string_list(out, &s.stop_sequences);
        }
        out.push(b'}');
        if invocation == Invocation::Converse && !s.extra.is_empty() {
            out.push(b',');
            json::key(out, "additionalModelRequestFields");
            let _ = serde_json::to_writer(&mut *out, &s.extra);
        } else {
            extras(out, &s.extra);
        }
        out.push(b'}');
        return;
    }
    match family {
        Family::Claude => {
            json::key(out, "anthropic_version");
            json::string(out, "bedrock-2023-05-31");
            out.push(b',');
            json::key(out, "max_tokens");
            json::number(out, s.max_tokens as f64);
            if let Some(sys) = system {
                out.push(b',');
                json::key(out, "system");
                json::string(out, sys);
            }
            out.push(b',');
            json::key(out, "messages");
            out.extend_from_slice(b"[{\"role\":\"user\",\"content\":");
            user_string(out, user);
            out.push(b'}');
            if let Some(p) = prefill {
                out.extend_from_slice(b",{\"role\":\"assistant\",\"content\":");
                json::string(out, p);
                out.push(b'}');
            }
            out.push(b']');
            sampling(out, s, "temperature", "top_p");
            if !s.stop_sequences.is_empty() {
                out.push(b',');
                json::key(out, "stop_sequences");
                string_list(out, &s.stop_sequences);
            }
        }
        Family::TitanEmbed => {
            json::key(out, "inputText");
            user_string(out, user);
        }
        Family::Llama3 | Family::Llama4 => {
            json::key(out, "prompt");
            let (head, tail) = llama_around(family, system, prefill);
            out.push(b'"');
            json::escaped(out, &head);
            user(out);
            json::escaped(out, &tail);
            out.push(b'"');
            out.push(b',');
            json::key(out, "max_gen_len");
            json::number(out, s.max_tokens as f64);
            sampling(out, s, "temperature", "top_p");
        }
        Family::Nova => unreachable!("handled above"),
    }
    extras(out, &s.extra);
    out.push(b'}');
}
