#!/usr/bin/python3
"""Whole model against whole model: llama.cpp (node-llama-cpp 3.21.1, ../shared/bench/llamacpp/bench.mjs) and this
engine (`./ixc25 chat` on a random IXC-2.5 7B checkpoint, ../shared/bench/make_rand7b.py), per weight format, rounds
alternated on the same machine with the same thread count (issue 19).

    /usr/bin/python3 bench/llamacpp_side_by_side.py [--data /work/sbs-data] [--formats bf16] [--rounds 3] [--threads 2]

Data (outside the repo, under --data; made on first use, each step skipped when its output exists):
  node_modules/           npm i -E node-llama-cpp@3.21.1 (prebuilt llama.cpp CPU binaries, no compiler)
  internlm2-7b-FMT.gguf   ../shared/bench/llamacpp/make_gguf.py --type FMT (BF16 15.5 GB, Q8_0 8.2 GB, Q4_0 4.4 GB)
  rand7b/                 ../shared/bench/make_rand7b.py (our side, bf16 safetensors, 17.4 GB)
  rand7b-FMT/             q8_0 / q4_0 on our side: `./ixc25 quantize --model rand7b --format FMT --out rand7b-FMT`,
                          only when this build has a `quantize` command (detected: `./ixc25 quantize --help`);
                          without it the format is skipped on both sides, and the script says so.
Before a file is written the free disk space is checked against its size (plus 2 GB); --delete-after removes a
format's GGUF and quantized checkpoint after its rounds (rand7b, the source of the others, is kept).

Per round and format: llama.cpp (`bench.mjs --reps 1 --pp P --tg N`: prefill of P random tokens in one batch, decode
of N tokens after a 16-token prompt; with --llama-long also N tokens after a P-token prompt, which costs a second
prefill per round), then ours
(`chat --greedy --max-new-tokens N` on a prompt of about P tokens; prefill tok/s and decode seconds from its stderr
statistics line), the order swapped every round. Both sides memory-map their weights and re-read them from disk when
the other side has evicted them from the page cache; only prefill and decode are timed, never loading. Our decode rate
is (generated - 1) / decode seconds: the first generated token comes from the prefill's logits, so N tokens take N - 1
model steps, as llama.cpp's tg counts steps. Our side runs with --max-context 2048 (the RAM guard refuses a 7B bf16
checkpoint with a float32 KV cache for the checkpoint's 16384 tokens on a 24 GiB machine; 2048 holds the prompt and
the answer). The load average (`uptime`) is taken before each run; CPU seconds per wall second of the timed decode
(llama.cpp) and of the whole process (ours) are printed as a check that both sides used their threads.

Several builds of ours can run in the same rounds (A/B of a change): --ours LABEL=PATH (PATH: ixc25.dll of a build,
or the ./ixc25 launcher) and --ours-env LABEL=NAME=VALUE; the first --ours is the one llama.cpp is compared with.
--skip-llama leaves llama.cpp out (A/B of our builds only). The table goes to stdout (markdown, appendable to
bench/RESULTS.md), progress to stderr; --json FILE also writes every measurement.
"""
import argparse
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.join(os.path.dirname(ROOT), "shared", "bench")
NLC = "node-llama-cpp@3.21.1"
GGUF_GB = {"f16": 15.5, "bf16": 15.5, "q8_0": 8.2, "q4_0": 4.4}
OURS_GB = {"bf16": 17.4, "q8_0": 9.5, "q4_0": 5.3}
STATS = re.compile(r"prompt (\d+) tokens.*?; generated (\d+) tokens \((\w+)\);.*?prefill ([\d.]+) s \(([\d.]+) tok/s\), "
                   r"decode ([\d.]+) s \(([\d.]+) tok/s\)")
WORDS = ("the river runs past an old mill where children watch boats carry grain to the market town "
         "while farmers talk about rain and the price of bread in winter").split()


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def uptime():
    return open("/proc/loadavg").read().split()[0]


def need_disk(path, gb):
    free = shutil.disk_usage(os.path.dirname(os.path.abspath(path))).free / 1e9
    if free < gb + 2:
        sys.exit(f"not enough disk for {path}: {gb:.1f} GB needed (+2 GB margin), {free:.1f} GB free "
                 "(delete other formats' files, or use --delete-after)")


def run(cmd, **kw):
    log("$ " + " ".join(cmd))
    return subprocess.run(cmd, check=True, **kw)


def has_quantize(ixc):
    r = subprocess.run(ixc + ["quantize", "--help"], capture_output=True, text=True)
    # an unknown command prints the root help (exit 0 with this System.CommandLine): look for the command's own usage line
    return r.returncode == 0 and re.search(r"Usage:\s+\S*ixc25(\.dll)? quantize", r.stdout) is not None


def ixc_cmd(path):
    return ["dotnet", path] if path.endswith(".dll") else [path]


