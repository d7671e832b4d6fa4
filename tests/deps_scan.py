#!/usr/bin/env python3
"""tests/deps_scan.py - a static check that every program the tests run is
installed by scripts/deps.sh on a fresh Debian 12 machine.

It reads the test scripts and the scripts they run (tests/**/*.sh but the
rig's busybox /init, tests/**/*.py, scripts/*.sh, kernel/build.sh and the
recipes of Makefile and src/*/build.mk) without running them, finds the
words in command position, and checks that each one is a shell builtin or
keyword, a function of those scripts, a program of the project (a path such
as build/lxs-vm, or a variable), a program of an Essential Debian package
(there on every Debian machine), or a tool named in the table `tools=(...)`
of scripts/deps.sh. Python files are read with ast: subprocess calls, exec
calls and shutil.which name programs, and imports must be of the standard
library.

Prints TAP for tests/check.sh:
  1..1
  ok - deps_scan (N commands in M files)
  not ok - deps_scan: TOOL (FILE:LINE) is called but scripts/deps.sh does not list it; ...
Exits 1 when the check fails, 0 otherwise. With --list it also prints,
as TAP comments, every command it found and what it took it for.

Which packages are Essential is read from dpkg's own database
(dpkg-query, which every Debian machine has): a hand-kept list would go
stale with the next Debian release, and dpkg knows which files each
package installed, so aliases such as `[` or `sh` need no special case.

The shell reading is a heuristic, not a parser: command position is the
start of a statement, after | || && ; & ( { $( ` <( and the keywords then,
do, else, elif, if, while, until, !, time, and after wrappers that run the
command they are given (setpriv, timeout N, env VAR=..., sudo, nice,
xargs, exec, find -exec, tests/lib.sh's `watched SECS FILE` and
`until_ok SECS`). Quoted strings are data (so `sh -c '...'` scripts meant
for a guest are not read), heredoc bodies and comments are skipped, and a
command given as a variable is looked up in the file's assignments
(X=${X:-clang}, arr=(xz -dc)).
"""
import ast
import glob
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEPS = "scripts/deps.sh"

BUILTINS = set("""
. : [ alias bg bind break builtin caller cd command compgen complete compopt
continue declare dirs disown echo enable eval exec exit export false fc fg
getopts hash help history jobs kill let local logout mapfile popd printf
pushd pwd read readarray readonly return set shift shopt source suspend test
times trap true type typeset ulimit umask unalias unset wait
""".split())
# Keywords that leave the next word in command position.
LEAD_KEYWORDS = {"if", "then", "else", "elif", "do", "while", "until", "!", "time", "{"}
END_KEYWORDS = {"fi", "done", "}", "esac"}

# Programs the scan finds that deps.sh need not install, each with why
# (--list shows it).
ALLOW = {
    "sudo": "scripts/deps.sh runs apt-get through it only for an ordinary user who has it; "
            "as root (CI, make check) it is not used, and it could not install itself",
}

# Wrappers run the command that follows their options and their fixed
# arguments: name -> (options that take a value, how many fixed arguments).
WRAPPERS = {
    "sudo": ({"-u", "-g", "-C", "-D", "-h", "-p", "-r", "-t", "-U"}, 0),
    "nice": ({"-n", "--adjustment"}, 0),
    "nohup": (set(), 0),
    "setpriv": ({"--reuid", "--regid", "--ruid", "--rgid", "--euid", "--egid", "--groups",
                 "--inh-caps", "--ambient-caps", "--bounding-set", "--securebits", "--pdeathsig"}, 0),
    "timeout": ({"-k", "-s", "--kill-after", "--signal"}, 1),
    "env": ({"-u", "--unset", "-C", "--chdir"}, 0),
    "xargs": ({"-n", "-I", "-P", "-L", "-d", "-s", "-a", "-E", "--max-args", "--max-procs",
               "--delimiter", "--arg-file"}, 0),
    "exec": ({"-a"}, 0),
    "command": (set(), 0),
    "watched": (set(), 2),  # tests/lib.sh: watched SECONDS DIAG CMD...
    "until_ok": (set(), 1),  # tests/lib.sh: until_ok SECS CMD...
}
ASSIGN = re.compile(r"[A-Za-z_]\w*(\[[^]]*\])?\+?=")
REDIRECT = re.compile(r"<<<|<<-|<<|<&|<>|>>|>&|>\||<|>")
OPERATORS = ("||", "&&", ";;&", ";;", ";&", "|&", "|", "&", ";", "(", ")")


