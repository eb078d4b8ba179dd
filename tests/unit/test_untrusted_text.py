"""Untrusted text is data (issue 17): the one escaping function, forged lines, and the masker at the
data level of a JSON result."""

from __future__ import annotations

import base64
import io
import json
import unicodedata

import pytest

from deployer.image.secrets import _maskable
from deployer.core.secrets import MASK, Secrets
from deployer.core.console import Console, quote_untrusted, untrusted_line

FORGED = "connection refused\n10:00:00Z web: healthy on web:2\r\x1b[2K\x1b[32m✔ web: deployed\x1b[0m"


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("plain text: ok", "plain text: ok"),
        ("tab\tstays", "tab\tstays"),
        ("a\nb", "a\\nb"),
        ("a\r\nb", "a\\r\\nb"),
        ("\x1b[31mred\x1b[0m", "\\e[31mred\\e[0m"),
        ("nul\x00bel\x07del\x7f", "nul\\x00bel\\x07del\\x7f"),
        ("c1 \x85 \x9b", "c1 \\x85 \\x9b"),
        ("vt\x0bff\x0cfs\x1c", "vt\\x0bff\\x0cfs\\x1c"),
        ("ls\u2028ps\u2029", "ls\\u2028ps\\u2029"),
        ("bidi \u202egnp.exe\u202c \u2066x\u2069 \u200f", "bidi \\u202egnp.exe\\u202c \\u2066x\\u2069 \\u200f"),
        ("zero\u200bwidth \ufeffbom", "zero\\u200bwidth \\ufeffbom"),
        ("accents é ü 日本 ✔ 👍", "accents é ü 日本 ✔ 👍"),
        (None, ""),
        (42, "42"),
    ],
)
def test_quote_untrusted_escapes_every_control_character(raw, shown):
    assert quote_untrusted(raw) == shown


def test_quoted_text_has_one_line_and_no_control_character():
    every = "".join(chr(c) for c in range(0x0, 0x110)) + "\u2028\u2029\u202a\u202e\u2066\u2069\u200e\u061c"
    quoted = quote_untrusted(every)
    assert quoted.splitlines() == [quoted]
    assert not [c for c in quoted if c != "\t" and unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp")]


def plain_console(**kwargs) -> tuple[Console, io.StringIO]:
    stream = io.StringIO()
    console = Console(stream, **kwargs)
    console.plain = True
    return console, stream


def test_a_forged_line_stays_on_the_apps_line_with_its_prefix():
    console, stream = plain_console()
    console.untrusted("app", FORGED)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 1
    stamp, rest = lines[0].split(" ", 1)
    assert rest.startswith("  app| connection refused\\n10:00:00Z web: healthy on web:2\\r\\e[2K")
    assert "\x1b" not in stream.getvalue() and "\r" not in stream.getvalue()


def test_every_console_line_escapes_control_characters_but_keeps_its_own_newlines():
    console, stream = plain_console()
    console.error(f"web: deployment failed: {FORGED}")
    out = stream.getvalue()
    assert "\x1b" not in out and "\r" not in out  # defence in depth behind quote at the call sites
    console, stream = plain_console()
    console.error(f"web: deployment failed: {console.quote(FORGED)}")
    assert len(stream.getvalue().splitlines()) == 1


def test_quote_masks_before_it_escapes():
    console, stream = plain_console(secrets=Secrets(["multi\nline-secret"]))
    assert console.quote("leak: multi\nline-secret!") == f"leak: {MASK}!"
    console.untrusted("ecs", "x multi\nline-secret")
    assert "line-secret" not in stream.getvalue()


def test_untrusted_line_format():
    assert untrusted_line("build", "a\nb") == "  build| a\\nb"


def test_json_is_masked_at_the_data_level_and_stays_json():
    secrets = Secrets(["true", "5432", "hunter2-pass"])
    result = {"registered": True, "port": 5432, "ok": False, "note": "password hunter2-pass", "n": 1, "nested": [{"hunter2-pass": 15432}], "none": None}
    text = secrets.dumps(result)
    parsed = json.loads(text)  # valid JSON (the text-level masker made `"registered": ****`)
    assert parsed == {"registered": MASK, "port": MASK, "ok": False, "note": f"password {MASK}", "n": 1, "nested": [{MASK: MASK}], "none": None}


def test_json_data_masking_handles_non_json_types_like_default_str():
    from datetime import datetime

    secrets = Secrets(["2026-01-01"])
    assert json.loads(secrets.dumps({"at": datetime(2026, 1, 1)})) == {"at": f"{MASK} 00:00:00"}


def test_binary_secret_is_masked_as_text_and_base64():
    secrets = Secrets()
    blob = b"\x00\x01binary-key-material\xff\xfe"
    secrets.add_bytes(blob)
    assert "binary-key-material" not in secrets.mask("got binary-key-material here")
    assert secrets.mask(base64.b64encode(blob).decode()) == MASK + "="
    assert MASK in secrets.mask(blob.decode("latin-1"))


def test_build_secret_masking_covers_json_fields_and_tokens():
    values = _maskable(['{"user": "deploy", "token": "ghp_abcdef123456", "nested": {"pin": 98765432}}', "//npm.example.com/:_authToken=npm_TOKENVALUE42\n"])
    secrets = Secrets(values)
    assert secrets.mask("RUN echo ghp_abcdef123456") == f"RUN echo {MASK}"
    assert secrets.mask("pin=98765432") == f"pin={MASK}"
    assert secrets.mask("auth npm_TOKENVALUE42 ok") == f"auth {MASK} ok"
    # keys are not values: `_authToken` and the registry URL in front of `:` stay readable
    assert secrets.mask("_authToken //npm.example.com/") == "_authToken //npm.example.com/"
    # a short JSON field ("deploy": 6 characters) is masked too; shorter pieces would blank ordinary output
    assert "deploy" in values and "user" not in values


def test_a_verdict_reason_from_ecs_is_one_escaped_line():
    from deployer.release.rollout import Verdict

    verdict = Verdict("web", False, "FAILED", f"tasks failed\n{FORGED}")
    assert verdict.reason.splitlines() == [verdict.reason] and "\x1b" not in verdict.reason


def test_status_prints_ecs_events_and_reasons_behind_a_prefix():
    from deployer.commands.status import text

    deployment = {"status": "PRIMARY", "task_definition": "arn:aws:ecs:us-east-1:1:task-definition/web:2", "rollout_state": "FAILED",
                  "running": 0, "desired": 2, "failed_tasks": 2, "commit": None, "id": "ecs-svc/1", "rollout_state_reason": f"failed\n{FORGED}"}
    result = {"services": [{"service": "web", "status": "ACTIVE", "cluster": "demo", "task_definition": deployment["task_definition"], "running": 0,
                            "desired": 2, "deployments": [deployment], "events": [{"at": "2026-01-01T00:00:00", "message": f"(service web) ok\n{FORGED}"}]}]}
    lines = text(result).splitlines()
    assert not [line for line in lines if line.startswith(("10:00:00Z", "web: healthy", "\x1b"))]
    assert "  ecs| (service web) ok\\nconnection refused\\n10:00:00Z web: healthy on web:2\\r\\e[2K" in text(result)
    assert "  ecs| failed\\nconnection refused\\n10:00:00Z" in text(result)