def setup(a, fmt, ixc):
    """Returns (gguf, our checkpoint folder) for fmt, making what is missing; None for ours when it cannot be made."""
    os.makedirs(a.data, exist_ok=True)
    if not os.path.isdir(os.path.join(a.data, "node_modules", "node-llama-cpp")):
        run(["npm", "i", "-E", NLC], cwd=a.data)
    gguf = os.path.join(a.data, f"internlm2-7b-{fmt}.gguf")
    if not a.skip_llama and not os.path.exists(gguf):
        need_disk(gguf, GGUF_GB[fmt])
        run(["/usr/bin/python3", os.path.join(SHARED, "llamacpp", "make_gguf.py"), "--type", fmt, "--out", gguf])
    src = os.path.join(a.data, "rand7b")
    if not os.path.exists(os.path.join(src, "config.json")):
        need_disk(src, OURS_GB["bf16"])
        run(["/usr/bin/python3", os.path.join(SHARED, "make_rand7b.py"), ROOT, src])
    if fmt == "bf16":
        return gguf, src
    ours = os.path.join(a.data, f"rand7b-{fmt}")
    if os.path.exists(os.path.join(ours, "config.json")):
        return gguf, ours
    if not has_quantize(ixc):
        log(f"{fmt}: this build has no `ixc25 quantize` command (issue 19 item 3, not landed yet): format skipped")
        return gguf, None
    need_disk(ours, OURS_GB[fmt])
    run(ixc + ["quantize", "--model", src, "--format", fmt, "--out", ours])
    return gguf, ours


def prompt_text(ixc, model, tokens):
    """Words cycled until the chat prompt (template included) is about `tokens` positions; counted with `ixc25 tokenize`."""
    n = tokens
    for _ in range(4):
        text = " ".join(WORDS[i % len(WORDS)] for i in range(n))
        r = subprocess.run(ixc + ["tokenize", "--model", model, "--text", text], capture_output=True, text=True, check=True)
        have = len(json.loads(r.stdout)) + 12  # chat template: user / assistant turn markers and newlines
        if abs(have - tokens) <= 4:
            break
        n = max(1, n + tokens - have)
    return text


def llama_round(a, gguf):
    env = dict(os.environ, NODE_PATH=os.path.join(a.data, "node_modules"))
    load = uptime()
    cmd = ["node", os.path.join(SHARED, "llamacpp", "bench.mjs"), gguf, "--threads", str(a.threads), "--reps", "1",
           "--ctx", "2048", "--pp", str(a.prompt), "--tg", str(a.tokens)]
    if a.llama_long:
        cmd += ["--long-ctx", str(a.prompt), "--long-tg", str(a.tokens)]
    log("$ " + " ".join(cmd))
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True).stdout
    rows = [json.loads(l) for l in out.splitlines() if l.startswith("{")]
    rep = next(r for r in rows if r.get("rep") == 0 and f"pp{a.prompt}_tok_s" in r)
    res = {"load": load, "prefill": rep[f"pp{a.prompt}_tok_s"], "decode": rep[f"tg{a.tokens}_tok_s"], "cpu": rep["cpu_per_wall_tg"]}
    if a.llama_long:
        res["decode_short"] = res["decode"]
        res["decode"] = next(r for r in rows if r.get("rep") == 0 and f"tg{a.tokens}_at_{a.prompt}_tok_s" in r)[f"tg{a.tokens}_at_{a.prompt}_tok_s"]
    return res


def ours_round(a, ixc, env_extra, model, text):
    env = dict(os.environ, **env_extra)
    load = uptime()
    cmd = ixc + ["chat", "--model", model, "--threads", str(a.threads), "--max-context", "2048", "--greedy",
                 "--max-new-tokens", str(a.tokens), text]
    log("$ " + " ".join(cmd[:-1]) + f" '<{len(text.split())} words>'" + (f"  [{env_extra}]" if env_extra else ""))
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    p = subprocess.run(cmd, capture_output=True, text=True, env=env)
    wall = time.monotonic() - t0
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    if p.returncode != 0:
        sys.exit(f"ours failed (exit {p.returncode}):\n{p.stderr[-2000:]}")
    m = STATS.search(p.stderr)
    if not m:
        sys.exit(f"no statistics line in chat's stderr:\n{p.stderr[-2000:]}")
    prompt, gen, finish, _, prefill, dec_s, _ = m.groups()
    gen, dec_s = int(gen), float(dec_s)
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    return {"load": load, "prefill": float(prefill), "decode": (gen - 1) / dec_s if gen > 1 else 0.0,
            "prompt": int(prompt), "generated": gen, "finish": finish, "cpu": round(cpu / wall, 2)}


def med(xs):
    return statistics.median(xs) if xs else float("nan")