class Shell:
    """Walks shell source and reports each word in command position."""

    def __init__(self, text, path, line, scan):
        self.s, self.i, self.line = text, 0, line
        self.path, self.scan = path, scan
        self.heredocs = []

    def run(self):
        self.code(None, Parser(self))

    # --- characters -----------------------------------------------------------------
    def code(self, end, p):
        """Tokens up to `end` (None: the end of the text; ')' or '`'), fed to p."""
        s = self.s
        word, wline = [], [self.line]

        def add(piece):
            if not word:
                wline[0] = self.line
            word.append(piece)

        def flush():
            if word:
                p.word("".join(word), wline[0])
                word.clear()

        while self.i < len(s):
            c = s[self.i]
            nxt = s[self.i + 1:self.i + 2]
            if end == "`" and c == "`":
                self.i += 1
                flush()
                return
            if c == "\\":
                if nxt == "\n":
                    self.i += 2
                    self.line += 1
                    continue
                add(s[self.i:self.i + 2])
                self.i += 2
            elif c == "\n":
                flush()
                self.i += 1
                self.line += 1
                p.op("\n")
                self.read_heredocs()
            elif c in " \t":
                flush()
                self.i += 1
            elif c == "#" and not word:
                while self.i < len(s) and s[self.i] != "\n":
                    self.i += 1
            elif c == "'":
                add(self.squote())
            elif c == '"':
                add(self.dquote())
            elif c == "$":
                add(self.dollar())
            elif c == "`":
                self.i += 1
                self.code("`", Parser(self))
                add("$(...)")
            elif c in "<>" and nxt == "(":
                self.i += 2
                self.code(")", Parser(self))
                add(c + "(...)")
            elif c in "<>" or (c == "&" and nxt == ">"):
                if word and "".join(word).isdigit():
                    word.clear()  # a descriptor number: 2>&1
                flush()
                if c == "&":
                    self.i += 3 if s.startswith("&>>", self.i) else 2
                    p.redirect()
                    continue
                op = REDIRECT.match(s, self.i).group()
                self.i += len(op)
                if op in ("<<", "<<-"):
                    self.heredoc_start(op == "<<-")
                else:
                    p.redirect()
            elif c == "(" and word and ASSIGN.fullmatch("".join(word)):
                self.i += 1
                elems = Collector()
                self.code(")", elems)
                p.assign("".join(word), elems.words)
                word.clear()
            elif c in "|&;()":
                if c == ")" and end == ")" and p.can_close():
                    self.i += 1
                    flush()
                    return
                flush()
                op = next(o for o in OPERATORS if s.startswith(o, self.i))
                self.i += len(op)
                p.op(op)
            else:
                add(c)
                self.i += 1
        flush()

    def squote(self):
        j = self.s.find("'", self.i + 1)
        j = len(self.s) - 1 if j < 0 else j
        piece = self.s[self.i:j + 1]
        self.line += piece.count("\n")
        self.i = j + 1
        return piece

    def dquote(self):
        s, out = self.s, ['"']
        self.i += 1
        while self.i < len(s):
            c = s[self.i]
            if c == "\\":
                out.append(s[self.i:self.i + 2])
                self.line += s[self.i + 1:self.i + 2] == "\n"
                self.i += 2
            elif c == '"':
                self.i += 1
                break
            elif c == "$":
                out.append(self.dollar())
            elif c == "`":
                self.i += 1
                self.code("`", Parser(self))
                out.append("$(...)")
            else:
                self.line += c == "\n"
                out.append(c)
                self.i += 1
        out.append('"')
        return "".join(out)

    def dollar(self):
        s = self.s
        if s.startswith("$((", self.i):
            return self.arith()
        if s.startswith("$(", self.i):
            self.i += 2
            self.code(")", Parser(self))
            return "$(...)"
        if s.startswith("${", self.i):
            return self.param()
        if s.startswith("$'", self.i):
            j = self.i + 2
            while j < len(s) and s[j] != "'":
                j += 2 if s[j] == "\\" else 1
            piece = s[self.i:j + 1]
            self.line += piece.count("\n")
            self.i = j + 1
            return piece
        self.i += 1
        return "$"

    def param(self):
        """${...}, whose words may hold command substitutions."""
        s, out, depth = self.s, ["${"], 1
        self.i += 2
        while self.i < len(s):
            c = s[self.i]
            if c == "\\":
                out.append(s[self.i:self.i + 2])
                self.i += 2
                continue
            if c == "$":
                out.append(self.dollar())
                continue
            if c == '"':
                out.append(self.dquote())
                continue
            if c == "`":
                self.i += 1
                self.code("`", Parser(self))
                out.append("$(...)")
                continue
            self.i += 1
            self.line += c == "\n"
            depth += (c == "{") - (c == "}")
            out.append(c)
            if depth == 0:
                break
        return "".join(out)

    def arith(self):
        """$((...)): no commands but those in substitutions inside."""
        s, depth = self.s, 2
        self.i += 3
        while self.i < len(s) and depth:
            c = s[self.i]
            if c == "$" and s.startswith("$(", self.i):
                self.dollar()
                continue
            if c == '"':
                self.dquote()
                continue
            depth += (c == "(") - (c == ")")
            self.line += c == "\n"
            self.i += 1
        return "$((...))"

    def heredoc_start(self, strip_tabs):
        s = self.s
        while self.i < len(s) and s[self.i] in " \t":
            self.i += 1
        m = re.compile(r"""(['"]?)([^\s'"<>;&|()]+)\1""").match(s, self.i)
        if m:
            self.i = m.end()
            self.heredocs.append((m.group(2), strip_tabs))

    def read_heredocs(self):
        s = self.s
        while self.heredocs:
            delim, strip_tabs = self.heredocs.pop(0)
            while self.i < len(s):
                j = s.find("\n", self.i)
                j = len(s) if j < 0 else j
                text = s[self.i:j]
                self.i = j + 1
                self.line += 1
                if (text.lstrip("\t") if strip_tabs else text) == delim:
                    break


