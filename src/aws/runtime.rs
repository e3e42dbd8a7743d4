//! Bedrock runtime: InvokeModel, Converse and CountTokens, one request at a time; and the
//! Converse body of a batch record (`modelInput` under the Converse invocation type, as JSON)
//! to the SDK's typed request, and the typed response back to the JSON Bedrock's runtime
//! returns (what a Converse job's `modelOutput` holds).
//!
//! The shapes are those of the `bedrock-runtime` 2023-09-30 service model. Only text content
//! blocks are read from a body; anything else is refused with the field's path, never dropped.

use aws_sdk_bedrockruntime::operation::converse::ConverseOutput;
use aws_sdk_bedrockruntime::primitives::Blob;
use aws_sdk_bedrockruntime::types::{
    ContentBlock, ConversationRole, ConverseTokensRequest, CountTokensInput,
    InferenceConfiguration, InvokeModelTokensRequest, Message, ReasoningContentBlock,
    SystemContentBlock, TokenUsage,
};
use aws_smithy_types::{Document, Number};
use serde::Serialize;
use serde_json::{Map, Value};

use super::{sdk_error, Client};
use crate::error::Error;

const JSON: &str = "application/json";

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

impl Client {
    /// InvokeModel with a JSON body (content type and accept `application/json`): the response
    /// body, unchanged.
    pub async fn invoke_model(&self, model_id: &str, body: Vec<u8>) -> Result<Vec<u8>, Error> {
        let out = self
            .runtime
            .invoke_model()
            .model_id(model_id)
            .content_type(JSON)
            .accept(JSON)
            .body(Blob::new(body))
            .send()
            .await
            .map_err(|e| sdk_error(&format!("InvokeModel {model_id}"), e))?;
        Ok(out.body.into_inner())
    }

    /// Converse with a body as a Converse batch record's `modelInput` holds it (JSON): the
    /// response as JSON, as a Converse job's `modelOutput` holds it.
    pub async fn converse(&self, model_id: &str, body: &[u8]) -> Result<Vec<u8>, Error> {
        let b = ConverseBody::from_json(body)?;
        let out = self
            .runtime
            .converse()
            .model_id(model_id)
            .set_system(b.system)
            .set_messages(b.messages)
            .set_inference_config(b.inference_config)
            .set_additional_model_request_fields(b.additional_model_request_fields)
            .send()
            .await
            .map_err(|e| sdk_error(&format!("Converse {model_id}"), e))?;
        converse_response_json(&out)
    }

    /// CountTokens: the input tokens of an InvokeModel body (sent as is), or of a Converse body
    /// (`converse`: typed as for [`Client::converse`]; `inferenceConfig` is not part of the
    /// count and is not sent).
    pub async fn count_tokens(
        &self,
        model_id: &str,
        body: Vec<u8>,
        converse: bool,
    ) -> Result<i32, Error> {
        let input = if converse {
            let b = ConverseBody::from_json(&body)?;
            CountTokensInput::Converse(
                ConverseTokensRequest::builder()
                    .set_system(b.system)
                    .set_messages(b.messages)
                    .set_additional_model_request_fields(b.additional_model_request_fields)
                    .build(),
            )
        } else {
            CountTokensInput::InvokeModel(
                InvokeModelTokensRequest::builder()
                    .body(Blob::new(body))
                    .build()
                    .map_err(|e| Error::InvalidInput(format!("CountTokens body: {e}")))?,
            )
        };
        let out = self
            .runtime
            .count_tokens()
            .model_id(model_id)
            .input(input)
            .send()
            .await
            .map_err(|e| sdk_error(&format!("CountTokens {model_id}"), e))?;
        Ok(out.input_tokens())
    }
}

#[cfg(test)]
mod tests {
    //! The conversions against the SDK's own serialiser and deserialiser: a fake HTTP connector
    //! records the request the SDK sends and answers with Bedrock's wire JSON (the shapes of the
    //! `bedrock-runtime` service model), so a round trip here is one through the real wire
    //! format, with no network.

    use std::sync::{Arc, Mutex};

