"""Build the labelled preference-routing set in ``bench/data/preferences.jsonl``.

Usage: ``python scripts/build_preference_set.py [--clinc PATH] [--out PATH] [--per-class N]``

The set measures preference-based model routing the way Plano's demos configure it: the
two routing preferences of Plano's ``preference_based_routing`` demo (Apache-2.0), one
line each, and three kinds of requests, all from public text:

* ``code generation``: "Write a Python function to ..." followed by the first sentence of
  the docstring of a pure-Python function of CPython's standard library (PSF licence);
* ``code understanding``: a question asking what a piece of code does, followed by the
  body of such a function (its docstring removed);
* no preference (``expected: []``): the out-of-scope queries of CLINC150 (CC BY 3.0), as
  converted in the dev routing file, which fit neither.

The question wordings rotate through a few fixed phrasings. The output has the format of
the routing data sets (``id``, ``source``, ``kind``, ``agents``, ``messages``,
``expected``), so ``plano-asgi eval-routes bench/data/preferences.jsonl --by kind``
scores a router on it. Deterministic: the same inputs give the same file.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import json
import random
import re
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROUTES = [
    {
        "id": "code understanding",
        "description": "understand and explain existing code snippets, functions, or libraries",
    },
    {
        "id": "code generation",
        "description": (
            "generating new code snippets, functions, or boilerplate based on user prompts "
            "or requirements"
        ),
    },
]
MODULES = (
    "base64 bisect calendar colorsys csv difflib fnmatch fractions ftplib gettext glob "
    "heapq html ipaddress json mimetypes ntpath os.path pathlib pprint quopri random "
    "shlex shutil statistics string tempfile textwrap tokenize urllib.parse uuid "
    "wave zipfile email.utils http.cookies logging"
).split()
ASK_GENERATE = (
    "Write a Python function to {task}",
    "Can you write me a function that does this: {task}",
    "I need code for the following. {task}",
    "Generate a small Python helper to {task}",
)
ASK_EXPLAIN = (
    "What does this function do?\n\n```python\n{code}\n```",
    "Can you explain this code to me step by step?\n\n{code}",
    "I found this in our codebase and don't get it:\n\n{code}\n\nwhat is it for?",
    "Walk me through what this snippet is doing:\n```\n{code}\n```",
)
_SENTENCE = re.compile(r"^(.+?[.!?])(\s|$)", re.DOTALL)


def stdlib_functions() -> Iterator[tuple[str, str, str]]:
    """``(qualified name, first docstring sentence, source without docstring)``."""
    for name in MODULES:
        module = importlib.import_module(name)
        for attr, value in sorted(vars(module).items()):
            if attr.startswith("_") or not inspect.isfunction(value):
                continue
            if value.__module__ != module.__name__:
                continue
            doc = inspect.getdoc(value)
            try:
                source = textwrap.dedent(inspect.getsource(value))
            except (OSError, TypeError):
                continue
            if not doc:
                continue
            match = _SENTENCE.match(" ".join(doc.split()))
            if match is None:
                continue
            sentence = match.group(1)
            body = _without_docstring(source)
            lines = body.count("\n") + 1
            if 12 <= len(sentence) <= 160 and 4 <= lines <= 25:
                yield f"{name}.{attr}", sentence, body


def _without_docstring(source: str) -> str:
    quote = re.search(r'("""|\'\'\')', source)
    if quote is None:
        return source.rstrip()
    end = source.find(quote.group(1), quote.end())
    if end < 0:
        return source.rstrip()
    head = source[: quote.start()].rstrip()
    rest = source[end + 3 :].split("\n", 1)
    return (head + "\n" + rest[1] if len(rest) == 2 else head).rstrip()


def _task(sentence: str) -> str:
    # "Return the median of data." -> "return the median of data."
    return sentence[0].lower() + sentence[1:]


def clinc_out_of_scope(path: Path) -> Iterator[tuple[str, str]]:
    """``(id, query)`` of the out-of-scope CLINC150 turns of the dev routing file."""
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            case = json.loads(line)
            if case.get("source") == "clinc150" and case.get("expected") == []:
                yield case["id"], case["messages"][-1]["content"]


def build(clinc: Path, per_class: int, seed: int = 7) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    functions = list(stdlib_functions())
    rng.shuffle(functions)
    cases: list[dict[str, Any]] = []

    def case(cid: str, source: str, kind: str, text: str, expected: list[str]) -> None:
        cases.append(
            {
                "id": cid,
                "source": source,
                "kind": kind,
                "agents": ROUTES,
                "messages": [{"role": "user", "content": text}],
                "expected": expected,
            }
        )

    generate, explain = functions[:per_class], functions[per_class : 2 * per_class]
    for index, (name, sentence, _) in enumerate(generate):
        text = ASK_GENERATE[index % len(ASK_GENERATE)].format(task=_task(sentence))
        case(f"pref-gen-{name}", "cpython-stdlib", "code_generation", text, ["code generation"])
    for index, (name, _, code) in enumerate(explain):
        text = ASK_EXPLAIN[index % len(ASK_EXPLAIN)].format(code=code)
        case(
            f"pref-explain-{name}",
            "cpython-stdlib",
            "code_understanding",
            text,
            ["code understanding"],
        )
    queries = list(clinc_out_of_scope(clinc))
    rng.shuffle(queries)
    for cid, query in queries[:per_class]:
        case(f"pref-none-{cid}", "clinc150", "none", query, [])
    return cases


def main(argv: list[str] | None = None) -> int:
    root = Path(__file__).resolve().parent.parent
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--clinc", type=Path, default=root.parent / "shared" / "data" / "route_dev.jsonl"
    )
    parser.add_argument("--out", type=Path, default=root / "bench" / "data" / "preferences.jsonl")
    parser.add_argument("--per-class", type=int, default=40)
    args = parser.parse_args(argv)
    cases = build(args.clinc, args.per_class)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("w", encoding="utf-8") as out:
        for item in cases:
            out.write(json.dumps(item, ensure_ascii=False) + "\n")
    print(f"{len(cases)} cases -> {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
