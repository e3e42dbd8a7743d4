//! Each hand-written fast path against the maintained crate doing the same job, on the corpus,
//! in one process, on 1 and 2 threads. Where the path is part of a stage, the stage itself is
//! timed too and the table says what the stage would take with the crate instead.
//!
//!   cargo run --release --manifest-path benches/rust/Cargo.toml -- [CORPUS] [REPEAT]

use std::borrow::Cow;
use std::cell::Cell;
use std::rc::Rc;
use std::time::Instant;

use bedrock_batch::{clean, collect, pack, simd, tape::Tape, unicode::Text, validate};
use rayon::prelude::*;
use serde::Deserialize;

struct Article {
    content: String,
    format: String,
}

fn load(path: &str) -> Vec<Article> {
    let text = std::fs::read_to_string(path).expect("corpus");
    text.lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("corpus line");
            Article {
                content: v["content"].as_str().unwrap_or_default().to_owned(),
                format: v["format"].as_str().unwrap_or_default().to_owned(),
            }
        })
        .collect()
}

/// The median of `repeat` timings of `f` (after one warm-up), in seconds.
fn time<R>(repeat: usize, mut f: impl FnMut() -> R) -> f64 {
    std::hint::black_box(f());
    let mut t: Vec<f64> = (0..repeat)
        .map(|_| {
            let start = Instant::now();
            std::hint::black_box(f());
            start.elapsed().as_secs_f64()
        })
        .collect();
    t.sort_by(f64::total_cmp);
    t[t.len() / 2]
}

fn pools() -> Vec<(usize, rayon::ThreadPool)> {
    [1, 2]
        .into_iter()
        .map(|n| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(n)
                .build()
                .unwrap();
            (n, pool)
        })
        .collect()
}

fn row(name: &str, secs: &[f64], base: &[f64]) {
    let cells: Vec<String> = secs
        .iter()
        .zip(base)
        .map(|(s, b)| format!("{:.3} s ({:.2}x)", s, s / b))
        .collect();
    println!("| {name} | {} |", cells.join(" | "));
}

// ---- clean: the streaming extractor, the lol_html cleaner, bare lol_html text handlers ----

/// lol_html's text-chunk handler on the original page, skipping script/style text: the least a
/// lol_html cleaner does (no separators, images, entities or WordPress handling).
fn lol_text(html: &str) -> String {
    use lol_html::{doc_text, text, HtmlRewriter, Settings};
    let out = Rc::new(std::cell::RefCell::new(String::with_capacity(
        html.len() / 3,
    )));
    let skip = Rc::new(Cell::new(false));
    {
        let (o, s1, s2) = (Rc::clone(&out), Rc::clone(&skip), Rc::clone(&skip));
        let settings = Settings::new()
            .append_element_content_handler(text!("script, style, noscript, template", move |_| {
                s1.set(true);
                Ok(())
            }))
            .append_document_content_handler(doc_text!(move |t| {
                if !s2.replace(false) {
                    o.borrow_mut().push_str(t.as_str());
                }
                Ok(())
            }));
        let mut rw = HtmlRewriter::new(settings, |_: &[u8]| {});
        rw.write(html.as_bytes()).unwrap();
        rw.end().unwrap();
    }
    Rc::try_unwrap(out).unwrap().into_inner()
}