    use aws_config::retry::RetryConfig;
    use aws_config::{BehaviorVersion, Region, SdkConfig};
    use aws_sdk_bedrockruntime::config::http::{HttpRequest, HttpResponse};
    use aws_sdk_bedrockruntime::config::{Credentials, SharedCredentialsProvider};
    use aws_smithy_runtime_api::client::http::{
        http_client_fn, HttpConnector, HttpConnectorFuture, SharedHttpConnector,
    };
    use aws_smithy_types::body::SdkBody;
    use serde_json::json;

    use super::*;

    const MODEL: &str = "us.anthropic.claude-haiku-4-5-20251001-v1:0";

    /// What the SDK sent.
    #[derive(Clone, Debug)]
    struct Seen {
        method: String,
        uri: String,
        content_type: Option<String>,
        accept: Option<String>,
        body: Vec<u8>,
    }

    impl Seen {
        fn json(&self) -> Value {
            serde_json::from_slice(&self.body).expect("the SDK sent JSON")
        }
    }

    /// Answers every request with one status, error type and body, and records the requests.
    #[derive(Clone, Debug)]
    struct Fake {
        status: u16,
        error_type: Option<&'static str>,
        body: Vec<u8>,
        seen: Arc<Mutex<Vec<Seen>>>,
    }

