"""mitmproxy addon for the side-by-side benchmark: a do-it-yourself DLP with the same rule pack.

Reads the default rules (rules/*.yaml), compiles every pattern of every rule that reports
findings once at start-up with Python's `re`, scans every request body, and answers 403 when one
pattern matches. Like gatekeeper, case-insensitive rules run on a folded view (lower case,
accents removed) and case-sensitive ones on the text as sent. It does less than gatekeeper (no
validators, context words, combinations or redaction), which can only favour it.

Options: --set dlp_rules=DIR (rule files), --set dlp_connect=ADDRESS:PORT (send every upstream
connection there, keeping the host name for SNI and certificate checks: the benchmark's stand-in
for a hosts file).
"""
import glob
import os
import re
import unicodedata

import yaml
from mitmproxy import ctx, http

# RE2 classes that Python's `re` lacks, spelled with what it has (Latin letters are enough here).
_RE2_TO_PYTHON = [
    (r"\p{L}", r"[^\W\d_]"),
    (r"\p{Lu}", r"[A-ZÀ-ÖØ-ÞĀ-Ž]"),
    (r"\p{Ll}", r"[a-zß-öø-ÿā-ž]"),
]


def _to_python(regex):
    for re2, python in _RE2_TO_PYTHON:
        regex = regex.replace(re2, python)
    return regex


def _fold(text):
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


class Dlp:
    def __init__(self):
        self.text_patterns = []
        self.folded_patterns = []
        self.skipped = []
        self.blocked = 0
        self.connect = None

    def load(self, loader):
        loader.add_option("dlp_rules", str, "rules", "Directory of the rule files")
        loader.add_option("dlp_connect", str, "", "ADDRESS:PORT for every upstream connection")

    def configure(self, updated):
        if "dlp_connect" in updated and ctx.options.dlp_connect:
            address, port = ctx.options.dlp_connect.rsplit(":", 1)
            self.connect = (address, int(port))
        if "dlp_rules" not in updated:
            return
        self.text_patterns, self.folded_patterns, self.skipped = [], [], []
        for path in sorted(glob.glob(os.path.join(ctx.options.dlp_rules, "*.yaml"))):
            with open(path, encoding="utf-8") as f:
                document = yaml.safe_load(f) or {}
            for rule in document.get("rules", []):
                if rule.get("signal") or not rule.get("patterns"):
                    continue  # signals alone report nothing; combinations have no pattern
                case_sensitive = bool(rule.get("case_sensitive"))
                for pattern in rule["patterns"]:
                    name = f"{rule['id']}/{pattern.get('name', '?')}"
                    try:
                        flags = 0 if case_sensitive else re.IGNORECASE
                        compiled = re.compile(_to_python(pattern["regex"]), flags)
                    except re.error:
                        self.skipped.append(name)
                        continue
                    target = self.text_patterns if case_sensitive else self.folded_patterns
                    target.append((name, compiled))
        ctx.log.info(
            f"dlp: {len(self.text_patterns) + len(self.folded_patterns)} patterns compiled, "
            f"{len(self.skipped)} skipped: {self.skipped}")

    def server_connect(self, data):
        if self.connect:
            data.server.address = self.connect

    def request(self, flow: http.HTTPFlow):
        text = flow.request.get_text(strict=False)
        if not text:
            return
        folded = None
        for _, pattern in self.text_patterns:
            if pattern.search(text):
                break
        else:
            folded = _fold(text)
            for _, pattern in self.folded_patterns:
                if pattern.search(folded):
                    break
            else:
                return
        self.blocked += 1
        flow.response = http.Response.make(
            403, b'{"error":"blocked by the DLP policy"}', {"Content-Type": "application/json"})

    def responseheaders(self, flow: http.HTTPFlow):
        # Without this, mitmproxy holds a streamed answer until it is complete.
        if flow.response.headers.get("content-type", "").startswith("text/event-stream"):
            flow.response.stream = True


addons = [Dlp()]
