#!/usr/bin/env python3
"""Regenerates the guard_check seed corpus (fuzz/corpus/guard_check/, not committed) from the guard's data-driven
tests, crates/datagenie-core/tests/corpus/<dialect>/{accept,reject}.sql.

Each entry (blocks separated by a line `-- ---`, directive lines `-- expect:` etc. first; the format is documented in
crates/datagenie-core/tests/guard_corpus.rs) becomes one file per policy variant, laid out as guard_check decodes it:
byte 0 = dialect (0 sqlite, 1 postgres, 2 mysql), byte 1 = policy variant (0 default, 1 allow-list, 2 row filter,
3 allow-list + row filter), then the SQL as UTF-8. Usage: python3 seed_corpus.py   (from anywhere)
"""
import pathlib

HERE = pathlib.Path(__file__).resolve().parent
SOURCE = HERE.parent / "crates" / "datagenie-core" / "tests" / "corpus"
TARGET = HERE / "corpus" / "guard_check"
DIALECTS = {"sqlite": 0, "postgres": 1, "mysql": 2}
VARIANTS = 4
DIRECTIVES = ("-- expect:", "-- contains:", "-- policy:", "-- why:")


def entries(text):
    """Yields the SQL of each entry: the block after its directive lines, trimmed; comment-only blocks are skipped."""
    for block in text.split("\n-- ---\n"):
        lines = block.splitlines()
        start = 0
        while start < len(lines) and (lines[start].strip() == "" or lines[start].strip().startswith(DIRECTIVES)):
            start += 1
        sql = "\n".join(lines[start:]).strip()
        if sql and not all(l.strip() == "" or l.strip().startswith("--") for l in sql.splitlines()):
            yield sql


def main():
    TARGET.mkdir(parents=True, exist_ok=True)
    written = 0
    for dialect, code in DIALECTS.items():
        for kind in ("accept", "reject"):
            path = SOURCE / dialect / f"{kind}.sql"
            for n, sql in enumerate(entries(path.read_text(encoding="utf-8"))):
                for variant in range(VARIANTS):
                    out = TARGET / f"{dialect}-{kind}-{n:03}-v{variant}"
                    out.write_bytes(bytes([code, variant]) + sql.encode("utf-8"))
                    written += 1
    print(f"wrote {written} seeds to {TARGET}")


if __name__ == "__main__":
    main()
