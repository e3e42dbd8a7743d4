//! Times the clean stage on a JSONL corpus without Python: `cargo run --release --example
//! clean_corpus -- ../shared/corpus/articles.jsonl [repeat]`.
use std::time::Instant;

use _core::clean::{clean, Format, Options};

fn field(line: &str, key: &str) -> Option<String> {
    // Tiny JSON string reader for the corpus lines: good enough for a timing harness.
    let pat = format!("\"{key}\": \"");
    let start = line.find(&pat)? + pat.len();
    let mut out = String::new();
    let mut chars = line[start..].chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => return Some(out),
            '\\' => match chars.next()? {
                'n' => out.push('\n'),
                't' => out.push('\t'),
                'r' => out.push('\r'),
                'u' => {
                    let hex: String = chars.by_ref().take(4).collect();
                    let mut cp = u32::from_str_radix(&hex, 16).ok()?;
                    if (0xd800..0xdc00).contains(&cp) {
                        chars.next();
                        chars.next();
                        let lo: String = chars.by_ref().take(4).collect();
                        let lo = u32::from_str_radix(&lo, 16).ok()?;
                        cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                    }
                    out.push(char::from_u32(cp).unwrap_or('\u{fffd}'));
                }
                other => out.push(other),
            },
            c => out.push(c),
        }
    }
    None
}

fn main() {
    let mut args = std::env::args().skip(1);
    let path = args.next().expect("path to articles.jsonl");
    let repeat: usize = args.next().map_or(5, |r| r.parse().expect("repeat"));
    let text = std::fs::read_to_string(&path).expect("read corpus");
    let html: Vec<String> = text
        .lines()
        .filter(|l| l.contains("\"format\": \"html\""))
        .filter_map(|l| field(l, "content"))
        .collect();
    let bytes: usize = html.iter().map(String::len).sum();
    let opts = Options {
        max_chars: Some(50_000),
        ..Options::default()
    };
    let t = Instant::now();
    let mut out = 0;
    for _ in 0..repeat {
        for h in &html {
            out += clean(h, Format::Html, &opts).len();
        }
    }
    let secs = t.elapsed().as_secs_f64();
    println!(
        "{} docs, {:.1} MB x{repeat}: {:.3} s, {:.1} MB/s one thread ({out} bytes out)",
        html.len(),
        bytes as f64 / 1e6,
        secs,
        (bytes * repeat) as f64 / 1e6 / secs
    );
}
