"""Mask metrics and the SAM2 predictor against bare baselines in the same process.

Run: python benchmarks/bench_masks.py [--pairs 50] [--rounds 3] [--no-sam2]

1. Mask metrics (NumPy / SciPy, pycocotools for the IoU baseline) on ``--pairs`` pairs of
   480x854 object masks (ellipses, the second shifted and resized):

   * boundary F (radius 8, the DAVIS tolerance at this size) against the DAVIS recipe,
     the boundaries dilated by a 17x17 disk with ``scipy.ndimage.binary_dilation``; the
     two must give the same values;
   * mask IoU on dense masks against pycocotools' ``iou`` on masks already RLE-encoded.

2. SAM2 (needs ``unireward[sam2]``; a randomly initialised SAM 2.1 hiera-tiny, which costs
   the same time as trained weights), on 480x854 frames:

   * one image through the image predictor (``use_video_predictor=False``) against a
     bare ``set_image`` plus one ``predict`` with the box;
   * one image as a one-frame video (the default) against a bare ``init_state`` on an
     already written JPEG folder, one box prompt and one propagation;
   * a 5-frame video with the key frame in the middle, forward and backward.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from unireward.geometry.masks import boundary_f, mask_iou

H, W = 480, 854
ANSWER = {
    "boxes": [300, 250, 700, 800],
    "positive_points": [[480, 500], [500, 550], [520, 480]],
    "negative_points": [[50, 50], [950, 950], [50, 950]],
    "time": 0.0,
}


def best(fn: Callable[[], object], rounds: int) -> float:
    out = float("inf")
    for _ in range(rounds):
        t0 = time.perf_counter()
        fn()
        out = min(out, time.perf_counter() - t0)
    return out


def ellipse(cy: float, cx: float, ry: float, rx: float) -> np.ndarray:
    y, x = np.mgrid[0:H, 0:W]
    return ((y - cy) / ry) ** 2 + ((x - cx) / rx) ** 2 <= 1.0


def mask_pairs(n: int, seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        cy, cx = rng.uniform(120, 360), rng.uniform(200, 650)
        ry, rx = rng.uniform(40, 110), rng.uniform(60, 190)
        a = ellipse(cy, cx, ry, rx)
        b = ellipse(cy + rng.normal(0, 8), cx + rng.normal(0, 8), ry * rng.uniform(0.9, 1.1), rx * rng.uniform(0.9, 1.1))
        out.append((a, b))
    return out


def davis_boundary_f(a: np.ndarray, b: np.ndarray, radius: int) -> float:
    """The DAVIS recipe: boundaries dilated by a disk with binary_dilation."""
    from scipy.ndimage import binary_dilation

    from unireward.geometry.masks import boundary_map

    y, x = np.mgrid[-radius : radius + 1, -radius : radius + 1]
    disk = x * x + y * y <= radius * radius
    ba, bb = boundary_map(a), boundary_map(b)
    precision = (ba & binary_dilation(bb, structure=disk)).sum() / ba.sum()
    recall = (bb & binary_dilation(ba, structure=disk)).sum() / bb.sum()
    return float(2 * precision * recall / (precision + recall)) if precision + recall else 0.0


def bench_metrics(n: int, rounds: int) -> None:
    from pycocotools import mask as coco

    pairs = mask_pairs(n)
    ours = [float(boundary_f(a, b)) for a, b in pairs]
    theirs = [davis_boundary_f(a, b, 8) for a, b in pairs]
    assert np.allclose(ours, theirs, rtol=0, atol=1e-12), "boundary F differs from the DAVIS recipe"
    t_ours = best(lambda: [boundary_f(a, b) for a, b in pairs], rounds) / n
    t_davis = best(lambda: [davis_boundary_f(a, b, 8) for a, b in pairs], rounds) / n

    rles = [(coco.encode(np.asfortranarray(a.astype(np.uint8))), coco.encode(np.asfortranarray(b.astype(np.uint8)))) for a, b in pairs]
    iou_ours = [float(mask_iou(a, b)) for a, b in pairs]
    iou_coco = [float(coco.iou([ra], [rb], [0])[0, 0]) for ra, rb in rles]
    assert np.allclose(iou_ours, iou_coco, atol=1e-9), "mask IoU differs from pycocotools"
    t_iou = best(lambda: [mask_iou(a, b) for a, b in pairs], rounds) / n
    t_coco = best(lambda: [coco.iou([ra], [rb], [0]) for ra, rb in rles], rounds) / n

    print(f"mask metrics, {n} pairs of {H}x{W} masks, best of {rounds}")
    print(f"| boundary F (radius 8) | {t_ours * 1e3:.1f} ms | DAVIS binary_dilation: {t_davis * 1e3:.1f} ms | {t_davis / t_ours:.1f}x faster |")
    print(f"| mask IoU (dense) | {t_iou * 1e3:.3f} ms | pycocotools iou on RLE: {t_coco * 1e3:.3f} ms | {t_iou / t_coco:.1f}x slower |")


def frames(n: int) -> np.ndarray:
    rng = np.random.default_rng(0)
    out = rng.integers(0, 60, (n, H, W, 3), dtype=np.uint8)
    for i in range(n):
        out[i, 150:380, 260 + 4 * i : 600 + 4 * i] = 220
    return out


def bench_sam2(rounds: int) -> None:
    import torch
    from PIL import Image

    from unireward.masks import Sam2MaskPredictor, prompt_from_answer

    torch.manual_seed(0)
    pred = Sam2MaskPredictor(allow_random_init=True, device="cpu")
    img = frames(1)[0]
    prompt = prompt_from_answer(ANSWER, W, H)

    def bare_image() -> None:
        p = pred.image_predictor
        with torch.inference_mode():
            p.set_image(img)
            p.predict(box=prompt.box, multimask_output=False)
            p.reset_predictor()

    with tempfile.TemporaryDirectory() as tmp:
        Image.fromarray(img).save(Path(tmp) / "0.jpg", quality=95)

        def bare_video() -> None:
            v = pred.video_predictor
            with torch.inference_mode():
                state = v.init_state(video_path=tmp)
                v.add_new_points_or_box(state, frame_idx=0, obj_id=1, box=prompt.box)
                for _ in v.propagate_in_video(state, start_frame_idx=0):
                    pass
                v.reset_state(state)

        bare_image()  # warm-up
        t_img = best(lambda: pred.predict_image(img, ANSWER, use_video_predictor=False), rounds)
        t_img_base = best(bare_image, rounds)
        t_vid1 = best(lambda: pred.predict_image(img, ANSWER), rounds)
        t_vid1_base = best(bare_video, rounds)
    video = frames(5)
    answer = dict(ANSWER, time=2.0)
    t_vid5 = best(lambda: pred.predict_video(video, answer, fps=1.0), 1)
    print(f"SAM2 hiera-tiny, random weights, CPU, {H}x{W}, best of {rounds}")
    print(f"| image, image predictor | {t_img:.2f} s | bare set_image + one predict: {t_img_base:.2f} s | {t_img / t_img_base:.2f}x |")
    print(f"| image as a one-frame video | {t_vid1:.2f} s | bare init_state + one prompt + propagate: {t_vid1_base:.2f} s | {t_vid1 / t_vid1_base:.2f}x |")
    print(f"| 5-frame video, key frame 2, both ways | {t_vid5:.1f} s ({t_vid5 / 5:.1f} s per frame) | | |")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pairs", type=int, default=50)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--no-sam2", action="store_true")
    args = ap.parse_args()
    bench_metrics(args.pairs, args.rounds)
    if not args.no_sam2:
        try:
            import sam2  # noqa: F401
        except ImportError:
            print("sam2 is not installed: SAM2 part skipped (pip install 'unireward[sam2]')")
            return
        bench_sam2(args.rounds)


if __name__ == "__main__":
    main()