class Collector:
    """The words of an array assignment arr=(...)."""

    def __init__(self):
        self.words = []

    def word(self, raw, line):
        self.words.append(raw)

    def op(self, op):
        pass

    def redirect(self):
        pass

    def assign(self, name, words):
        pass

    def can_close(self):
        return True


class Parser:
    """Which words are in command position, from a stream of words and operators."""

    def __init__(self, sh):
        self.sh = sh
        self.state = "cmd"  # cmd | args | wrap | header (of for/select) | funcname
        self.redir = False
        self.double_bracket = False
        self.case = []  # per open case: head (before `in`) | pat | body
        self.paren = 0
        self.prev = None  # the previous token, to tell `name() {` from a subshell
        self.cmd = None
        self.argn = 0
        self.wrap = None

    def can_close(self):
        return self.paren == 0 and not (self.case and self.case[-1] == "pat")

    def redirect(self):
        self.redir = True

    def assign(self, name, words):
        self.sh.scan.note_assignment(self.sh.path, name.rstrip("+=").split("[")[0], words)
        self.prev = "word"

    def op(self, op):
        prev, self.prev = self.prev, op
        self.redir = False
        if self.case and self.case[-1] == "pat":
            if op == ")":
                self.case[-1] = "body"
                self.state = "cmd"
            return
        if op in (";;", ";&", ";;&") and self.case:
            self.case[-1] = "pat"
            return
        if self.double_bracket:
            return
        if op == "(":
            self.paren += 1
            self.state = "cmd"
        elif op == ")":
            self.paren -= 1
            # name() { ... }: a function definition, its body next.
            self.state = "cmd" if prev == "(" else "args"
        elif self.state == "header" and op not in ("\n", ";"):
            pass
        else:
            self.state = "cmd"

    def word(self, raw, line):
        self.prev = "word"
        if self.redir:
            self.redir = False
            return
        if self.double_bracket:
            self.double_bracket = raw != "]]"
            self.state = "args"
            return
        if self.case and self.case[-1] == "head":
            if raw == "in":
                self.case[-1] = "pat"
            return
        if self.case and self.case[-1] == "pat":
            if raw == "esac":
                self.case.pop()
                self.state = "args"
            return
        if self.state == "header":
            if raw == "do":
                self.state = "cmd"
            return
        if self.state == "funcname":
            self.state = "cmd"  # its body, { ... }, follows
            return
        if self.state == "wrap":
            self.wrapped(raw, line)
            return
        if self.state == "args":
            self.argument(raw)
            return
        # command position
        if ASSIGN.match(raw):
            name, _, value = raw.partition("=")
            self.sh.scan.note_assignment(self.sh.path, name.rstrip("+").split("[")[0], [value])
        elif raw in LEAD_KEYWORDS:
            pass
        elif raw in END_KEYWORDS:
            if raw == "esac" and self.case:
                self.case.pop()
            self.state = "args"
            self.cmd = None
        elif raw == "case":
            self.case.append("head")
        elif raw in ("for", "select"):
            self.state = "header"
        elif raw == "[[":
            self.double_bracket = True
        elif raw == "function":
            self.state = "funcname"
        else:
            self.command(raw, line)

    def command(self, raw, line):
        names, wrapper = self.sh.scan.resolve(self.sh.path, raw)
        for name in names:
            self.sh.scan.called(name, self.sh.path, line)
        self.cmd = names[0] if len(names) == 1 else None
        self.argn = 0
        self.state = "args"
        if wrapper in WRAPPERS:
            self.state = "wrap"
            self.wrap = {"name": wrapper, "value": False, "opts": True,
                         "fixed": WRAPPERS[wrapper][1]}

    def wrapped(self, raw, line):
        w = self.wrap
        argopts = WRAPPERS[w["name"]][0]
        if w["value"]:
            w["value"] = False
        elif w["opts"] and raw == "--":
            w["opts"] = False
        elif w["opts"] and raw.startswith("-") and len(raw) > 1:
            if w["name"] == "command" and raw in ("-v", "-V"):
                self.state = "args"  # only looks the name up
            w["value"] = raw in argopts
        elif w["name"] == "env" and ASSIGN.match(raw):
            pass
        elif w["fixed"]:
            w["fixed"] -= 1
            w["opts"] = False
        else:
            self.state = "cmd"
            self.word(raw, line)

    def argument(self, raw):
        self.argn += 1
        if self.cmd == "find" and raw in ("-exec", "-execdir", "-ok", "-okdir"):
            self.state = "cmd"
        elif self.cmd == "trap" and self.argn == 1 and len(raw) > 1 and raw[0] == raw[-1] == "'":
            # The handler runs on this host: its commands count.
            Shell(raw[1:-1], self.sh.path, self.sh.line, self.sh.scan).run()


