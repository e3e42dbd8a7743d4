//! Prices per model and the arithmetic of batch against on-demand cost.

/// On-demand price of a model, US dollars per million tokens.
#[derive(Clone, Debug, PartialEq)]
pub struct Price {
    /// Model id prefix this price applies to (matched after region and ARN prefixes are removed).
    pub model: &'static str,
    pub input_per_mtok: f64,
    pub output_per_mtok: f64,
    /// Where the figure comes from, and when it was read.
    pub source: &'static str,
}

/// Batch inference costs this fraction of on-demand (AWS: "50% cost savings vs on-demand" for the
/// models that support batch).
pub const BATCH_FACTOR: f64 = 0.5;

const ANTHROPIC: &str = "Anthropic model pricing (platform.claude.com), read 2026-11";
const AWS_2025: &str = "Amazon Bedrock pricing page as quoted by public listings, read 2026-11 (unverified: override with prices=)";

/// The shipped price table; `prices=` overrides it. Longest matching prefix wins.
pub const PRICES: &[Price] = &[
    Price {
        model: "anthropic.claude-haiku-4-5",
        input_per_mtok: 1.0,
        output_per_mtok: 5.0,
        source: ANTHROPIC,
    },
    Price {
        model: "anthropic.claude-sonnet-4-5",
        input_per_mtok: 3.0,
        output_per_mtok: 15.0,
        source: ANTHROPIC,
    },
    Price {
        model: "anthropic.claude-sonnet-4",
        input_per_mtok: 3.0,
        output_per_mtok: 15.0,
        source: ANTHROPIC,
    },
    Price {
        model: "anthropic.claude-opus-4",
        input_per_mtok: 15.0,
        output_per_mtok: 75.0,
        source: ANTHROPIC,
    },
    Price {
        model: "anthropic.claude-3-7-sonnet",
        input_per_mtok: 3.0,
        output_per_mtok: 15.0,
        source: ANTHROPIC,
    },
    Price {
        model: "anthropic.claude-3-5-sonnet",
        input_per_mtok: 3.0,
        output_per_mtok: 15.0,
        source: ANTHROPIC,
    },
    Price {
        model: "anthropic.claude-3-5-haiku",
        input_per_mtok: 0.8,
        output_per_mtok: 4.0,
        source: ANTHROPIC,
    },
    Price {
        model: "anthropic.claude-3-haiku",
        input_per_mtok: 0.25,
        output_per_mtok: 1.25,
        source: ANTHROPIC,
    },
    Price {
        model: "amazon.nova-micro",
        input_per_mtok: 0.035,
        output_per_mtok: 0.14,
        source: AWS_2025,
    },
    Price {
        model: "amazon.nova-lite",
        input_per_mtok: 0.06,
        output_per_mtok: 0.24,
        source: AWS_2025,
    },
    Price {
        model: "amazon.nova-pro",
        input_per_mtok: 0.8,
        output_per_mtok: 3.2,
        source: AWS_2025,
    },
    Price {
        model: "amazon.titan-embed-text-v2",
        input_per_mtok: 0.02,
        output_per_mtok: 0.0,
        source: AWS_2025,
    },
    Price {
        model: "meta.llama3-1-8b",
        input_per_mtok: 0.22,
        output_per_mtok: 0.22,
        source: AWS_2025,
    },
    Price {
        model: "meta.llama3-1-70b",
        input_per_mtok: 0.72,
        output_per_mtok: 0.72,
        source: AWS_2025,
    },
    Price {
        model: "meta.llama3-3-70b",
        input_per_mtok: 0.72,
        output_per_mtok: 0.72,
        source: AWS_2025,
    },
];

/// The shipped price of a model (a bare model id; see [`crate::pack::base_model_id`]).
pub fn price_of(base_model: &str) -> Option<&'static Price> {
    PRICES
        .iter()
        .filter(|p| base_model.starts_with(p.model))
        .max_by_key(|p| p.model.len())
}

/// Cost of a token count, dollars.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Cost {
    pub input: f64,
    pub output: f64,
}

impl Cost {
    pub fn total(&self) -> f64 {
        self.input + self.output
    }
}

/// On-demand and batch cost of `input` and `output` tokens at `price` (per million tokens).
pub fn cost(input: u64, output: u64, input_per_mtok: f64, output_per_mtok: f64) -> (Cost, Cost) {
    let on_demand = Cost {
        input: input as f64 / 1e6 * input_per_mtok,
        output: output as f64 / 1e6 * output_per_mtok,
    };
    let batch = Cost {
        input: on_demand.input * BATCH_FACTOR,
        output: on_demand.output * BATCH_FACTOR,
    };
    (on_demand, batch)
}

