"""`backprop graph`: DOT, Mermaid and a tree of the program, with values and gradients when given,
each checked for its structure; images through Graphviz's dot when it is there."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys

from backprop import parse
from backprop.cli.render.drawing import _mermaid_string, dot_text, mermaid_text

DOT_STRING = r'"(?:[^"\\]|\\.)*"'


def check_dot_structure(text: str) -> dict[str, str]:
    """Parse the DOT we write: balanced braces outside strings, node statements, edges between them.
    Returns every node's label, unescaped."""
    outside = re.sub(DOT_STRING, '""', text)
    assert outside.count("{") == outside.count("}") == 1
    assert outside.strip().startswith("digraph") and outside.strip().endswith("}")
    labels, edges = {}, []
    for line in text.splitlines()[1:-1]:
        line = line.strip()
        node = re.fullmatch(rf"(n\d+) \[label=({DOT_STRING}), [^\[\]]*\];", line)
        edge = re.fullmatch(rf"(n\d+) -> (n\d+)(?: \[label={DOT_STRING}\])?;", line)
        if node:
            labels[node.group(1)] = json.loads(node.group(2))  # DOT's \" \\ \n are JSON's too
        elif edge:
            edges.append(edge.groups())
        else:
            assert re.fullmatch(
                rf'(rankdir=LR|labelloc=t|fontname="Helvetica"|label={DOT_STRING}|node \[fontname="Helvetica"\]'
                r'|edge \[fontname="Helvetica", fontsize=10, fontcolor="#7c2d12"\]);',
                line,
            ), line
    assert all(a in labels and b in labels for a, b in edges)
    return labels


def test_dot_lecture_example_has_values_and_grads(run):
    code, out, _ = run("graph", "(a + b) * b**3", "--a", "7", "--b", "3", "--format", "dot")
    assert code == 0
    labels = check_dot_structure(out)
    assert labels["n2"] == "Add c\na + b\nvalue=10 grad=27"
    assert labels["n1"] == "Input b\nvalue=3 grad=297"
    assert labels["n3"] == "Const 3\nvalue=3"
    output_line = next(line for line in out.splitlines() if line.strip().startswith("n5 "))
    assert "peripheries=2" in output_line
    assert out.count("->") == 6


def test_dot_without_values_is_structure_only(run):
    code, out, _ = run("graph", "u = a*b; v = u + a; u * v")
    assert code == 0
    labels = check_dot_structure(out)
    assert labels["n2"] == "Mul u\na * b" and not any("value=" in label for label in labels.values())


def test_dot_escapes_quotes_and_backslashes():
    source = 'a * b  # the "key" \\ answer'
    text = dot_text(parse(source), None, source)
    check_dot_structure(text)
    title = re.search(rf"^  label=({DOT_STRING});$", text, re.M).group(1)
    assert title == '"a * b # the \\"key\\" \\\\ answer"'
    if shutil.which("dot"):
        subprocess.run(["dot", "-Tsvg"], input=text.encode(), capture_output=True, check=True)


def test_dot_renders_with_graphviz_when_present(run, tmp_path):
    output = tmp_path / "g.svg"
    code, _, err = run("graph", "(a + b) * b**3", "--a", "7", "--b", "3", "--output", str(output))
    if shutil.which("dot") is None:
        assert code == 2 and "needs Graphviz's dot" in err
    else:
        assert code == 0 and "<svg" in output.read_text()


