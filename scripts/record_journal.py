"""Record an exhaustive journal by driving the real worker (kernels/worker.py) over stdin/stdout.

    python3 scripts/record_journal.py PLAN.json OUT.jsonl.gz [--backend cuda|sim] [--compile-workers 15]
                                      [--deadline-s 420] [--effort full]

PLAN.json comes from scripts/journal-plan.ts: per weight shape, every config with the M values it fits.
Compile workers (same worker, `compile` requests) warm the shared Triton cache ahead of the one bench
worker, which sends one trial request per (shape, config) covering all its M values, then appends one
JournalTrial line (src/schema/journal.ts) per problem. Shapes are measured one after the other, so a run
that reaches its deadline leaves whole shapes behind it. A worker that dies or hangs is restarted and the
request is recorded as crash / timeout, as the conductor does.
"""

import argparse
import datetime
import gzip
import json
import os
import queue
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


class Worker:
    """One kernels/worker.py process answering one request at a time."""

    def __init__(self, backend: str):
        self.backend = backend
        self.start()

    def start(self):
        self.proc = subprocess.Popen(
            [sys.executable, os.path.join(ROOT, "kernels", "worker.py"), "--backend", self.backend],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=sys.stderr, text=True, bufsize=1, cwd=ROOT)
        self.lines: queue.Queue = queue.Queue()
        threading.Thread(target=self._pump, args=(self.proc, self.lines), daemon=True).start()
        self.hello = self.read(120.0)

    @staticmethod
    def _pump(proc, lines):
        for line in proc.stdout:
            lines.put(line)
        lines.put(None)

    def read(self, timeout: float):
        line = self.lines.get(timeout=timeout)
        if line is None:
            raise EOFError("worker exited")
        return json.loads(line)

    def ask(self, req: dict, timeout: float):
        """The response, or 'crash' / 'timeout' (the worker is restarted)."""
        try:
            self.proc.stdin.write(json.dumps(req) + "\n")
            self.proc.stdin.flush()
            while True:
                msg = self.read(timeout)
                if msg.get("id") == req["id"]:
                    return msg
        except queue.Empty:
            outcome = "timeout"
        except (EOFError, BrokenPipeError):
            outcome = "crash"
        self.proc.kill()
        self.proc.wait()
        self.start()
        return outcome

    def stop(self):
        try:
            self.proc.stdin.write(json.dumps({"type": "shutdown"}) + "\n")
            self.proc.stdin.flush()
            self.proc.wait(timeout=10)
        except Exception:
            self.proc.kill()


def compile_all(plan: dict, backend: str, n: int, stop: threading.Event):
    """Warm the Triton cache: every (shape, config), spread over n compile workers, in plan order."""
    jobs: queue.Queue = queue.Queue()
    for shape in plan["shapes"]:
        for i, r in enumerate(shape["requests"]):
            jobs.put({"type": "compile", "id": f"c{shape['key']}#{i}", "family": plan["family"], "config": r["config"],
                      "problems": [{"M": r["ms"][0], "N": shape["N"], "K": shape["K"]}]})

    def run():
        w = Worker(backend)
        while not stop.is_set():
            try:
                req = jobs.get_nowait()
            except queue.Empty:
                break
            w.ask(req, 120.0)
        w.stop()

    threads = [threading.Thread(target=run, daemon=True) for _ in range(n)]
    for t in threads:
        t.start()
    return threads


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("plan")
    ap.add_argument("out")
    ap.add_argument("--backend", default="cuda", choices=["cuda", "interpret", "sim"])
    ap.add_argument("--compile-workers", type=int, default=15)
    ap.add_argument("--deadline-s", type=float, default=420.0)
    ap.add_argument("--effort", default="full", choices=["quick", "full"])
    ap.add_argument("--quick-after", action="store_true", help="then re-measure at quick effort until the deadline")
    args = ap.parse_args()
    t0 = time.time()
    plan = json.load(open(args.plan))
    bench = Worker(args.backend)
    hello = bench.hello
    stop = threading.Event()
    compilers = compile_all(plan, args.backend, args.compile_workers, stop) if args.compile_workers else []
    opener = gzip.open if args.out.endswith(".gz") else open
    summary = {"device": hello["device"]["name"], "shapes": {}}
    with opener(args.out, "wt") as out:
        header = {"type": "header", "journal_version": 1,
                  "fingerprint": {"family": plan["family"], "space": plan["space"], "device": hello["device"]["name"],
                                  "triton": hello["versions"]["triton"], "worker_version": hello["worker_version"],
                                  "backend": args.backend},
                  "device": hello["device"], "command": "python3 " + " ".join(sys.argv), "created": now()}
        out.write(json.dumps(header) + "\n")
        passes = [(args.effort, shape) for shape in plan["shapes"]]
        passes += [("quick", shape) for shape in plan["shapes"]] if args.quick_after else []
        for effort, shape in passes:
            s0, done, pairs, failed = time.time(), 0, 0, {}
            for i, r in enumerate(shape["requests"]):
                if time.time() - t0 > args.deadline_s:
                    break
                problems = [{"M": M, "N": shape["N"], "K": shape["K"]} for M in r["ms"]]
                req = {"type": "trial", "id": f"{shape['key']}#{i}", "family": plan["family"], "config": r["config"],
                       "problems": problems, "check": True, "effort": effort}
                res = bench.ask(req, 120.0)
                results = res["results"] if isinstance(res, dict) and res.get("type") == "result" else [
                    {"index": j, "status": res if isinstance(res, str) else "crash", "us": None, "spread": None,
                     "message": res.get("message") if isinstance(res, dict) else None} for j in range(len(problems))]
                for pr in results:
                    ok = pr["status"] == "ok" and pr["us"]
                    out.write(json.dumps({"type": "trial", "shape": shape["key"], "M": problems[pr["index"]]["M"],
                                          "config": r["config"], "effort": effort, "status": pr["status"],
                                          "us": pr["us"] if ok else None, "spread": pr.get("spread") if ok else None,
                                          "gpu": 0, "message": (pr.get("message") or None) and pr["message"][:200],
                                          "at": now()}) + "\n")
                    pairs += 1
                    if not ok:
                        failed[pr["status"]] = failed.get(pr["status"], 0) + 1
                done += 1
            summary["shapes"][f"{shape['key']} {effort}"] = {"configs": done, "of": len(shape["requests"]), "pairs": pairs,
                                               "failed": failed, "seconds": round(time.time() - s0, 1)}
            print(f"record: {shape['key']} {effort}: {done}/{len(shape['requests'])} configs, {pairs} pairs, failed {failed}, "
                  f"{time.time() - s0:.0f} s", flush=True)
    stop.set()
    bench.stop()
    for t in compilers:
        t.join(timeout=5)
    summary["seconds"] = round(time.time() - t0, 1)
    print(json.dumps(summary), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
