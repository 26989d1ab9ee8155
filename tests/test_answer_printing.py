"""How `rag ask` prints an answer (rag.cli.answer_printing)."""

import json
from dataclasses import replace

from rag.cli.answer_printing import print_answer
from rag.types import Final
from tests.fakes import full_answer


def test_an_uncertain_answer_prints_its_doubt_and_json_carries_it(capsys):
    answer = replace(full_answer(), refused=False)
    print_answer([Final(answer)], as_json=False)
    out = capsys.readouterr().out
    assert f"Uncertain: {answer.doubt}" in out and answer.claim in out
    print_answer([Final(answer)], as_json=True)
    data = json.loads(capsys.readouterr().out)
    assert data["uncertain"] is True and data["doubt"] == answer.doubt and data["unheld_terms"] == ["Mai"]


def test_a_sure_answer_prints_no_doubt(capsys):
    print_answer([Final(replace(full_answer(), doubt=None))], as_json=False)
    assert "Uncertain" not in capsys.readouterr().out