def test_graph_image_without_dot_is_an_error(run, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    code, _, err = run("graph", "(a + b) * c", "--output", str(tmp_path / "g.png"))
    assert code == 2
    assert "needs Graphviz's dot program, which is not on PATH" in err


def _stand_in_dot(folder, *, fails: bool = False) -> None:
    """A stand-in `dot` on PATH that records its arguments and writes the DOT text it reads where
    dot would: to the -o file if given, else to its standard output. Failing, it writes nothing
    (a real dot has opened, so emptied, its -o file by then) and says so."""
    fake = folder / "dot"
    fake.write_text(
        f"#!{sys.executable}\n"
        "import pathlib, sys\n"
        "args = sys.argv[1:]\n"
        "pathlib.Path(sys.argv[0]).with_name('args').write_text(repr(args))\n"
        "out = open(args[args.index('-o') + 1], 'wb') if '-o' in args else sys.stdout.buffer\n"
        + (
            "sys.stderr.write('Error: layout failed'); sys.exit(1)\n"
            if fails
            else "out.write(sys.stdin.buffer.read())\n"
        )
    )
    fake.chmod(0o755)


def test_graph_image_runs_dot_with_a_list_of_arguments(run, tmp_path, monkeypatch):
    """dot gets a list of arguments (no shell, no file name: it writes to a pipe), and its bytes
    land in the file by a rename, with no temporary file left beside it."""
    _stand_in_dot(tmp_path)
    monkeypatch.setenv("PATH", str(tmp_path))
    output = tmp_path / "my graph.png"
    code, _, _ = run("graph", "(a + b) * c", "--a", "7", "--b", "3", "--c", "2", "--output", str(output))
    assert code == 0
    assert (tmp_path / "args").read_text() == repr(["-Tpng"])
    check_dot_structure(output.read_text())
    assert sorted(path.name for path in tmp_path.iterdir()) == ["args", "dot", "my graph.png"]


def test_a_failing_dot_leaves_the_old_image_whole(run, tmp_path, monkeypatch):
    _stand_in_dot(tmp_path, fails=True)
    monkeypatch.setenv("PATH", str(tmp_path))
    output = tmp_path / "g.svg"
    output.write_text("the old drawing")
    code, _, err = run("graph", "a * b", "--output", str(output))
    assert code == 2 and "dot could not render" in err and "layout failed" in err
    assert output.read_text() == "the old drawing"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["args", "dot", "g.svg"]


def test_graph_output_text_file_by_suffix(run, tmp_path):
    output = tmp_path / "g.mmd"
    assert run("graph", "(a + b) * c", "--output", str(output))[0] == 0
    assert output.read_text().startswith("flowchart LR\n")
    assert run("graph", "(a + b) * c", "--format", "mermaid", "--output", str(tmp_path / "g.svg"))[0] == 2


def check_mermaid_structure(text: str) -> None:
    lines = text.splitlines()
    assert lines[0] == "flowchart LR"
    declared = set()
    for line in lines[1:]:
        line = line.strip()
        node = re.fullmatch(r'(n\d+)(\(\[|\[\[|\[|\()"([^"]*)"(\]\)|\]\]|\]|\))', line)
        edge = re.fullmatch(r'(n\d+) -->(?:\|"[^"]*"\|)? (n\d+)', line)
        if node:
            assert {"([": "])", "[[": "]]", "[": "]", "(": ")"}[node.group(2)] == node.group(4)
            declared.add(node.group(1))
        elif edge:
            assert set(edge.groups()) <= declared
        else:
            assert re.fullmatch(r"classDef \w+ [\w:#,-]+|class (n\d+,)*n\d+ \w+", line), line


def test_mermaid_lecture_example(run):
    code, out, _ = run("graph", "(a + b) * b**3", "--a", "7", "--b", "3", "--format", "mermaid")
    assert code == 0
    check_mermaid_structure(out)
    assert '  n2["Add c<br/>a + b<br/>value=10 grad=27"]' in out.splitlines()
    assert '  n0(["Input a<br/>value=7 grad=27"])' in out.splitlines()
    assert "  class n5 output" in out.splitlines()


def test_mermaid_escapes_what_it_would_read():
    assert (
        _mermaid_string('say "hi" <b> #1 & `x`\nnext')
        == "say #quot;hi#quot; #lt;b#gt; #35;1 #amp; #96;x#96;<br/>next"
    )
    check_mermaid_structure(mermaid_text(parse("max(a, b) / -c"), None))


def test_tree_draws_a_shared_node_once(run):
    code, out, _ = run("graph", "u = a*b; v = u + a; u * v", "--a", "2", "--b", "5", "--format", "tree")
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "Mul c · u * v · value=120 grad=1"
    assert sum("Mul u" in line for line in lines) == 1
    assert sum("Input a" in line for line in lines) == 1
    assert "◆ shared: 2 uses" in next(line for line in lines if "Mul u" in line)
    assert sum("(shared, drawn above)" in line for line in lines) == 2


def test_tree_of_a_deep_chain_stops_at_a_depth(run):
    program = "x"
    for _ in range(500):
        program = f"tanh({program})"
    code, out, _ = run("graph", program, "--format", "tree")
    assert code == 0
    assert "(drawn 21 levels deep" in out and len(out.splitlines()) < 30  # 100 columns unless COLUMNS says


def test_tree_of_a_deep_chain_in_a_wide_terminal(run, monkeypatch):
    monkeypatch.setenv("COLUMNS", "400")
    code, out, _ = run("graph", "tanh(" * 500 + "x" + ")" * 500, "--format", "tree")
    assert code == 0
    assert "(drawn 60 levels deep" in out and len(out.splitlines()) < 70
