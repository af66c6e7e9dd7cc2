import sys, collections
p = sys.argv[1] if len(sys.argv) > 1 else "advice-questions-3.tsv"
lines = open(p, encoding="utf-8").read().split("\n")
assert lines[-1] == ""; lines = lines[:-1]
assert lines[0] == "id\tlang\tlabel\tsplit\tquestion", lines[0]
ids, qs, c = set(), set(), collections.Counter()
errs = 0
lens = []
for n, line in enumerate(lines[1:], 2):
    f = line.split("\t")
    if len(f) != 5: print("bad field count line", n); errs += 1; continue
    i, lang, label, split, q = f
    if i in ids: print("dup id", i); errs += 1
    ids.add(i)
    k = " ".join(q.lower().replace("\u2019", "'").split())
    if k in qs: print("dup question", i, q); errs += 1
    qs.add(k)
    if lang not in ("fr", "en") or label not in ("advice", "clean") or split != "test3":
        print("bad value line", n); errs += 1
    if not (5 <= len(q) <= 300) or q != q.strip(): print("bad length/space", i, len(q)); errs += 1
    lens.append(len(q))
    c[(lang, label)] += 1
tot = sum(c.values())
print("rows", tot, dict(c))
print("fr", c["fr","advice"] + c["fr","clean"], "en", c["en","advice"] + c["en","clean"])
print("length min/max", min(lens), max(lens))
assert sorted(ids) == [f"s{k:03d}" for k in range(1, tot + 1)]
assert tot >= 300 and c["fr","advice"] + c["fr","clean"] >= 160 and c["en","advice"] + c["en","clean"] >= 140
print("errors", errs)
sys.exit(1 if errs else 0)
