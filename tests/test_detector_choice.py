"""Runtime choice per CPU: ISA parsing, what a CPU may pick, the cache by CPU signature, the INT8 gate."""

from __future__ import annotations

import json
import os
from dataclasses import replace

import numpy as np
import pytest

os.environ.setdefault("YOLO_OFFLINE", "1")

from nnus_core.detector import Detector, default_weights  # noqa: E402
from nnus_core.detector import choice as choice_mod  # noqa: E402
from nnus_core.detector.cpu import CpuInfo, cap_environment, isa_cap, parse_cpuinfo, read_cpu  # noqa: E402
from nnus_core.detector.detector import MODEL_ENV  # noqa: E402
from nnus_core.detector.fast import CACHE_ENV, shape_tag, weights_info  # noqa: E402
from nnus_core.detector.gate import MAX_MAP_DROP, gate_entry, gate_status  # noqa: E402
from nnus_core.detector.quantize import RECIPE  # noqa: E402
from nnus_core.errors import ModelError  # noqa: E402
from nnus_core.organs import ORGAN_NAMES  # noqa: E402
from tests.test_detector import _save_model  # noqa: E402

AVX2_CPUINFO = """processor\t: 0
vendor_id\t: AuthenticAMD
model name\t: AMD EPYC 7B13
flags\t\t: fpu sse sse2 ssse3 fma cx16 sse4_1 sse4_2 avx f16c avx2 bmi2
processor\t: 1
model name\t: AMD EPYC 7B13
flags\t\t: fpu sse sse2 ssse3 fma cx16 sse4_1 sse4_2 avx f16c avx2 bmi2
"""
AMX_FLAGS = "avx2 fma avx512f avx512bw avx512vl avx512_vnni avx512_bf16 amx_tile amx_bf16 amx_int8"


@pytest.fixture(autouse=True)
def _short_timing(monkeypatch):
    """Time each variant with a few inferences, not ~35: these tests check what is chosen from the
    timings and how it is cached, not how precise the timings are (the models here are untrained)."""
    monkeypatch.setattr(choice_mod, "_WARMUP", 1)
    monkeypatch.setattr(choice_mod, "_ROUNDS", 2)
    monkeypatch.setattr(choice_mod, "_PER_ROUND", 2)


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    base = tmp_path_factory.mktemp("choice")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(CACHE_ENV, str(base / "cache"))
        mp.delenv(MODEL_ENV, raising=False)
        yield base


@pytest.fixture(scope="module")
def weights(env):
    return _save_model(env / "organs.pt", list(ORGAN_NAMES))


def _cpu(flags: str, model: str = "Test CPU", cores: int = 2) -> CpuInfo:
    _, parsed = parse_cpuinfo(f"model name\t: {model}\nflags\t\t: {flags}\n")
    return CpuInfo(model, parsed, cores, read_cpu().runtimes)


def test_parse_cpuinfo_keeps_the_isa_flags_that_matter():
    model, flags = parse_cpuinfo(AVX2_CPUINFO)
    assert model == "AMD EPYC 7B13"
    assert flags == ("avx2", "fma")
    cpu = CpuInfo(model, flags, 2)
    assert not cpu.has_bf16 and not cpu.has_int8_dot and not cpu.has_avx512
    assert "no AVX-512" in cpu.describe() and "no bf16" in cpu.describe()
    amx = _cpu(AMX_FLAGS)
    assert amx.has_bf16 and amx.has_amx and amx.has_int8_dot
    assert amx.signature() != cpu.signature()
    assert _cpu(AMX_FLAGS, cores=16).signature() != amx.signature()  # the cores are part of it


