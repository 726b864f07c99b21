#!/usr/bin/env python3
"""Side-by-side benchmark: direct, gatekeeper, mitmproxy + DLP addon, Squid ssl-bump.

Starts a local TLS upstream that answers like an AI API (bench/ai_upstream.cpp) and each proxy on
127.0.0.1 with free ports in a temporary directory, runs the same workload (bench/load_client.cpp)
against each configuration, stops everything and rewrites the generated section of
docs/benchmarks.md. Run through `make bench`, which installs the peers and builds first.

Host names: every client sends CONNECT api.openai.com:<upstream port> (or h<i>.oaiusercontent.com
for the new-connection test); each proxy is told to send those names to 127.0.0.1 without
touching /etc/hosts: gatekeeper --connect-to, Squid `hosts_file`, mitmproxy through the addon's
server_connect hook (dlp_connect). Each proxy verifies the upstream's certificate against the
benchmark's upstream CA, and the client trusts each proxy's own CA.
"""
import argparse
import datetime
import json
import os
import platform
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BEGIN = "<!-- bench:begin -->"
END = "<!-- bench:end -->"
UPSTREAM_HOST = "api.openai.com"
HOST_SUFFIX = "oaiusercontent.com"  # a ChatGPT upload-host wildcard: intercepted by gatekeeper


def log(message):
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def loadavg():
    return "%.1f %.1f %.1f" % os.getloadavg()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, process, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"process exited with {process.returncode} before listening")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"nothing listens on port {port} after {timeout} s")


def run(cmd, **kwargs):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kwargs)


def tree_rss_kib(pid):
    """RSS of a process and its descendants (Squid's certificate helpers), in KiB."""
    children = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(entry))
        except (OSError, IndexError, ValueError):
            pass
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        todo.extend(children.get(current, []))
        try:
            with open(f"/proc/{current}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total


def make_pki(tmp):
    """Upstream CA + leaf (api.openai.com, *.oaiusercontent.com), and Squid's bumping CA."""
    def ca(name, subject):
        run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
             "-nodes", "-keyout", f"{tmp}/{name}.key", "-out", f"{tmp}/{name}.pem", "-days", "2",
             "-subj", f"/CN={subject}", "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign"])
    ca("upstream-ca", "bench upstream CA")
    ca("squid-ca", "bench squid CA")
    run(["openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
         "-keyout", f"{tmp}/upstream.key", "-out", f"{tmp}/upstream.csr",
         "-subj", f"/CN={UPSTREAM_HOST}"])
    with open(f"{tmp}/upstream.ext", "w") as f:
        f.write(f"basicConstraints=critical,CA:FALSE\nextendedKeyUsage=serverAuth\n"
                f"subjectAltName=DNS:{UPSTREAM_HOST},DNS:*.{HOST_SUFFIX}\n")
    run(["openssl", "x509", "-req", "-in", f"{tmp}/upstream.csr", "-CA", f"{tmp}/upstream-ca.pem",
         "-CAkey", f"{tmp}/upstream-ca.key", "-CAcreateserial", "-days", "2",
         "-extfile", f"{tmp}/upstream.ext", "-out", f"{tmp}/upstream.pem"])


