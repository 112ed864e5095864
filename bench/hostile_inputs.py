"""Bench: hostile dataset folders, zips and videos, each family counted by how the project answers.

Every case is generated into a temporary folder and run through the loaders (`load_dataset`,
`import_archive`), the video probe, the pipeline and the video CLI. Each case runs in its own
forked process with a 5 s bound. Outcomes per case:

    clear    the project's own error (an NnusError subclass) or a validation-report issue that
             names the problem, or the input handled correctly (e.g. a valid file accepted)
    silent   no error, no issue, and the result is wrong (a bad file accepted, a file ignored)
    foreign  any other exception (a raw traceback on a page)
    hang     over 5 s

`python bench/hostile_inputs.py [--family NAME] [--video-runs N]`; the headline is the total of
foreign exceptions, silent changes and hangs. All images are synthetic.

Measured on 2 CPU cores (AVX-512): before the hardening 58 of 108 cases ended badly (19 foreign
exceptions, 36 silent, 3 hangs); after it none.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import zipfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from nnus_core.errors import NnusError  # noqa: E402
from tests.fixtures import make_nnus_folder, write_image  # noqa: E402
from tests.hostile import (  # noqa: E402
    corrupt_jpeg_body,
    dataset_members,
    distinct_boxes,
    jpeg_declaring,
    make_zip,
    patch_member,
    png_header,
    yaml_alias_bomb,
)

BOUND_S = 5.0
OUTCOMES = ("clear", "silent", "foreign", "hang")


@dataclass(frozen=True)
class Case:
    family: str
    name: str
    run: Callable[[Path], object]  # builds its input under the folder and runs the project on it
    # The verdict on a normal return: True when the outcome is right (the problem was reported, or
    # a valid input was handled correctly). An NnusError always counts as clear.
    check: Callable[[object], bool]


# ---------------------------------------------------------------- builders
def nnus(tmp: Path, n: int = 3) -> Path:
    return make_nnus_folder(tmp / "NNUS", n=n)


def load(path: Path):
    from nnus_core.dataset import load_dataset

    return load_dataset(path)


def has_issue(*codes: str, file_part: str = "") -> Callable[[object], bool]:
    def check(ds) -> bool:
        return any(i.code in codes and file_part in i.file for i in ds.report.issues) if codes else False

    return check


def any_issue_on(file_part: str) -> Callable[[object], bool]:
    return lambda ds: any(file_part in i.file for i in ds.report.issues if i.severity.value != "info")


def bomb_image(kind: str) -> Callable[[Path], object]:
    def run(tmp: Path):
        root = nnus(tmp)
        if kind == "png":
            (root / "images" / "0001.jpg").unlink()
            (root / "images" / "0001.png").write_bytes(png_header(20000, 20000))
        else:
            (root / "images" / "0001.jpg").write_bytes(jpeg_declaring(20000, 20000))
        return load(root)

    return run


def odd_stems(stems: list[str]) -> Callable[[Path], object]:
    def run(tmp: Path):
        root = nnus(tmp, n=2)
        for s in stems:
            write_image(root / "images" / f"{s}.jpg")
            (root / "labels" / f"{s}.txt").write_text("1 0.5 0.5 0.2 0.2\n")
        return load(root)

    return run


VOC = (
    "<annotation><filename>0001.jpg</filename><size><width>{w}</width><height>{h}</height><depth>1</depth>"
    "</size><object><name>Thyroid</name><bndbox><xmin>{x1}</xmin><ymin>{y1}</ymin><xmax>{x2}</xmax>"
    "<ymax>{y2}</ymax></bndbox></object></annotation>"
)


def voc_case(**values: str) -> Callable[[Path], object]:
    def run(tmp: Path):
        root = nnus(tmp)
        (root / "labels" / "0001.txt").unlink()
        fields = {"w": "494", "h": "447", "x1": "10", "y1": "10", "x2": "100", "y2": "100", **values}
        (root / "labels" / "0001.xml").write_text(VOC.format(**fields))
        return load(root)

    return run


def side_file(rel: str, data: bytes | Callable[[], bytes]) -> Callable[[Path], object]:
    def run(tmp: Path):
        root = nnus(tmp)
        if rel.endswith(".xml"):  # a YOLO label of the same stem would be read instead
            (root / rel).with_suffix(".txt").unlink(missing_ok=True)
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data() if callable(data) else data)
        return load(root)

    return run


# ---------------------------------------------------------------- zips
def import_zip(zpath: Path, tmp: Path):
    from nnus_core.dataset.zipimport import import_archive

    return load(import_archive(zpath, tmp / "imports"))


def zip_case(build: Callable[[Path], Path]) -> Callable[[Path], object]:
    return lambda tmp: import_zip(build(tmp), tmp)


def zip_patched(**patch: int) -> Callable[[Path], Path]:
    def build(tmp: Path) -> Path:
        z = make_zip(tmp / "d.zip", dataset_members(tmp))
        patch_member(z, 1, **patch)
        return z

    return build


def zip_extra(extra: list[tuple[str, bytes]], first: bool = False) -> Callable[[Path], Path]:
    def build(tmp: Path) -> Path:
        members = dataset_members(tmp)
        return make_zip(tmp / "d.zip", extra + members if first else members + extra)

    return build


def zip_corrupt_deflate(tmp: Path) -> Path:
    z = make_zip(tmp / "d.zip", dataset_members(tmp))
    raw = bytearray(z.read_bytes())
    with zipfile.ZipFile(z) as zf:
        info = zf.infolist()[1]
    start = info.header_offset + 30 + len(info.filename.encode()) + 10
    raw[start : start + 40] = bytes(range(40))
    z.write_bytes(bytes(raw))
    return z


def zip_nul_name(tmp: Path) -> Path:
    z = make_zip(tmp / "d.zip", [*dataset_members(tmp), ("NNUS/aQb.txt", b"x")])
    z.write_bytes(z.read_bytes().replace(b"NNUS/aQb.txt", b"NNUS/a\x00b.txt"))  # zipfile cannot write a NUL
    return z


def concurrent_imports(tmp: Path):
    from nnus_core.dataset.zipimport import import_archive

    z = make_zip(tmp / "d.zip", dataset_members(tmp, n=20))
    results: list[object] = [None] * 4
    barrier = threading.Barrier(4)

    def work(k: int) -> None:
        barrier.wait()
        try:
            results[k] = import_archive(z, tmp / "imports")
        except BaseException as exc:  # noqa: BLE001 - the bench classifies it
            results[k] = exc

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for r in results:
        if isinstance(r, BaseException):
            raise r
    folders = {str(r) for r in results}
    leftovers = [p.name for p in (tmp / "imports").iterdir() if p.name.startswith(".")]
    ds = load(results[0])
    return ("concurrent", len(folders) == 1 and not leftovers and len(ds) == 20)


# ---------------------------------------------------------------- silent changes
def duplicate_member(tmp: Path):
    members = dataset_members(tmp)
    label = next(n for n, _ in members if n.endswith("0001.txt"))
    z = tmp / "d.zip"
    with zipfile.ZipFile(z, "w") as zf:
        for name, data in members:
            zf.writestr(name, data)
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            zf.writestr(label, b"")  # a later copy that empties the first image's labels
    return import_zip(z, tmp)


def jpg_and_png(tmp: Path):
    root = nnus(tmp)
    write_image(root / "images" / "0001.png")
    return load(root)


def upper_txt(tmp: Path):
    root = nnus(tmp)
    (root / "labels" / "0001.txt").rename(root / "labels" / "0001.TXT")
    ds = load(root)
    return ds


def classes_disagree(tmp: Path):
    root = nnus(tmp)
    names = (root / "labels" / "classes.txt").read_text().split()
    (root / "data.yaml").write_text(
        "names: [Thyroid, Trachea, Common carotid artery, Internal jugular vein, Esophagus, "
        "Longus colli, Strap muscle, Sternocleidomastoid]\n"
    )
    assert names
    return load(root)


def corrupt_jpeg(kind: str, seed: int) -> Callable[[Path], object]:
    def run(tmp: Path):
        root = nnus(tmp)
        p = root / "images" / "0001.jpg"
        p.write_bytes(corrupt_jpeg_body(p.read_bytes(), kind, seed))
        return load(root)

    return run


def trailing_bytes(n: int) -> Callable[[Path], object]:
    def run(tmp: Path):
        root = nnus(tmp)
        p = root / "images" / "0001.jpg"
        p.write_bytes(p.read_bytes() + os.urandom(n))
        return load(root)

    return run


def image_ok(name: str) -> Callable[[object], bool]:
    return lambda ds: not any(name in i.file for i in ds.report.errors) and ds.get("0001") is not None


def image_refused(name: str) -> Callable[[object], bool]:
    return lambda ds: any(name in i.file for i in ds.report.errors)


# ---------------------------------------------------------------- videos
def write_clip(path: Path, **kw) -> Path:
    from tests.synthetic_video import write_test_clip

    write_test_clip(path, **kw)
    return path


def thin_video(w: int, h: int) -> Callable[[Path], object]:
    def run(tmp: Path):
        from nnus_core.video.pipeline import process_video
        from nnus_core.video.probe import probe_video
        from tests.synthetic_video import BlobDetector

        src = write_clip(tmp / "thin.mp4", width=w, height=h, n_frames=3, codec="libx264", pix_fmt="yuv444p")
        info = probe_video(src)
        res = process_video(src, tmp / "o.mp4", BlobDetector(), info=info)
        return ("video", min(res.width_px, res.height_px) >= 16)

    return run


def upload_name(tmp: Path):
    import inspect

    from nnus_core.video.probe import probe_video
    from nnus_core.video.workspace import SessionWorkspace, save_upload

    ws = SessionWorkspace("bench", root=tmp)
    path = save_upload(ws, "carotid scan 3.mp4", b"\x00\x01not a video" * 100, 1300)
    kwargs = {"name": "carotid scan 3.mp4"} if "name" in inspect.signature(probe_video).parameters else {}
    try:
        probe_video(path, **kwargs)
    except NnusError as exc:
        return ("video", "carotid scan 3.mp4" in str(exc))
    return ("video", False)


def cli_signal(sig: int) -> Callable[[Path], object]:
    def run(tmp: Path):
        src = write_clip(tmp / "long.mp4", width=494, height=447, n_frames=900, fps=30.0)
        out = tmp / "out" / "o.mp4"
        cmd = [
            sys.executable,
            "-m",
            "nnus_core.video",
            str(src),
            str(out),
            "--quiet",
            "--csv",
            str(tmp / "out" / "o.csv"),
        ]
        env = {**os.environ, "YOLO_OFFLINE": "1"}
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 30
        while time.time() < deadline and not any((tmp / "out").glob(".*part*")):
            time.sleep(0.05)
        time.sleep(0.3)
        proc.send_signal(sig)
        proc.wait(timeout=30)
        if sig == signal.SIGKILL:  # a later run in the same folder may sweep what the killed one left
            small = write_clip(tmp / "short.mp4", width=120, height=90, n_frames=3)
            subprocess.run(
                [sys.executable, "-m", "nnus_core.video", str(small), str(out), "--quiet"],
                cwd=ROOT,
                env=env,
                check=False,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                timeout=60,
            )
        left = [p.name for p in (tmp / "out").iterdir() if "part" in p.name]
        return ("video", not left)

    return run


def random_video(seed: int) -> Callable[[Path], object]:
    def run(tmp: Path):
        from nnus_core.video.probe import probe_video

        src = write_clip(tmp / "v.mp4", width=64, height=48, n_frames=4)
        b = bytearray(src.read_bytes())
        rng = np.random.default_rng(seed)
        for _ in range(int(rng.integers(1, 40))):
            b[int(rng.integers(0, len(b)))] = int(rng.integers(0, 256))
        if seed % 3 == 0:
            b = b[: int(rng.integers(8, len(b)))]
        src.write_bytes(bytes(b))
        probe_video(src)
        return ("video", True)  # a readable damaged file is fine: the pipeline reports damage

    return run


# ---------------------------------------------------------------- the table of cases
def cases(video_runs: int) -> list[Case]:
    ok = lambda r: r[1]  # noqa: E731 - results of the tuple-returning cases
    out = [
        Case("tracebacks", "png-header-20000x20000", bomb_image("png"), any_issue_on("0001.png")),
        Case("tracebacks", "jpeg-header-20000x20000", bomb_image("jpeg"), any_issue_on("0001.jpg")),
    ]
    for stems in (["0001²"], ["١٢٣"], ["𝟙𝟚"], ["½1"], ["٣a", "a٣"], ["0003③", "0004"], ["1²3", "13"]):
        out.append(Case("tracebacks", f"stem-{'-'.join(stems)}", odd_stems(stems), lambda ds: len(ds) >= 3))
    for field, value in [
        ("x1", "nan"),
        ("x2", "inf"),
        ("w", "inf"),
        ("h", "nan"),
        ("x1", "1e999"),
        ("w", "-5"),
        ("x2", "-inf"),
        ("y1", "0x10"),
        ("w", "1e30"),
    ]:
        out.append(
            Case("tracebacks", f"voc-{field}={value}", voc_case(**{field: value}), any_issue_on("0001.xml"))
        )
    out += [
        Case(
            "tracebacks",
            "subjects-200k-field",
            side_file("subjects.csv", b"image,subject\n0001.jpg," + b"x" * 200_000 + b"\n"),
            any_issue_on("subjects.csv"),
        ),
        Case(
            "tracebacks",
            "subjects-nul-byte",
            side_file("subjects.csv", b"image,subject\n0001.jpg,\x00S1\n"),
            lambda ds: len(ds) == 3,
        ),
        Case(
            "tracebacks",
            "phantom-json-deep",
            side_file("phantom.json", b"[" * 200_000 + b"]" * 200_000),
            any_issue_on("phantom.json"),
        ),
        Case(
            "tracebacks",
            "phantom-json-not-object",
            side_file("phantom.json", b"[1, 2]"),
            any_issue_on("phantom.json"),
        ),
        Case(
            "tracebacks",
            "data-yaml-deep",
            side_file("data.yaml", b"names: " + b"[" * 100_000 + b"]" * 100_000),
            lambda ds: True,
        ),
        Case(
            "tracebacks",
            "data-yaml-deep-map",
            side_file("data.yaml", b"names:\n" + b"".join(b" " * i + b"a:\n" for i in range(1, 3000))),
            lambda ds: True,
        ),
        Case(
            "tracebacks",
            "data-yaml-names-nested",
            side_file("data.yaml", b"names: [[1, [2]], {a: b}]\n"),
            lambda ds: True,
        ),
        Case(
            "tracebacks",
            "voc-deep-xml",
            side_file("labels/0002.xml", b"<a>" * 100_000 + b"</a>" * 100_000),
            lambda ds: True,
        ),
    ]
    # hangs
    out += [
        Case(
            "hangs",
            "label-4k-distinct-boxes",
            side_file("labels/0001.txt", distinct_boxes(4000)),
            lambda ds: True,
        ),
        Case(
            "hangs",
            "label-10MB-distinct-boxes",
            side_file("labels/0001.txt", lambda: distinct_boxes(300_000)),
            any_issue_on("labels/0001.txt"),
        ),
        Case("hangs", "yaml-alias-bomb", side_file("data.yaml", yaml_alias_bomb()), lambda ds: True),
        Case(
            "hangs",
            "yaml-20MB",
            side_file("data.yaml", lambda: b"names: [Thyroid]\nx: [" + b"1," * 10_000_000 + b"1]\n"),
            any_issue_on("data.yaml"),
        ),
        Case(
            "hangs",
            "classes-20MB",
            side_file("labels/classes.txt", lambda: b"Thyroid\n" * 2_500_000),
            any_issue_on("classes.txt"),
        ),
        Case(
            "hangs",
            "subjects-20MB",
            side_file("subjects.csv", lambda: b"image,subject\n" + b"0001.jpg,S1\n" * 1_700_000),
            any_issue_on("subjects.csv"),
        ),
        Case(
            "hangs",
            "voc-20MB",
            side_file(
                "labels/0002.xml",
                lambda: b"<annotation>" + b"<object><name>x</name></object>" * 700_000 + b"</annotation>",
            ),
            any_issue_on("0002.xml"),
        ),
    ]
    # zips
    out += [
        Case("zip", "encrypted-member", zip_case(zip_patched(flag_bits=0x1)), lambda ds: False),
        Case("zip", "deflate64-member", zip_case(zip_patched(method=9)), lambda ds: False),
        Case("zip", "aes-member", zip_case(zip_patched(method=99)), lambda ds: False),
        Case(
            "zip", "file-and-folder-one-name", zip_case(zip_extra([("NNUS/images", b"x")])), lambda ds: False
        ),
        Case(
            "zip",
            "file-then-folder",
            zip_case(zip_extra([("NNUS/labels", b"x")], first=True)),
            lambda ds: False,
        ),
        Case(
            "zip",
            "component-300-chars",
            zip_case(zip_extra([("NNUS/" + "a" * 300 + ".txt", b"x")])),
            lambda ds: False,
        ),
        Case(
            "zip",
            "path-400-deep",
            zip_case(zip_extra([("NNUS/" + "d/" * 400 + "x.txt", b"x")])),
            lambda ds: False,
        ),
        Case(
            "zip",
            "path-5000-chars",
            zip_case(zip_extra([("NNUS/" + ("b" * 200 + "/") * 25 + "x.txt", b"x")])),
            lambda ds: False,
        ),
        Case("zip", "corrupt-deflate-data", zip_case(zip_corrupt_deflate), lambda ds: False),
        Case("zip", "nul-in-name", zip_case(zip_nul_name), lambda ds: False),
        Case("zip", "two-imports-at-once", concurrent_imports, ok),
    ]
    # silent changes
    out += [
        Case("silent", "zip-duplicate-member", duplicate_member, has_issue("duplicate-member")),
        Case(
            "silent",
            "jpg-and-png-one-stem",
            jpg_and_png,
            lambda ds: any("0001.png" in i.message or "0001.png" in i.file for i in ds.report.issues),
        ),
        Case(
            "silent",
            "upper-case-TXT",
            upper_txt,
            lambda ds: ds.get("0001") is not None and len(ds.get("0001").annotations) == 4,
        ),
        Case("silent", "classes-txt-vs-data-yaml", classes_disagree, any_issue_on("data.yaml")),
    ]
    for kind in ("flip", "garbage", "cut", "zeros"):
        for seed in range(5):
            out.append(
                Case("silent", f"jpeg-{kind}-{seed}", corrupt_jpeg(kind, seed), image_refused("0001.jpg"))
            )
    for n in (10, 100, 5000):
        out.append(Case("silent", f"jpeg-trailing-{n}B", trailing_bytes(n), image_ok("0001.jpg")))
    # videos
    out += [
        Case("video", "8192x16", thin_video(8192, 16), ok),
        Case("video", "16x4096", thin_video(16, 4096), ok),
        Case("video", "upload-named-in-error", upload_name, ok),
        Case("video", "cli-sigterm-part-files", cli_signal(signal.SIGTERM), ok),
        Case("video", "cli-sigkill-part-files", cli_signal(signal.SIGKILL), ok),
    ]
    out += [Case("video", f"damaged-bytes-{s}", random_video(s), ok) for s in range(12)]
    return out


# ---------------------------------------------------------------- running
def _child(case: Case, folder: str, conn) -> None:
    try:
        result = case.run(Path(folder))
        conn.send(("clear" if case.check(result) else "silent", ""))
    except NnusError as exc:
        conn.send(("clear", f"{type(exc).__name__}: {exc}"[:160]))
    except BaseException as exc:  # noqa: BLE001 - the bench classifies it
        tb = traceback.format_exc().strip().splitlines()
        conn.send(
            ("foreign", f"{type(exc).__name__}: {str(exc)[:120]} @ {tb[-3].strip() if len(tb) > 2 else ''}")
        )


def run_case(case: Case, bound_s: float) -> tuple[str, str, float]:
    folder = tempfile.mkdtemp(prefix="nnus-hostile-")
    ctx = mp.get_context("fork")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(case, folder, child))
    t0 = time.perf_counter()
    proc.start()
    child.close()
    # The video CLI cases start processes of their own: they get a longer bound, still reported.
    limit = bound_s if case.family != "video" or not case.name.startswith("cli") else 90.0
    got = parent.poll(limit)
    elapsed = time.perf_counter() - t0
    if not got:
        os.kill(proc.pid, signal.SIGKILL)
        proc.join()
        shutil.rmtree(folder, ignore_errors=True)
        return "hang", f"no answer within {limit:.0f} s", elapsed
    try:
        outcome, detail = parent.recv()
    except EOFError:
        outcome, detail = "foreign", f"the process died (exit {proc.exitcode})"
    proc.join()
    shutil.rmtree(folder, ignore_errors=True)
    if outcome != "hang" and elapsed > bound_s and not case.name.startswith("cli"):
        outcome, detail = "hang", f"took {elapsed:.1f} s ({outcome}: {detail})"
    return outcome, detail, elapsed


def slow_fps_runs(n: int, bound_s: float) -> Counter:
    """The page's pipeline with the shipped detector on two threads, a 0.5 fps clip, n times."""
    counts: Counter = Counter()
    if n <= 0:
        return counts
    ctx = mp.get_context("fork")
    parent, child = ctx.Pipe(duplex=False)

    def work(conn) -> None:
        from nnus_core.video.pipeline import detection_size, process_video
        from nnus_core.video.probe import probe_video
        from nnus_core.video.runtime import load_video_detectors

        tmp = Path(tempfile.mkdtemp(prefix="nnus-slowfps-"))
        src = write_clip(tmp / "slow.mp4", width=494, height=447, n_frames=4, fps=0.5)
        info = probe_video(src)
        dets = load_video_detectors(None, n=2, frame_size=detection_size(info))
        conn.send("ready")
        for _ in range(n):
            try:
                process_video(src, tmp / "o.mp4", dets, info=info)
                conn.send("clear")
            except NnusError:
                conn.send("clear")
            except BaseException:  # noqa: BLE001
                conn.send("foreign")
        shutil.rmtree(tmp, ignore_errors=True)

    proc = ctx.Process(target=work, args=(child,))
    proc.start()
    child.close()
    if not parent.poll(120):
        proc.kill()
        counts["hang"] += n
        return counts
    parent.recv()
    for i in range(n):
        if not parent.poll(bound_s):
            proc.kill()
            counts["hang"] += 1
            counts["clear"] += 0
            print(f"  0.5fps run {i}: no answer within {bound_s:.0f} s (killed)")
            return counts
        counts[parent.recv()] += 1
    proc.join()
    return counts


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--family", help="only this family")
    ap.add_argument("--video-runs", type=int, default=30, help="0.5 fps pipeline runs (default 30)")
    ap.add_argument("-v", "--verbose", action="store_true", help="print every case")
    args = ap.parse_args()
    flags = sorted(set(open("/proc/cpuinfo").read().split()) & {"avx2", "avx512f", "avx512_bf16", "amx_tile"})
    print(f"CPU: {os.cpu_count()} cores, flags {' '.join(flags)}; synthetic inputs only")
    table: dict[str, Counter] = {}
    for case in cases(args.video_runs):
        if args.family and case.family != args.family:
            continue
        outcome, detail, elapsed = run_case(case, BOUND_S)
        table.setdefault(case.family, Counter())[outcome] += 1
        if args.verbose or outcome != "clear":
            print(f"  {case.family:10s} {case.name:32s} {outcome:8s} {elapsed:5.1f}s {detail}")
    if not args.family or args.family == "video":
        c = slow_fps_runs(args.video_runs, max(BOUND_S, 30.0))
        table.setdefault("video", Counter()).update(c)
        print(f"  video      0.5fps pipeline x{args.video_runs}: {dict(c)}")
    print(f"\n{'family':12s} {'cases':>5s} " + " ".join(f"{o:>7s}" for o in OUTCOMES))
    total = Counter()
    for fam, c in table.items():
        total.update(c)
        print(f"{fam:12s} {sum(c.values()):5d} " + " ".join(f"{c[o]:7d}" for o in OUTCOMES))
    print(f"{'all':12s} {sum(total.values()):5d} " + " ".join(f"{total[o]:7d}" for o in OUTCOMES))
    print(
        f"hostile_bad_outcomes (foreign + silent + hang of {sum(total.values())}): "
        f"{total['foreign'] + total['silent'] + total['hang']}"
    )


if __name__ == "__main__":
    main()
