"""DocumentStore: ingest, dedupe, update, retrieve, collections, the CLI. Fast layer uses a hashing embedder;
the integration layer uses the real all-MiniLM-L6-v2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from mm_orch.exceptions import ToolError
from mm_orch.tools import CollectionNotFoundError, DocumentStore, RetrievedChunk
from mm_orch.tools.ingest import main as ingest_main


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    folder = tmp_path / "docs"
    (folder / "sub").mkdir(parents=True)
    (folder / "cats.md").write_text(
        "# Cats\n\nCats are small domesticated carnivorous mammals that purr.\n\n"
        "## Diet\n\nCats eat fish, birds and mice; they are obligate carnivores.\n"
    )
    (folder / "eiffel.txt").write_text("The Eiffel Tower is a wrought-iron lattice tower in Paris, France.\n")
    (folder / "sub" / "volcano.html").write_text(
        "<html><head><title>Volcanoes</title></head><body><nav>menu</nav>"
        "<p>A volcano is a rupture in the crust of a planet through which lava erupts.</p></body></html>"
    )
    (folder / "notes.pdf").write_bytes(b"%PDF-1.4 not supported")
    return folder


def test_ingest_folder_and_retrieve(tmp_path: Path, docs: Path, hashing_embedder) -> None:  # type: ignore[no-untyped-def]
    store = DocumentStore(tmp_path / "s.sqlite", hashing_embedder, chunk_chars=80, chunk_overlap=10)
    report = store.ingest_paths([docs], "kb")
    assert (report.documents, report.chunks_removed) == (3, 0)
    assert report.skipped == [str(docs / "notes.pdf")]
    assert report.chunks_added == store.count("kb") >= 4  # cats.md splits into several 80-char chunks
    hits = store.retrieve("lattice tower in Paris", "kb", k=2)
    assert isinstance(hits[0], RetrievedChunk)
    assert hits[0].title == "eiffel"
    assert hits[0].source == str(docs / "eiffel.txt")
    assert hits[0].doc_id == str((docs / "eiffel.txt").resolve())
    assert 0 < hits[1].score < hits[0].score <= 1.0
    volcano = store.retrieve("volcano lava crust rupture", "kb", k=1)[0]
    assert volcano.title == "Volcanoes"
    assert "menu" not in volcano.text


def test_reingest_adds_nothing_and_does_not_reembed(tmp_path: Path, docs: Path, hashing_embedder) -> None:  # type: ignore[no-untyped-def]
    store = DocumentStore(tmp_path / "s.sqlite", hashing_embedder, chunk_chars=80, chunk_overlap=10)
    first = store.ingest_paths([docs], "kb")
    embedded = len(hashing_embedder.calls)
    again = store.ingest_paths([docs], "kb")
    assert (again.chunks_added, again.chunks_removed, again.chunks_unchanged) == (0, 0, first.chunks_added)
    assert store.count("kb") == first.chunks_added
    assert len(hashing_embedder.calls) == embedded


def test_changed_file_replaces_only_its_chunks(tmp_path: Path, docs: Path, hashing_embedder) -> None:  # type: ignore[no-untyped-def]
    store = DocumentStore(tmp_path / "s.sqlite", hashing_embedder, chunk_chars=80, chunk_overlap=10)
    before = store.ingest_paths([docs], "kb").chunks_added
    (docs / "eiffel.txt").write_text("The Eiffel Tower was completed in 1889 for the World's Fair.\n")
    report = store.ingest_paths([docs / "eiffel.txt"], "kb")
    assert (report.chunks_added, report.chunks_removed) == (1, 1)
    assert store.count("kb") == before
    assert "1889" in store.retrieve("when was the Eiffel Tower completed", "kb", k=1)[0].text
    assert all("lattice" not in c.text for c in store.retrieve("lattice tower", "kb", k=10))


def test_ingest_texts_ids_and_collections(tmp_path: Path, hashing_embedder) -> None:  # type: ignore[no-untyped-def]
    store = DocumentStore(tmp_path / "s.sqlite", hashing_embedder)
    report = store.ingest_texts(["alpha beta gamma", "delta epsilon"], "greek", titles=["A", "D"])
    assert report.chunks_added == 2
    assert store.ingest_texts(["alpha beta gamma"], "greek").chunks_added == 0  # same text, same hash id
    store.ingest_texts(["one two"], "numbers", doc_ids=["n1"], sources=["memory"])
    assert store.list_collections() == ["greek", "numbers"]
    hit = store.retrieve("one two", "numbers", k=5)
    assert [(h.doc_id, h.source, h.text) for h in hit] == [("n1", "memory", "one two")]
    assert hit[0].score == pytest.approx(1.0, abs=1e-5)
    store.delete_collection("greek")
    assert store.list_collections() == ["numbers"]
    with pytest.raises(CollectionNotFoundError, match=r"Collection 'greek' does not exist.*existing: 'numbers'"):
        store.retrieve("alpha", "greek")
    with pytest.raises(CollectionNotFoundError, match="does not exist"):
        store.delete_collection("greek")


def test_store_persists_across_instances(tmp_path: Path, hashing_embedder) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "s.sqlite"
    first = DocumentStore(path, hashing_embedder)
    first.ingest_texts(["persistent text about rivers"], "kb")
    first.close()
    again = DocumentStore(path, hashing_embedder)
    assert again.retrieve("rivers", "kb", k=1)[0].text == "persistent text about rivers"


def test_errors_name_the_fix(tmp_path: Path, hashing_embedder, hashing_embedder_cls) -> None:  # type: ignore[no-untyped-def]

    store = DocumentStore(tmp_path / "s.sqlite", hashing_embedder)
    with pytest.raises(ToolError, match="Invalid collection name 'bad name!'"):
        store.ingest_texts(["x"], "bad name!")
    with pytest.raises(ToolError, match="titles has 1 entries but texts has 2"):
        store.ingest_texts(["x", "y"], "kb", titles=["t"])
    with pytest.raises(ToolError, match="no such file or folder"):
        store.ingest_paths([tmp_path / "missing"], "kb")
    store.ingest_texts(["some words"], "kb")
    other = DocumentStore(tmp_path / "s.sqlite", hashing_embedder_cls(dim=32, name="hash-32"))
    with pytest.raises(ToolError, match=r"holds 64-dim vectors from 'hashing-64'.*makes 32-dim ones"):
        other.ingest_texts(["new words"], "kb")
    with pytest.raises(ToolError, match="holds 64-dim vectors but the embedder made 32"):
        other.retrieve("words", "kb")
    with pytest.raises(ToolError, match="must be smaller than chunk_chars"):
        DocumentStore(tmp_path / "t.sqlite", hashing_embedder, chunk_chars=100, chunk_overlap=100)


def test_aretrieve(tmp_path: Path, hashing_embedder) -> None:  # type: ignore[no-untyped-def]
    import asyncio

    store = DocumentStore(tmp_path / "s.sqlite", hashing_embedder)
    store.ingest_texts(["red apples", "blue sky"], "kb")
    assert asyncio.run(store.aretrieve("blue sky", "kb", 1))[0].text == "blue sky"


# --- integration: the real embedder and the CLI ------------------------------------------------------------------


@pytest.mark.integration
def test_semantic_retrieval_with_real_embedder(tmp_path: Path, docs: Path, minilm) -> None:  # type: ignore[no-untyped-def]
    store = DocumentStore(tmp_path / "s.sqlite", minilm, chunk_chars=200, chunk_overlap=20)
    store.ingest_paths([docs], "kb")
    # paraphrases that share few words with the text
    assert store.retrieve("What do felines like to eat?", "kb", k=1)[0].title == "Cats"
    assert store.retrieve("famous landmark in the French capital", "kb", k=1)[0].title == "eiffel"
    assert store.retrieve("molten rock coming out of a mountain", "kb", k=1)[0].title == "Volcanoes"


@pytest.mark.integration
def test_ingest_cli(tmp_path: Path, docs: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store_path = tmp_path / "cli.sqlite"
    args = [
        str(docs),
        "--collection",
        "notes",
        "--store",
        str(store_path),
        "--no-progress",
        "--chunk-chars",
        "300",
    ]
    assert ingest_main(args) == 0
    out, err = capsys.readouterr()
    assert "notes: 3 documents" in out
    assert "0 unchanged" in out
    assert "skipped (unsupported type):" in err
    assert "notes.pdf" in err
    assert ingest_main([*args]) == 0
    assert "0 chunks added" in capsys.readouterr().out
    assert ingest_main([str(tmp_path / "nope"), "--collection", "x", "--store", str(store_path)]) == 2
    assert "no such file or folder" in capsys.readouterr().err


@pytest.mark.integration
def test_ingest_cli_as_module(tmp_path: Path, docs: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "mm_orch.tools.ingest", str(docs), "--collection", "kb",
         "--store", str(tmp_path / "m.sqlite")],
        capture_output=True, text=True, timeout=300, env={"HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "kb: 3 documents" in proc.stdout
    assert "Ingesting into 'kb'" in proc.stderr  # the progress bar