class Bench:
    def __init__(self, args, tmp):
        self.args = args
        self.tmp = tmp
        self.build = args.build_dir
        self.client = os.path.join(self.build, "bench", "load_client")
        self.upstream_port = None

    # --- the workload -------------------------------------------------------------------------

    def client_run(self, mode, route, extra, stdin=None, timeout=300):
        cmd = [self.client, mode, "--ca", route["ca"]] + route["args"] + [str(x) for x in extra]
        out = run(cmd, timeout=timeout)
        return json.loads(out.stdout.strip().splitlines()[-1])

    def idle_rss(self, route, pid, connections):
        cmd = [self.client, "idle", "--ca", route["ca"], "--connections", str(connections)]
        cmd += route["args"]
        before = tree_rss_kib(pid)
        process = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True)
        line = process.stderr.readline()  # "ready N" once every connection is open
        time.sleep(1.0)
        after = tree_rss_kib(pid)
        process.stdin.close()
        out = json.loads(process.stdout.read().strip().splitlines()[-1])
        process.wait(timeout=60)
        opened = int(line.split()[1]) if line.startswith("ready") else 0
        return {"rss_before_kib": before, "rss_after_kib": after, "open": opened,
                "kib_per_1000": (after - before) * 1000 / opened if opened else None,
                "errors": out.get("errors", 0)}

    def measure(self, name, route, pid):
        a = self.args
        result = {"load_before": loadavg()}
        log(f"{name}: warm-up")
        self.client_run("saturate", route, ["--connections", 4, "--duration", 1])
        log(f"{name}: saturation, {a.connections} connections, {a.duration} s")
        result["saturate"] = self.client_run(
            "saturate", route, ["--connections", a.connections, "--duration", a.duration])
        log(f"{name}: fixed rate {a.rate}/s")
        result["rate"] = self.client_run(
            "rate", route, ["--connections", 8, "--rate", a.rate, "--duration", a.rate_duration])
        log(f"{name}: SSE")
        result["sse"] = self.client_run("sse", route, ["--requests", a.sse_streams])
        log(f"{name}: 1 MB uploads")
        result["upload"] = self.client_run(
            "upload", route, ["--requests", a.uploads, "--size", 1 << 20])
        log(f"{name}: new TLS connections, {a.hosts} host names x 2")
        result["handshakes"] = self.client_run(
            "handshakes", route,
            ["--hosts", a.hosts, "--rounds", 2, "--connections", 4, "--host-suffix", HOST_SUFFIX])
        if pid is not None:
            log(f"{name}: {a.idle} idle keep-alive connections")
            result["idle"] = self.idle_rss(route, pid, a.idle)
        result["load_after"] = loadavg()
        return result

    # --- the configurations -------------------------------------------------------------------

    def start_upstream(self):
        process = subprocess.Popen(
            [os.path.join(self.build, "bench", "ai_upstream"), "--cert", f"{self.tmp}/upstream.pem",
             "--key", f"{self.tmp}/upstream.key", "--threads", "1",
             "--sse-events", str(self.args.sse_events), "--sse-gap-ms", str(self.args.sse_gap_ms)],
            stdout=subprocess.PIPE, text=True)
        line = process.stdout.readline()
        self.upstream_port = int(line.split()[-1])
        return process

    def target_args(self, proxy_port):
        return ["--proxy", f"127.0.0.1:{proxy_port}",
                "--target", f"{UPSTREAM_HOST}:{self.upstream_port}"]

    def host_names(self):
        return [UPSTREAM_HOST] + [f"h{i}.{HOST_SUFFIX}" for i in range(self.args.hosts)]

    def direct(self):
        route = {"ca": f"{self.tmp}/upstream-ca.pem",
                 "args": ["--connect", f"127.0.0.1:{self.upstream_port}",
                          "--target", f"{UPSTREAM_HOST}:{self.upstream_port}"]}
        return None, route

    def gatekeeper(self):
        port, admin = free_port(), free_port()
        data = f"{self.tmp}/gatekeeper"
        cmd = [os.path.join(self.build, "gatekeeper"), "run",
               "--config", os.path.join(ROOT, "config", "gatekeeper.yaml"),
               "--listen", f"127.0.0.1:{port}", "--admin-listen", f"127.0.0.1:{admin}",
               "--data-dir", data, "--upstream-ca", f"{self.tmp}/upstream-ca.pem"]
        for host in self.host_names():
            cmd += ["--connect-to", f"{host}:{self.upstream_port}:127.0.0.1:{self.upstream_port}"]
        process = subprocess.Popen(cmd, stdout=subprocess.DEVNULL,
                                   stderr=open(f"{self.tmp}/gatekeeper.err", "w"))
        wait_port(port, process)
        return process, {"ca": f"{data}/ca.pem", "args": self.target_args(port)}

    def mitmproxy(self):
        port = free_port()
        confdir = f"{self.tmp}/mitmproxy"
        os.makedirs(confdir, exist_ok=True)
        cmd = ["mitmdump", "-q", "--listen-host", "127.0.0.1", "--listen-port", str(port),
               "--set", f"confdir={confdir}",
               "--set", f"ssl_verify_upstream_trusted_ca={self.tmp}/upstream-ca.pem",
               "-s", os.path.join(ROOT, "bench", "peers", "mitm_dlp.py"),
               "--set", f"dlp_rules={os.path.join(ROOT, 'rules')}",
               "--set", f"dlp_connect=127.0.0.1:{self.upstream_port}"]
        process = subprocess.Popen(cmd, stdout=open(f"{self.tmp}/mitmproxy.out", "w"),
                                   stderr=subprocess.STDOUT)
        wait_port(port, process)
        return process, {"ca": f"{confdir}/mitmproxy-ca-cert.pem", "args": self.target_args(port)}

    def squid(self):
        port = free_port()
        base = f"{self.tmp}/squid"
        os.makedirs(base, exist_ok=True)
        with open(f"{base}/hosts", "w") as f:
            f.write("127.0.0.1 " + " ".join(self.host_names()) + "\n")
        certgen = "/usr/lib/squid/security_file_certgen"
        run([certgen, "-c", "-s", f"{base}/ssl_db", "-M", "64MB"])
        with open(f"{base}/squid.conf", "w") as f:
            f.write(f"""
http_port 127.0.0.1:{port} ssl-bump tls-cert={self.tmp}/squid-ca.pem tls-key={self.tmp}/squid-ca.key generate-host-certificates=on dynamic_cert_mem_cache_size=64MB
sslcrtd_program {certgen} -s {base}/ssl_db -M 64MB
sslcrtd_children 8 startup=2 idle=1
acl step1 at_step SslBump1
ssl_bump peek step1
ssl_bump bump all
tls_outgoing_options cafile={self.tmp}/upstream-ca.pem
hosts_file {base}/hosts
http_access allow all
cache deny all
access_log none
cache_log {base}/cache.log
pid_filename {base}/squid.pid
coredump_dir {base}
pinger_enable off
max_filedescriptors 65536
shutdown_lifetime 1 seconds
""")
        # Squid drops privileges to its own user, which must read its files.
        shutil.chown(base, "proxy", "proxy")
        for root, dirs, files in os.walk(base):
            for name in dirs + files:
                shutil.chown(os.path.join(root, name), "proxy", "proxy")
        os.chmod(self.tmp, 0o755)
        os.chmod(f"{self.tmp}/squid-ca.key", 0o644)
        process = subprocess.Popen(["squid", "-N", "-f", f"{base}/squid.conf"],
                                   stdout=subprocess.DEVNULL, stderr=open(f"{base}/stderr", "w"))
        wait_port(port, process)
        return process, {"ca": f"{self.tmp}/squid-ca.pem", "args": self.target_args(port)}


