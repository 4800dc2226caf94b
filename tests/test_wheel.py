"""The schemas and data files work from an installed wheel, not only from this checkout."""

import subprocess
import sys
import zipfile

from .conftest import ROOT


def test_wheel_carries_schemas_and_data_and_loads_them_outside_the_checkout(tmp_path):
    dist = tmp_path / "dist"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(dist),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = dist.glob("eventbuilder-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for required in (
        "pipelines/schemas/event.schema.json",
        "pipelines/schemas/article.schema.json",
        "pipelines/data/actors.yaml",
        "pipelines/data/lexicon.yaml",
        "pipelines/data/world_outline.svgpath",  # the report's map
        "pipelines/data/sample/articles/manifest.csv",
        "pipelines/pyproject.toml",  # [tool.dg]: the defs-folder loader finds it
    ):
        assert required in names
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]);"
        "import pipelines, pipelines.schema as s;"
        "assert pipelines.__file__.startswith(sys.argv[1]), pipelines.__file__;"
        "assert str(s.schema_dir()).startswith(sys.argv[1]), s.schema_dir();"
        "print(s.event_types(), s.arrow_schema('event').names[:2]);"
        "from pipelines.normalize.gazetteer import gazetteer; print(len(gazetteer().actors));"
        "from pipelines.definitions import defs; repo = defs().get_repository_def();"
        "print(sorted(j.name for j in repo.get_all_jobs() if not j.name.startswith('__')))"
    )
    r = subprocess.run(
        [sys.executable, "-c", code, str(target)], capture_output=True, text=True, cwd=tmp_path, timeout=120
    )
    assert r.returncode == 0, r.stderr
    assert "ceasefire_call" in r.stdout
    assert "['build_dataset']" in r.stdout
