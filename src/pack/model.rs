//! Model families, model ids (foundation models, inference profiles, ARNs) and their limits.

use std::fmt;
use std::str::FromStr;

use crate::error::Error;

/// The request-body family of a model.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Family {
    /// Anthropic Claude, Messages API (`anthropic_version: "bedrock-2023-05-31"`).
    Claude,
    /// Amazon Nova, native messages schema.
    Nova,
    /// Amazon Titan text embeddings (`inputText`).
    TitanEmbed,
    /// Meta Llama 3.x (`prompt` with the Llama 3 chat template).
    Llama3,
    /// Meta Llama 4 (`prompt` with the Llama 4 chat template).
    Llama4,
}

impl Family {
    pub const ALL: [Family; 5] = [
        Family::Claude,
        Family::Nova,
        Family::TitanEmbed,
        Family::Llama3,
        Family::Llama4,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Family::Claude => "claude",
            Family::Nova => "nova",
            Family::TitanEmbed => "titan-embed",
            Family::Llama3 => "llama3",
            Family::Llama4 => "llama4",
        }
    }

    fn known() -> String {
        Family::ALL.map(Family::name).join(", ")
    }
}

impl fmt::Display for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Family {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        Family::ALL
            .into_iter()
            .find(|f| f.name() == s.to_ascii_lowercase())
            .ok_or_else(|| {
                Error::InvalidArgument(format!(
                    "unknown model family {s:?}; known families: {}",
                    Family::known()
                ))
            })
    }
}

/// How the job invokes the model: the native body (`InvokeModel`) or the Converse API body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Invocation {
    Invoke,
    Converse,
}

impl Invocation {
    /// Reads an invocation option: `"invoke"` (or `"invokemodel"`) or `"converse"`, any case;
    /// `"auto"` (the model's default, which is Invoke) is `None`.
    pub fn parse_option(s: &str) -> Result<Option<Invocation>, Error> {
        match s.to_ascii_lowercase().as_str() {
            "auto" => Ok(None),
            "invoke" | "invokemodel" => Ok(Some(Invocation::Invoke)),
            "converse" => Ok(Some(Invocation::Converse)),
            other => Err(Error::InvalidArgument(format!(
                "invocation must be \"auto\", \"invoke\" or \"converse\", got {other:?}"
            ))),
        }
    }

    /// The `modelInvocationType` value of CreateModelInvocationJob.
    pub fn api_name(self) -> &'static str {
        match self {
            Invocation::Invoke => "InvokeModel",
            Invocation::Converse => "Converse",
        }
    }
}

/// What the library knows of a model.
#[derive(Clone, Debug, PartialEq)]
pub struct ModelInfo {
    /// The id as given (model id, inference-profile id or ARN): what the job is created with.
    pub id: String,
    /// The foundation-model id inside it, without region prefix or ARN.
    pub base: String,
    pub family: Family,
    /// Largest `max_tokens` the model accepts, where known.
    pub max_output_tokens: Option<u64>,
    /// Context window (input + output tokens), where known.
    pub context_tokens: Option<u64>,
    /// Claude Sonnet 4.5 and Haiku 4.5 reject `temperature` and `top_p` together.
    pub exclusive_sampling: bool,
}

/// Geographic prefixes of cross-Region inference profiles.
const GEO_PREFIXES: [&str; 9] = [
    "us.", "eu.", "apac.", "global.", "us-gov.", "ca.", "jp.", "au.", "apne.",
];

/// The foundation-model id inside a model id, inference-profile id or ARN:
/// `arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-haiku-4-5-20251001-v1:0`
/// and `us.anthropic.claude-haiku-4-5-20251001-v1:0` both give
/// `anthropic.claude-haiku-4-5-20251001-v1:0`.
pub fn base_model_id(model: &str) -> &str {
    let mut id = model.trim();
    if id.starts_with("arn:") {
        // arn:partition:bedrock:region:account:resource-type/resource-id
        if let Some(pos) = id.find('/') {
            id = &id[pos + 1..];
        }
    }
    for p in GEO_PREFIXES {
        if let Some(rest) = id.strip_prefix(p) {
            return rest;
        }
    }
    id
}

