"""docs/paper-run.md is the paper run's one page: every `xstilts` command and option on it exists."""
import re
import shlex

import pytest
from conftest import ROOT
from typer.testing import CliRunner

from xstilts.cli import app


def page_commands() -> list[list[str]]:
    text = (ROOT / "docs" / "paper-run.md").read_text()
    out = []
    for block in re.findall(r"```bash\n(.*?)```", text, flags=re.S):
        for line in block.splitlines():
            line = line.split("#", 1)[0].strip()
            for part in line.split("&&"):
                words = shlex.split(part.strip())
                while words and "=" in words[0] and not words[0].startswith("-"):  # VAR=value prefixes
                    words = words[1:]
                if words and words[0] == "xstilts":
                    out.append(words[1:])
    return out


def test_the_page_has_the_commands_it_promises():
    subs = {w[0] for w in page_commands()}
    assert {"preflight", "grid", "claim", "collect", "pin"} <= subs, subs


@pytest.mark.parametrize("words", page_commands(), ids=lambda w: " ".join(w))
def test_every_command_and_option_on_the_page_exists(words):
    usage = CliRunner().invoke(app, [words[0], "--help"], terminal_width=200)
    assert usage.exit_code == 0, usage.output
    for option in (w.split("=")[0] for w in words[1:] if w.startswith("-")):
        assert re.search(rf"(^|[\s,]){re.escape(option)}([\s,/=]|$)", usage.output, flags=re.M), (option, usage.output)
