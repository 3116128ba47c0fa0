"""symbackprop exercise and grade: files written, a table of rows, exit 0 / 1 / 2, one line for bad input."""

from __future__ import annotations

import json

import pytest

from symbackprop.cli import main

PAGE = """dh2 = -1.22
dz2 = "dh2 * relu_prime(z2)"
dW2 = [-1.46, -1.46]
db2 = -1.22
dh1 = [-0.73, -0.98]
dz1 = [-0.73, -0.98]
dW1 = [[-0.73, -1.46], [-0.98, -1.96]]
db1 = [-0.73, -0.98]
"""


def run(capsys, *args):
    status = main(["-q", *map(str, args)])
    out, err = capsys.readouterr()
    return status, out, err


def test_exercise_writes_the_sheet_and_its_key_the_same_for_the_same_seed(tmp_path, capsys):
    status, _, err = run(capsys, "exercise", "-o", tmp_path / "a.md", "--key", tmp_path / "key.md", "--seed", 7)
    assert status == 0, err
    run(capsys, "exercise", "-o", tmp_path / "b.md", "--seed", 7, "--lang", "ko")
    run(capsys, "exercise", "-o", tmp_path / "c.md", "--seed", 7)
    assert (tmp_path / "a.md").read_bytes() == (tmp_path / "c.md").read_bytes()
    assert "역전파 연습" in (tmp_path / "b.md").read_text()
    assert r"\boxed" not in (tmp_path / "key.md").read_text()
    status, _, err = run(capsys, "exercise", "-o", tmp_path / "p.md", "--blanks", "W1,b1")
    assert status == 0 and (tmp_path / "p.md").read_text().count(r"\boxed") == 6


def test_grade_prints_a_row_per_gradient_and_exits_by_the_verdicts(tmp_path, capsys):
    answers = tmp_path / "answers.toml"
    answers.write_text(PAGE)
    status, out, _ = run(capsys, "grade", answers)
    assert status == 0 and len(out.splitlines()) == 1 + 8 and "rounded" in out
    answers.write_text(PAGE.replace("dh2 = -1.22", "dh2 = 1.22"))
    status, out, _ = run(capsys, "grade", answers, "--lang", "ko")
    assert status == 1 and "부호" in out


def test_grade_with_the_seed_of_the_worksheet(tmp_path, capsys):
    import symbackprop as sbp

    ex = sbp.exercise(sbp.backprop(sbp.reference_network()), seed=5)
    answers = tmp_path / "answers.json"
    answers.write_text(json.dumps({k: v.tolist() for k, v in ex.answers.items()}))
    assert run(capsys, "grade", answers, "--seed", 5)[0] == 0
    assert run(capsys, "grade", answers, "--seed", 6)[0] == 1


@pytest.mark.parametrize(("text", "words"), [
    ("dW3 = 1\n", "unknown answer name 'dW3'"),
    ("dW1 = [[1, 2], [3]]\n", "different lengths"),
    ('dW2 = "__import__(\'os\').system(\'echo pwned\')"\n', "not allowed"),
    ('dW2 = "h1.__class__"\n', "not allowed"),
    ("dW2 = \n", "not valid TOML"),
    ("[[dW2]]\na = 1\n", "expected a number"),
])
def test_bad_answer_files_are_one_line_and_exit_2(tmp_path, capsys, text, words):
    answers = tmp_path / "answers.toml"
    answers.write_text(text)
    status, out, err = run(capsys, "grade", answers)
    assert status == 2 and out == "" and "pwned" not in out + err
    assert len(err.strip().splitlines()) == 1 and words in err


def test_grade_needs_values_and_two_files_at_most(tmp_path, capsys):
    spec = tmp_path / "net.toml"
    spec.write_text('[inputs]\nx = [2, 1]\ny = []\n[params]\nW = [1, 2]\n[nodes]\nz = "W @ x"\n'
                    '[loss]\nL = "0.5 * (z - y)**2"\n')
    answers = tmp_path / "answers.toml"
    answers.write_text("dz = 1\n")
    status, _, err = run(capsys, "grade", spec, answers)
    assert status == 2 and "--values" in err
    assert run(capsys, "grade", spec, answers, answers)[0] == 2
    assert run(capsys, "grade", spec, answers, "--seed", 1)[0] == 1