fn bench_clean(html: &[&str], repeat: usize) {
    let opts = clean::Options::default();
    let mb = html.iter().map(|d| d.len()).sum::<usize>() as f64 / 1e6;
    let bare = |s: String| s.split_whitespace().collect::<String>();
    let same = |slim: bool| {
        html.iter()
            .filter(|d| {
                bare(clean::clean_html(d, &opts)) == bare(clean::clean_html_lol(d, &opts, slim))
            })
            .count()
    };
    println!(
        "\n### clean: {} HTML documents, {mb:.1} MB (the same text, whitespace aside: {} and {} of {})\n",
        html.len(),
        same(true),
        same(false),
        html.len()
    );
    println!("| engine | 1 thread | 2 threads |\n|---|---|---|");
    let mut runs: Vec<(&str, Vec<f64>)> = vec![];
    for (name, f) in [
        (
            "streaming extractor (ours)",
            clean::clean_html as fn(&str, &clean::Options) -> String,
        ),
        (
            "lol_html on a slim copy (the former cleaner)",
            |d: &str, o: &clean::Options| clean::clean_html_lol(d, o, true),
        ),
        (
            "lol_html on the page (the tests' oracle)",
            |d: &str, o: &clean::Options| clean::clean_html_lol(d, o, false),
        ),
        (
            "lol_html text handlers only",
            |d: &str, _: &clean::Options| lol_text(d),
        ),
    ] {
        let t = pools()
            .iter()
            .map(|(_, p)| {
                p.install(|| {
                    time(repeat, || {
                        html.par_iter().map(|d| f(d, &opts)).collect::<Vec<_>>()
                    })
                })
            })
            .collect();
        runs.push((name, t));
    }
    for (name, t) in &runs {
        row(name, t, &runs[0].1);
    }
}

// ---- pack: our transcoders vs simdutf then the UTF-8 escape pass ----

/// A string as CPython stores it: one, two or four bytes a code point by its widest character.
enum Stored {
    Latin1(Vec<u8>),
    Ucs2(Vec<u16>),
    Ucs4(Vec<u32>),
}

fn stored(s: &str) -> Stored {
    match s.chars().map(u32::from).max().unwrap_or(0) {
        0..=0xff => Stored::Latin1(s.chars().map(|c| c as u8).collect()),
        0x100..=0xffff => Stored::Ucs2(s.chars().map(|c| c as u16).collect()),
        _ => Stored::Ucs4(s.chars().map(u32::from).collect()),
    }
}

fn text(s: &Stored) -> Text<'_> {
    match s {
        Stored::Latin1(b) => Text::Latin1(b),
        Stored::Ucs2(b) => Text::Ucs2(b),
        Stored::Ucs4(b) => Text::Ucs4(b),
    }
}

/// simdutf's transcoding of a stored string to UTF-8.
fn simdutf_utf8(s: &Stored) -> String {
    let mut out: Vec<u8>;
    // SAFETY: `out` has room for the UTF-8 length simdutf computes for the same input, and the
    // inputs are valid (made from a `&str`), so what it writes is UTF-8.
    unsafe {
        match s {
            Stored::Latin1(b) => {
                out = Vec::with_capacity(simdutf::utf8_length_from_latin1(b));
                let n = simdutf::convert_latin1_to_utf8(b.as_ptr(), b.len(), out.as_mut_ptr());
                out.set_len(n);
            }
            Stored::Ucs2(b) => {
                out = Vec::with_capacity(simdutf::utf8_length_from_utf16le(b));
                let n = simdutf::convert_utf16le_to_utf8(b.as_ptr(), b.len(), out.as_mut_ptr());
                out.set_len(n);
            }
            Stored::Ucs4(b) => {
                out = Vec::with_capacity(simdutf::utf8_length_from_utf32(b));
                let n = simdutf::convert_utf32_to_utf8(b.as_ptr(), b.len(), out.as_mut_ptr());
                out.set_len(n);
            }
        }
        String::from_utf8_unchecked(out)
    }
}

fn pack_jsonl(cells: Vec<Option<Text<'_>>>) -> Vec<u8> {
    let rows = cells.len();
    let table = pack::Table {
        columns: vec![pack::Column {
            name: "text".into(),
            values: cells,
        }],
        rows,
    };
    let prompt = pack::Prompt {
        system: Some(pack::Template::parse("You summarise technical articles.").unwrap()),
        user: pack::Template::parse("Summarise this article in three sentences:\n\n{text}")
            .unwrap(),
        settings: pack::Settings {
            max_tokens: 512,
            temperature: None,
            top_p: None,
            stop_sequences: vec![],
            prefill: None,
            extra: serde_json::Map::new(),
        },
    };
    let model = pack::model_info("anthropic.claude-3-haiku-20240307-v1:0", None).unwrap();
    let records = pack::pack(
        table,
        None,
        &prompt,
        &model,
        pack::Invocation::Invoke,
        &[],
        pack::Missing::Error,
    )
    .expect("pack");
    records.to_jsonl().expect("jsonl")
}

