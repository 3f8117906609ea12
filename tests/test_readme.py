"""The README's promises: its Python examples run, it stays short, its links resolve.

Every fenced ``python`` block of README.md runs on its own, as a user would paste it,
in a fresh interpreter (``sys.executable``) whose working directory is an empty
temporary directory, so a block can rely on nothing but the installed package and
the blocks cannot share state. A failure names the block's line in README.md.

Relative links in README.md and in docs/ must point at files that exist, and a
``#fragment`` into a Markdown file at one of its headings (GitHub's anchors).
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = ROOT / "docs"

#: The README's length limit (issue #18): results and notes live in docs/.
MAX_README_LINES = 300
#: Seconds one README block may take (the examples are meant to take a few).
BLOCK_TIMEOUT = 300

FENCE = re.compile(r"^(\s*)(`{3,}|~{3,})\s*([\w+-]*)")
# [text](target) and ![alt](target); the target stops at whitespace or ")"
LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
INLINE_CODE = re.compile(r"`[^`]*`")
HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
HTML_ANCHOR = re.compile(r"<a\s+(?:name|id)=\"([^\"]+)\"", re.IGNORECASE)


def fenced_blocks(path):
    """The fenced code blocks of a Markdown file.

    Returns
    -------
    list of (str, int, str)
        ``(language, line, code)`` per block; ``line`` is the 1-based line of the
        block's first code line, ``language`` the fence's info word (lower case).
    """
    blocks = []
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        match = FENCE.match(lines[i])
        if match is None:
            i += 1
            continue
        indent, fence, language = match.groups()
        start = i + 1
        i += 1
        body = []
        while i < len(lines) and not lines[i].strip().startswith(fence):
            # code in an indented (e.g. list-item) fence is indented by the fence's
            # indentation, which is not part of the code
            body.append(lines[i][len(indent):] if lines[i].startswith(indent) else lines[i])
            i += 1
        blocks.append((language.lower(), start + 1, "\n".join(body) + "\n"))
        i += 1  # the closing fence
    return blocks


def python_blocks(path):
    """``(line, code)`` of every fenced ``python`` block of a Markdown file."""
    return [(line, code) for language, line, code in fenced_blocks(path)
            if language in ("python", "py", "python3")]


def run_block(code, cwd, timeout=BLOCK_TIMEOUT):
    """Run ``code`` in a fresh interpreter in directory ``cwd``.

    The checkout is put first on ``PYTHONPATH`` so that the package under test is the
    one imported, installed or not.

    Returns
    -------
    subprocess.CompletedProcess
    """
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    script = Path(cwd) / "readme_block.py"
    script.write_text(code, encoding="utf-8")
    return subprocess.run(
        [sys.executable, str(script)], cwd=cwd, env=env, capture_output=True,
        text=True, timeout=timeout, check=False,
    )


def check_block(path, line, code, cwd, timeout=BLOCK_TIMEOUT):
    """Fail, naming ``path:line``, unless ``code`` runs and exits with status 0."""
    where = f"{Path(path).name} line {line}"
    try:
        result = run_block(code, cwd, timeout=timeout)
    except subprocess.TimeoutExpired:
        pytest.fail(f"{where}: the Python block did not finish in {timeout} s")
    if result.returncode != 0:
        pytest.fail(
            f"{where}: the Python block exited with status {result.returncode}\n"
            f"--- stderr (end) ---\n{result.stderr[-3000:]}\n"
            f"--- stdout (end) ---\n{result.stdout[-1000:]}",
            pytrace=False,
        )


def github_anchor(heading):
    """The anchor GitHub gives a Markdown heading (before de-duplication)."""
    text = re.sub(r"<[^>]+>", "", heading)              # inline HTML
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", text)  # links: their text
    text = text.strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)                # punctuation, incl. ` * .
    return text.replace(" ", "-")


def anchors(path):
    """Every anchor a Markdown file defines (headings, numbered as GitHub does)."""
    found = set()
    seen = {}
    in_fence = None
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        fence = FENCE.match(line)
        if fence is not None:
            if in_fence is None:
                in_fence = fence.group(2)
            elif line.strip().startswith(in_fence):
                in_fence = None
            continue
        if in_fence is not None:
            continue
        found.update(HTML_ANCHOR.findall(line))
        heading = HEADING.match(line)
        if heading is not None:
            anchor = github_anchor(heading.group(2))
            count = seen.get(anchor, 0)
            seen[anchor] = count + 1
            found.add(anchor if count == 0 else f"{anchor}-{count}")
    return found


def relative_links(path):
    """``(line, target)`` of every relative link of a Markdown file, outside code."""
    links = []
    in_fence = None
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        fence = FENCE.match(line)
        if fence is not None:
            if in_fence is None:
                in_fence = fence.group(2)
            elif line.strip().startswith(in_fence):
                in_fence = None
            continue
        if in_fence is not None:
            continue
        for target in LINK.findall(INLINE_CODE.sub("", line)):
            if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", target):  # http:, mailto: ...
                continue
            links.append((number, target))
    return links


def broken_links(path, root=ROOT):
    """Messages for the relative links of ``path`` (under ``root``) that do not resolve."""
    path = Path(path)
    problems = []
    for line, target in relative_links(path):
        file_part, _, fragment = target.partition("#")
        dest = (path.parent / file_part).resolve() if file_part else path
        where = f"{path.relative_to(root)}:{line}: {target}"
        if not dest.exists():
            problems.append(f"{where}: no such file {dest}")
        elif fragment and dest.suffix == ".md" and fragment not in anchors(dest):
            problems.append(f"{where}: no heading with anchor #{fragment} in {dest.name}")
    return problems


def markdown_files():
    """README.md and every Markdown file under docs/."""
    return [README] + sorted(DOCS.rglob("*.md"))


README_BLOCKS = python_blocks(README)


def test_readme_has_python_example():
    assert README_BLOCKS, "README.md has no ```python block"


@pytest.mark.parametrize(
    "line, code", README_BLOCKS, ids=[f"line{line}" for line, _ in README_BLOCKS])
def test_readme_python_block_runs(line, code, tmp_path):
    check_block(README, line, code, tmp_path)


def test_readme_length():
    n_lines = len(README.read_text(encoding="utf-8").splitlines())
    assert n_lines <= MAX_README_LINES, (
        f"README.md has {n_lines} lines (at most {MAX_README_LINES}); results and "
        f"notes belong in docs/"
    )


@pytest.mark.parametrize(
    "path", markdown_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(path):
    problems = broken_links(path)
    assert not problems, "\n".join(problems)


def test_link_checker_catches_broken_links(tmp_path):
    # the checker itself: a missing file and a missing anchor are found, good ones not
    (tmp_path / "other.md").write_text("# A `code` Heading: here\n\n## Twice\n## Twice\n")
    page = tmp_path / "page.md"
    page.write_text(
        "[ok](other.md#a-code-heading-here) [ok](other.md#twice-1) [self](#top)\n"
        "# Top\n"
        "[gone](missing.md) [bad](other.md#nowhere) `[code](not-a-link.md)`\n"
        "```bash\n[in code](also-not-a-link.md)\n```\n"
        "[web](https://example.org/x)\n"
    )
    problems = broken_links(page, root=tmp_path)
    assert len(problems) == 2, problems
    assert "missing.md" in problems[0] and "#nowhere" in problems[1]


def test_block_runner_reports_line(tmp_path):
    # the runner itself: a failing block fails the test and names its README line
    page = tmp_path / "page.md"
    page.write_text("text\n\n```python\nx = 1\n```\n\n```python\nraise SystemExit(3)\n```\n")
    (line_ok, ok), (line_bad, bad) = python_blocks(page)
    assert (line_ok, line_bad) == (4, 8)
    check_block(page, line_ok, ok, tmp_path)
    with pytest.raises(pytest.fail.Exception, match="page.md line 8.*status 3"):
        check_block(page, line_bad, bad, tmp_path)
