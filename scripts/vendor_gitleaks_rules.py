#!/usr/bin/env python3
"""Make ``src/tracer/redact/rules/gitleaks.toml`` from gitleaks' own rule list (its ``config/gitleaks.toml``).

gitleaks (https://github.com/gitleaks/gitleaks, MIT licence) keeps its secret rules as data: an id, a regular
expression (RE2 syntax), keywords, an entropy threshold and allowlists per rule. tracer uses that data, not
gitleaks' code: this script keeps the fields tracer's engine reads, drops the rules tracer replaces with its own
(``rules/tracer.toml``) or cannot use (file rules, path-only allowlists), checks that every regex compiles with
google-re2, and sorts each rule into a stage:

- ``record``: a token with a shape of its own (a distinctive prefix such as ``ghp_``, ``glpat-``, ``xoxb-``),
  found by keywords of 4 characters or more (or holding punctuation): precise enough to mask before anything
  reaches the disk, and cheap (its keywords almost never occur in bulk output);
- ``export``: the rules that need a keyword near an assignment (``twitter … = <32 hex>``) or short keywords:
  run when a session leaves the machine.

    python scripts/vendor_gitleaks_rules.py PATH/TO/gitleaks/config/gitleaks.toml COMMIT > src/tracer/redact/rules/gitleaks.toml
"""

from __future__ import annotations

import sys
import tomllib

import re2

#: Rules tracer replaces with its own (rules/tracer.toml), or that need what tracer does not have.
REPLACED = {
    "generic-api-key": "tracer's secret-assignment and high-entropy-assignment",
    "private-key": "tracer's private-key (masks the body, line by line, across output events)",
    "jwt": "tracer's jwt (keyword on the payload's '.eyJ', never on bulk base64)",
    "jwt-base64": "tracer's jwt",
    "curl-auth-header": "tracer's authorization-header",
    "pkcs12-file": "a rule on file paths, not text",
}
#: Token shapes precise enough for record time although a keyword is short.
FORCE_RECORD = {"aws-access-token"}
#: Keywords changed: a three-letter keyword occurs every 260 kB of base64 output, in any case.
KEYWORDS = {
    "aws-access-token": ["akia", "asia", "abia", "acca"],  # not "a3t": a prefix AWS no longer issues
    "vault-service-token": ["hvs."],  # not "s.": in every other line of code (legacy s.<24> tokens go unseen)
}
#: Regexes mended: (what gitleaks has, what tracer runs instead). An OpenAI key's alphabet holds '-', and a key
#: that ends in '-' before a quote has no word boundary there: the \b after it lost one key in 32 (the group of
#: delimiters after it already ends the key).
REGEX_FIXES = {"openai-api-key": ("{58})\\b|sk-", "{58})|sk-")}
#: Rules kept for export only although their keywords are long: multi-line or slow expressions.
FORCE_EXPORT = {"curl-auth-user", "kubernetes-secret-yaml", "sidekiq-sensitive-url", "nuget-config-password"}

LICENSE = """\
MIT License

Copyright (c) 2019 Zachary Rice

Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.
"""


def literal(text: str) -> str:
    """A TOML string holding ``text`` exactly: a multi-line literal string unless it holds ``'''``."""
    if "'''" not in text and not text.endswith("'") and "\n" not in text:
        return f"'''{text}'''"
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def strings(values: list[str]) -> str:
    return "[" + ", ".join(literal(v) for v in values) + "]"


def stage_of(rule: dict) -> str:
    rid = rule["id"]
    if rid in FORCE_RECORD:
        return "record"
    if rid in FORCE_EXPORT:
        return "export"
    regex = rule["regex"]
    keywords = rule.get("keywords", [])
    near_keyword = regex.startswith(r"(?i)[\w.-]{0,50}?") or ("{0,20}" in regex and regex.startswith(r"(?i)\b"))
    distinctive = bool(keywords) and all(len(k) >= 4 or not k.isalnum() for k in keywords)
    return "record" if distinctive and not near_keyword else "export"


def main() -> None:
    source, commit = sys.argv[1], sys.argv[2]
    with open(source, "rb") as f:
        data = tomllib.load(f)
    out = [
        "# Secret rules from gitleaks, as data: https://github.com/gitleaks/gitleaks, config/gitleaks.toml",
        f"# at commit {commit}. Made by scripts/vendor_gitleaks_rules.py (see there for what is kept and why);",
        "# do not edit by hand. Fields: id, description, regex (RE2), secret_group, entropy, keywords (matched",
        "# without regard to case), allow / allow_match / allow_line (regexes against the secret, the whole match,",
        "# the line), stopwords; stage says when tracer runs the rule (record: before anything reaches the disk;",
        "# export: when a session leaves the machine).",
        "#",
        "# gitleaks is distributed under this licence:",
        "#",
        *[("# " + line).rstrip() for line in LICENSE.splitlines()],
        "",
        f"source = {literal('gitleaks ' + commit)}",
        "",
    ]
    glob = data.get("allowlist", {})
    out += [
        "[allowlist]",
        f"allow = {strings(glob.get('regexes', []))}",
        f"stopwords = {strings(glob.get('stopwords', []))}",
        "",
    ]
    for rule in data["rules"]:
        rid = rule["id"]
        if rid in REPLACED or "regex" not in rule:
            continue
        if rid in REGEX_FIXES:
            was, now = REGEX_FIXES[rid]
            if was not in rule["regex"]:
                sys.exit(f"the regex of {rid} changed upstream: check REGEX_FIXES")
            rule["regex"] = rule["regex"].replace(was, now)
        re2.compile(rule["regex"])  # every rule must compile with the engine tracer uses
        out.append("[[rules]]")
        out.append(f"id = {literal(rid)}")
        out.append(f"description = {literal(rule.get('description', ''))}")
        out.append(f"stage = {literal(stage_of(rule))}")
        out.append(f"regex = {literal(rule['regex'])}")
        if rule.get("secretGroup"):
            out.append(f"secret_group = {rule['secretGroup']}")
        if rule.get("entropy"):
            out.append(f"entropy = {rule['entropy']}")
        out.append(f"keywords = {strings(KEYWORDS.get(rid, rule.get('keywords', [])))}")
        allow: dict[str, list[str]] = {"secret": [], "match": [], "line": []}
        stop: list[str] = []
        for al in rule.get("allowlists", []):
            if al.get("paths") or al.get("commits"):
                continue  # about files or commits: nothing a terminal session has
            allow[al.get("regexTarget", "secret")].extend(al.get("regexes", []))
            stop.extend(al.get("stopwords", []))
        for target, key in (("secret", "allow"), ("match", "allow_match"), ("line", "allow_line")):
            if allow[target]:
                out.append(f"{key} = {strings(allow[target])}")
        if stop:
            out.append(f"stopwords = {strings(stop)}")
        out.append("")
    sys.stdout.write("\n".join(out))


if __name__ == "__main__":
    main()