fn bench_pack(texts: &[String], repeat: usize) -> Vec<u8> {
    let stored: Vec<Stored> = texts.iter().map(|t| stored(t)).collect();
    let kinds = |k: fn(&Stored) -> bool| stored.iter().filter(|s| k(s)).count();
    println!(
        "\n### pack + write: {} records of cleaned text, {:.1} MB UTF-8 (Latin-1 {}, UCS-2 {}, UCS-4 {})\n",
        texts.len(),
        texts.iter().map(String::len).sum::<usize>() as f64 / 1e6,
        kinds(|s| matches!(s, Stored::Latin1(_))),
        kinds(|s| matches!(s, Stored::Ucs2(_))),
        kinds(|s| matches!(s, Stored::Ucs4(_))),
    );
    let ours = pack_jsonl(stored.iter().map(|s| Some(text(s))).collect());
    let theirs = {
        let utf8: Vec<String> = stored.iter().map(simdutf_utf8).collect();
        pack_jsonl(
            utf8.iter()
                .map(|s| Some(Text::Utf8(Cow::Borrowed(s))))
                .collect(),
        )
    };
    assert!(ours == theirs, "the two packs differ");
    println!("| path | 1 thread | 2 threads |\n|---|---|---|");
    let ps = pools();
    let a: Vec<f64> = ps
        .iter()
        .map(|(_, p)| {
            p.install(|| {
                time(repeat, || {
                    pack_jsonl(stored.iter().map(|s| Some(text(s))).collect())
                })
            })
        })
        .collect();
    let b: Vec<f64> = ps
        .iter()
        .map(|(_, p)| {
            p.install(|| {
                time(repeat, || {
                    let utf8: Vec<String> = stored.par_iter().map(simdutf_utf8).collect();
                    pack_jsonl(
                        utf8.iter()
                            .map(|s| Some(Text::Utf8(Cow::Borrowed(s))))
                            .collect(),
                    )
                })
            })
        })
        .collect();
    let transcode_ours: Vec<f64> = ps
        .iter()
        .map(|(_, p)| {
            p.install(|| {
                time(repeat, || {
                    stored
                        .par_iter()
                        .map(|s| text(s).utf8().len())
                        .sum::<usize>()
                })
            })
        })
        .collect();
    let transcode_simdutf: Vec<f64> = ps
        .iter()
        .map(|(_, p)| {
            p.install(|| {
                time(repeat, || {
                    stored
                        .par_iter()
                        .map(|s| simdutf_utf8(s).len())
                        .sum::<usize>()
                })
            })
        })
        .collect();
    row("stage, our transcoders in the pack (ours)", &a, &a);
    row("stage, simdutf to UTF-8 then the UTF-8 escape pass", &b, &a);
    row(
        "transcoding alone, ours (to UTF-8)",
        &transcode_ours,
        &transcode_ours,
    );
    row(
        "transcoding alone, simdutf",
        &transcode_simdutf,
        &transcode_ours,
    );
    ours
}

// ---- validate and collect: the tape vs serde_json (borrowed) and sonic-rs ----

#[derive(Deserialize)]
struct Block<'a> {
    #[serde(rename = "type", borrow)]
    _kind: Cow<'a, str>,
    #[serde(borrow, default)]
    text: Option<Cow<'a, str>>,
}

/// A value kept as its JSON text (validate counts long texts, it does not unescape them).
trait Raw {
    fn raw_len(&self) -> usize;
}

impl Raw for &serde_json::value::RawValue {
    fn raw_len(&self) -> usize {
        self.get().len()
    }
}

impl Raw for sonic_rs::LazyValue<'_> {
    fn raw_len(&self) -> usize {
        self.as_raw_str().len()
    }
}

#[derive(Deserialize)]
struct Message<'a, R> {
    #[serde(rename = "role", borrow)]
    _role: Cow<'a, str>,
    content: R,
}

#[derive(Deserialize)]
struct Body<'a, R> {
    #[serde(borrow)]
    messages: Vec<Message<'a, R>>,
    #[serde(default = "Option::default")]
    system: Option<R>,
    max_tokens: u64,
}

