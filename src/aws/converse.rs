//! The Converse body of a batch record (`modelInput` under the Converse invocation type, as
//! JSON) to the SDK's typed request, and the typed response back to the JSON Bedrock's runtime
//! returns (what a Converse job's `modelOutput` holds).
//!
//! The shapes are those of the `bedrock-runtime` 2023-09-30 service model. Only text content
//! blocks are read from a body; anything else is refused with the field's path, never dropped.

use aws_sdk_bedrockruntime::operation::converse::ConverseOutput;
use aws_sdk_bedrockruntime::types::{
    ContentBlock, ConversationRole, InferenceConfiguration, Message, ReasoningContentBlock,
    SystemContentBlock, TokenUsage,
};
use aws_smithy_types::{Document, Number};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::error::Error;

/// The members of a Converse body this module reads.
const BODY_KEYS: [&str; 4] = [
    "system",
    "messages",
    "inferenceConfig",
    "additionalModelRequestFields",
];

/// A Converse request as a batch record's `modelInput` holds it, typed for the SDK. A member
/// absent from the JSON stays `None`, so the request sent has the same members as the body.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ConverseBody {
    pub system: Option<Vec<SystemContentBlock>>,
    pub messages: Option<Vec<Message>>,
    pub inference_config: Option<InferenceConfiguration>,
    pub additional_model_request_fields: Option<Document>,
}

fn bad(path: &str, message: impl std::fmt::Display) -> Error {
    Error::InvalidInput(format!("Converse body: {path}: {message}"))
}

/// The JSON type of a value, for messages.
fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn object<'a>(v: &'a Value, path: &str) -> Result<&'a Map<String, Value>, Error> {
    v.as_object()
        .ok_or_else(|| bad(path, format!("must be an object, got {}", kind(v))))
}

fn array<'a>(v: &'a Value, path: &str) -> Result<&'a [Value], Error> {
    v.as_array()
        .map(Vec::as_slice)
        .ok_or_else(|| bad(path, format!("must be an array, got {}", kind(v))))
}

fn string(v: &Value, path: &str) -> Result<String, Error> {
    v.as_str()
        .map(String::from)
        .ok_or_else(|| bad(path, format!("must be a string, got {}", kind(v))))
}