def stop(process):
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


# --- the report -------------------------------------------------------------------------------

def versions(build_dir):
    def first_line(cmd, pattern=None):
        try:
            out = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
            text = (out.stdout or out.stderr).strip().splitlines()
            if pattern:
                text = [line for line in text if re.search(pattern, line)]
            return text[0].strip() if text else "?"
        except (OSError, subprocess.SubprocessError):
            return "?"
    commit = first_line(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"])
    dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "--untracked-files=no"],
                           capture_output=True, text=True).stdout.strip()
    return {
        "gatekeeper": commit + (" (with uncommitted changes)" if dirty else ""),
        "mitmproxy": first_line(["mitmdump", "--version"], "Mitmproxy"),
        "squid": first_line(["squid", "-v"], "Version"),
        "openssl": first_line(["openssl", "version"]),
        "python": platform.python_version(),
    }


def machine():
    model = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem_kib = int(f.readline().split()[1])
    return {"cpu": model, "cores": os.cpu_count(), "ram_gib": round(mem_kib / 2**20, 1),
            "kernel": platform.release()}


def scanner_figure(build_dir):
    exe = os.path.join(build_dir, "bench", "scanner_bench")
    if not os.path.exists(exe):
        return None
    out = run([exe, "--benchmark_filter=BM_ScanAuto/(4096|65536)$", "--benchmark_format=json",
               "--benchmark_min_time=0.5"], timeout=300)
    return {b["name"]: b["bytes_per_second"] / 1e6 for b in json.loads(out.stdout)["benchmarks"]}


def leaf_figure(build_dir):
    exe = os.path.join(build_dir, "bench", "tls_bench")
    if not os.path.exists(exe):
        return None
    out = run([exe, "--benchmark_filter=BM_CacheMiss", "--benchmark_format=json"], timeout=300)
    benches = {b["name"].split("/")[0]: b for b in json.loads(out.stdout)["benchmarks"]}
    latency, miss = benches["BM_CacheMissLatency"], benches["BM_CacheMiss"]
    # Mean CPU time per miss: what the host spends, whatever else runs on it.
    return {"p50_us": latency["p50_us"], "p99_us": latency["p99_us"],
            "cpu_us": miss["cpu_time"] / 1000.0 if miss["time_unit"] == "ns" else miss["cpu_time"]}