class Scan:
    def __init__(self):
        self.assignments = {}  # (path, name) -> [[word, ...], ...]
        self.functions = set()
        self.calls = {}  # name -> first "path:line"
        self.problems = []
        self.reporting = True

    # --- what the readers report -----------------------------------------------------
    def note_assignment(self, path, name, words):
        if not self.reporting:
            self.assignments.setdefault((path, name), []).append(words)

    def called(self, name, path, line):
        if self.reporting and name:
            self.calls.setdefault(name, f"{path}:{line}")

    def resolve(self, path, raw, depth=0):
        """The program names a command word stands for, and the wrapper it is, if any."""
        if "$" not in raw and "`" not in raw:
            word = re.sub(r"\\(.)", r"\1", raw.replace("'", "").replace('"', ""))
            if "/" in word:
                if not word.startswith("/"):
                    return [], None  # the project's own program (build/..., tests/...)
                word = os.path.basename(word)
            return [word], word
        if depth:
            return [], None
        # ${X:-default}: the default is a program when X is not set.
        m = re.fullmatch(r'"?\$\{\w+(?:\[[@*]\])?:?[-=]([^${}"\s]+)\}"?', raw)
        if m:
            return self.resolve(path, m.group(1), 1)
        m = re.fullmatch(r'"?\$\{?(\w+)(?:\[[@*]\])?\}?"?', raw)
        if not m:
            return [], None  # "$dir/prog" and the like: a path of the project's
        names, wrappers = [], set()
        for words in self.assignments.get((path, m.group(1)), []):
            if not words or not words[0]:
                continue
            value = words[0]
            d = re.fullmatch(r'"?\$\{\w+:?[-=]([^${}"\s]+)\}"?', value)
            got, wrapper = self.resolve(path, d.group(1) if d else value, 1)
            names += got
            # A wrapper's options live in the same array: only a lone word
            # (sudo=sudo; $sudo apt-get) wraps the words after the expansion.
            if len(words) == 1:
                wrappers.add(wrapper)
        names = [n for n in dict.fromkeys(names) if n]
        return names, (wrappers.pop() if len(wrappers) == 1 else None)

    # --- the files -----------------------------------------------------------------------
    def shell_file(self, path):
        text = read(path)
        for m in re.finditer(r"^[ \t]*(?:function[ \t]+)?([A-Za-z_][\w-]*)[ \t]*\(\)", text, re.M):
            self.functions.add(m.group(1))
        self.shell_text(text, path, 1)

    def make_file(self, path):
        lines = read(path).split("\n")
        logical, start, buf = [], None, ""
        for n, line in enumerate(lines, 1):
            if start is None:
                start = n
            if line.endswith("\\"):
                buf += line[:-1] + " "
                continue
            logical.append((start, buf + line))
            start, buf = None, ""
        variables = {"MAKE": "make"}
        for _, line in logical:
            m = re.match(r"(\w+)\s*(?:\?=|:=|::=|=)\s*(\S+)\s*$", line)
            if m and "$" not in m.group(2):
                variables.setdefault(m.group(1), m.group(2))
        in_define = False
        for n, line in logical:
            if re.match(r"\s*define\b", line):
                in_define = True
            elif re.match(r"\s*endef\b", line):
                in_define = False
            for m in re.finditer(r"\$\(shell\s+([^)]*)\)", line):
                self.shell_text(m.group(1), path, n)
            if line.startswith("\t"):
                recipe = line.strip().lstrip("@-+")
                if in_define:
                    # $(eval) expands a template once before the rule is read.
                    recipe = recipe.replace("$$", "$").lstrip("@-+")
                self.shell_text(make_expand(recipe, variables), path, n)

    def shell_text(self, text, path, line):
        # Read twice: the first time for the assignments alone, so that a
        # function may use a variable the text assigns further down.
        self.reporting = False
        Shell(text, path, line, self).run()
        self.reporting = True
        Shell(text, path, line, self).run()

    def python_file(self, path):
        try:
            tree = ast.parse(read(path), path)
        except SyntaxError as e:
            self.problems.append(f"{path}:{e.lineno} does not parse as Python ({e.msg})")
            return
        stdlib = set(sys.stdlib_module_names)
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                if isinstance(node, ast.ImportFrom) and node.level:
                    continue
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module]
                for name in names:
                    top = name.split(".")[0]
                    if top not in stdlib:
                        self.problems.append(
                            f"{path}:{node.lineno} imports {top}, which is not in Python's standard library; "
                            "tests use the standard library alone (the python3 first on PATH, pyenv's on our "
                            "machines, does not see Debian's python3-* packages)")
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                owner = node.func.value.id if isinstance(node.func.value, ast.Name) else ""
                fn = node.func.attr
                if not node.args or not (owner == "subprocess" or (owner == "os" and fn.startswith(("exec", "spawn")))
                                         or (owner == "shutil" and fn == "which")):
                    continue
                arg = node.args[0]
                if isinstance(arg, (ast.List, ast.Tuple)) and arg.elts:
                    arg = arg.elts[0]
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str) and arg.value.split():
                    names, _ = self.resolve(path, arg.value.split()[0])
                    for name in names:
                        self.called(name, path, node.lineno)