/// Refuses a member of `obj` not in `known`, naming it.
fn only(obj: &Map<String, Value>, path: &str, known: &[&str]) -> Result<(), Error> {
    match obj.keys().find(|k| !known.contains(&k.as_str())) {
        Some(k) => Err(bad(
            &join(path, k),
            format!("not supported here (only {})", known.join(", ")),
        )),
        None => Ok(()),
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// The text of a content block `{"text": "..."}`; any other block type is refused by name.
fn text_block(v: &Value, path: &str) -> Result<String, Error> {
    let obj = object(v, path)?;
    if let Some(k) = obj.keys().find(|k| k.as_str() != "text") {
        return Err(bad(
            &join(path, k),
            "only text content blocks are supported",
        ));
    }
    match obj.get("text") {
        Some(t) => string(t, &join(path, "text")),
        None => Err(bad(
            path,
            "an empty content block (expected {\"text\": ...})",
        )),
    }
}

fn message(v: &Value, path: &str) -> Result<Message, Error> {
    let obj = object(v, path)?;
    only(obj, path, &["role", "content"])?;
    let role_path = join(path, "role");
    let role = match obj.get("role") {
        Some(r) => match string(r, &role_path)?.as_str() {
            "user" => ConversationRole::User,
            "assistant" => ConversationRole::Assistant,
            other => {
                return Err(bad(
                    &role_path,
                    format!("must be \"user\" or \"assistant\", got {other:?}"),
                ))
            }
        },
        None => return Err(bad(&role_path, "missing")),
    };
    let content_path = join(path, "content");
    let content = match obj.get("content") {
        Some(c) => array(c, &content_path)?
            .iter()
            .enumerate()
            .map(|(i, b)| text_block(b, &format!("{content_path}[{i}]")).map(ContentBlock::Text))
            .collect::<Result<Vec<_>, _>>()?,
        None => return Err(bad(&content_path, "missing")),
    };
    Message::builder()
        .role(role)
        .set_content(Some(content))
        .build()
        .map_err(|e| bad(path, e))
}

fn inference_config(v: &Value, path: &str) -> Result<InferenceConfiguration, Error> {
    let obj = object(v, path)?;
    only(
        obj,
        path,
        &["maxTokens", "temperature", "topP", "stopSequences"],
    )?;
    let mut b = InferenceConfiguration::builder();
    if let Some(m) = obj.get("maxTokens") {
        let p = join(path, "maxTokens");
        let n = m
            .as_i64()
            .or_else(|| {
                // 512.0 is the integer 512 in JSON's number model.
                m.as_f64()
                    .filter(|x| x.fract() == 0.0 && x.abs() < 1e15)
                    .map(|x| x as i64)
            })
            .ok_or_else(|| bad(&p, format!("must be an integer, got {m}")))?;
        let n = i32::try_from(n).map_err(|_| bad(&p, format!("{n} is out of range")))?;
        b = b.max_tokens(n);
    }
    let float = |key: &str| -> Result<Option<f32>, Error> {
        obj.get(key)
            .map(|x| {
                x.as_f64()
                    .map(|x| x as f32)
                    .ok_or_else(|| bad(&join(path, key), format!("must be a number, got {x}")))
            })
            .transpose()
    };
    b = b
        .set_temperature(float("temperature")?)
        .set_top_p(float("topP")?);
    if let Some(s) = obj.get("stopSequences") {
        let p = join(path, "stopSequences");
        let seqs = array(s, &p)?
            .iter()
            .enumerate()
            .map(|(i, v)| string(v, &format!("{p}[{i}]")))
            .collect::<Result<Vec<_>, _>>()?;
        b = b.set_stop_sequences(Some(seqs));
    }
    Ok(b.build())
}

impl ConverseBody {
    /// Reads a Converse body (JSON). A member other than `system`, `messages`,
    /// `inferenceConfig` and `additionalModelRequestFields`, or a content block other than
    /// text, is an [`Error::InvalidInput`] naming the field (`messages[0].content[1].image`).
    pub fn from_json(body: &[u8]) -> Result<ConverseBody, Error> {
        let v: Value = serde_json::from_slice(body)
            .map_err(|e| Error::InvalidInput(format!("Converse body: not valid JSON ({e})")))?;
        let Value::Object(top) = &v else {
            return Err(Error::InvalidInput(format!(
                "Converse body: must be a JSON object, got {}",
                kind(&v)
            )));
        };
        only(top, "", &BODY_KEYS)?;
        let system = match top.get("system") {
            Some(s) => Some(
                array(s, "system")?
                    .iter()
                    .enumerate()
                    .map(|(i, b)| {
                        text_block(b, &format!("system[{i}]")).map(SystemContentBlock::Text)
                    })
                    .collect::<Result<Vec<_>, _>>()?,
            ),
            None => None,
        };
        let messages = match top.get("messages") {
            Some(m) => Some(
                array(m, "messages")?
                    .iter()
                    .enumerate()
                    .map(|(i, m)| message(m, &format!("messages[{i}]")))
                    .collect::<Result<Vec<_>, _>>()?,
            ),
            None => None,
        };
        let inference_config = top
            .get("inferenceConfig")
            .map(|c| inference_config(c, "inferenceConfig"))
            .transpose()?;
        let additional_model_request_fields = match top.get("additionalModelRequestFields") {
            Some(a) => {
                object(a, "additionalModelRequestFields")?;
                Some(to_document(a))
            }
            None => None,
        };
        Ok(ConverseBody {
            system,
            messages,
            inference_config,
            additional_model_request_fields,
        })
    }
}

/// A JSON value as a Smithy document (`additionalModelRequestFields`).
pub fn to_document(v: &Value) -> Document {
    match v {
        Value::Null => Document::Null,
        Value::Bool(b) => Document::Bool(*b),
        Value::Number(n) => Document::Number(if let Some(u) = n.as_u64() {
            Number::PosInt(u)
        } else if let Some(i) = n.as_i64() {
            Number::NegInt(i)
        } else {
            Number::Float(n.as_f64().unwrap_or(f64::NAN))
        }),
        Value::String(s) => Document::String(s.clone()),
        Value::Array(a) => Document::Array(a.iter().map(to_document).collect()),
        Value::Object(o) => {
            Document::Object(o.iter().map(|(k, v)| (k.clone(), to_document(v))).collect())
        }
    }
}

/// A Smithy document as JSON (`additionalModelResponseFields`); a non-finite float, which JSON
/// cannot hold, is null.
pub fn from_document(d: &Document) -> Value {
    match d {
        Document::Null => Value::Null,
        Document::Bool(b) => Value::Bool(*b),
        Document::Number(Number::PosInt(u)) => Value::from(*u),
        Document::Number(Number::NegInt(i)) => Value::from(*i),
        Document::Number(Number::Float(f)) => {
            serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number)
        }
        Document::String(s) => Value::String(s.clone()),
        Document::Array(a) => Value::Array(a.iter().map(from_document).collect()),
        Document::Object(o) => Value::Object(
            o.iter()
                .map(|(k, v)| (k.clone(), from_document(v)))
                .collect(),
        ),
    }
}

// The response as Bedrock's runtime returns it (members in the service's documented order).

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ResponseJson<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    output: Option<OutputJson<'a>>,
    stop_reason: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    usage: Option<UsageJson<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    metrics: Option<MetricsJson>,
    #[serde(skip_serializing_if = "Option::is_none")]
    additional_model_response_fields: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    trace: Option<TraceJson<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    performance_config: Option<LatencyJson<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    service_tier: Option<TierJson<'a>>,
}

#[derive(Serialize)]
struct OutputJson<'a> {
    message: MessageJson<'a>,
}

#[derive(Serialize)]
struct MessageJson<'a> {
    role: &'a str,
    content: Vec<BlockJson<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
