#!/usr/bin/env python3
"""Check the validation set itself (no model involved).

    python3 tests/eval/verify.py [--eval-dir ../shared/eval] [--jobs 2]

1. every task's reference, given to run_eval.py as the candidate, passes (expect 100%);
2. every task's `wrong_examples` (plausible mistakes) fail (expect 0%), so each task discriminates;
3. judge_macos.py --self-test: every accepted macOS command passes, every wrong example fails;
4. check_overlap.py: no request or command is a near-copy of a dev task.
Exit status 1 if any of these does not hold. Takes about two minutes, mostly waiting on
sandboxes (one task sleeps 5 s on purpose); CPU use is light.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--eval-dir", default=os.environ.get("CMDBAR_EVAL_DIR", os.path.join(ROOT, "..", "shared", "eval")))
    ap.add_argument("--jobs", type=int, default=2)
    a = ap.parse_args()
    tasks_file = os.path.join(HERE, "validation.jsonl")
    tasks = [json.loads(l) for l in open(tasks_file) if l.strip()]
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        for kind in ("reference", "wrong_examples"):
            cands = os.path.join(tmp, kind + ".jsonl")
            with open(cands, "w") as f:
                for t in tasks:
                    c = t[kind] if kind == "reference" else t.get(kind, [])
                    row = {"id": t["id"], "candidate": c} if isinstance(c, str) else {"id": t["id"], "candidates": c}
                    f.write(json.dumps(row) + "\n")
            summary = os.path.join(tmp, kind + ".summary.json")
            details = os.path.join(tmp, kind + ".details.jsonl")
            subprocess.run([sys.executable, os.path.join(a.eval_dir, "run_eval.py"), tasks_file, cands,
                            "--setups-dir", os.path.join(HERE, "setups"), "--jobs", str(a.jobs),
                            "--summary-json", summary, "--details", details], check=True, stdout=subprocess.DEVNULL)
            s = json.load(open(summary))
            rows = [json.loads(l) for l in open(details)]
            if kind == "reference":
                bad = [r["id"] for r in rows if not r["passed"]]
                print("references passing as candidates: %d/%d" % (s["passed"], s["tasks"]))
            else:
                bad = [r["id"] for r in rows if r.get("passed_any", r["passed"])]
                print("wrong examples rejected: %d/%d tasks" % (s["tasks"] - s["passed_any"], s["tasks"]))
            if bad or s["evaluated"] != s["tasks"]:
                ok = False
                print("  problem: %s (evaluated %d of %d)" % (", ".join(bad) or "-", s["evaluated"], s["tasks"]))
    for cmd in ([sys.executable, os.path.join(HERE, "judge_macos.py"), "--self-test"],
                [sys.executable, os.path.join(HERE, "check_overlap.py"), "--dev", os.path.join(a.eval_dir, "dev.jsonl")]):
        r = subprocess.run(cmd)
        ok = ok and r.returncode == 0
    print("OK" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