#[derive(Deserialize)]
struct InLine<'a, R> {
    #[serde(rename = "recordId", borrow)]
    record_id: Cow<'a, str>,
    #[serde(rename = "modelInput", borrow)]
    model_input: Body<'a, R>,
}

#[derive(Deserialize)]
struct Usage {
    input_tokens: u64,
    output_tokens: u64,
}

#[derive(Deserialize)]
struct Output<'a> {
    #[serde(borrow)]
    content: Vec<Block<'a>>,
    #[serde(borrow, default)]
    stop_reason: Option<Cow<'a, str>>,
    usage: Usage,
}

#[derive(Deserialize)]
struct OutLine<'a> {
    #[serde(rename = "recordId", borrow)]
    record_id: Cow<'a, str>,
    #[serde(rename = "modelOutput", borrow)]
    model_output: Output<'a>,
}

/// What validate reads of an input line: its id, max_tokens, and the length of each text.
fn in_tape(line: &str) -> usize {
    let tape = Tape::parse(line).expect("tape");
    let root = tape.root();
    let mut n = root
        .get("recordId")
        .and_then(|v| v.as_str())
        .map_or(0, |s| s.len());
    let input = root.get("modelInput").unwrap();
    n += input.get("system").map_or(0, |v| v.raw().len());
    n += input
        .get("max_tokens")
        .and_then(|v| v.as_u64())
        .unwrap_or(0) as usize;
    for m in input.get("messages").unwrap().items() {
        n += m.get("content").unwrap().raw().len();
    }
    n
}

fn in_serde<R: Raw>(line: InLine<'_, R>) -> usize {
    let mut n = line.record_id.len() + line.model_input.max_tokens as usize;
    n += line.model_input.system.map_or(0, |s| s.raw_len());
    n + line
        .model_input
        .messages
        .iter()
        .map(|m| m.content.raw_len())
        .sum::<usize>()
}

/// What collect reads of an output line: id, answer text, stop reason, token counts.
fn out_tape(line: &str) -> usize {
    let tape = Tape::parse(line).expect("tape");
    let root = tape.root();
    let mut n = root
        .get("recordId")
        .and_then(|v| v.as_str())
        .map_or(0, |s| s.len());
    let out = root.get("modelOutput").unwrap();
    for b in out.get("content").unwrap().items() {
        n += b
            .get("text")
            .and_then(|v| v.as_str())
            .map_or(0, |s| s.len());
    }
    n += out
        .get("stop_reason")
        .and_then(|v| v.as_str())
        .map_or(0, |s| s.len());
    let usage = out.get("usage").unwrap();
    n + (usage.get("input_tokens").and_then(|v| v.as_u64()).unwrap()
        + usage.get("output_tokens").and_then(|v| v.as_u64()).unwrap()) as usize
}

fn out_serde(line: OutLine<'_>) -> usize {
    let o = line.model_output;
    line.record_id.len()
        + o.content
            .iter()
            .map(|b| b.text.as_ref().map_or(0, |t| t.len()))
            .sum::<usize>()
        + o.stop_reason.map_or(0, |s| s.len())
        + (o.usage.input_tokens + o.usage.output_tokens) as usize
}

fn sonic_lazy(line: &str, tree: &sonic_rs::PointerTree, raw: bool) -> usize {
    use sonic_rs::JsonValueTrait;
    let found = sonic_rs::get_many(line, tree).expect("sonic");
    found
        .iter()
        .flatten()
        .map(|v| match v.as_u64() {
            Some(n) => n as usize,
            None if raw => v.as_raw_str().len(),
            None => v.as_str().map_or(0, str::len),
        })
        .sum()
}