/// (prefix, max output tokens, context window, exclusive sampling). Longest prefix wins.
/// Sources: Bedrock model cards and Anthropic's model overview (read 2026-11); Nova's `maxTokens`
/// limit from the Nova request schema ("equal or less than 5k").
const LIMITS: &[(&str, Option<u64>, Option<u64>, bool)] = &[
    (
        "anthropic.claude-haiku-4-5",
        Some(64_000),
        Some(200_000),
        true,
    ),
    (
        "anthropic.claude-sonnet-4-5",
        Some(64_000),
        Some(200_000),
        true,
    ),
    (
        "anthropic.claude-sonnet-4",
        Some(64_000),
        Some(200_000),
        false,
    ),
    (
        "anthropic.claude-opus-4",
        Some(32_000),
        Some(200_000),
        false,
    ),
    (
        "anthropic.claude-3-7-sonnet",
        Some(64_000),
        Some(200_000),
        false,
    ),
    (
        "anthropic.claude-3-5-sonnet",
        Some(8_192),
        Some(200_000),
        false,
    ),
    (
        "anthropic.claude-3-5-haiku",
        Some(8_192),
        Some(200_000),
        false,
    ),
    (
        "anthropic.claude-3-haiku",
        Some(4_096),
        Some(200_000),
        false,
    ),
    ("anthropic.claude", None, Some(200_000), false),
    ("amazon.nova-micro", Some(5_000), Some(128_000), false),
    ("amazon.nova-lite", Some(5_000), Some(300_000), false),
    ("amazon.nova-pro", Some(5_000), Some(300_000), false),
    ("amazon.titan-embed-text-v2", None, Some(8_192), false),
    ("amazon.titan-embed-text-v1", None, Some(8_192), false),
    ("meta.llama3-1", Some(2_048), Some(128_000), false),
    ("meta.llama3-2", Some(2_048), Some(128_000), false),
    ("meta.llama3-3", Some(2_048), Some(128_000), false),
    ("meta.llama3-8b", Some(2_048), Some(8_192), false),
    ("meta.llama3-70b", Some(2_048), Some(8_192), false),
];

fn family_of(base: &str) -> Option<Family> {
    if base.starts_with("anthropic.claude") {
        Some(Family::Claude)
    } else if base.starts_with("amazon.nova") {
        Some(Family::Nova)
    } else if base.starts_with("amazon.titan-embed-text") {
        Some(Family::TitanEmbed)
    } else if base.starts_with("meta.llama4") {
        Some(Family::Llama4)
    } else if base.starts_with("meta.llama3") {
        Some(Family::Llama3)
    } else {
        None
    }
}

/// Resolves a model id (or inference profile, or ARN) to its family and limits. `family`
/// overrides the inference, e.g. for an application inference profile whose id names no model.
pub fn model_info(model: &str, family: Option<Family>) -> Result<ModelInfo, Error> {
    let base = base_model_id(model);
    if model.trim().is_empty() {
        return Err(Error::InvalidArgument("model must not be empty".into()));
    }
    let Some(family) = family.or_else(|| family_of(base)) else {
        return Err(Error::InvalidArgument(format!(
            "unknown model {model:?}: cannot tell its request format; known families: {} \
             (pass family= to choose one)",
            Family::known()
        )));
    };
    let limits = LIMITS
        .iter()
        .filter(|(p, ..)| base.starts_with(p))
        .max_by_key(|(p, ..)| p.len());
    Ok(ModelInfo {
        id: model.trim().to_string(),
        base: base.to_string(),
        family,
        max_output_tokens: limits.and_then(|l| l.1),
        context_tokens: limits.and_then(|l| l.2),
        exclusive_sampling: limits.is_some_and(|l| l.3),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invocation_options() {
        assert_eq!(Invocation::parse_option("AUTO").unwrap(), None);
        assert_eq!(
            Invocation::parse_option("InvokeModel").unwrap(),
            Some(Invocation::Invoke)
        );
        assert_eq!(
            Invocation::parse_option("converse").unwrap(),
            Some(Invocation::Converse)
        );
        let err = Invocation::parse_option("stream").unwrap_err().to_string();
        assert!(err.contains("\"stream\""), "{err}");
    }

    #[test]
    fn ids_profiles_and_arns() {
        for id in [
            "anthropic.claude-haiku-4-5-20251001-v1:0",
            "us.anthropic.claude-haiku-4-5-20251001-v1:0",
            "global.anthropic.claude-haiku-4-5-20251001-v1:0",
            "apac.anthropic.claude-haiku-4-5-20251001-v1:0",
            "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-haiku-4-5-20251001-v1:0",
            "arn:aws:bedrock:us-east-1:123456789012:inference-profile/eu.anthropic.claude-haiku-4-5-20251001-v1:0",
        ] {
            let m = model_info(id, None).unwrap();
            assert_eq!(m.base, "anthropic.claude-haiku-4-5-20251001-v1:0", "{id}");
            assert_eq!(m.family, Family::Claude);
            assert_eq!(m.max_output_tokens, Some(64_000));
            assert!(m.exclusive_sampling);
        }
        assert_eq!(
            model_info("us.amazon.nova-lite-v1:0", None).unwrap().family,
            Family::Nova
        );
        assert_eq!(
            model_info("amazon.titan-embed-text-v2:0", None)
                .unwrap()
                .family,
            Family::TitanEmbed
        );
        assert_eq!(
            model_info("us.meta.llama3-3-70b-instruct-v1:0", None)
                .unwrap()
                .family,
            Family::Llama3
        );
        assert_eq!(
            model_info("us.meta.llama4-scout-17b-instruct-v1:0", None)
                .unwrap()
                .family,
            Family::Llama4
        );
    }

    #[test]
    fn unknown_model_lists_families() {
        let err = model_info("cohere.command-r-v1:0", None)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("claude, nova, titan-embed, llama3, llama4"),
            "{err}"
        );
        let app = "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc123";
        assert_eq!(
            model_info(app, Some(Family::Claude)).unwrap().family,
            Family::Claude
        );
    }
}