def test_an_isa_cap_leaves_only_the_flags_it_allows_and_keeps_onnxruntime_out(tmp_path, monkeypatch):
    """ONEDNN_MAX_CPU_ISA=AVX2 on an AMX CPU: the choice sees an AVX2 CPU (its own signature), and
    ONNX Runtime, which ignores the cap, is not offered; an unknown cap changes nothing."""
    info = tmp_path / "cpuinfo"
    info.write_text(f"model name\t: Test CPU\nflags\t\t: {AMX_FLAGS}\n")
    monkeypatch.delenv("DNNL_MAX_CPU_ISA", raising=False)
    monkeypatch.delenv("ONEDNN_MAX_CPU_ISA", raising=False)
    read_cpu.cache_clear()
    try:
        full = read_cpu(str(info))
        for name, value in cap_environment("avx2").items():
            monkeypatch.setenv(name, value)
        assert isa_cap() == "AVX2"
        read_cpu.cache_clear()
        capped = read_cpu(str(info))
        assert capped.flags == ("avx2", "fma") and capped.cap == "AVX2"
        assert not capped.has_bf16 and not capped.has_avx512 and not capped.has_int8_dot
        assert "capped at AVX2" in capped.describe()
        assert capped.signature() != full.signature() != replace(capped, cap="").signature()
        allowed, skipped = choice_mod.allowed_variants(capped, None)
        assert "onnx/f32" not in allowed and "ignores" in dict(skipped)["onnx/f32"]
        assert "onnx/f32" in choice_mod.allowed_variants(full, None)[0]
        monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX10_FUTURE")
        read_cpu.cache_clear()
        assert read_cpu(str(info)).flags == full.flags and read_cpu(str(info)).cap == ""
        with pytest.raises(ValueError):
            cap_environment("avx9")
    finally:
        read_cpu.cache_clear()


def test_a_cpu_without_bf16_is_never_offered_bf16():
    allowed, skipped = choice_mod.allowed_variants(_cpu("avx2 fma"), {"bf16": {"accepted": True}})
    assert "openvino/bf16" not in allowed
    assert any(v == "openvino/bf16" and "bf16" in why for v, why in skipped)
    allowed, _ = choice_mod.allowed_variants(_cpu(AMX_FLAGS), None)
    assert "openvino/bf16" in allowed  # native bf16 and no failed check: a candidate
    rejected = {"bf16": {"accepted": False, "map50_drop": 0.02}}
    allowed, skipped = choice_mod.allowed_variants(_cpu(AMX_FLAGS), rejected)
    assert "openvino/bf16" not in allowed and "accuracy check" in dict(skipped)["openvino/bf16"]


def test_int8_needs_a_passed_check_of_the_current_recipe():
    cpu = _cpu("avx2 fma")
    for variants, ok in [
        (None, False),
        ({"int8": {"accepted": True, "recipe": "an older recipe"}}, False),
        ({"int8": {"accepted": False, "recipe": RECIPE}}, False),
        ({"int8": {"accepted": True, "recipe": RECIPE}}, True),
    ]:
        allowed, skipped = choice_mod.allowed_variants(cpu, variants)
        assert ("openvino/int8" in allowed) is ok, variants
        assert ("openvino/int8" in dict(skipped)) is not ok


def _report(map50: float, per_class: dict[str, float]) -> dict:
    return {
        "overall": {"map50": map50},
        "per_class": [{"name": n, "n_gt": 50, "ap50": ap} for n, ap in per_class.items()],
        "model": {"backend": "openvino", "precision": "f32", "imgsz": 320},
        "data": {"kind": "synthetic phantom", "n_images": 790},
        "split": "all",
    }


def test_gate_limits_the_map_drop_and_every_organs_drop():
    ref = _report(0.97, {"Thyroid": 0.99, "Esophagus": 0.90})
    ok = gate_entry(ref, _report(0.97 - MAX_MAP_DROP + 0.001, {"Thyroid": 0.985, "Esophagus": 0.875}), RECIPE)
    assert ok["accepted"] and ok["worst_organ"] == "Esophagus"
    assert gate_status(ok, required=True, recipe=RECIPE) == (True, "")
    organ = gate_entry(ref, _report(0.969, {"Thyroid": 0.99, "Esophagus": 0.86}), RECIPE)
    assert not organ["accepted"] and organ["worst_organ_drop"] == pytest.approx(0.04)
    overall = gate_entry(ref, _report(0.955, {"Thyroid": 0.98, "Esophagus": 0.89}), RECIPE)
    assert not overall["accepted"]
    assert not gate_status(overall, required=True, recipe=RECIPE)[0]