def fmt(value, digits=0):
    if value is None:
        return "–"
    return f"{value:,.{digits}f}".replace(",", " ")


def ms(micros):
    return None if micros is None else micros / 1000.0


def get(results, name, *path):
    value = results.get(name)
    for key in path:
        if value is None:
            return None
        value = value[key] if isinstance(value, list) and isinstance(key, int) else (
            value.get(key) if isinstance(value, dict) else None)
    return value


def replies(result):
    """'benign 200×720, redacted 200×80, blocked 403×80; leaked: 0' from a load result."""
    if not result:
        return "–"
    parts = []
    leaked = 0
    for kind in ("benign", "redacted", "blocked"):
        statuses = result.get("replies", {}).get(kind, {})
        leaked += statuses.get("leaked", 0) if kind != "benign" else 0
        codes = ", ".join(
            f"{code}×{count}" for code, count in statuses.items() if code != "leaked")
        parts.append(f"{kind} {codes or '–'}")
    errors = result.get("errors", 0)
    return "; ".join(parts) + f"; sensitive reaching the upstream: {leaked}" + (
        f"; errors: {errors}" if errors else "")


def render(meta, results, configs):
    names = {"direct": "direct", "gatekeeper": "gatekeeper", "mitmproxy": "mitmproxy + DLP addon",
             "squid": "Squid ssl-bump"}
    a = meta["args"]
    lines = [BEGIN, "",
             "Generated by `make bench` (bench/compare.py); do not edit by hand.", "",
             f"- Date: {meta['date']} UTC; run time {meta['seconds']:.0f} s.",
             f"- Machine: {meta['machine']['cpu']}, {meta['machine']['cores']} cores, "
             f"{meta['machine']['ram_gib']} GiB RAM, Linux {meta['machine']['kernel']}.",
             f"- Load average (1/5/15 min) before and after each configuration: " + "; ".join(
                 f"{names[c]} {results[c]['load_before']} → {results[c]['load_after']}"
                 for c in configs if c in results) + ".",
             f"- Versions: gatekeeper {meta['versions']['gatekeeper']} (Release build, shipped "
             f"config, rule pack and policy, 2 threads); {meta['versions']['mitmproxy']} "
             f"(mitmdump, Python {meta['versions']['python']}); {meta['versions']['squid']} "
             f"(1 worker); {meta['versions']['openssl']}.",
             f"- Workload: CONNECT + TLS 1.3 keep-alive, chat-completions bodies of "
             f"{a['size']} bytes; 1 request in 10 carries a cloud access key (policy: "
             f"redact), 1 in 10 a « STRICTEMENT CONFIDENTIEL » document (policy: block). "
             f"Saturation: "
             f"{a['connections']} connections, closed loop, {a['duration']} s. Latency: "
             f"{a['rate']} requests/s over 8 connections for {a['rate_duration']} s, timed from "
             f"each request's scheduled start. SSE: {a['sse_streams']} streams of "
             f"{a['sse_events']} events {a['sse_gap_ms']} ms apart. New connections: "
             f"{a['hosts']} distinct host names, 4 at a time, each a new TCP + CONNECT + TLS "
             f"handshake + one request; round 1 new names, round 2 the same names again. "
             f"Idle: {a['idle']} keep-alive connections after one request each.",
             "- Client, upstream and proxy share the same cores: figures are relative to this "
             "machine and its load; the ratios within the run are what count.", ""]
    header = "| Measure | " + " | ".join(names[c] for c in configs) + " |"
    lines += [header, "|---" * (len(configs) + 1) + "|"]

    def row(label, cell):
        lines.append(f"| {label} | " + " | ".join(cell(c) for c in configs) + " |")

    row("Requests/s at saturation", lambda c: fmt(get(results, c, "saturate", "rps")))
    row(f"Latency p50 / p99 at {a['rate']}/s (ms)", lambda c: (
        f"{fmt(ms(get(results, c, 'rate', 'p50_us')), 2)} / "
        f"{fmt(ms(get(results, c, 'rate', 'p99_us')), 2)}"))

    def added(c, key):
        if c == "direct":
            return None
        value, base = get(results, c, "rate", key), get(results, "direct", "rate", key)
        return None if value is None or base is None else ms(value - base)
    row("Added p50 / p99 vs direct (ms)", lambda c: "–" if c == "direct" else (
        f"{fmt(added(c, 'p50_us'), 2)} / {fmt(added(c, 'p99_us'), 2)}"))
    row("1 MB upload p50 / p99 (ms)", lambda c: (
        f"{fmt(ms(get(results, c, 'upload', 'p50_us')), 1)} / "
        f"{fmt(ms(get(results, c, 'upload', 'p99_us')), 1)}"))
    row("SSE first event p50 / p99 (ms)", lambda c: (
        f"{fmt(ms(get(results, c, 'sse', 'first_event', 'p50_us')), 2)} / "
        f"{fmt(ms(get(results, c, 'sse', 'first_event', 'p99_us')), 2)}"))

    def sse_added(c):
        if c == "direct":
            return "–"
        value = get(results, c, "sse", "first_event", "p50_us")
        base = get(results, "direct", "sse", "first_event", "p50_us")
        return "–" if value is None or base is None else fmt(ms(value - base), 2)
    row("SSE first event added, p50 (ms)", sse_added)
    row(f"SSE gap p50 / p99 (upstream: {a['sse_gap_ms']} ms)", lambda c: (
        f"{fmt(ms(get(results, c, 'sse', 'gap', 'p50_us')), 2)} / "
        f"{fmt(ms(get(results, c, 'sse', 'gap', 'p99_us')), 2)}"))
    row("New TLS connections/s, new names / cached", lambda c: (
        f"{fmt(get(results, c, 'handshakes', 'rounds', 0, 'connections_per_s'))} / "
        f"{fmt(get(results, c, 'handshakes', 'rounds', 1, 'connections_per_s'))}"))
    row("Connection set-up p99, new / cached (ms)", lambda c: (
        f"{fmt(ms(get(results, c, 'handshakes', 'rounds', 0, 'p99_us')), 1)} / "
        f"{fmt(ms(get(results, c, 'handshakes', 'rounds', 1, 'p99_us')), 1)}"))
    row(f"RSS idle → with {a['idle']} connections (MiB)", lambda c: "–" if c == "direct" else (
        f"{fmt((get(results, c, 'idle', 'rss_before_kib') or 0) / 1024, 1)} → "
        f"{fmt((get(results, c, 'idle', 'rss_after_kib') or 0) / 1024, 1)}"))
    row("RSS per 1,000 idle connections (MiB)", lambda c: "–" if c == "direct" else fmt(
        (get(results, c, "idle", "kib_per_1000") or 0) / 1024, 1))
    row("Replies at saturation (status × count)", lambda c: replies(get(results, c, "saturate")))

    gk_rps = get(results, "gatekeeper", "saturate", "rps")
    lines += ["", "Ratios (same run):", ""]
    for peer in ("mitmproxy", "squid", "direct"):
        peer_rps = get(results, peer, "saturate", "rps")
        if gk_rps and peer_rps:
            lines.append(f"- gatekeeper / {names[peer]} requests/s: **{gk_rps / peer_rps:.2f}×**")
    scanner, leaf = meta.get("scanner"), meta.get("leaf")
    if scanner:
        lines.append("- Scanner throughput (`scanner_bench`, BM_ScanAuto, default pack, CPU "
                     "time, one core): " + ", ".join(
                         f"{name.split('/')[-1]} B prompt {fmt(value)} MB/s"
                         for name, value in scanner.items()))
    if leaf:
        lines.append(f"- Leaf certificate for a new host (`tls_bench`): wall clock p50 "
                     f"{leaf['p50_us']:.0f} µs, p99 {leaf['p99_us']:.0f} µs "
                     f"(BM_CacheMissLatency); CPU time {leaf['cpu_us']:.0f} µs "
                     f"(BM_CacheMiss mean)")

    # Targets of the side-by-side issue.
    lines += ["", "| Target | Measured | Met |", "|---|---|---|"]

    def target(label, measured, ok):
        verdict = "–" if ok is None else ("yes" if ok else "no")
        lines.append(f"| {label} | {measured} | {verdict} |")
    p99 = added("gatekeeper", "p99_us") if "gatekeeper" in results else None
    # A negative difference means the tails are noise (scheduling), not a proxy that saves time.
    target("Added p99 ≤ 2 ms (4 KB prompts)",
           f"{fmt(p99, 2)} ms (p99 {fmt(ms(get(results, 'gatekeeper', 'rate', 'p99_us')), 2)} "
           f"vs {fmt(ms(get(results, 'direct', 'rate', 'p99_us')), 2)} direct)",
           None if p99 is None or p99 < 0 else p99 <= 2)
    first = get(results, "gatekeeper", "sse", "first_event", "p50_us")
    first_base = get(results, "direct", "sse", "first_event", "p50_us")
    first_added = None if first is None or first_base is None else ms(first - first_base)
    target("SSE first-event delay ≤ 1 ms (p50, vs direct)", f"{fmt(first_added, 2)} ms",
           None if first_added is None else first_added <= 1)
    for peer, factor in (("mitmproxy", 10), ("squid", 1)):
        peer_rps = get(results, peer, "saturate", "rps")
        ratio = gk_rps / peer_rps if gk_rps and peer_rps else None
        target(f"≥ {factor}× {names[peer]} requests/s", f"{fmt(ratio, 2)}×",
               None if ratio is None else ratio >= factor)
    if scanner:
        best = max(scanner.values())
        target("Scanner ≥ 1 GB/s per core", f"{fmt(best)} MB/s", best >= 1000)
    if leaf:
        target("Leaf certificate ≤ 0.5 ms p99", f"{leaf['p99_us']:.0f} µs",
               leaf["p99_us"] <= 500)
    lines += ["", END]
    return "\n".join(lines)


