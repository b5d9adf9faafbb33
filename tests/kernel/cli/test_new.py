"""``mega new``: a project that boots on the embedded defaults and whose tests pass."""

from __future__ import annotations


def test_new_project_boots_and_its_generated_tests_pass(mega, project):
    for rel in (
        "mega.toml",
        ".env.example",
        ".gitignore",
        "pyproject.toml",
        "README.md",
        "apps/__init__.py",
        "apps/main/__init__.py",
        "apps/main/routes/home.py",
        "apps/main/services/__init__.py",
        "tests/test_app.py",
        "tests/main/test_main_app.py",
    ):
        assert (project / rel).is_file(), rel
    # the layout of an app from the start: each folder says what goes there and what makes it
    for folder, generator in {
        "controllers": "mega g controller",
        "models": "mega g model",
        "migrations": "mega migrate make",
        "views": "by hand",
        "locales": "mega g locale",
        "jobs": "mega g job",
        "schedules": "mega g schedule",
        "channels": "mega g channel",
    }.items():
        assert generator in (project / "apps/main" / folder / "README.md").read_text()
    assert 'name = "shop"' in (project / "mega.toml").read_text()
    run = mega("run", "--once", cwd=project)
    assert "shop: booted with plugins memory, http" in run.stderr
    assert "shop: stopped cleanly" in run.stderr
    tests = mega.pytest(project)
    assert tests.returncode == 0, tests.stdout + tests.stderr
    assert "3 passed" in tests.stdout


def test_new_refuses_a_non_empty_directory_unless_forced(mega, project):
    (project / "mega.toml").write_text("# mine\n")
    result = mega("new", "shop", ok=False)
    assert result.returncode == 1
    assert "error[new.not_empty]" in result.stderr and "--force" in result.stderr
    assert (project / "mega.toml").read_text() == "# mine\n"
    mega("new", "shop", "--force")
    assert 'name = "shop"' in (project / "mega.toml").read_text()


def test_new_rejects_a_name_that_cannot_name_an_app(mega):
    result = mega("new", "9lives", ok=False)
    assert "error[generate.invalid_name]" in result.stderr
    assert not (mega.cwd / "9lives").exists()
