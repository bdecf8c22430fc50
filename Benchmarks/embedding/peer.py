"""PyTorch peer for `SwitchyardBench embedding`: sentence-transformers all-MiniLM-L6-v2 (CPU, fp32)
encoding the SAME prompts the Swift benchmark uses (written by `SwitchyardBench embedding --write-texts`).

usage: python peer.py --texts FILE --model-dir DIR [--threads N] [--runs 1] [--out FILE.json]
Same method as Tests/Fixtures/minilm/bench_pytorch_peer.py: one warm-up, then timed
`model.encode(texts, batch_size=32)`, median reported.
"""
import argparse, json, os, statistics, time

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

import torch
from sentence_transformers import SentenceTransformer


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--texts", required=True)
    ap.add_argument("--model-dir", required=True)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--out", default="bench-results/embedding-peer.json")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    texts = [json.loads(line)["text"] for line in open(args.texts, encoding="utf-8")]
    m = SentenceTransformer(args.model_dir, device="cpu")
    lens = [min(len(m.tokenizer(t)["input_ids"]), 256) for t in texts]
    m.encode(texts[:256], batch_size=32)  # warm-up
    times = []
    for _ in range(args.runs):
        t0 = time.perf_counter()
        m.encode(texts, batch_size=32)
        times.append(time.perf_counter() - t0)
    med = statistics.median(times)
    res = {"texts_per_s": round(len(texts) / med, 2), "tokens_per_s": round(sum(lens) / med, 1),
           "n_texts": len(texts), "threads": args.threads, "median_seconds": round(med, 3),
           "same_texts": True, "source": f"measured in this run (torch {torch.__version__}, {args.threads} threads)"}
    with open(args.out, "w") as f:
        json.dump(res, f, indent=1)
    print(json.dumps(res))


if __name__ == "__main__":
    main()
