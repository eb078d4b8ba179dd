"""The docs hold together: every relative link and anchor in README.md and docs/*.md resolves, the
README stays short, docs/ has its pages, and nothing cites a file the repository does not have.

Pure file reading: no emulator, no Docker, no subprocess except `git ls-files` (when git is there).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from urllib.parse import unquote

import pytest

ROOT = Path(__file__).resolve().parents[2]
README_MAX_BYTES = 20_000
MIN_DOC_PAGES = 5
# Built from parts so this file does not itself mention the name it looks for.
MISSING_DESIGN_DOC = "DESIGN" + ".md"

FENCE = re.compile(r"^ {0,3}(```+|~~~+)")
HEADING = re.compile(r"^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
CODE_SPAN = re.compile(r"(`+)(.+?)\1")
# [text](target "title") and ![alt](target); text may hold one level of brackets (`[`x`](y)` too).
INLINE_LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]*)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE_DEF = re.compile(r"^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+.*)?$")
HTML_ANCHOR = re.compile(r"<a\s+(?:name|id)=\"([^\"]+)\"", re.I)


def doc_files() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def github_slug(heading: str) -> str:
    """GitHub's anchor for a heading: markdown stripped, lower case, punctuation dropped, spaces → '-'."""
    text = CODE_SPAN.sub(lambda m: m.group(2), heading)
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", text)  # a link keeps its text
    text = re.sub(r"<[^>]+>", "", text)  # inline HTML
    text = re.sub(r"[*_~]{1,3}(\S(?:.*?\S)?)[*_~]{1,3}", r"\1", text)  # emphasis markers
    text = text.strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def prose_lines(path: Path):
    """(line number, line) outside fenced code blocks."""
    fence = None
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        match = FENCE.match(line)
        if match:
            marker = match.group(1)
            if fence is None:
                fence = marker
            elif marker[0] == fence[0] and len(marker) >= len(fence):
                fence = None
            continue
        if fence is None:
            yield number, line


def anchors(path: Path) -> set[str]:
    found: set[str] = set()
    counts: dict[str, int] = {}
    for _, line in prose_lines(path):
        found.update(HTML_ANCHOR.findall(line))
        match = HEADING.match(line)
        if not match:
            continue
        slug = github_slug(match.group(2))
        n = counts.get(slug, 0)
        counts[slug] = n + 1
        found.add(slug if n == 0 else f"{slug}-{n}")
    return found


def links(path: Path):
    """(line number, target) of every link outside code blocks and code spans."""
    for number, line in prose_lines(path):
        bare = CODE_SPAN.sub("", line)
        for target in INLINE_LINK.findall(bare):
            yield number, target
        match = REFERENCE_DEF.match(bare)
        if match:
            yield number, match.group(1)


def is_external(target: str) -> bool:
    return bool(re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I)) or target.startswith("//")


def broken_links(path: Path, root: Path = ROOT) -> list[str]:
    problems = []
    for number, target in links(path):
        where = f"{path.relative_to(root)}:{number}: ({target})"
        if not target:
            problems.append(f"{where} empty link")
            continue
        if is_external(target):
            continue
        file_part, _, fragment = target.partition("#")
        if file_part.startswith("/"):
            problems.append(f"{where} absolute path: use a path relative to the file")
            continue
        linked = (path.parent / unquote(file_part)).resolve() if file_part else path
        if not linked.exists():
            problems.append(f"{where} no such file or directory: {linked}")
            continue
        try:
            linked.relative_to(root)
        except ValueError:
            problems.append(f"{where} points outside the repository")
            continue
        if fragment:
            if linked.is_file() and linked.suffix == ".md":
                if unquote(fragment) not in anchors(linked):
                    problems.append(f"{where} no heading #{fragment} in {linked.relative_to(root)}")
            elif not re.fullmatch(r"L\d+(-L\d+)?", fragment):
                problems.append(f"{where} anchor #{fragment} into a file that is not markdown")
    return problems