fn parsers(
    title: &str,
    jsonl: &[u8],
    stage: &(dyn Fn() -> usize + Sync),
    input: bool,
    repeat: usize,
) {
    let text = std::str::from_utf8(jsonl).unwrap();
    let lines: Vec<&str> = text.lines().filter(|l| !l.is_empty()).collect();
    let mut tree = sonic_rs::PointerTree::new();
    if input {
        tree.add_path(["recordId"].iter());
        tree.add_path(["modelInput", "system"].iter());
        tree.add_path(["modelInput", "max_tokens"].iter());
        tree.add_path(&sonic_rs::pointer!["modelInput", "messages", 0, "content"]);
    } else {
        tree.add_path(["recordId"].iter());
        tree.add_path(&sonic_rs::pointer!["modelOutput", "content", 0, "text"]);
        tree.add_path(["modelOutput", "stop_reason"].iter());
        tree.add_path(["modelOutput", "usage", "input_tokens"].iter());
        tree.add_path(["modelOutput", "usage", "output_tokens"].iter());
    }
    let tape = |l: &&str| if input { in_tape(l) } else { out_tape(l) };
    let serde = |l: &&str| {
        if input {
            in_serde::<&serde_json::value::RawValue>(serde_json::from_str(l).expect("serde"))
        } else {
            out_serde(serde_json::from_str(l).expect("serde"))
        }
    };
    let sonic = |l: &&str| {
        if input {
            in_serde::<sonic_rs::LazyValue<'_>>(sonic_rs::from_str(l).expect("sonic"))
        } else {
            out_serde(sonic_rs::from_str(l).expect("sonic"))
        }
    };
    let lazy = |l: &&str| sonic_lazy(l, &tree, input);
    let a: usize = lines.iter().map(tape).sum();
    assert_eq!(
        a,
        lines.iter().map(serde).sum::<usize>(),
        "serde_json reads other values"
    );
    assert_eq!(
        a,
        lines.iter().map(sonic).sum::<usize>(),
        "sonic-rs reads other values"
    );
    println!(
        "\n### {title}: {} lines, {:.1} MB\n",
        lines.len(),
        jsonl.len() as f64 / 1e6
    );
    println!("| path | 1 thread | 2 threads |\n|---|---|---|");
    let ps = pools();
    let run = |f: &(dyn Fn(&&str) -> usize + Sync)| -> Vec<f64> {
        ps.iter()
            .map(|(_, p)| {
                p.install(|| {
                    time(repeat, || {
                        lines.par_iter().with_min_len(64).map(f).sum::<usize>()
                    })
                })
            })
            .collect()
    };
    let whole: Vec<f64> = ps
        .iter()
        .map(|(_, p)| p.install(|| time(repeat, stage)))
        .collect();
    let ours = run(&tape);
    let mut others: Vec<(&str, Vec<f64>)> = vec![
        ("serde_json, borrowed structs", run(&serde)),
        ("sonic-rs, borrowed structs", run(&sonic)),
    ];
    // get_many took 13x-250x the structs' time from one run to the next (not investigated).
    if std::env::var_os("LAZY").is_some() {
        others.push(("sonic-rs, lazy get_many", run(&lazy)));
    }
    row("the whole stage (ours)", &whole, &whole);
    row("parse + reads: the tape (ours)", &ours, &ours);
    for (name, t) in &others {
        row(name, t, &ours);
    }
    for (name, t) in &others {
        let est: Vec<f64> = whole
            .iter()
            .zip(&ours)
            .zip(t)
            .map(|((w, o), x)| w - o + x)
            .collect();
        row(&format!("the stage with {name} (estimated)"), &est, &whole);
    }
}

