#!/usr/bin/python3
"""Runs the blocks of a Markdown page that are marked runnable, so that documented examples cannot rot.

    run_docs.py --source REPO --build BUILD_DIR --work DIR [--cmake CMAKE] [--cxx CXX] [--cxx-flags FLAGS] PAGE.md...

A marker is an HTML comment on the line just before a fenced block:

    <!-- runnable -->                  sh: run with bash -e -o pipefail; cpp: compile and run; exit status 0
    <!-- runnable: expect-exit N -->   the same, exit status N
    <!-- compile -->                   cpp: compile only
    <!-- output -->                    the output of the last runnable block (stdout and stderr) must
    <!-- output: tolerance T -->       contain this block's text, token by token, whitespace ignored,
                                       numbers equal within T (relative, default 1e-9; absolute 1e-12)

Every page runs in its own scratch folder under DIR (emptied first, removed when the page passes) that links each entry of REPO except build/ and results/, with
build/release a link to BUILD_DIR: the commands run exactly as a user types them from the repository
root, and what they write stays in the scratch folder. C++ blocks are built by a small CMake project
with find_package(kraus COMPONENTS optim) against BUILD_DIR installed into the scratch folder.
A failure names the page and the line of its block; the exit status is 1 when any block failed.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys

BLOCK_TIMEOUT_S = 240
MARKER = re.compile(r"^<!--\s*(runnable|compile|output)\s*(?::\s*(.*?))?\s*-->\s*$")
TOKEN = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|\w+|\S")
NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$")


class Block:
    def __init__(self, page, line, kind, options, lang, text):
        self.page, self.line, self.kind, self.lang, self.text = page, line, kind, lang, text
        self.expect_exit, self.tolerance = 0, 1e-9
        for option in filter(None, (o.strip() for o in (options or "").split(","))):
            words = option.split()
            if kind == "runnable" and len(words) == 2 and words[0] == "expect-exit" and words[1].isdigit():
                self.expect_exit = int(words[1])
            elif kind == "output" and len(words) == 2 and words[0] == "tolerance":
                self.tolerance = float(words[1])
            else:
                raise ValueError(f"{page}:{line}: unknown option '{option}' of marker '{kind}'")

    def where(self):
        return f"{self.page}:{self.line}"


def parse(path, page):
    """The marked blocks of a page; a marker not followed by a fenced block is an error."""
    lines = open(path, encoding="utf-8").read().split("\n")
    blocks = []
    for i, line in enumerate(lines):
        m = MARKER.match(line)
        if not m:
            continue
        if i + 1 >= len(lines) or not lines[i + 1].startswith("```"):
            raise ValueError(f"{page}:{i + 1}: marker '{m.group(1)}' is not followed by a fenced block")
        lang = lines[i + 1][3:].strip()
        end = next((j for j in range(i + 2, len(lines)) if lines[j].startswith("```")), None)
        if end is None:
            raise ValueError(f"{page}:{i + 2}: the fenced block is not closed")
        block = Block(page, i + 2, m.group(1), m.group(2), lang, "\n".join(lines[i + 2:end]) + "\n")
        if block.kind != "output" and lang not in ("sh", "cpp"):
            raise ValueError(f"{block.where()}: marker '{block.kind}' on a '{lang}' block (sh or cpp)")
        if block.kind == "compile" and lang != "cpp":
            raise ValueError(f"{block.where()}: 'compile' is for cpp blocks")
        blocks.append(block)
    return blocks


def same(expected, actual, tolerance):
    if NUMBER.match(expected) and NUMBER.match(actual):
        e, a = float(expected), float(actual)
        return abs(e - a) <= tolerance * max(abs(e), abs(a)) + 1e-12
    return expected == actual


def contains(output, quoted, tolerance):
    """Whether the quoted text's tokens occur as one contiguous run in the output's."""
    want, have = TOKEN.findall(quoted), TOKEN.findall(output)
    return any(all(same(w, have[s + k], tolerance) for k, w in enumerate(want))
               for s in range(len(have) - len(want) + 1))


class Runner:
    def __init__(self, args, work):
        self.args, self.work = args, work
        self.cxx_project = None

    def cxx_binary(self, block):
        """Builds a cpp block into an executable and returns its path."""
        if self.cxx_project is None:
            prefix = os.path.join(self.work, ".prefix")
            self.cxx_project = os.path.join(self.work, ".cxx")
            os.makedirs(self.cxx_project)
            self.check([self.args.cmake, "--install", self.args.build, "--prefix", prefix], "installing kraus")
            self.configure = [self.args.cmake, "-S", self.cxx_project, "-B", os.path.join(self.cxx_project, "build"),
                              f"-DCMAKE_PREFIX_PATH={prefix}", "-DCMAKE_BUILD_TYPE=Release",
                              "-DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF", f"-DCMAKE_CXX_COMPILER={self.args.cxx}",
                              f"-DCMAKE_CXX_FLAGS={self.args.cxx_flags}"]
        name = f"block_{block.line}"
        with open(os.path.join(self.cxx_project, name + ".cpp"), "w", encoding="utf-8") as f:
            f.write(block.text)
        with open(os.path.join(self.cxx_project, "CMakeLists.txt"), "w", encoding="utf-8") as f:
            f.write("cmake_minimum_required(VERSION 3.18)\nproject(kraus_docs LANGUAGES CXX)\n"
                    "find_package(kraus REQUIRED COMPONENTS optim)\n"
                    f"add_executable({name} {name}.cpp)\ntarget_link_libraries({name} PRIVATE kraus::optim)\n")
        self.check(self.configure, f"{block.where()}: configuring the C++ block")
        self.check([self.args.cmake, "--build", os.path.join(self.cxx_project, "build"), "--target", name],
                   f"{block.where()}: compiling the C++ block")
        return os.path.join(self.cxx_project, "build", name)

    def check(self, command, what):
        r = subprocess.run(command, cwd=self.work, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                           timeout=BLOCK_TIMEOUT_S)
        if r.returncode != 0:
            raise RuntimeError(f"{what} failed (exit status {r.returncode}):\n{r.stdout}")

    def run(self, block):
        """Runs a block; returns its output."""
        if block.lang == "cpp":
            binary = self.cxx_binary(block)
            if block.kind == "compile":
                return ""
            command = [binary]
        else:
            command = ["bash", "-e", "-o", "pipefail", "-c", block.text]
        try:
            r = subprocess.run(command, cwd=self.work, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, errors="replace", timeout=BLOCK_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            raise RuntimeError(f"{block.where()}: still running after {BLOCK_TIMEOUT_S} s")
        if r.returncode != block.expect_exit:
            raise RuntimeError(f"{block.where()}: exit status {r.returncode}, expected {block.expect_exit}; "
                               f"output:\n{r.stdout}")
        return r.stdout


def workspace(source, build, work):
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    for entry in os.listdir(source):
        if entry not in ("build", "results", ".git"):
            os.symlink(os.path.join(source, entry), os.path.join(work, entry))
    os.mkdir(os.path.join(work, "build"))
    os.symlink(build, os.path.join(work, "build", "release"))
    return work


def check_page(args, page):
    """Runs a page's blocks; returns its failures (messages)."""
    try:
        blocks = parse(os.path.join(args.source, page), page)
    except (OSError, ValueError) as e:
        return [str(e)]
    failures, output, last = [], None, None
    work = workspace(args.source, args.build, os.path.join(args.work, page.replace("/", "_")))
    runner = Runner(args, work)
    for block in blocks:
        try:
            if block.kind == "output":
                if last is None:
                    raise RuntimeError(f"{block.where()}: an output block without a runnable block before it")
                if output is not None and not contains(output, block.text, block.tolerance):
                    raise RuntimeError(f"{block.where()}: the output of the block at line {last.line} does not "
                                       f"contain the quoted text (tolerance {block.tolerance:g}); output:\n{output}")
                continue
            last, output = block, None
            output = runner.run(block)
            print(f"ok: {block.where()} ({block.kind}, {block.lang})")
        except (RuntimeError, subprocess.TimeoutExpired) as e:
            failures.append(str(e))
    if failures:
        print(f"{page}: scratch folder kept: {work}")
    else:
        shutil.rmtree(work)
        print(f"{page}: {len(blocks)} marked blocks ok")
    return failures


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--source", required=True, help="the repository root")
    p.add_argument("--build", required=True, help="the build tree, linked as build/release")
    p.add_argument("--work", required=True, help="scratch folders go here, one per page")
    p.add_argument("--cmake", default="cmake")
    p.add_argument("--cxx", default="c++")
    p.add_argument("--cxx-flags", default="")
    p.add_argument("pages", nargs="+", help="Markdown files, relative to --source")
    args = p.parse_args()
    args.source, args.build, args.work = (os.path.abspath(d) for d in (args.source, args.build, args.work))
    failures = [f for page in args.pages for f in check_page(args, page)]
    for f in failures:
        print(f"FAIL: {f}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
