"""Builds python/bedrock_batch/data/sample.jsonl from the shared corpus (reproducible).

Only permissively licensed sources go into the package: the Rust blog (MIT OR Apache-2.0), the
Japan Azure PaaS Support Blog (MIT), React's Japanese docs (CC-BY-4.0) and WordPress's theme test
data. Never the third-party web pages. Usage: python scripts/make_sample.py [corpus_dir]
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PICK = {  # id prefix -> how many records, chosen by sha1(id) order
    "markdown-ja/jpazpaas/": 14,
    "markdown-ja/ja.react.dev/": 4,
    "markdown-en/blog.rust-lang.org/": 10,
    "wordpress/theme-test-data/": 12,
}
MAX_BYTES = 60_000  # per record, to keep the wheel small


def main() -> None:
    corpus = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT.parent / "shared" / "corpus"
    with open(corpus / "articles.jsonl", encoding="utf-8") as f:
        rows = [json.loads(line) for line in f]
    out = []
    for prefix, n in PICK.items():
        cands = [
            r
            for r in rows
            if r["id"].startswith(prefix) and 400 < len(r["content"].encode()) < MAX_BYTES
        ]
        cands.sort(key=lambda r: hashlib.sha1(r["id"].encode()).hexdigest())
        out.extend(cands[:n])
    dest = ROOT / "python" / "bedrock_batch" / "data" / "sample.jsonl"
    with open(dest, "w", encoding="utf-8") as f:
        for i, r in enumerate(out):
            rec = {
                "id": f"post-{i + 1:03d}",
                "title": r["title"],
                "content": r["content"],
                "format": r["format"],
                "lang": r["lang"],
                "source": r["source"],
            }
            f.write(json.dumps(rec, ensure_ascii=False) + "\n")
    print(f"{dest}: {len(out)} records, {dest.stat().st_size / 1e3:.0f} kB")


if __name__ == "__main__":
    main()
