#!/usr/bin/env python3
"""Turns the C++ code blocks of README.md and docs/*.md into translation units, so that every one is compiled
(and the programs among them run) by the test suite. The convention, also in CONTRIBUTING.md:

  ```cpp            a program when it defines main(): compiled as it stands (its own includes, no prelude),
                    linked, and run by the tests with one argument, the URL of a mosquitto the test started; it
                    must exit 0. It is also run against a port nobody listens on, where it must fail with a
                    non-zero exit status and say something (a failed connect is reported, never a silent hang).
                    Otherwise a fragment: compiled at namespace scope (a namespace of its own per block) after the
                    prelude below, and linked, not run.
  ```cpp body       statements: the body of a coroutine `asio::awaitable<void> f(coromqtt::client& client)`,
                    after the prelude. Compiled and linked, not run.
  ```cpp no-run     a program that is compiled and linked but not run (it needs what the test cannot give it,
                    e.g. a managed broker). Say why in the text around it.
  ```cpp offline    a program that needs no broker: run once without arguments; it must exit 0.
  ```cpp skip       not compiled: only for code shown as wrong on purpose ("this does not compile").

The prelude of fragments and bodies: every public header (include/coromqtt/*.hpp), <boost/asio.hpp>, the usual
standard headers, `namespace asio = boost::asio;` and `using namespace std::chrono_literals;`.
Code is compiled with the project's warnings (and -Werror with strict_warnings), except -Wmissing-declarations:
doc code defines free functions the way a user's file does. #line directives make the compiler's messages point
at the Markdown file and line.

Commands (meson runs them; see test/docs/meson.build):
  extract.py list SOURCE_ROOT                       one line per unit: ID KIND MARKDOWN_FILE
  extract.py files SOURCE_ROOT                      the Markdown files scanned (README.md, docs/*.md)
  extract.py write SOURCE_ROOT ID OUTPUT            writes unit ID's translation unit
  extract.py check SOURCE_ROOT ID...                fails when the units found now differ from ID... (a new
                                                    Markdown file since meson last configured)
"""

import os
import re
import sys

FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^`\n]*)$")
KINDS = {"body", "no-run", "offline", "skip"}
MAIN = re.compile(r"\bint\s+main\s*\(")
INCLUDE = re.compile(r"^\s*#\s*include\b")


def markdown_files(root):
    files = []
    if os.path.exists(os.path.join(root, "README.md")):
        files.append("README.md")
    docs = os.path.join(root, "docs")
    if os.path.isdir(docs):
        files += sorted("docs/" + name for name in os.listdir(docs) if name.endswith(".md"))
    return files


class Block:
    def __init__(self, path, number, first_line, info, lines):
        self.path = path            # relative to the source root
        self.number = number        # 1-based among the C++ blocks of its file
        self.first_line = first_line  # the line (1-based) of the block's first code line
        self.words = info.split()[1:]
        self.lines = lines
        unknown = [w for w in self.words if w not in KINDS]
        if unknown:
            raise SystemExit(f"{path}:{first_line - 1}: unknown code block attribute {' '.join(unknown)!r} "
                             f"(known: {', '.join(sorted(KINDS))})")
        code = "".join(lines)
        if "skip" in self.words:
            self.kind = "skip"
        elif "body" in self.words:
            self.kind = "body"
        elif MAIN.search(code):
            self.kind = "no-run" if "no-run" in self.words else "offline" if "offline" in self.words else "program"
        else:
            if "no-run" in self.words or "offline" in self.words:
                raise SystemExit(f"{path}:{first_line - 1}: 'no-run' and 'offline' are for programs (with main)")
            self.kind = "fragment"


def blocks_of(root, path):
    """The ```cpp blocks of one Markdown file, in order."""
    blocks = []
    with open(os.path.join(root, path), encoding="utf-8") as f:
        text = f.readlines()
    i = 0
    while i < len(text):
        m = FENCE.match(text[i].rstrip("\n"))
        if not m:
            i += 1
            continue
        fence, indent, info = m.group("fence"), m.group("indent"), m.group("info").strip()
        start = i + 1
        i += 1
        lines = []
        while i < len(text):
            close = text[i].strip()
            if close.startswith(fence[0] * len(fence)) and close.strip(fence[0]) == "":
                break
            line = text[i]
            lines.append(line[len(indent):] if line.startswith(indent) else line.lstrip(" \t"))
            i += 1
        i += 1
        language = info.split()[0].lower() if info else ""
        if language in ("cpp", "c++"):
            blocks.append(Block(path, len(blocks) + 1, start + 1, info, lines))
    return blocks


def unit_id(path, suffix):
    stem = os.path.splitext(os.path.basename(path))[0].lower()
    return re.sub(r"[^a-z0-9]+", "_", stem) + "_" + suffix


def units(root):
    """(id, kind, path, blocks): one unit per program, one per file for all its fragments and bodies."""
    result = []
    for path in markdown_files(root):
        blocks = blocks_of(root, path)
        snippets = [b for b in blocks if b.kind in ("fragment", "body")]
        if snippets:
            result.append((unit_id(path, "fragments"), "fragments", path, snippets))
        for b in blocks:
            if b.kind in ("program", "no-run", "offline"):
                result.append((unit_id(path, str(b.number)), b.kind, path, [b]))
    return result


def public_headers(root):
    include = os.path.join(root, "include", "coromqtt")
    return sorted("coromqtt/" + n for n in os.listdir(include) if n.endswith(".hpp"))


NO_MISSING_DECLARATIONS = ('#if defined(__GNUC__)\n'
                           '#pragma GCC diagnostic ignored "-Wmissing-declarations"\n'
                           '#endif\n')


def line_directive(block, offset=0):
    return f'#line {block.first_line + offset} "{block.path}"\n'


def reset_line(out, output):
    """A #line directive that points the following lines back at the generated file itself."""
    line = "".join(out).count("\n") + 2
    return f'#line {line} "{os.path.basename(output)}"\n'


