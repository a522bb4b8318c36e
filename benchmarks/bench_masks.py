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

3. The mask reward (``unireward.masks.Sam2MaskReward`` through ``score_batch``), in the
   same process as its baseline:

   * ``--rollouts`` (8) rollouts of one 480x854 image at SAM2's 1024-pixel input: the
     reward (one encoder pass, two batched decoder calls; the cache emptied before each
     round) against the predictor called per rollout (an encoder pass each), and the
     next step's rollouts of the same image (cached embedding: decoder only);
   * memory over ``--images`` (10,000) distinct images, two rollouts each, with a tiny
     stand-in input size (``--stand-in-size``, 64 pixels: the encoder pass is what is
     skipped, the cache and the code path are the same) and ``cache_size=32``: the
     process's resident memory (VmRSS) every 1,000 images.

``--device cuda`` runs parts 2 and 3 on a GPU.
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
        b = ellipse(
            cy + rng.normal(0, 8),
            cx + rng.normal(0, 8),
            ry * rng.uniform(0.9, 1.1),
            rx * rng.uniform(0.9, 1.1),
        )
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

    rles = [
        (
            coco.encode(np.asfortranarray(a.astype(np.uint8))),
            coco.encode(np.asfortranarray(b.astype(np.uint8))),
        )
        for a, b in pairs
    ]
    iou_ours = [float(mask_iou(a, b)) for a, b in pairs]
    iou_coco = [float(coco.iou([ra], [rb], [0])[0, 0]) for ra, rb in rles]
    assert np.allclose(iou_ours, iou_coco, atol=1e-9), "mask IoU differs from pycocotools"
    t_iou = best(lambda: [mask_iou(a, b) for a, b in pairs], rounds) / n
    t_coco = best(lambda: [coco.iou([ra], [rb], [0]) for ra, rb in rles], rounds) / n

    print(f"mask metrics, {n} pairs of {H}x{W} masks, best of {rounds}")
    print(
        f"| boundary F (radius 8) | {t_ours * 1e3:.1f} ms "
        f"| DAVIS binary_dilation: {t_davis * 1e3:.1f} ms | {t_davis / t_ours:.1f}x faster |"
    )
    print(
        f"| mask IoU (dense) | {t_iou * 1e3:.3f} ms "
        f"| pycocotools iou on RLE: {t_coco * 1e3:.3f} ms | {t_iou / t_coco:.1f}x slower |"
    )


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
    print(
        f"| image, image predictor | {t_img:.2f} s "
        f"| bare set_image + one predict: {t_img_base:.2f} s | {t_img / t_img_base:.2f}x |"
    )
    print(
        f"| image as a one-frame video | {t_vid1:.2f} s "
        f"| bare init_state + one prompt + propagate: {t_vid1_base:.2f} s "
        f"| {t_vid1 / t_vid1_base:.2f}x |"
    )
    print(
        f"| 5-frame video, key frame 2, both ways | {t_vid5:.1f} s "
        f"({t_vid5 / 5:.1f} s per frame) | | |"
    )


