//! Bedrock runtime: InvokeModel, Converse and CountTokens, one request at a time (the Converse
//! bodies are mapped in `converse.rs`).

use aws_sdk_bedrockruntime::primitives::Blob;
use aws_sdk_bedrockruntime::types::{
    ConverseTokensRequest, CountTokensInput, InvokeModelTokensRequest,
};

use super::converse::{converse_response_json, ConverseBody};
use super::{sdk_error, Client};
use crate::error::Error;

const JSON: &str = "application/json";

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
    use aws_sdk_bedrockruntime::types::{ContentBlock, ConversationRole, SystemContentBlock};
    use aws_smithy_runtime_api::client::http::{
        http_client_fn, HttpConnector, HttpConnectorFuture, SharedHttpConnector,
    };
    use aws_smithy_types::body::SdkBody;
    use serde_json::{json, Value};

    use super::super::converse::{from_document, to_document};
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
