"""deployer/manifest/files.py: the one rule for every file read from, or written into, the app repository (issue 17)."""

from __future__ import annotations

import os

import pytest

from deployer.manifest import files
from deployer.core.errors import BadInput

CANARY = "CANARY-93b1"


@pytest.fixture
def repo(tmp_path):
    root = tmp_path / "repo"
    (root / ".git").mkdir(parents=True)
    (root / "sub").mkdir()
    (tmp_path / "outside.txt").write_text(CANARY)
    return root


def test_repo_root_is_judged_where_the_path_is_given(repo, tmp_path):
    assert files.repo_root_of(repo / "sub") == repo.resolve()
    os.symlink(tmp_path, repo / "link")  # a symlinked directory does not move the repository
    assert files.repo_root_of(repo / "link") == repo.resolve()
    plain = tmp_path / "plain"
    plain.mkdir()
    assert files.repo_root_of(plain) == plain.resolve()


@pytest.mark.parametrize("name, how", [("../outside.txt", ""), ("/etc/passwd", " (an absolute path)"), ("link.txt", " (a symlink to")])
def test_confined_refuses_outside_without_reading(repo, tmp_path, name, how):
    os.symlink(tmp_path / "outside.txt", repo / "link.txt")
    with pytest.raises(BadInput) as caught:
        files.confined(name, repo, repo, what=f"`x` {name}")
    assert caught.value.message.startswith(f"`x` {name} is outside the app repository{how}")
    assert CANARY not in caught.value.message + caught.value.hint


def test_confined_accepts_inside_links_and_refuses_nul_and_loops(repo):
    (repo / "sub" / "a.txt").write_text("a")
    os.symlink("sub/a.txt", repo / "b.txt")
    assert files.confined("b.txt", repo, repo, what="b") == (repo / "sub" / "a.txt").resolve()
    with pytest.raises(BadInput, match="NUL byte"):
        files.confined("a\x00b", repo, repo, what="x")
    os.symlink("loop2", repo / "loop1")
    os.symlink("loop1", repo / "loop2")
    with pytest.raises(BadInput):
        files.confined("loop1", repo, repo, what="loop1")


@pytest.mark.parametrize("data, message", [
    (b"ok\n\xff", "f:2: not UTF-8 text (byte 0xff)"),
    (b"ok\n\n\x00", "f:3: contains a NUL byte"),
    (b"x" * (files.MAX_TEXT_BYTES + 1), "more than the 1048576"),
])
def test_read_text_refuses_binary_and_huge(tmp_path, data, message):
    (tmp_path / "f").write_bytes(data)
    with pytest.raises(BadInput, match=message.replace("(", r"\(").replace(")", r"\)")):
        files.read_text(tmp_path / "f", what="f")


def test_read_text_refuses_what_is_not_a_regular_file(tmp_path):
    os.mkfifo(tmp_path / "fifo")
    with pytest.raises(BadInput, match="not a regular file"):
        files.read_text(tmp_path / "fifo", what="fifo")
    with pytest.raises(BadInput, match="not a regular file"):
        files.read_text("/dev/zero", what="zero")
    with pytest.raises(BadInput, match="file not found"):
        files.read_text(tmp_path / "nope", what="nope")


def test_writes_replace_links_inside_and_refuse_links_outside(repo, tmp_path):
    os.symlink(tmp_path / "outside.txt", repo / "out.txt")
    with pytest.raises(BadInput, match="outside the app repository"):
        files.writable(repo / "out.txt", repo, what="out.txt")
    assert (tmp_path / "outside.txt").read_text() == CANARY
    (repo / "sub" / "real.txt").write_text("old")
    os.symlink("sub/real.txt", repo / "in.txt")
    place = files.writable(repo / "in.txt", repo, what="in.txt")
    files.write_text(place, "new")
    assert (repo / "sub" / "real.txt").read_text() == "new" and os.path.islink(repo / "in.txt")
    files.write_text(repo / "fresh.txt", "fresh")
    assert (repo / "fresh.txt").read_text() == "fresh" and not list(repo.glob(".*.tmp"))


def test_writes_refuse_a_directory_symlinked_out(repo, tmp_path):
    os.symlink(tmp_path, repo / "dir")
    with pytest.raises(BadInput, match="its directory is outside the app repository"):
        files.writable(repo / "dir" / "deployer.yaml", repo, what="dir/deployer.yaml")