def cell(xs):
    return f"{med(xs):.2f} ({min(xs):.2f}-{max(xs):.2f})" if xs else "n/a"


def table(a, fmt, res, labels):
    ref = labels[0]
    lines = []
    for metric, title in (("decode", f"decode tok/s ({a.tokens} tokens)"),
                          ("prefill", f"prefill tok/s ({a.prompt}-token prompt)")):
        lines.append(f"\n{fmt}: {title}, {a.threads} threads, {a.rounds} rounds\n")
        sides = ([("llama", f"llama.cpp {fmt.upper()}")] if not a.skip_llama else []) + [(l, f"{l} ({fmt})") for l in labels]
        head = "| side | " + " | ".join(f"round {i + 1}" for i in range(a.rounds)) + " | median (range) |"
        lines += [head, "|" + "---|" * (a.rounds + 2)]
        for key, name in sides:
            xs = [r[metric] for r in res[key]]
            lines.append(f"| {name} | " + " | ".join(f"{x:.2f}" for x in xs) + f" | {cell(xs)} |")
        base = "llama" if not a.skip_llama else ref
        for key, name in sides:
            if key == base:
                continue
            per = [o[metric] / b[metric] for o, b in zip(res[key], res[base])]
            lines.append(f"| {name} / {'llama.cpp' if base == 'llama' else base} | " + " | ".join(f"{x:.2f}x" for x in per)
                         + f" | {med([r[metric] for r in res[key]]) / med([r[metric] for r in res[base]]):.2f}x (ratio of medians) |")
    lines.append("\nload average (1 min) before each run: " + "; ".join(
        f"round {i + 1}: " + ", ".join(f"{k} {res[k][i]['load']}" for k in res) for i in range(a.rounds)))
    lines.append("CPU s per wall s (llama.cpp: timed decode; ours: whole process): " + "; ".join(
        f"{k} " + "/".join(str(r['cpu']) for r in res[k]) for k in res))
    if not a.skip_llama:
        lines.append(f"llama.cpp decode: {a.tokens} tokens after a {a.prompt if a.llama_long else 16}-token prompt"
                     + (f" (after a 16-token prompt: {cell([r['decode_short'] for r in res['llama']])})" if a.llama_long else
                        f"; ours after its {a.prompt}-token prompt (a float32 KV cache of ~{a.prompt} positions: about 1% more bytes per step)"))
    ours0 = res[ref]
    lines.append(f"ours: prompt {ours0[0]['prompt']} positions, generated {'/'.join(str(r['generated']) for r in ours0)} tokens ({ours0[0]['finish']})")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default="/work/sbs-data")
    ap.add_argument("--formats", default="bf16", help="comma-separated: bf16, q8_0, q4_0")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--tokens", type=int, default=48, help="generated tokens per decode measurement")
    ap.add_argument("--prompt", type=int, default=512, help="prompt tokens (prefill measurement and decode context)")
    ap.add_argument("--ours", action="append", default=[], metavar="LABEL=PATH")
    ap.add_argument("--ours-env", action="append", default=[], metavar="LABEL=NAME=VALUE")
    ap.add_argument("--skip-llama", action="store_true")
    ap.add_argument("--llama-long", action="store_true", help="llama.cpp decode after a --prompt-token prompt too (a second prefill per round)")
    ap.add_argument("--delete-after", action="store_true")
    ap.add_argument("--json")
    a = ap.parse_args()
    ours = [o.split("=", 1) for o in a.ours] or [["ours", os.path.join(ROOT, "ixc25")]]
    labels = [l for l, _ in ours]
    envs = {l: {} for l in labels}
    for e in a.ours_env:
        l, kv = e.split("=", 1)
        k, v = kv.split("=", 1)
        envs[l][k] = v
    cmds = {l: ixc_cmd(p) for l, p in ours}
    everything = {}
    for fmt in a.formats.split(","):
        gguf, model = setup(a, fmt, cmds[labels[0]])
        if model is None:
            print(f"\n{fmt}: skipped (no `ixc25 quantize` in this build)")
            continue
        text = prompt_text(cmds[labels[0]], model, a.prompt)
        res: dict = {k: [] for k in ([] if a.skip_llama else ["llama"]) + labels}
        for i in range(a.rounds):
            order = list(res) if i % 2 == 0 else list(res)[::-1]
            for k in order:
                res[k].append(llama_round(a, gguf) if k == "llama" else ours_round(a, cmds[k], envs[k], model, text))
                log(f"{fmt} round {i + 1}: {k} {res[k][-1]}")
        print(table(a, fmt, res, labels), flush=True)
        everything[fmt] = res
        if a.delete_after and fmt != "bf16":
            for p in (gguf, model):
                if os.path.isdir(p):
                    shutil.rmtree(p)
                elif os.path.exists(p):
                    os.remove(p)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(everything, f, indent=1)


if __name__ == "__main__":
    main()