def write_doc(section):
    path = os.path.join(ROOT, "docs", "benchmarks.md")
    with open(path, encoding="utf-8") as f:
        text = f.read()
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        tail = rest.split(END, 1)[1]
        text = head + section + tail
    else:
        text = text.rstrip("\n") + "\n\n## Side by side: gatekeeper, mitmproxy, Squid\n\n" + \
            section + "\n"
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--build-dir", default=os.path.join(ROOT, "build-rel"))
    parser.add_argument("--configs", default="direct,gatekeeper,mitmproxy,squid")
    parser.add_argument("--size", type=int, default=4096)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--duration", type=float, default=10)
    parser.add_argument("--rate", type=float, default=50)
    parser.add_argument("--rate-duration", type=float, default=12)
    parser.add_argument("--sse-streams", type=int, default=20)
    parser.add_argument("--sse-events", type=int, default=20)
    parser.add_argument("--sse-gap-ms", type=int, default=10)
    parser.add_argument("--uploads", type=int, default=10)
    parser.add_argument("--hosts", type=int, default=200)
    parser.add_argument("--idle", type=int, default=1000)
    parser.add_argument("--no-doc", action="store_true", help="print the section, do not write it")
    parser.add_argument("--json", help="also write the raw results to this file")
    args = parser.parse_args()
    configs = [c for c in args.configs.split(",") if c]

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 65536)), hard))
    started = time.time()
    tmp = tempfile.mkdtemp(prefix="gatekeeper-bench-")
    results = {}
    upstream = None
    try:
        make_pki(tmp)
        bench = Bench(args, tmp)
        upstream = bench.start_upstream()
        log(f"upstream on 127.0.0.1:{bench.upstream_port}; temporary directory {tmp}")
        for config in configs:
            log(f"== {config} (load {loadavg()})")
            process = None
            try:
                process, route = getattr(bench, config)()
                pid = process.pid if process else None
                results[config] = bench.measure(config, route, pid)
            except (RuntimeError, subprocess.SubprocessError, OSError, ValueError) as e:
                log(f"{config}: failed: {e}")
                if isinstance(e, subprocess.CalledProcessError):
                    log(e.stderr)
            finally:
                stop(process)
        meta = {"date": datetime.datetime.utcnow().strftime("%Y-%m-%d %H:%M"),
                "machine": machine(), "versions": versions(args.build_dir),
                "args": vars(args)}
        log("scanner_bench and tls_bench")
        meta["scanner"] = scanner_figure(args.build_dir)
        meta["leaf"] = leaf_figure(args.build_dir)
        meta["seconds"] = time.time() - started
    finally:
        stop(upstream)
        shutil.rmtree(tmp, ignore_errors=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"meta": meta, "results": results}, f, indent=1)
    section = render(meta, results, [c for c in configs if c in results])
    if args.no_doc:
        print(section)
    else:
        write_doc(section)
        log("docs/benchmarks.md updated")
    return 0


if __name__ == "__main__":
    sys.exit(main())