def test_choice_is_measured_once_and_cached_by_cpu_signature(weights, env, monkeypatch):
    info = weights_info(weights)
    calls = []
    real = choice_mod.measure

    def counting(runtimes, x):
        calls.append(sorted(c.label() for c in runtimes))
        return real(runtimes, x)

    monkeypatch.setattr(choice_mod, "measure", counting)
    monkeypatch.setattr(choice_mod, "_load_avg", lambda: 0.0)  # a quiet machine
    avx2 = _cpu("avx2 fma", "AVX2 test CPU")
    first = choice_mod.choose(info, 320, None, cpu=avx2)
    assert len(calls) == 1
    assert first.latency.precision != "bf16" and first.video.precision != "bf16"
    assert not any(c.precision == "bf16" for c, _ in first.measured_ms)
    assert {c.threads for c, _ in first.measured_ms} == {1, 2}
    assert first.video.threads == 1 and first.video_streams == 2
    assert first.path is not None and avx2.signature() in first.path.name
    again = choice_mod.choose(info, 320, None, cpu=avx2)
    assert len(calls) == 1 and again == first  # read from the cache, not measured again
    other = choice_mod.choose(info, 320, None, cpu=replace(avx2, flags=("avx2", "fma", "avx512f")))
    assert len(calls) == 2 and other.path != first.path  # another CPU measures for itself
    assert json.loads(first.path.read_text())["cpu"]["flags"] == ["avx2", "fma"]
    assert choice_mod.cached_choice(info, 320, avx2) == first
    # Another input shape (a video's size) takes the ranking measured on this CPU, without timing.
    rect = choice_mod.choose(info, (288, 320), None, cpu=avx2)
    assert len(calls) == 2 and rect.shape == (288, 320) and rect.ranked_at == (320, 320)
    assert (rect.latency, rect.video) == (first.latency, first.video)
    # Another precision allowed by the card (here: a bf16 check on a bf16 CPU) measures again.
    bf16_cpu = _cpu(AMX_FLAGS, "bf16 test CPU")
    choice_mod.choose(info, 320, None, cpu=bf16_cpu)
    choice_mod.choose(info, 320, {"bf16": {"accepted": False}}, cpu=bf16_cpu)
    assert len(calls) == 4
    # A choice measured while other processes held every core is measured again on a quiet start.
    busy_cpu = _cpu("avx2 fma", "busy test CPU")
    monkeypatch.setattr(choice_mod, "_load_avg", lambda: 9.0)
    busy = choice_mod.choose(info, 320, None, cpu=busy_cpu)
    assert busy.provisional and len(calls) == 5
    assert choice_mod.choose(info, 320, None, cpu=busy_cpu) == busy and len(calls) == 5  # still busy
    monkeypatch.setattr(choice_mod, "_load_avg", lambda: 0.0)
    quiet = choice_mod.choose(info, 320, None, cpu=busy_cpu)
    assert not quiet.provisional and len(calls) == 6


def test_auto_loads_the_measured_choice(weights, env):
    det = Detector.load(weights)
    assert det.choice is not None
    assert (det.backend, det.precision, det.threads) == (
        det.choice.latency.backend,
        det.choice.latency.precision,
        det.choice.latency.threads,
    )
    one = Detector.load(weights, threads=1)
    assert one.threads == 1 and (one.backend, one.precision) == (
        det.choice.video.backend,
        det.choice.video.precision,
    )
    assert det.describe()["runtime_choice"] == det.choice.summary()
    with pytest.raises(ModelError, match="f32 only"):
        Detector.load(weights, backend="onnx", precision="int8")


def test_int8_boxes_agree_with_f32_on_phantom_images(monkeypatch):
    """The shipped model's INT8 export (quantised on first use) finds what f32 finds."""
    monkeypatch.delenv(CACHE_ENV, raising=False)  # the app's cache: the shipped model's exports live there
    try:
        weights = default_weights()
        from nnus_core.detector.quantize import check_inputs
    except (ModelError, ImportError):
        pytest.skip("no shipped model or no phantom generator")
    pytest.importorskip("nncf")
    f32 = Detector.load(weights, backend="openvino", precision="f32")
    int8 = Detector.load(weights, backend="openvino", precision="int8")
    assert int8.precision == "int8"
    inputs = check_inputs(f32.input_hw)
    agreement = choice_mod.box_agreement(f32._runtime, int8._runtime, inputs)
    assert agreement >= choice_mod.MIN_AGREEMENT
    # And the outputs are close, not only the boxes after NMS: on every check image fewer than 0.5 %
    # of the class scores move beyond 0.1 and the mean move is under 0.005; over all of them fewer
    # than 1 in 10,000 move beyond 0.2. Scores near a decision edge of a quantised layer move far,
    # in clusters on one view: measured on a fresh export, the 2.5.0 model's worst check image moves
    # 17 of 13,608 scores beyond 0.1 (0.12 %), all 16 images 3 of 217,728 beyond 0.2. The accuracy on
    # 790 held-out images is what the model card's check gates. A broken quantisation moves thousands.
    far = total = 0
    for x in inputs:
        diff = np.abs(f32._runtime(x)[4:] - int8._runtime(x)[4:])
        assert (diff > 0.1).mean() <= 0.005 and diff.mean() <= 0.005, ((diff > 0.1).sum(), diff.mean())
        far, total = far + int((diff > 0.2).sum()), total + diff.size
    assert far <= 1e-4 * total, (far, total)


