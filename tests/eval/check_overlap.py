#!/usr/bin/env python3
"""Fail if a task of ours is a copy or near-copy of a dev task.

    python3 tests/eval/check_overlap.py [--dev ../shared/eval/dev.jsonl] [--show] [OURS.jsonl ...]

Compares every request (`nl`) of tests/eval/validation.jsonl and tests/eval/macos.jsonl with every
dev request, and every command of ours (`reference` and `reference_alt`) with every dev command
(`reference` and `reference_alt`). Similarity is the larger of difflib's ratio on the lower-cased,
whitespace-collapsed strings and the Jaccard index of their word tokens. A pair at or above the
threshold (requests 0.70, commands 0.85) is a failure; the exit status is 1 when there is one.

By default only ids and scores are printed, not dev's text, so running the check does not show
dev tasks to whoever writes ours; --show prints both sides.
Standard library only.
"""
import argparse
import difflib
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
DEFAULT_DEV = os.environ.get("CMDBAR_DEV_TASKS", os.path.join(ROOT, "..", "shared", "eval", "dev.jsonl"))
NL_THRESHOLD = 0.70
CMD_THRESHOLD = 0.85


def norm(s):
    return re.sub(r"\s+", " ", s.strip().lower())


def words(s):
    return set(re.findall(r"[a-z0-9_.~/-]+|[^\sa-z0-9]", s.lower()))


def similarity(a, b):
    a, b = norm(a), norm(b)
    ratio = difflib.SequenceMatcher(None, a, b, autojunk=False).ratio()
    wa, wb = words(a), words(b)
    jac = len(wa & wb) / len(wa | wb) if (wa | wb) else 1.0
    return max(ratio, jac)


def load(path):
    with open(path) as f:
        return [json.loads(l) for l in f if l.strip()]


def commands(t):
    return [t["reference"]] + list(t.get("reference_alt") or [])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("ours", nargs="*", default=[os.path.join(HERE, "validation.jsonl"), os.path.join(HERE, "macos.jsonl")])
    ap.add_argument("--dev", default=DEFAULT_DEV)
    ap.add_argument("--show", action="store_true", help="print the texts of flagged pairs, dev's included")
    ap.add_argument("--nl-threshold", type=float, default=NL_THRESHOLD)
    ap.add_argument("--cmd-threshold", type=float, default=CMD_THRESHOLD)
    ap.add_argument("--top", type=int, default=5, help="also list the N closest request pairs (ids and scores)")
    a = ap.parse_args(argv)
    dev = load(a.dev)
    flagged = []
    closest = []
    n_ours = 0
    for path in a.ours:
        for t in load(path):
            n_ours += 1
            best_nl = (0.0, None)
            for d in dev:
                s = similarity(t["nl"], d["nl"])
                best_nl = max(best_nl, (s, d["id"]))
                if s >= a.nl_threshold:
                    flagged.append(("nl", s, t["id"], d["id"], t["nl"], d["nl"]))
                hit = None
                for c in commands(t):
                    for dc in commands(d):
                        sc = similarity(c, dc)
                        if sc >= a.cmd_threshold and (hit is None or sc > hit[0]):
                            hit = (sc, c, dc)
                if hit:
                    flagged.append(("command", hit[0], t["id"], d["id"], hit[1], hit[2]))
            closest.append((best_nl[0], t["id"], best_nl[1]))
    closest.sort(reverse=True)
    print("compared %d tasks of ours with %d dev tasks (requests >= %.2f, commands >= %.2f fail)"
          % (n_ours, len(dev), a.nl_threshold, a.cmd_threshold))
    print("closest requests: " + ", ".join("%s~%s %.2f" % (i, d, s) for s, i, d in closest[:a.top]))
    for kind, s, i, d, x, y in sorted(flagged, key=lambda f: -f[1]):
        print("FLAG %-7s %.2f  %s ~ %s" % (kind, s, i, d))
        if a.show:
            print("      ours: %s\n      dev:  %s" % (x, y))
    print("%d flagged" % len(flagged))
    return 1 if flagged else 0


if __name__ == "__main__":
    sys.exit(main())
