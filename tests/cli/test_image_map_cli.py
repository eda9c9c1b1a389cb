"""The image map by registry prefix, end to end: render, explain and a malformed rule (docs/stack-definition.md)."""

from tests.cli.conftest import write

MIRRORED = {
    "mlstack.yaml": (
        "name: team\nfragments: [./base.yaml]\n"
        "images:\n"
        "  docker.io/: registry.internal:5000/\n"
        "  docker.io/library/: registry.internal:5000/hub/\n"
        "  quay.io/org/tool:1: mlstack-test/busybox:1\n"
    ),
    "base.yaml": (
        "services:\n"
        "  db:\n    image: postgres:16\n"
        "  tracker:\n    image: mlflow/mlflow@sha256:" + "a" * 64 + "\n"
        "  tool:\n    image: quay.io/org/tool:1\n    build: ./tool\n"
        "  other:\n    image: quay.io/org/other:2\n"
    ),
}


def test_render_maps_by_prefix_keeps_digests_and_drops_the_build_of_a_mapped_service(mlstack, tmp_path):
    write(tmp_path, MIRRORED)
    run = mlstack("render", "--profile", "dev", env={"MLSTACK_CACHE_DIR": "off"})
    assert run.code == 0, run.err
    images = [line.strip() for line in run.out.splitlines() if line.strip().startswith(("image:", "build:"))]
    assert images == ["image: registry.internal:5000/hub/postgres:16",
                      "image: quay.io/org/other:2",
                      "image: mlstack-test/busybox:1",
                      "image: registry.internal:5000/mlflow/mlflow@sha256:" + "a" * 64]
    assert [line for line in run.out.splitlines() if line.startswith("# image map:")] == [
        "# image map: db: postgres:16 -> registry.internal:5000/hub/postgres:16 (rule docker.io/library/)",
        "# image map: tool: quay.io/org/tool:1 -> mlstack-test/busybox:1 (rule quay.io/org/tool:1)",
        "# image map: tracker: mlflow/mlflow@sha256:" + "a" * 64 + " -> registry.internal:5000/mlflow/mlflow@sha256:"
        + "a" * 64 + " (rule docker.io/)",
    ]


def test_explain_names_the_rule_that_mapped_an_image(mlstack, tmp_path):
    write(tmp_path, MIRRORED)
    run = mlstack("explain", "db.image")
    assert run.code == 0, run.err
    assert [line.split() for line in run.out.splitlines()] == [
        ["services.db.image", "=", "registry.internal:5000/hub/postgres:16", "mapped", "mlstack.yaml:5:23"],
        "image map: db: postgres:16 -> registry.internal:5000/hub/postgres:16 (rule docker.io/library/)".split(),
    ]


def test_a_malformed_prefix_rule_is_one_located_line_and_exit_1(mlstack, tmp_path):
    write(tmp_path, {"mlstack.yaml": "name: team\nimages:\n  docker.io/: registry.internal:5000\n"})
    run = mlstack("render")
    assert (run.code, run.out) == (1, "")
    assert run.err == ("mlstack.yaml:3:15: images.docker.io/: a prefix rule's replacement ends with '/', as its key "
                       "does: 'registry.internal:5000' -> registry.internal:5000/\n")
