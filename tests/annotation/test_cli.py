"""The `contraband` program as a user meets it: summary lines, exit codes, messages without tracebacks."""

from click.testing import CliRunner

from annotation.cli import main
from annotation.schema import PROJECT_ROOT


def test_cli_curate_seeds_prints_one_summary_line(tmp_path):
    result = CliRunner().invoke(
        main, ["curate", str(PROJECT_ROOT / "seeds"), "--out", str(tmp_path), "--no-progress"]
    )
    assert result.exit_code == 0, result.output
    assert result.output.startswith("curate: 5 pages in, 5 kept")
    assert (tmp_path / "corpus.parquet").exists() and (tmp_path / "report.html").exists()


def test_cli_curate_bad_page_is_rejected_but_run_continues_unless_strict(tmp_path):
    pages = tmp_path / "pages"
    pages.mkdir()
    (pages / "good.txt").write_text(
        "Customs seized 5 kg of heroin at the border.\n\nIt was a big case.\n"
    )
    (pages / "empty.txt").write_text("")
    runner = CliRunner()
    lenient = runner.invoke(
        main, ["curate", str(pages), "--out", str(tmp_path / "a"), "--no-progress"]
    )
    assert lenient.exit_code == 0, lenient.output
    assert "1 kept" in lenient.output and "empty_file" in lenient.output
    strict = runner.invoke(
        main, ["curate", str(pages), "--out", str(tmp_path / "b"), "--no-progress", "--strict"]
    )
    assert strict.exit_code == 1
    assert "empty.txt" in strict.output and "Traceback" not in strict.output


def test_cli_curate_nothing_readable_exits_1_with_a_message(tmp_path):
    (tmp_path / "empty.txt").write_text("")
    result = CliRunner().invoke(
        main, ["curate", str(tmp_path / "empty.txt"), "--out", str(tmp_path / "o"), "--no-progress"]
    )
    assert result.exit_code == 1
    assert result.output.startswith("error: ") and "Traceback" not in result.output


def test_cli_schema_prints_generated_labeling_config():
    result = CliRunner().invoke(main, ["schema", "labeling-config"])
    assert result.exit_code == 0
    assert (
        '<Label value="SEIZURE"' in result.output and '<Relation value="SEIZED_BY"' in result.output
    )


def test_cli_push_without_a_server_says_how_to_start_one(tmp_path, monkeypatch):
    monkeypatch.delenv("LABEL_STUDIO_URL", raising=False)
    monkeypatch.delenv("LABEL_STUDIO_API_KEY", raising=False)
    corpus = tmp_path / "corpus"
    CliRunner().invoke(
        main, ["curate", str(PROJECT_ROOT / "seeds"), "--out", str(corpus), "--no-progress"]
    )
    result = CliRunner().invoke(
        main, ["push", str(corpus), "--workdir", str(tmp_path / "w"), "--no-progress"]
    )
    assert result.exit_code == 1
    assert "contraband server start" in result.output and "Traceback" not in result.output


def test_cli_every_command_has_help():
    runner = CliRunner()
    for args in (
        ["--help"],
        ["curate", "--help"],
        ["push", "--help"],
        ["pull", "--help"],
        ["release", "--help"],
        ["release", "diff", "--help"],
        ["export", "spacy", "--help"],
        ["train", "--help"],
        ["server", "start", "--help"],
        ["preannotate", "--help"],
        ["demo", "--help"],
    ):
        result = runner.invoke(main, args)
        assert result.exit_code == 0, (args, result.output)
        assert "Usage:" in result.output


def test_cli_long_commands_offer_no_progress():
    runner = CliRunner()
    for command in (["curate"], ["push"], ["pull"], ["demo"]):
        result = runner.invoke(main, [*command, "--help"])
        assert "--no-progress" in result.output, command


def test_cli_push_refuses_a_misspelt_project_setting_before_connecting(tmp_path, monkeypatch):
    monkeypatch.delenv("LABEL_STUDIO_URL", raising=False)
    corpus = tmp_path / "corpus"
    CliRunner().invoke(
        main, ["curate", str(PROJECT_ROOT / "seeds"), "--out", str(corpus), "--no-progress"]
    )
    settings = tmp_path / "ls.yaml"
    settings.write_text("annotators_per_tasks: 2\n", encoding="utf-8")
    result = CliRunner().invoke(
        main,
        ["push", str(corpus), "--settings", str(settings), "--workdir", str(tmp_path / "w")],
    )
    assert result.exit_code == 1
    assert "'annotators_per_tasks'" in result.output and str(settings) in result.output


def test_cli_annotators_add_names_every_malformed_email(tmp_path):
    result = CliRunner().invoke(
        main, ["annotators", "add", "ann@example.org", "bob", "--workdir", str(tmp_path)]
    )
    assert result.exit_code == 1
    assert "'bob'" in result.output and "Traceback" not in result.output