fn bench_utf8(jsonl: &[u8], validate_stage: &(dyn Fn() -> usize + Sync), repeat: usize) {
    let blocks: Vec<&[u8]> = jsonl.chunks(4 << 20).collect();
    println!(
        "\n### UTF-8 check: {:.1} MB of batch lines in 4 MB blocks\n",
        jsonl.len() as f64 / 1e6
    );
    println!("| path | 1 thread | 2 threads |\n|---|---|---|");
    let ps = pools();
    let run = |f: &(dyn Fn(&[u8]) -> bool + Sync)| -> Vec<f64> {
        ps.iter()
            .map(|(_, p)| {
                p.install(|| {
                    time(repeat, || {
                        // A block may end inside a character; each engine sees the same cut.
                        blocks.par_iter().filter(|b| f(b)).count()
                    })
                })
            })
            .collect()
    };
    let whole: Vec<f64> = ps
        .iter()
        .map(|(_, p)| p.install(|| time(repeat, validate_stage)))
        .collect();
    let ours = run(&simd::is_utf8);
    let others = [
        (
            "simdutf8::basic, called directly",
            run(&|b| simdutf8::basic::from_utf8(b).is_ok()),
        ),
        ("simdutf::validate_utf8", run(&simdutf::validate_utf8)),
        (
            "std::str::from_utf8",
            run(&|b| std::str::from_utf8(b).is_ok()),
        ),
    ];
    row("validate, the whole stage (ours)", &whole, &whole);
    row(
        "simd::is_utf8 (simdutf8 since the AVX-512 check went)",
        &ours,
        &ours,
    );
    for (name, t) in &others {
        row(name, t, &ours);
    }
    for (name, t) in &others[..1] {
        let est: Vec<f64> = whole
            .iter()
            .zip(&ours)
            .zip(t)
            .map(|((w, o), x)| w - o + x)
            .collect();
        row(&format!("validate with {name} (estimated)"), &est, &whole);
    }
}

/// Output lines as Bedrock writes them for the packed inputs: the input, then a short answer.
fn outputs(inputs: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(inputs.len() * 11 / 10);
    for (i, line) in inputs
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .enumerate()
    {
        let mut v: serde_json::Value = serde_json::from_slice(line).unwrap();
        let text = v["modelInput"]["messages"][0]["content"]
            .as_str()
            .unwrap_or_default();
        let answer: String = text.chars().skip(40).take(400).collect();
        v["modelOutput"] = serde_json::json!({
            "id": format!("msg_bdrk_{i:08}"), "type": "message", "role": "assistant",
            "model": "claude-3-haiku-20240307",
            "content": [{"type": "text", "text": answer}],
            "stop_reason": "end_turn", "stop_sequence": null,
            "usage": {"input_tokens": text.len() / 3 + 20, "output_tokens": answer.len() / 3 + 1}
        });
        serde_json::to_writer(&mut out, &v).unwrap();
        out.push(b'\n');
    }
    out
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let corpus = args
        .get(1)
        .map_or("../shared/corpus/articles.jsonl", String::as_str);
    let repeat: usize = args.get(2).and_then(|r| r.parse().ok()).unwrap_or(5);
    let articles = load(corpus);
    println!(
        "corpus: {} articles; vector paths: {:?}; median of {repeat}",
        articles.len(),
        bedrock_batch::sys::cpu_names()
    );
    let html: Vec<&str> = articles
        .iter()
        .filter(|a| a.format == "html")
        .map(|a| a.content.as_str())
        .collect();
    // Ten copies of the HTML: about 190 MB.
    let html: Vec<&str> = (0..10).flat_map(|_| html.iter().copied()).collect();
    bench_clean(&html, repeat);

    let opts = clean::Options::default();
    let cleaned: Vec<String> = articles
        .iter()
        .map(|a| match a.format.as_str() {
            "html" => clean::clean_html(&a.content, &opts),
            _ => clean::clean_markdown(&a.content, &opts),
        })
        .filter(|t| !t.is_empty())
        .collect();
    // Forty copies of the corpus' cleaned text: about 27,000 records, 150 MB of lines.
    let texts: Vec<String> = (0..40).flat_map(|_| cleaned.iter().cloned()).collect();
    let inputs = bench_pack(&texts, repeat);

    let source = validate::Source::Bytes(inputs.clone());
    let vopts = validate::Options::default();
    let validate_stage = || {
        let r = validate::validate(&source, &vopts).expect("validate");
        assert!(r.ok(), "the packed lines do not validate");
        r.problem_count
    };
    parsers(
        "validate: the batch lines",
        &inputs,
        &validate_stage,
        true,
        repeat,
    );
    bench_utf8(&inputs, &validate_stage, repeat);

    let outs = outputs(&inputs);
    let csource = collect::Source::Bytes(outs.clone());
    let copts = collect::Options::default();
    let collect_stage = || {
        collect::read_results(&csource, &copts)
            .expect("collect")
            .len()
    };
    parsers(
        "collect: output lines (input echoed, a 400-character answer)",
        &outs,
        &collect_stage,
        false,
        repeat,
    );
}
