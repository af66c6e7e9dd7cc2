#!/usr/bin/env python3
"""Validate advice-questions.tsv: structure, allowed values, duplicates, counts."""
import collections, re, sys, unicodedata
from pathlib import Path

path = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).with_name("advice-questions.tsv"))
lines = path.read_text(encoding="utf-8").split("\n")
assert lines[-1] == "", "file must end with a newline"
lines = lines[:-1]
errors = []
if lines[0] != "id\tlang\tlabel\tsplit\tquestion":
    errors.append(f"bad header: {lines[0]!r}")

def norm(q):
    q = unicodedata.normalize("NFKC", q).replace("\u2019", "'").lower()
    return re.sub(r"\s+", " ", q).strip()

ids, seen = set(), {}
counts = collections.Counter()
lengths = []
for n, line in enumerate(lines[1:], 2):
    f = line.split("\t")
    if len(f) != 5:
        errors.append(f"line {n}: {len(f)} fields"); continue
    i, lang, label, split, q = f
    if i in ids: errors.append(f"line {n}: duplicate id {i}")
    ids.add(i)
    if lang not in ("fr", "en"): errors.append(f"line {n}: lang {lang!r}")
    if label not in ("advice", "clean"): errors.append(f"line {n}: label {label!r}")
    if split not in ("dev", "test"): errors.append(f"line {n}: split {split!r}")
    if not q or q != q.strip() or "\r" in q: errors.append(f"line {n}: empty or untrimmed question")
    k = norm(q)
    if k in seen: errors.append(f"line {n}: duplicate question (also line {seen[k]}): {q}")
    seen[k] = n
    counts[(lang, label, split)] += 1
    lengths.append(len(q))

total = len(lines) - 1
print(f"rows: {total}  question length: min {min(lengths)}, max {max(lengths)}")
print(f"{'lang':4} {'label':7} {'dev':>4} {'test':>4} {'total':>5} {'dev%':>5}")
for lang in ("fr", "en"):
    for label in ("advice", "clean"):
        d, t = counts[(lang, label, "dev")], counts[(lang, label, "test")]
        print(f"{lang:4} {label:7} {d:4} {t:4} {d+t:5} {100*d/(d+t):5.1f}")
    lt = sum(v for k, v in counts.items() if k[0] == lang)
    print(f"{lang:4} {'all':7} {'':4} {'':4} {lt:5}")
fr = sum(v for k, v in counts.items() if k[0] == "fr")
en = sum(v for k, v in counts.items() if k[0] == "en")
if total < 360: errors.append("fewer than 360 questions")
if fr < 200: errors.append("fewer than 200 French questions")
if en < 160: errors.append("fewer than 160 English questions")
for lang in ("fr", "en"):
    a = sum(v for k, v in counts.items() if k[:2] == (lang, "advice"))
    c = sum(v for k, v in counts.items() if k[:2] == (lang, "clean"))
    if not 0.4 <= a / (a + c) <= 0.6: errors.append(f"{lang}: advice/clean unbalanced ({a}/{c})")
if min(lengths) < 5 or max(lengths) > 300: errors.append("question length outside 5..300")
for e in errors: print("ERROR:", e)
print("OK" if not errors else f"{len(errors)} error(s)")
sys.exit(1 if errors else 0)
