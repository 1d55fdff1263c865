#!/usr/bin/env python3
"""Cleaning quality on real pages the cleaner was not written against, beside its baselines.

Runs the shared scorer (../shared/eval/score_clean.py: trafilatura's chunk metric) on the dev
set's whole-page text dumps through `contraband curate`, on the held-out and tuned parts of the
set (the line classifier's fixed split by site, scripts/train_line_classifier.py), and on the
HTML path (curate fed the same pages' HTML). Every figure is printed beside the baselines of the
same run: the uncleaned dump, and trafilatura's own extraction of the HTML. Then the same dumps
cut at 2,000 characters, as scrapers that keep a page's start cut them (every page of the domain
set is cut so): the article then runs to the page's end, where whole pages have their footer.
Last the domain set (../shared/eval/score_domain.py: boilerplate lines removed, content lines
kept, same-story pairs).

Usage: .venv/bin/python scripts/bench_clean_quality.py [--eval-dir ../shared/eval] [--out DIR]
"""

from __future__ import annotations

import argparse
import collections
import gzip
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

from train_line_classifier import held_out  # noqa: E402


def _scorer(eval_dir: Path):  # noqa: ANN202 - a module
    spec = importlib.util.spec_from_file_location("score_clean", eval_dir / "score_clean.py")
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def _contraband() -> str:
    beside = Path(sys.executable).with_name("contraband")
    return str(beside) if beside.exists() else "contraband"


def curate_html(recs: list[dict], html: dict[str, str], out: Path) -> dict[str, str]:
    """Clean text per eval_id of `contraband curate` fed the pages' HTML."""
    out.mkdir(parents=True, exist_ok=True)
    src = out / "pages-html.jsonl"
    with src.open("w", encoding="utf-8") as f:
        for r in recs:
            f.write(
                json.dumps(
                    {"url": r["url"], "html": html[r["eval_id"]], "eval_id": r["eval_id"]},
                    ensure_ascii=False,
                )
                + "\n"
            )
    corpus = out / "corpus-html"
    subprocess.run(
        [_contraband(), "curate", str(src), "--out", str(corpus), "--no-progress"],
        check=True,
        capture_output=True,
        text=True,
    )
    import pandas as pd

    df = pd.concat(pd.read_parquet(p) for p in sorted(corpus.glob("*.parquet")))
    got = {}
    for meta, text in zip(df["metadata"], df["clean_text"], strict=True):
        m = json.loads(meta) if isinstance(meta, str) else dict(meta or {})
        if "eval_id" in m:
            got[m["eval_id"]] = text if isinstance(text, str) else ""
    return got


def justext_on_lines(text: str, lang: str) -> str:
    """jusText's paragraph classifier fed the dump's lines as paragraphs (no markup): the
    baseline the issue quotes (0.774 on this set)."""
    import html as html_lib

    import justext

    from corpus.clean.language import _justext_name

    name = _justext_name(lang) or "English"
    page = (
        "<html><body>"
        + "".join(f"<p>{html_lib.escape(line)}</p>" for line in text.splitlines() if line.strip())
        + "</body></html>"
    )
    paragraphs = justext.justext(page.encode("utf-8"), justext.get_stoplist(name))
    return "\n".join(p.text for p in paragraphs if not p.is_boilerplate)