enum BlockJson<'a> {
    Text(&'a str),
    ReasoningContent(ReasoningJson<'a>),
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
enum ReasoningJson<'a> {
    ReasoningText {
        text: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        signature: Option<&'a str>,
    },
    /// A blob: base64 in JSON, as the service sends it.
    RedactedContent(String),
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct UsageJson<'a> {
    input_tokens: i32,
    output_tokens: i32,
    total_tokens: i32,
    #[serde(skip_serializing_if = "Option::is_none")]
    cache_read_input_tokens: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cache_write_input_tokens: Option<i32>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    cache_details: Vec<CacheDetailJson<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CacheDetailJson<'a> {
    ttl: &'a str,
    input_tokens: i32,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct MetricsJson {
    latency_ms: i64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TraceJson<'a> {
    prompt_router: PromptRouterJson<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PromptRouterJson<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    invoked_model_id: Option<&'a str>,
}

#[derive(Serialize)]
struct LatencyJson<'a> {
    latency: &'a str,
}

#[derive(Serialize)]
struct TierJson<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
}

fn unsupported(path: &str, what: &str) -> Error {
    Error::Aws {
        code: "UnsupportedResponse".into(),
        message: format!("Converse response: {path} is {what}, which bedrock-batch does not read"),
        hint:
            "only text and reasoning content is read; a request with text blocks only gets no other"
                .into(),
    }
}

fn block_json<'a>(b: &'a ContentBlock, path: &str) -> Result<BlockJson<'a>, Error> {
    Ok(match b {
        ContentBlock::Text(t) => BlockJson::Text(t),
        ContentBlock::ReasoningContent(ReasoningContentBlock::ReasoningText(r)) => {
            BlockJson::ReasoningContent(ReasoningJson::ReasoningText {
                text: r.text(),
                signature: r.signature(),
            })
        }
        ContentBlock::ReasoningContent(ReasoningContentBlock::RedactedContent(blob)) => {
            BlockJson::ReasoningContent(ReasoningJson::RedactedContent(
                aws_smithy_types::base64::encode(blob.as_ref()),
            ))
        }
        ContentBlock::ReasoningContent(_) => {
            return Err(unsupported(
                path,
                "a reasoning block of a kind this SDK does not know",
            ))
        }
        ContentBlock::ToolUse(_) => return Err(unsupported(path, "a toolUse block")),
        ContentBlock::CitationsContent(_) => {
            return Err(unsupported(path, "a citationsContent block"))
        }
        ContentBlock::Image(_) => return Err(unsupported(path, "an image block")),
        _ => return Err(unsupported(path, "a non-text content block")),
    })
}

fn usage_json(u: &TokenUsage) -> UsageJson<'_> {
    UsageJson {
        input_tokens: u.input_tokens(),
        output_tokens: u.output_tokens(),
        total_tokens: u.total_tokens(),
        cache_read_input_tokens: u.cache_read_input_tokens(),
        cache_write_input_tokens: u.cache_write_input_tokens(),
        cache_details: u
            .cache_details()
            .iter()
            .map(|d| CacheDetailJson {
                ttl: d.ttl().as_str(),
                input_tokens: d.input_tokens(),
            })
            .collect(),
    }
}

/// A Converse response as the JSON Bedrock's runtime returns (and a Converse batch job's
/// `modelOutput` holds): `output.message.{role, content[].text}`, `stopReason`,
/// `usage.{inputTokens, outputTokens, totalTokens}`, `metrics.latencyMs`, and the optional
/// members the response has. A content block other than text or reasoning is an error.
pub fn converse_response_json(out: &ConverseOutput) -> Result<Vec<u8>, Error> {
    use aws_sdk_bedrockruntime::types::ConverseOutput as Output;
    let output = match out.output() {
        Some(Output::Message(m)) => Some(OutputJson {
            message: MessageJson {
                role: m.role().as_str(),
                content: m
                    .content()
                    .iter()
                    .enumerate()
                    .map(|(i, b)| block_json(b, &format!("output.message.content[{i}]")))
                    .collect::<Result<_, _>>()?,
            },
        }),
        Some(_) => return Err(unsupported("output", "not a message")),
        None => None,
    };
    let trace = match out.trace() {
        Some(t) if t.guardrail().is_some() => {
            return Err(unsupported("trace.guardrail", "a guardrail trace"))
        }
        Some(t) => t.prompt_router().map(|p| TraceJson {
            prompt_router: PromptRouterJson {
                invoked_model_id: p.invoked_model_id(),
            },
        }),
        None => None,
    };
    let json = ResponseJson {
        output,
        stop_reason: out.stop_reason().as_str(),
        usage: out.usage().map(usage_json),
        metrics: out.metrics().map(|m| MetricsJson {
            latency_ms: m.latency_ms(),
        }),
        additional_model_response_fields: out.additional_model_response_fields().map(from_document),
        trace,
        performance_config: out.performance_config().map(|p| LatencyJson {
            latency: p.latency().as_str(),
        }),
        service_tier: out.service_tier().map(|t| TierJson {
            kind: t.r#type().as_str(),
        }),
    };
    serde_json::to_vec(&json).map_err(|e| Error::InvalidInput(format!("Converse response: {e}")))
}