def repository_files() -> list[Path]:
    """The checkout's files (tracked and untracked, not ignored); without git, every file outside hidden dirs."""
    git = shutil.which("git")
    if git and (ROOT / ".git").exists():
        out = subprocess.run(
            [git, "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=ROOT, capture_output=True, check=True,
        ).stdout.decode("utf-8", "surrogateescape")
        return [ROOT / name for name in out.split("\0") if name and (ROOT / name).is_file()]
    files = []
    for top, dirs, names in os.walk(ROOT):
        dirs[:] = [d for d in dirs if not d.startswith(".") and d != "__pycache__" and not d.endswith(".egg-info")]
        files.extend(Path(top) / name for name in names)
    return files


# --- the checker itself ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "heading, slug",
    [
        ("Configuration: `deployer.yaml`", "configuration-deployeryaml"),
        ("Deployment strategies: blue/green, linear, canary", "deployment-strategies-bluegreen-linear-canary"),
        ("Services a Proton service stack still owns: `deployer adopt`", "services-a-proton-service-stack-still-owns-deployer-adopt"),
        ("One release of a service at a time (the lease)", "one-release-of-a-service-at-a-time-the-lease"),
        ("What `diff` and the no-op check compare", "what-diff-and-the-no-op-check-compare"),
        ("`deployer rollback`", "deployer-rollback"),
        ("Images: BuildKit, build secrets, platform, cache", "images-buildkit-build-secrets-platform-cache"),
        ("SUPERSEDED", "superseded"),
    ],
)
def test_github_slug(heading, slug):
    assert github_slug(heading) == slug


def test_checker_finds_broken_links_and_anchors(tmp_path):
    (tmp_path / "other.md").write_text("# Other\n\n## Twice\n\n## Twice\n", encoding="utf-8")
    page = tmp_path / "page.md"
    page.write_text(
        "# Page\n\n## A `code` heading: yes/no\n\n"
        "[ok](other.md#twice-1) [ok](#a-code-heading-yesno) [ok](https://example.com/x#y) [ok](other.md)\n"
        "[bad file](missing.md) [bad anchor](other.md#nope) [bad local](#nowhere)\n"
        "`[not a link](missing.md)`\n\n```\n[in a fence](missing.md)\n```\n",
        encoding="utf-8",
    )
    problems = broken_links(page, root=tmp_path)
    assert len(problems) == 3, problems
    assert any("no such file" in p and "missing.md" in p for p in problems)
    assert any("#nope" in p for p in problems)
    assert any("#nowhere" in p for p in problems)


# --- the repository's docs ------------------------------------------------------------------------


@pytest.mark.parametrize("path", doc_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_and_anchors_resolve(path):
    assert path.is_file()
    assert broken_links(path) == []


def test_readme_is_short():
    size = (ROOT / "README.md").stat().st_size
    assert size <= README_MAX_BYTES, f"README.md is {size} bytes; move detail into docs/ (limit {README_MAX_BYTES})"


def test_docs_has_pages_and_an_index_linking_them_all():
    pages = sorted(p.name for p in (ROOT / "docs").glob("*.md") if p.name != "README.md")
    assert len(pages) >= MIN_DOC_PAGES, pages
    index_targets = {target.partition("#")[0] for _, target in links(ROOT / "docs" / "README.md")}
    readme_targets = {target.partition("#")[0] for _, target in links(ROOT / "README.md")}
    assert [p for p in pages if p not in index_targets] == [], "docs/README.md does not link every page"
    assert [p for p in pages if f"docs/{p}" not in readme_targets] == [], "README.md does not link every page"


def test_no_file_cites_the_missing_design_doc():
    offenders = []
    for path in repository_files():
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        for number, line in enumerate(text.splitlines(), 1):
            if MISSING_DESIGN_DOC in line:
                offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert offenders == [], "these cite a file the repository does not contain:\n" + "\n".join(offenders)