def cut_pages(sc, recs: list[dict], at: int) -> list[dict]:  # noqa: ANN001 - the scorer module
    """Each page cut at `at` characters, as a scraper that keeps a page's start cuts it, with
    only the chunks that stand whole inside the cut; pages whose wanted text all lies beyond
    the cut are left out."""
    out = []
    for r in recs:
        text = r["text"][:at]
        inside = sc.norm(text)
        wanted = [w for w in r["with"] if sc.norm(w) in inside]
        if wanted:
            unwanted = [w for w in r["without"] if sc.norm(w) in inside]
            out.append({**r, "text": text, "with": wanted, "without": unwanted})
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--eval-dir", type=Path, default=ROOT.parent / "shared" / "eval")
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--no-html", action="store_true", help="skip the HTML path (slowest part)")
    ap.add_argument(
        "--cut-at",
        type=int,
        default=2000,
        help="also score the dumps cut at this many characters (0: skip)",
    )
    args = ap.parse_args()
    if not (args.eval_dir / "trafilatura-dev.jsonl.gz").exists():
        sys.exit(f"no dev set in {args.eval_dir}: pass --eval-dir (the shared eval folder)")
    sc = _scorer(args.eval_dir)
    out = args.out or Path(tempfile.mkdtemp(prefix="bench-clean-"))
    recs = sc.read(str(args.eval_dir / "trafilatura-dev.jsonl.gz"))
    got = sc.curate(recs, str(out / "dump"), _contraband())

    def total(part: list[dict], text_of) -> tuple[float, float, float]:  # noqa: ANN001
        c = [0, 0, 0, 0]
        for r in part:
            c = [a + b for a, b in zip(c, sc.counts(r, text_of(r)), strict=True)]
        p, rr, f, _ = sc.prf(c)
        return p, rr, f

    def ours(r: dict) -> str:
        return got.get(r["eval_id"], ("",))[0]

    groups: dict[str, list[dict]] = collections.defaultdict(list)
    for r in recs:
        groups["all"].append(r)
        groups["held-out sites" if held_out(r["url"]) else "tuned sites"].append(r)
        groups["converter=" + r["converter"]].append(r)
        groups["lang=" + ("en" if r["lang"] == "en" else "other")].append(r)
    justext_out = {r["eval_id"]: justext_on_lines(r["text"], r["lang"]) for r in recs}
    print("Text dumps (curate on the whole-page dump), chunk P / R / F1:")
    print(
        f"  {'pages':<22} {'n':>4}   {'cleaned':^17}   {'uncleaned dump':^17}   "
        f"{'jusText on the lines':^17}"
    )
    for key, part in groups.items():
        p, r, f = total(part, ours)
        bp, br, bf = total(part, lambda rec: rec["text"])
        jp, jr, jf = total(part, lambda rec: justext_out[rec["eval_id"]])
        print(
            f"  {key:<22} {len(part):>4}   {p:.3f} {r:.3f} {f:.3f}   {bp:.3f} {br:.3f} {bf:.3f}"
            f"   {jp:.3f} {jr:.3f} {jf:.3f}"
        )
    tuned_f1 = total(groups["tuned sites"], ours)[2]
    held_f1 = total(groups["held-out sites"], ours)[2]
    print(
        f"  tuned - held-out F1: {tuned_f1:.5f} - {held_f1:.5f} = {tuned_f1 - held_f1:.5f} "
        "(the issue asks for at most 0.02)"
    )
    html_path = args.eval_dir / "trafilatura-dev-html.jsonl.gz"
    html: dict[str, str] = {}
    if html_path.exists():
        with gzip.open(html_path, "rt", encoding="utf-8") as fh:
            for line in fh:
                d = json.loads(line)
                html[d["eval_id"]] = d["html"]
    # the scorer's audit: a split breaks a word when the page's HTML has the word whole
    total_splits, broken, _ = sc.glue_audit(recs, got, html or None)
    print(
        f"  glued-word splits: {total_splits}, breaking a word the page has whole: {broken}"
        + (f" ({broken / total_splits:.1%})" if total_splits else "")
    )
    if not args.no_html and html:
        import trafilatura

        anchor = {
            r["eval_id"]: trafilatura.extract(
                html[r["eval_id"]], include_comments=False, include_tables=True
            )
            or ""
            for r in recs
        }
        from_html = curate_html(recs, html, out)
        print("HTML path (curate fed the page's HTML), chunk P / R / F1:")
        for key in ("all", "held-out sites", "tuned sites"):
            part = groups[key]
            p, r, f = total(part, lambda rec: from_html.get(rec["eval_id"], ""))
            ap_, ar_, af_ = total(part, lambda rec: anchor[rec["eval_id"]])
            print(
                f"  {key:<22} {len(part):>4}   curate {p:.4f} {r:.4f} {f:.4f}    "
                f"trafilatura.extract {ap_:.4f} {ar_:.4f} {af_:.4f}"
            )

    if args.cut_at:
        cut = cut_pages(sc, recs, args.cut_at)
        got_cut = sc.curate(cut, str(out / "cut"), _contraband())
        justext_cut = {r["eval_id"]: justext_on_lines(r["text"], r["lang"]) for r in cut}
        print(
            f"Text dumps cut at {args.cut_at:,} characters, as scrapers cut pages (the domain "
            f"set's are); chunks inside the cut, P / R / F1:"
        )
        for key, part in (
            ("all", cut),
            ("held-out sites", [r for r in cut if held_out(r["url"])]),
            ("tuned sites", [r for r in cut if not held_out(r["url"])]),
        ):
            p, r, f = total(part, lambda rec: got_cut.get(rec["eval_id"], ("",))[0])
            bp, br, bf = total(part, lambda rec: rec["text"])
            jp, jr, jf = total(part, lambda rec: justext_cut[rec["eval_id"]])
            print(
                f"  {key:<22} {len(part):>4}   {p:.3f} {r:.3f} {f:.3f}   {bp:.3f} {br:.3f} {bf:.3f}"
                f"   {jp:.3f} {jr:.3f} {jf:.3f}"
            )

    domain = args.eval_dir / "score_domain.py"
    if domain.exists():
        print("Domain set (score_domain.py):")
        done = subprocess.run(
            [sys.executable, str(domain), "--out", str(out / "domain")],
            capture_output=True,
            text=True,
            env=dict(os.environ),
        )
        for line in done.stdout.splitlines():
            if line.startswith(("cleaning", "dedup")):
                print("  " + line)


if __name__ == "__main__":
    main()