def test_video_detectors_run_the_variant_chosen_for_one_thread(weights, env):
    from nnus_core.video.runtime import load_video_detectors

    dets = load_video_detectors(weights, n=2, frame_size=(494, 448))
    first = dets[0]
    assert len(dets) == 2 and first.choice is not None
    # The tight 288x320 input, or the square one where that measured faster here (the two are
    # timed in a few rounds in these tests); the detector runs the input its choice was made for.
    assert first.input_hw in {(288, 320), (320, 320)}
    assert first.choice.path.name.startswith(f"choice_{shape_tag(first.input_hw)}_")
    assert (first.backend, first.precision) == (first.choice.video.backend, first.choice.video.precision)
    assert first.threads == 1
    assert all(d.predict(np.zeros((448, 494, 3), np.uint8)) is not None for d in dets)


def _accepted(recipe: str = "") -> dict:
    return {"accepted": True, "recipe": recipe, "map50_drop": 0.002, "worst_organ_drop": 0.01}


def test_a_smaller_input_needs_its_own_passed_check():
    avx2, amx = _cpu("avx2 fma"), _cpu(AMX_FLAGS)
    assert choice_mod.size_variants(avx2, None, 320) == ([], [])
    # Checks at the model's own side (the rectangular cut of a 320 model) are not smaller inputs.
    own_side = {"int8@288x320": _accepted(RECIPE), "f32@288x320": _accepted(), "int8": _accepted(RECIPE)}
    assert choice_mod.size_variants(avx2, own_side, 320) == ([], [])
    card = {
        "int8@256": _accepted(RECIPE),  # side 256: the NNUS images' tight input is 256x256
        "f32@256": {"accepted": False, "map50_drop": 0.02, "worst_organ_drop": 0.05},
        "bf16@256": _accepted(),
        "int8@256x288": _accepted("an older recipe"),  # side 288
        "f32@224": _accepted(),
    }
    allowed, skipped = choice_mod.size_variants(avx2, card, 320)
    assert allowed == ["openvino/int8@256", "openvino/f32@224"]
    why = dict(skipped)
    assert "accuracy check" in why["openvino/f32@256"]
    assert "bf16" in why["openvino/bf16@256"]  # no native bf16: never offered, whatever the check
    assert "recipe" in why["openvino/int8@288"]
    allowed, _ = choice_mod.size_variants(amx, card, 320)
    assert "openvino/bf16@256" in allowed
    # A smaller input is an accuracy change: f32 at a smaller side also needs a check.
    assert choice_mod.size_variants(avx2, {"int8@256": _accepted(RECIPE)}, 320)[0] == ["openvino/int8@256"]


def test_pick_takes_a_smaller_input_only_when_it_is_clearly_faster():
    own = choice_mod.Config("openvino", "int8", 1)
    small = choice_mod.Config("openvino", "int8", 1, 256)
    f32 = choice_mod.Config("openvino", "f32", 1)
    assert choice_mod.pick({own: 10.0, small: 9.9, f32: 20.0}) == own  # within the tie: own size
    assert choice_mod.pick({own: 14.0, small: 9.0, f32: 20.0}) == small
    assert choice_mod.pick({own: 10.0, f32: 10.1}) == f32  # within the tie: the more exact precision