    impl HttpConnector for Fake {
        fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
            let header = |name: &str| request.headers().get(name).map(String::from);
            self.seen.lock().unwrap().push(Seen {
                method: request.method().to_string(),
                uri: request.uri().to_string(),
                content_type: header("content-type"),
                accept: header("accept"),
                body: request.body().bytes().unwrap_or_default().to_vec(),
            });
            let mut resp = HttpResponse::new(
                self.status.try_into().unwrap(),
                SdkBody::from(self.body.clone()),
            );
            resp.headers_mut()
                .insert("content-type", "application/json");
            if let Some(t) = self.error_type {
                resp.headers_mut().insert("x-amzn-errortype", t);
            }
            HttpConnectorFuture::ready(Ok(resp))
        }
    }

    /// A client whose every call gets `status` with `body` (and `error_type`, for an error).
    fn fake(
        status: u16,
        error_type: Option<&'static str>,
        body: &[u8],
    ) -> (Client, Arc<Mutex<Vec<Seen>>>) {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let conn = Fake {
            status,
            error_type,
            body: body.to_vec(),
            seen: seen.clone(),
        };
        let shared = SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
                "AKIDTEST", "secret", None, None, "test",
            )))
            .retry_config(RetryConfig::disabled())
            .http_client(http_client_fn(move |_, _| {
                SharedHttpConnector::new(conn.clone())
            }))
            .build();
        let client = Client {
            s3: aws_sdk_s3::Client::new(&shared),
            bedrock: aws_sdk_bedrock::Client::new(&shared),
            runtime: aws_sdk_bedrockruntime::Client::new(&shared),
            region: Some("us-east-1".into()),
            endpoint_url: None,
        };
        (client, seen)
    }

    fn one(seen: &Arc<Mutex<Vec<Seen>>>) -> Seen {
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 1, "one request: {seen:?}");
        seen[0].clone()
    }

    /// A Converse record's `modelInput` as pack writes it, with every member this module reads.
    /// Temperature and topP are exact in f32 (the SDK's type), so the wire has the same numbers.
    fn body() -> Value {
        json!({
            "system": [{"text": "JSON形式で出力してください"}],
            "messages": [
                {"role": "user", "content": [{"text": "タイトル: 猫\n\n記事:\n本文"}, {"text": "second block"}]},
                {"role": "assistant", "content": [{"text": "{"}]}
            ],
            "inferenceConfig": {"maxTokens": 512, "temperature": 0.5, "topP": 0.875, "stopSequences": ["</s>", "\n\nHuman:"]},
            "additionalModelRequestFields": {
                "top_k": 40,
                "nested": {"list": [1, -2, 2.5, null, true, "x"], "empty": {}}
            }
        })
    }

    fn response() -> Value {
        json!({
            "output": {"message": {"role": "assistant", "content": [{"text": "\"title_en\": \"Cat\"}"}]}},
            "stopReason": "end_turn",
            "usage": {"inputTokens": 31, "outputTokens": 9, "totalTokens": 40},
            "metrics": {"latencyMs": 912}
        })
    }

    #[tokio::test]
    async fn converse_body_and_response_round_trip_through_the_wire() {
        let (client, seen) = fake(200, None, response().to_string().as_bytes());
        let out = client
            .converse(MODEL, body().to_string().as_bytes())
            .await
            .unwrap();
        let sent = one(&seen);
        assert_eq!(sent.method, "POST");
        assert!(
            sent.uri
                .ends_with("/model/us.anthropic.claude-haiku-4-5-20251001-v1%3A0/converse"),
            "{}",
            sent.uri
        );
        assert_eq!(sent.content_type.as_deref(), Some(JSON));
        // The request the SDK serialised from our typed values is the record's body.
        assert_eq!(sent.json(), body());
        // The response the SDK parsed, rendered back, is what Bedrock sent, in its order.
        let text = String::from_utf8(out).unwrap();
        assert_eq!(serde_json::from_str::<Value>(&text).unwrap(), response());
        assert!(text.starts_with(r#"{"output":{"message":{"role":"assistant","content":[{"text":"#));
        assert!(text.contains(r#""stopReason":"end_turn","usage":{"inputTokens":31,"outputTokens":9,"totalTokens":40},"metrics":{"latencyMs":912}}"#), "{text}");
    }

    #[tokio::test]
    async fn optional_response_members_round_trip() {
        let full = json!({
            "output": {"message": {"role": "assistant", "content": [
                {"reasoningContent": {"reasoningText": {"text": "think", "signature": "sig"}}},
                {"reasoningContent": {"redactedContent": "AAEC/w=="}},
                {"text": "answer"}
            ]}},
            "stopReason": "max_tokens",
            "usage": {
                "inputTokens": 100, "outputTokens": 50, "totalTokens": 150,
                "cacheReadInputTokens": 80, "cacheWriteInputTokens": 20,
                "cacheDetails": [{"ttl": "5m", "inputTokens": 20}]
            },
            "metrics": {"latencyMs": 1500},
            "additionalModelResponseFields": {"stop_sequence": null, "scores": [0.25, 1, -3]},
            "trace": {"promptRouter": {"invokedModelId": "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0"}},
            "performanceConfig": {"latency": "standard"},
            "serviceTier": {"type": "default"}
        });
        let (client, _) = fake(200, None, full.to_string().as_bytes());
        let out = client
            .converse(MODEL, body().to_string().as_bytes())
            .await
            .unwrap();
        assert_eq!(serde_json::from_slice::<Value>(&out).unwrap(), full);
    }

    #[test]
    fn body_becomes_typed_values() {
        let b = ConverseBody::from_json(body().to_string().as_bytes()).unwrap();
        assert_eq!(
            b.system,
            Some(vec![SystemContentBlock::Text(
                "JSON形式で出力してください".into()
            )])
        );
        let msgs = b.messages.unwrap();
        assert_eq!(msgs.len(), 2);
        assert_eq!(msgs[0].role(), &ConversationRole::User);
        assert_eq!(
            msgs[0].content()[1],
            ContentBlock::Text("second block".into())
        );
        assert_eq!(msgs[1].role(), &ConversationRole::Assistant);
        let cfg = b.inference_config.unwrap();
        assert_eq!(cfg.max_tokens(), Some(512));
        assert_eq!(cfg.temperature(), Some(0.5));
        assert_eq!(cfg.top_p(), Some(0.875));
        assert_eq!(cfg.stop_sequences(), ["</s>", "\n\nHuman:"]);
        let extra = b.additional_model_request_fields.unwrap();
        assert_eq!(
            from_document(&extra),
            body()["additionalModelRequestFields"]
        );
        // Absent members stay absent (and 512.0 is the integer 512).
        let b = ConverseBody::from_json(br#"{"inferenceConfig": {"maxTokens": 512.0}}"#).unwrap();
        assert_eq!(b.system, None);
        assert_eq!(b.messages, None);
        assert_eq!(b.additional_model_request_fields, None);
        assert_eq!(b.inference_config.unwrap().max_tokens(), Some(512));
    }

    fn refused(body: &str) -> String {
        match ConverseBody::from_json(body.as_bytes()) {
            Err(Error::InvalidInput(m)) => m,
            other => panic!("{body}: expected InvalidInput, got {other:?}"),
        }
    }

    #[test]
    fn refuses_what_it_does_not_read_naming_the_field() {
        let cases = [
            (
                r#"{"messages":[{"role":"user","content":[{"text":"a"},{"image":{"format":"png","source":{"bytes":"AA=="}}}]}]}"#,
                "Converse body: messages[0].content[1].image: only text content blocks are supported",
            ),
            (
                r#"{"system":[{"text":"s"},{"cachePoint":{"type":"default"}}],"messages":[]}"#,
                "Converse body: system[1].cachePoint: only text content blocks are supported",
            ),
            (
                r#"{"messages":[{"role":"user","content":[{"text":"a","cachePoint":{"type":"default"}}]}]}"#,
                "Converse body: messages[0].content[0].cachePoint: only text content blocks are supported",
            ),
            (
                r#"{"messages":[],"toolConfig":{"tools":[]}}"#,
                "Converse body: toolConfig: not supported here (only system, messages, inferenceConfig, additionalModelRequestFields)",
            ),
            (
                r#"{"messages":[{"role":"system","content":[{"text":"a"}]}]}"#,
                "Converse body: messages[0].role: must be \"user\" or \"assistant\", got \"system\"",
            ),
            (
                r#"{"messages":[{"role":"user"}]}"#,
                "Converse body: messages[0].content: missing",
            ),
            (
                r#"{"messages":[{"role":"user","content":"hi"}]}"#,
                "Converse body: messages[0].content: must be an array, got a string",
            ),
            (
                r#"{"messages":[{"role":"user","content":[{}]}]}"#,
                "Converse body: messages[0].content[0]: an empty content block (expected {\"text\": ...})",
            ),
            (
                r#"{"messages":[{"role":"user","content":[{"text":7}]}]}"#,
                "Converse body: messages[0].content[0].text: must be a string, got a number",
            ),
            (
                r#"{"inferenceConfig":{"maxTokens":"512"}}"#,
                "Converse body: inferenceConfig.maxTokens: must be an integer, got \"512\"",
            ),
            (
                r#"{"inferenceConfig":{"maxTokens":512,"max_new_tokens":5}}"#,
                "Converse body: inferenceConfig.max_new_tokens: not supported here (only maxTokens, temperature, topP, stopSequences)",
            ),
            (
                r#"{"inferenceConfig":{"maxTokens":99999999999}}"#,
                "Converse body: inferenceConfig.maxTokens: 99999999999 is out of range",
            ),
            (
                r#"{"additionalModelRequestFields":[1]}"#,
                "Converse body: additionalModelRequestFields: must be an object, got an array",
            ),
            ("[]", "Converse body: must be a JSON object, got an array"),
        ];
        for (body, want) in cases {
            assert_eq!(refused(body), want, "{body}");
        }
        assert!(refused("{").starts_with("Converse body: not valid JSON ("));
    }

    #[tokio::test]
    async fn a_refused_body_sends_nothing() {
        let (client, seen) = fake(200, None, b"{}");
        let body = br#"{"messages":[{"role":"user","content":[{"document":{}}]}]}"#;
        let err = client.converse(MODEL, body).await.unwrap_err();
        assert!(
            matches!(err, Error::InvalidInput(ref m) if m.contains("messages[0].content[0].document")),
            "{err}"
        );
        let err = client
            .count_tokens(MODEL, body.to_vec(), true)
            .await
            .unwrap_err();
        assert!(matches!(err, Error::InvalidInput(_)), "{err}");
        assert!(seen.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_response_block_it_cannot_render_is_an_error_naming_it() {
        let resp = json!({
            "output": {"message": {"role": "assistant", "content": [
                {"text": "a"},
                {"toolUse": {"toolUseId": "t1", "name": "f", "input": {}}}
            ]}},
            "stopReason": "tool_use",
            "usage": {"inputTokens": 1, "outputTokens": 1, "totalTokens": 2},
            "metrics": {"latencyMs": 1}
        });
        let (client, _) = fake(200, None, resp.to_string().as_bytes());
        match client.converse(MODEL, body().to_string().as_bytes()).await {
            Err(Error::Aws { code, message, .. }) => {
                assert_eq!(code, "UnsupportedResponse");
                assert!(
                    message.contains("output.message.content[1] is a toolUse block"),
                    "{message}"
                );
            }
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn invoke_model_sends_and_returns_bodies_unchanged() {
        // Bytes as the model wrote them: spacing and key order are not normalised.
        let answer =
            b"{\"content\":[{\"type\":\"text\",\"text\":\"hi\"}],  \"usage\":{\"input_tokens\":3}}";
        let (client, seen) = fake(200, None, answer);
        let body = br#"{"anthropic_version":"bedrock-2023-05-31","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}"#;
        let out = client.invoke_model(MODEL, body.to_vec()).await.unwrap();
        assert_eq!(out, answer);
        let sent = one(&seen);
        assert_eq!(sent.method, "POST");
        assert!(
            sent.uri
                .ends_with("/model/us.anthropic.claude-haiku-4-5-20251001-v1%3A0/invoke"),
            "{}",
            sent.uri
        );
        assert_eq!(sent.content_type.as_deref(), Some(JSON));
        assert_eq!(sent.accept.as_deref(), Some(JSON));
        assert_eq!(sent.body, body);
    }

    #[tokio::test]
    async fn count_tokens_sends_either_input() {
        let (client, seen) = fake(200, None, br#"{"inputTokens":42}"#);
        let invoke = br#"{"anthropic_version":"bedrock-2023-05-31","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}"#;
        assert_eq!(
            client
                .count_tokens(MODEL, invoke.to_vec(), false)
                .await
                .unwrap(),
            42
        );
        assert_eq!(
            client
                .count_tokens(MODEL, body().to_string().into_bytes(), true)
                .await
                .unwrap(),
            42
        );
        let seen = seen.lock().unwrap().clone();
        assert_eq!(seen.len(), 2);
        for s in &seen {
            assert_eq!(s.method, "POST");
            assert!(
                s.uri
                    .ends_with("/model/us.anthropic.claude-haiku-4-5-20251001-v1%3A0/count-tokens"),
                "{}",
                s.uri
            );
        }
        // InvokeModel: the body as a blob (base64 in JSON).
        assert_eq!(
            seen[0].json(),
            json!({"input": {"invokeModel": {"body": aws_smithy_types::base64::encode(invoke)}}})
        );
        // Converse: the typed body, without inferenceConfig (not part of the count).
        let mut want = body();
        want.as_object_mut().unwrap().remove("inferenceConfig");
        assert_eq!(seen[1].json(), json!({"input": {"converse": want}}));
    }

    #[tokio::test]
    async fn runtime_errors_keep_their_codes() {
        for (status, code) in [
            (400, "ValidationException"),
            (429, "ThrottlingException"),
            (408, "ModelTimeoutException"),
            (424, "ModelErrorException"),
            (429, "ModelNotReadyException"),
            (503, "ServiceUnavailableException"),
            (500, "InternalServerException"),
            (403, "AccessDeniedException"),
            (404, "ResourceNotFoundException"),
            (400, "ServiceQuotaExceededException"),
        ] {
            let (client, _) = fake(status, Some(code), br#"{"message":"what went wrong"}"#);
            let results = [
                client.invoke_model(MODEL, b"{}".to_vec()).await.map(|_| ()),
                client
                    .converse(MODEL, body().to_string().as_bytes())
                    .await
                    .map(|_| ()),
                client
                    .count_tokens(MODEL, b"{}".to_vec(), false)
                    .await
                    .map(|_| ()),
            ];
            for (op, r) in ["InvokeModel", "Converse", "CountTokens"]
                .iter()
                .zip(results)
            {
                match r {
                    Err(Error::Aws {
                        code: got,
                        message,
                        hint,
                    }) => {
                        assert_eq!(got, code);
                        assert_eq!(message, format!("{op} {MODEL}: what went wrong"));
                        assert!(!hint.is_empty(), "{code}: no hint");
                    }
                    other => panic!("{op} {code}: {other:?}"),
                }
            }
        }
    }

    #[test]
    fn documents_round_trip() {
        let v = json!({"a": [0, u64::MAX, i64::MIN, 0.1, 1e300], "b": {"c": null, "d": false, "e": "é"}});
        assert_eq!(from_document(&to_document(&v)), v);
    }
}