def write_unit(root, unit, output):
    uid, kind, path, blocks = unit
    out = [f"// Generated by test/docs/extract.py from {path}: do not edit; edit the Markdown.\n",
           NO_MISSING_DECLARATIONS]
    if kind == "fragments":
        for header in public_headers(root):
            out.append(f"#include <{header}>\n")
        out.append("#include <boost/asio.hpp>\n\n")
        for header in ("chrono", "cstdint", "exception", "functional", "iostream", "memory", "optional",
                       "string", "string_view", "utility", "vector"):
            out.append(f"#include <{header}>\n")
        # A fragment's own #include lines go to the top (a header cannot be included inside a namespace); a blank
        # line keeps their place, so that line numbers still match the Markdown.
        for b in blocks:
            for n, line in enumerate(b.lines):
                if INCLUDE.match(line):
                    out.append(line_directive(b, n) + line)
                    b.lines[n] = "\n"
        out.append("\nnamespace asio = boost::asio;\nusing namespace std::chrono_literals;\n\n")
        for b in blocks:
            namespace = f"doc_block_{b.number}"
            out.append(f"// {b.path}, C++ block {b.number} ({b.kind})\nnamespace {namespace} {{\n")
            if b.kind == "body":
                out.append("asio::awaitable<void> body([[maybe_unused]] coromqtt::client& client) {\n")
                out.append(line_directive(b))
                out.extend(b.lines)
                out.append("  co_return;\n}\n")
            else:
                out.append(line_directive(b))
                out.extend(b.lines)
            out.append(reset_line(out, output))
            out.append(f"}}  // namespace {namespace}\n\n")
        out.append("// Linked, so that every function the fragments call must exist; never run.\n"
                   "int main() { return 0; }\n")
    else:
        out.append(line_directive(blocks[0]))
        out.extend(blocks[0].lines)
    text = "".join(out)
    if os.path.exists(output):
        with open(output, encoding="utf-8") as f:
            if f.read() == text:
                return
    with open(output, "w", encoding="utf-8") as f:
        f.write(text)


def main(argv):
    if len(argv) < 3:
        raise SystemExit(__doc__)
    command, root = argv[1], argv[2]
    found = units(root)
    if command == "list":
        for uid, kind, path, _ in found:
            print(uid, kind, path)
    elif command == "files":
        for path in markdown_files(root):
            print(path)
    elif command == "write":
        uid, output = argv[3], argv[4]
        unit = next((u for u in found if u[0] == uid), None)
        if unit is None:
            raise SystemExit(f"extract.py: no code block unit {uid} any more: reconfigure (meson setup --reconfigure)")
        write_unit(root, unit, output)
    elif command == "check":
        configured = set(argv[3:])
        now = {u[0] for u in found}
        if now != configured:
            print("The C++ blocks of the documentation changed since meson configured this build:")
            for uid in sorted(now - configured):
                print("  new:", uid)
            for uid in sorted(configured - now):
                print("  gone:", uid)
            print("Run `meson setup --reconfigure` on the build directory so that they are compiled.")
            return 1
        skipped = [f"{b.path}:{b.first_line - 1}" for p in markdown_files(root) for b in blocks_of(root, p)
                   if b.kind == "skip"]
        print(f"{len(now)} units from the documentation's C++ blocks are built"
              + (f"; not compiled on purpose (skip): {', '.join(skipped)}" if skipped else ""))
    else:
        raise SystemExit(__doc__)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