def test_choice_runs_a_checked_smaller_input_and_a_fixed_size_never_does(weights, env, monkeypatch):
    from types import SimpleNamespace

    from nnus_core.detector import detector as detector_mod

    info = weights_info(weights)
    card = {"f32@256": _accepted()}

    def fake(runtimes, x):  # the smaller input measured clearly faster
        sizes = {c: (x[c] if isinstance(x, dict) else x).shape[:2] for c in runtimes}
        assert all(sizes[c] == ((256, 256) if c.imgsz == 256 else (288, 320)) for c in runtimes)
        return {c: (5.0 if c.imgsz else 10.0) + c.threads for c in runtimes}

    monkeypatch.setattr(choice_mod, "measure", fake)
    monkeypatch.setattr(choice_mod, "_load_avg", lambda: 0.0)
    cpu = _cpu("avx2 fma", "sized test CPU")
    got = choice_mod.choose(info, (288, 320), card, cpu=cpu, frame_wh=(494, 447))
    assert "openvino/f32@256" in got.allowed
    assert got.latency == choice_mod.Config("openvino", "f32", 1, 256) and got.video.imgsz == 256
    assert "at 256 px" in got.summary()
    assert choice_mod.config_for(got, None, sized=False).imgsz == 0
    assert choice_mod.config_for(got, 1, sized=False).imgsz == 0
    assert choice_mod.config_for(got, 2, sized=True).imgsz == 256
    # The Detector: sized for the frames by the choice, or kept at the size the caller gave.
    monkeypatch.setattr(detector_mod, "read_model_card", lambda p: SimpleNamespace(variants=card))
    monkeypatch.setattr(choice_mod, "read_cpu", lambda: cpu)
    det = Detector.load(weights, frame_size=(494, 447))
    assert det.input_hw == (256, 256) and det.choice is not None and det.choice.latency.imgsz == 256
    assert det.predict(np.zeros((447, 494, 3), np.uint8)) is not None
    fixed = Detector.load(weights, imgsz=(288, 320))
    assert fixed.input_hw == (288, 320)
    from nnus_core.video.runtime import load_video_detectors

    video = load_video_detectors(weights, n=2, frame_size=(494, 447))
    assert video[0].input_hw == (256, 256) and video[0].threads == 1


def test_the_tight_input_is_used_only_where_the_model_card_vouches_for_it():
    """NNUS images run at the tight input when its check passed; a scanner screenshot's shape,
    unchecked on a card that checks shapes, runs at the model's own square size."""
    from types import SimpleNamespace

    from nnus_core.detector.detector import _tight_input_if_allowed

    info = SimpleNamespace(imgsz=288, stride=32)
    card = SimpleNamespace(variants={"f32@256x288": {"accepted": True}, "int8": {"accepted": True}})
    assert _tight_input_if_allowed(card, (494, 447), info) == (256, 288)
    assert _tight_input_if_allowed(card, (1200, 850), info) == 288  # 224x288: not checked
    rejected = SimpleNamespace(variants={"f32@256x288": {"accepted": False}})
    assert _tight_input_if_allowed(rejected, (494, 447), info) == 288
    unchecked = SimpleNamespace(variants={"int8": {"accepted": True}})  # no shape checks at all
    assert _tight_input_if_allowed(unchecked, (1200, 850), info) == (224, 288)
    assert _tight_input_if_allowed(None, (494, 447), info) == (256, 288)
    assert _tight_input_if_allowed(card, (600, 600), info) == 288  # square frames: the own size


def test_a_weights_files_hash_is_computed_once_per_version(tmp_path):
    """The Home page asks for the model's runtime line on every run: the 6 MB hash is kept per
    file version (size and modification time), and a replaced file is hashed again."""
    import hashlib

    from nnus_core.detector import fast

    f = tmp_path / "w.pt"
    f.write_bytes(b"a" * 1000)
    st = f.stat()
    first = fast._sha256_of(str(f), st.st_size, st.st_mtime_ns)
    hits = fast._sha256_of.cache_info().hits
    assert fast._sha256_of(str(f), st.st_size, st.st_mtime_ns) == first
    assert fast._sha256_of.cache_info().hits == hits + 1
    f.write_bytes(b"b" * 1001)
    st = f.stat()
    assert fast._sha256_of(str(f), st.st_size, st.st_mtime_ns) == hashlib.sha256(b"b" * 1001).hexdigest()