/// The prices an estimate used: dollars per million tokens on demand, and where they are from.
#[derive(Clone, Debug, PartialEq)]
pub struct UsedPrice {
    pub input_per_mtok: f64,
    pub output_per_mtok: f64,
    pub source: String,
}

/// What a job or run costs: its tokens and, when a price is known, on-demand and batch cost.
#[derive(Clone, Debug, PartialEq)]
pub struct Estimate {
    pub model: String,
    pub records: usize,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub price: Option<UsedPrice>,
    pub on_demand: Option<Cost>,
    pub batch: Option<Cost>,
}

impl Estimate {
    /// On-demand minus batch cost.
    pub fn saving(&self) -> Option<f64> {
        Some(self.on_demand?.total() - self.batch?.total())
    }
}

/// The estimate for `model` (a bare model id) at `prices` (input, output; dollars per million
/// tokens on demand) or else the shipped table's price; without either, tokens only.
pub fn estimate(
    model: &str,
    records: usize,
    input_tokens: u64,
    output_tokens: u64,
    prices: Option<(f64, f64)>,
) -> Estimate {
    let price = match prices {
        Some((input_per_mtok, output_per_mtok)) => Some(UsedPrice {
            input_per_mtok,
            output_per_mtok,
            source: "given".into(),
        }),
        None => price_of(model).map(|p| UsedPrice {
            input_per_mtok: p.input_per_mtok,
            output_per_mtok: p.output_per_mtok,
            source: p.source.into(),
        }),
    };
    let costs = price.as_ref().map(|p| {
        cost(
            input_tokens,
            output_tokens,
            p.input_per_mtok,
            p.output_per_mtok,
        )
    });
    Estimate {
        model: model.into(),
        records,
        input_tokens,
        output_tokens,
        price,
        on_demand: costs.map(|c| c.0),
        batch: costs.map(|c| c.1),
    }
}

/// The output tokens to expect from `records` records: `per_record` when given, else
/// `max_tokens` each (an upper bound); embeddings answer with no tokens.
pub fn output_tokens(
    family: crate::pack::Family,
    records: usize,
    per_record: Option<u64>,
    max_tokens: u64,
) -> u64 {
    if family == crate::pack::Family::TitanEmbed {
        0
    } else {
        per_record.unwrap_or(max_tokens) * records as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn estimates_price_by_table_or_given() {
        let e = estimate(
            "anthropic.claude-haiku-4-5-20251001-v1:0",
            10,
            2_000_000,
            400_000,
            None,
        );
        let p = e.price.clone().unwrap();
        assert_eq!((p.input_per_mtok, p.output_per_mtok), (1.0, 5.0));
        assert!((e.on_demand.unwrap().total() - 4.0).abs() < 1e-9);
        assert!((e.batch.unwrap().total() - 2.0).abs() < 1e-9);
        assert!((e.saving().unwrap() - 2.0).abs() < 1e-9);
        let given = estimate("cohere.command", 1, 1_000_000, 0, Some((3.0, 15.0)));
        assert_eq!(given.price.unwrap().source, "given");
        assert!((given.on_demand.unwrap().total() - 3.0).abs() < 1e-9);
        let unknown = estimate("cohere.command", 1, 1_000_000, 0, None);
        assert!(unknown.price.is_none() && unknown.batch.is_none() && unknown.saving().is_none());
        assert_eq!(unknown.input_tokens, 1_000_000);
    }

    #[test]
    fn output_tokens_per_family() {
        use crate::pack::Family;
        assert_eq!(output_tokens(Family::Claude, 3, None, 512), 1536);
        assert_eq!(output_tokens(Family::Claude, 3, Some(100), 512), 300);
        assert_eq!(output_tokens(Family::TitanEmbed, 3, Some(100), 512), 0);
    }

    #[test]
    fn production_run_reproduces() {
        let (od, batch) = cost(28_385_402, 8_044_345, 0.80, 4.00);
        assert_eq!(
            format!("{:.2} {:.2} {:.2}", od.input, od.output, od.total()),
            "22.71 32.18 54.89"
        );
        assert_eq!(format!("{:.2}", batch.total()), "27.44");
    }

    #[test]
    fn longest_prefix() {
        assert_eq!(
            price_of("anthropic.claude-sonnet-4-5-20250929-v1:0").map(|p| p.input_per_mtok),
            Some(3.0)
        );
        assert_eq!(
            price_of("anthropic.claude-haiku-4-5-20251001-v1:0").map(|p| p.output_per_mtok),
            Some(5.0)
        );
        assert!(price_of("cohere.command").is_none());
    }
}