def make_expand(text, variables):
    """A recipe line as the shell gets it: known one-word variables put in,
    anything else make would expand turned into a shell variable."""
    out, i = [], 0
    while i < len(text):
        c = text[i]
        if c != "$":
            out.append(c)
            i += 1
            continue
        nxt = text[i + 1:i + 2]
        if nxt == "$":
            out.append("$")
            i += 2
        elif nxt in ("(", "{"):
            close = ")" if nxt == "(" else "}"
            depth, j = 1, i + 2
            while j < len(text) and depth:
                depth += (text[j] == nxt) - (text[j] == close)
                j += 1
            inner = text[i + 2:j - 1]
            out.append(variables.get(inner, "$MAKEVAR"))
            i = j
        else:
            out.append("$MAKEVAR")
            i += 2
    return "".join(out)


def read(path):
    with open(os.path.join(ROOT, path), encoding="utf-8", errors="replace") as f:
        return f.read()


def listed_tools():
    """TOOL -> PACKAGE from the tools=(...) table of scripts/deps.sh."""
    m = re.search(r"^tools=\((.*?)^\)", read(DEPS), re.M | re.S)
    if not m:
        return None
    tools = {}
    for line in m.group(1).split("\n"):
        for entry in line.split("#")[0].split():
            tool, _, pkg = entry.partition(":")
            tools[tool] = pkg
    return tools