def rss_mb() -> float:
    """The process's resident memory in MB (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def reward_records(img: object, answers: list[dict], truth_mask: object) -> list[dict]:
    import json

    truth = {"mask": truth_mask, "image": img}
    return [
        {
            "completion": f"<think>t</think><answer>{json.dumps(a)}</answer>",
            "ground_truth": truth,
            "task": "segmentation",
            "data_type": "image",
        }
        for a in answers
    ]


def rollout_answers(n: int) -> list[dict]:
    return [dict(ANSWER, boxes=[300 + 10 * j, 250, 700 - 5 * j, 800]) for j in range(n)]


def bench_reward(rollouts: int, rounds: int, device: str) -> None:
    import torch

    from unireward import score_batch
    from unireward.masks import Sam2MaskPredictor, Sam2MaskReward

    torch.manual_seed(0)
    pred = Sam2MaskPredictor(allow_random_init=True, device=device)
    img = frames(1)[0]
    truth = ellipse(265, 430, 100, 150)
    answers = rollout_answers(rollouts)
    records = reward_records(img, answers, truth)
    reward = Sam2MaskReward(pred)

    def per_rollout() -> None:
        for a in answers:
            pred.predict_image(img, a, use_video_predictor=False)

    def shared() -> None:
        reward.clear_cache()
        score_batch(records, extra={"mask_model": reward})

    def cached() -> None:
        score_batch(records, extra={"mask_model": reward})

    shared()  # warm-up
    t_base = best(per_rollout, rounds)
    t_shared = best(shared, rounds)
    t_cached = best(cached, rounds)
    print(
        f"mask reward, {rollouts} rollouts of one {H}x{W} image, SAM2 hiera-tiny at 1024, "
        f"{device}, best of {rounds}"
    )
    print(
        f"| {rollouts} rollouts, embedding shared | {t_shared:.2f} s "
        f"| predictor per rollout: {t_base:.2f} s | {t_base / t_shared:.1f}x faster |"
    )
    print(
        f"| {rollouts} rollouts, embedding cached | {t_cached:.3f} s "
        f"| predictor per rollout: {t_base:.2f} s | {t_base / t_cached:.0f}x faster |"
    )


def bench_memory(n_images: int, size: int, device: str, cache_size: int = 32) -> None:
    import torch

    from unireward import score_batch
    from unireward.masks import Sam2MaskPredictor, Sam2MaskReward

    torch.manual_seed(0)
    pred = Sam2MaskPredictor(
        allow_random_init=True, device=device, hydra_overrides=[f"++model.image_size={size}"]
    )
    reward = Sam2MaskReward(pred, cache_size=cache_size)
    rng = np.random.default_rng(0)
    truth = np.zeros((24, 32), bool)
    truth[6:18, 8:24] = True
    answers = rollout_answers(2)
    per_batch = 50
    t0 = time.perf_counter()
    print(
        f"mask reward memory: {n_images} distinct 24x32 images, input size {size}, "
        f"cache_size={cache_size}, {device}"
    )
    print("| images | VmRSS MB | cached embeddings | cached MB |")
    print(f"| 0 | {rss_mb():.0f} | 0 | 0 |")
    for start in range(0, n_images, per_batch):
        records = []
        for _ in range(per_batch):
            img = rng.integers(0, 255, (24, 32, 3), dtype=np.uint8)
            records += reward_records(img, answers, truth)
        score_batch(records, extra={"mask_model": reward})
        done = start + per_batch
        if done % 1000 == 0:
            s = reward.stats
            print(
                f"| {done} | {rss_mb():.0f} | {s.cached} | {s.cached_bytes / 2**20:.2f} |",
                flush=True,
            )
    s = reward.stats
    print(
        f"encoder passes {s.encoder_passes}, decoder calls {s.decoder_calls}, "
        f"{time.perf_counter() - t0:.0f} s"
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pairs", type=int, default=50)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--no-sam2", action="store_true")
    ap.add_argument("--no-metrics", action="store_true")
    ap.add_argument("--only-reward", action="store_true", help="part 3 only")
    ap.add_argument("--rollouts", type=int, default=8)
    ap.add_argument("--images", type=int, default=10_000)
    ap.add_argument("--stand-in-size", type=int, default=64)
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()
    if not (args.no_metrics or args.only_reward):
        bench_metrics(args.pairs, args.rounds)
    if not args.no_sam2:
        try:
            import sam2  # noqa: F401
        except ImportError:
            print("sam2 is not installed: SAM2 part skipped (pip install 'unireward[sam2]')")
            return
        if not args.only_reward:
            bench_sam2(args.rounds)
        bench_reward(args.rollouts, args.rounds, args.device)
        if args.images:
            bench_memory(args.images, args.stand_in_size, args.device)


if __name__ == "__main__":
    main()
