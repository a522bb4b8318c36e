"""Generate examples/rollouts.jsonl: a small, realistic rollout dump covering every task.

Deterministic (seeded): python examples/make_rollouts.py > examples/rollouts.jsonl
Rows use OneThinker's field names (problem_id, problem_type, data_type,
problem_reserved_text, solution, completion); 4 rollouts per problem, some of them damaged
(missing tags, code fences, malformed JSON, text after the answer).
"""

from __future__ import annotations

import json
import random

rng = random.Random(2026)
ROLLOUTS = 4


def think(text: str) -> str:
    return f"<think>{text}</think>\n"


def damage(answer: str, k: int) -> str:
    """Most rollouts are well formed; a few are damaged in realistic ways."""
    r = rng.random()
    if k == 0 or r > 0.25:
        return think("Let me look at the frames carefully.") + f"<answer>{answer}</answer>"
    return rng.choice(
        [
            f"<answer>{answer}</answer>",
            think("thinking") + f"<answer>{answer}</answer> I hope this helps.",
            think("thinking") + f"< answer >{answer}< / answer >",
            think("thinking") + f"<answer>```json\n{answer}\n```</answer>",
            f"The answer is {answer}",
            think("thinking") + f"<answer>{answer}",
        ]
    )


def jitter(v: float, s: float) -> float:
    return round(v + rng.gauss(0, s), 1)