def essential_programs():
    """Names of the programs that Essential packages install, from dpkg's database."""
    q = subprocess.run(["dpkg-query", "-W", "-f", "${Package} ${Essential}\n"],
                       capture_output=True, text=True, check=True)
    pkgs = [line.split()[0] for line in q.stdout.splitlines() if line.endswith(" yes")]
    files = subprocess.run(["dpkg-query", "-L", *pkgs], capture_output=True, text=True, check=True)
    return {os.path.basename(f) for f in files.stdout.splitlines()
            if re.match(r"(/usr)?/s?bin/[^/]+$", f)}


def main():
    os.chdir(ROOT)
    shell = sorted(set(glob.glob("tests/**/*.sh", recursive=True)) - {"tests/rig/init.sh"})
    shell += sorted(glob.glob("scripts/*.sh")) + ["kernel/build.sh"]
    python = sorted(glob.glob("tests/**/*.py", recursive=True))
    make = ["Makefile"] + sorted(glob.glob("src/*/build.mk"))
    print("1..1")
    tools = listed_tools()
    if tools is None:
        print(f"not ok - deps_scan: {DEPS} has no tools=(...) table; put the table of tools back.")
        return 1
    try:
        essential = essential_programs()
    except (OSError, subprocess.CalledProcessError) as e:
        print(f"not ok - deps_scan: cannot ask dpkg-query which packages are Essential ({e}); run this on Debian.")
        return 1

    scan = Scan()
    for path in shell:
        scan.shell_file(path)
    for path in make:
        scan.make_file(path)
    for path in python:
        scan.python_file(path)

    if "--list" in sys.argv[1:]:
        for name, where in sorted(scan.calls.items()):
            kind = ("builtin" if name in BUILTINS else "function" if name in scan.functions
                    else "essential" if name in essential else "listed" if name in tools
                    else "allowed" if name in ALLOW else "MISSING")
            why = f" ({ALLOW[name]})" if name in ALLOW else ""
            print(f"# {name:24} {kind:9} {where}{why}")
    missing, programs = [], 0
    for name, where in sorted(scan.calls.items(), key=lambda kv: kv[1]):
        if name in BUILTINS or name in scan.functions:
            continue
        programs += 1
        if name in essential or name in tools or name in ALLOW:
            continue
        missing.append(f"{name} ({where}) is called but {DEPS} does not list it")
    if missing:
        missing[-1] += " (add each to its tools table as PROGRAM:PACKAGE)"
    problems = missing + scan.problems
    files = len(shell) + len(make) + len(python)
    if problems:
        print(f"not ok - deps_scan: {'; '.join(problems)}")
        return 1
    print(f"ok - deps_scan ({programs} commands in {files} files)")
    unused = sorted(set(tools) - set(scan.calls))
    if unused:
        print(f"# listed in {DEPS} but not seen called: {', '.join(unused)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