def problems() -> list[dict]:
    out: list[dict] = []
    for _ in range(8):
        gold = rng.choice("ABCD")
        out.append(
            dict(
                problem_type="multiple choice",
                data_type=rng.choice(["image", "video"]),
                problem_reserved_text=(
                    "What is the man doing? A. cooking B. running C. sleeping D. reading"
                ),
                solution=f"<answer>{gold}</answer>",
                answers=[gold, rng.choice("ABCD"), f"({gold.lower()})", f"{gold}."],
            )
        )
    for _ in range(6):
        v = round(rng.uniform(1, 500), 2)
        out.append(
            dict(
                problem_type="numerical",
                data_type="video",
                problem_reserved_text="How many seconds?",
                solution=f"<answer>{v}</answer>",
                answers=[str(v), f"{v + 1}", f"{v:,}", f"${v}$"],
            )
        )
    for _ in range(6):
        v = rng.randint(2, 300)
        out.append(
            dict(
                problem_type="regression",
                data_type="video",
                problem_reserved_text="How far (m)?",
                solution=f"<answer>{v}</answer>",
                answers=[str(v), str(round(v * 1.1)), str(round(v * 0.6)), str(v * 3)],
            )
        )
    for gold, answers in [
        ("-1.5", ["$$-\\dfrac{3}{2}$$", "-1.5", "1.5", "-3/2"]),
        ("\\frac{6}{2}", ["3", "\\boxed{3}", "6/2", "4"]),
        ("12", ["12", "\\boxed{12}", "$x=12$", "13"]),
        ("\\sqrt{2}", ["\\sqrt{2}", "$\\sqrt{2}$", "1.41", "2^{1/2}"]),
    ]:
        out.append(
            dict(
                problem_type="math",
                data_type="image",
                problem_reserved_text="Solve.",
                solution=f"<answer>{gold}</answer>",
                answers=answers,
            )
        )
    for gold in ["Hello World", "OPEN 24 HOURS", "Exit only", "No parking"]:
        out.append(
            dict(
                problem_type="OCR",
                data_type="image",
                problem_reserved_text="Read the sign.",
                solution=f"<answer>{gold}</answer>",
                answers=[gold, gold.lower(), gold.split()[0], gold + " now"],
            )
        )
    for ptype, gold, answers in [
        (
            "open-ended",
            "The man is cooking pasta in a kitchen.",
            [
                "A man is cooking pasta in a kitchen.",
                "The man cooks noodles.",
                "A dog runs.",
                "He is cooking.",
            ],
        ),
        (
            "open-ended",
            "Two children are playing football in a park.",
            [
                "Kids play soccer in a park.",
                "Two children play football.",
                "A car drives by.",
                "Children are playing.",
            ],
        ),
        (
            "captioning",
            "A woman rides a red bicycle along the beach at sunset.",
            [
                "A woman cycles on the beach at sunset.",
                "A red bicycle.",
                "Sunset at the beach.",
                "A man swims.",
            ],
        ),
        (
            "captioning",
            "A cat sleeps on a sofa next to a window.",
            [
                "A cat is sleeping on the sofa.",
                "A cat by a window.",
                "A dog barks.",
                "The sofa is blue.",
            ],
        ),
    ]:
        out.append(
            dict(
                problem_type=ptype,
                data_type="video",
                problem_reserved_text="Describe the video.",
                solution=f"<answer>{gold}</answer>",
                answers=answers,
            )
        )
    for _ in range(6):
        s = round(rng.uniform(0, 60), 1)
        e = round(s + rng.uniform(3, 30), 1)
        gt = {"time": [s, e]}
        out.append(
            dict(
                problem_type="temporal grounding",
                data_type="video",
                problem_reserved_text="When does the man open the door?",
                solution=json.dumps(gt),
                answers=[json.dumps({"time": [jitter(s, 2), jitter(e, 2)]}) for _ in range(2)]
                + [json.dumps({"time": [e, s]}), '{"start": 1, "end": 2}'],
            )
        )
    for _ in range(6):
        x, y = rng.randint(0, 500), rng.randint(0, 500)
        box = [x, y, x + rng.randint(50, 400), y + rng.randint(50, 400)]
        out.append(
            dict(
                problem_type="spatial grounding",
                data_type="image",
                problem_reserved_text="Locate the red car.",
                solution=json.dumps({"boxes": box}),
                answers=[
                    json.dumps({"boxes": [round(jitter(v, 15)) for v in box]}) for _ in range(2)
                ]
                + [json.dumps({"boxes": [box]}), "{'boxes': [1, 2, 3, 4]}"],
            )
        )
    for _ in range(4):
        s = rng.randint(0, 20)
        frames = {str(t): [100 + 5 * t, 120, 300 + 5 * t, 400] for t in range(s, s + 4)}
        gt = {"time": [s, s + 3], "boxes": frames}
        pred = {
            "time": [s, s + 4],
            "boxes": {k: [round(jitter(v, 10)) for v in b] for k, b in frames.items()},
        }
        out.append(
            dict(
                problem_type="spatial-temporal grounding",
                data_type="video",
                problem_reserved_text="Where and when is the ball kicked?",
                solution=json.dumps(gt),
                answers=[
                    json.dumps(pred),
                    json.dumps(gt),
                    json.dumps({"time": [s, s + 3], "boxes": [1, 2, 3, 4]}),
                    json.dumps({"time": [s + 10, s + 12], "boxes": {}}),
                ],
            )
        )
    for _ in range(4):
        track = {str(t): [100 + 10 * t, 100, 200 + 10 * t, 220] for t in range(1, 9)}
        out.append(
            dict(
                problem_type="tracking",
                data_type="video",
                problem_reserved_text="Track the person in the blue shirt.",
                solution=json.dumps({"boxes": track}),
                answers=[
                    json.dumps(
                        {"boxes": {k: [round(jitter(v, 8)) for v in b] for k, b in track.items()}}
                    ),
                    json.dumps({"boxes": {k: b for k, b in list(track.items())[:5]}}),
                    json.dumps({"boxes": {f"0{k}": b for k, b in track.items()}}),
                    json.dumps({"boxes": {}}),
                ],
            )
        )
    for dt in ["image", "image", "video", "video"]:
        box = [200, 220, 600, 700]
        pos = [[300, 400], [400, 500], [500, 600]]
        neg = [[100, 100], [900, 900], [100, 900]]
        gt: dict = {"boxes": box, "positive_points": pos, "negative_points": neg}
        if dt == "video":
            gt["time"] = 4.0
        good = dict(
            gt,
            boxes=[round(jitter(v, 20)) for v in box],
            positive_points=[[round(jitter(x, 20)), round(jitter(y, 20))] for x, y in pos],
        )
        if dt == "video":
            good["time"] = 4.5
        out.append(
            dict(
                problem_type="segmentation",
                data_type=dt,
                problem_reserved_text="Segment the dog.",
                solution=json.dumps(gt),
                answers=[
                    json.dumps(good),
                    json.dumps(gt),
                    json.dumps(dict(gt, positive_points=pos[:2])),
                    json.dumps(dict(gt, time="4.0"))
                    if dt == "video"
                    else json.dumps(dict(gt, boxes=[600, 700, 200, 220])),
                ],
            )
        )
    for _ in range(4):
        cx, cy, r = rng.randint(150, 450), rng.randint(150, 450), rng.randint(40, 120)
        quad = [[cx - r, cy - r], [cx + r, cy - r], [cx + r, cy + r], [cx - r, cy + r]]
        out.append(
            dict(
                problem_type="polygon grounding",
                data_type="image",
                problem_reserved_text="Outline the road sign with a polygon.",
                solution=json.dumps({"polygon": quad}),
                answers=[
                    json.dumps(
                        {"polygon": [[round(jitter(x, 8)), round(jitter(y, 8))] for x, y in quad]}
                    ),
                    json.dumps({"quad": quad}),
                    json.dumps({"polygon": [quad[0], quad[2], quad[1], quad[3]]}),  # self-crossing
                    json.dumps({"polygon": quad[:2]}),
                ],
            )
        )
    return out


def main() -> None:
    n = 0
    for pid, prob in enumerate(problems()):
        answers = prob.pop("answers")
        for k in range(ROLLOUTS):
            row = {
                "problem_id": f"p{pid:03d}",
                **prob,
                "completion": damage(answers[k % len(answers)], k),
            }
            print(json.dumps(row, ensure_ascii=False))
            n += 1


if __name__ == "__main__":
    main()
