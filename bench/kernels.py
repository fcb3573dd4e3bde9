"""Document-encoder kernels on this CPU: passages per second and cosine to float32, same process, same batches.

Encodes 96 windows of 200 words of the service-public pages ("passage: " in front, batches of 16, about 310
tokens each) with:
- PyTorch float32 (the reference) and bfloat16 (weights cast), and dynamic int8 (torch.ao, per channel);
- ONNX Runtime float32 and dynamic int8 (per-channel weights, activations quantised per batch: VNNI);
- OpenVINO float32, bfloat16 (kmh.encoder's default on CPUs with AVX-512 BF16), and int8 weights with dynamic
  int8 activations in groups of 32 (DYNAMIC_QUANTIZATION_GROUP_SIZE).
Each kernel runs the set twice after a warm-up; the faster run counts. Wall time, and CPU time of this process
(less sensitive to other work on the machine).

    .venv/bin/python bench/kernels.py [--windows 96] [--json out.json]
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
ZIP = ROOT.parent / "shared" / "data" / "service-public-fr-fiches.zip"


def windows(n: int) -> list[str]:
    words: list[str] = []
    with zipfile.ZipFile(ZIP) as z:
        for name in sorted(z.namelist()):
            if name.endswith(".txt"):
                words += z.read(name).decode("utf-8").split()
            if len(words) >= 200 * n:
                break
    return ["passage: " + " ".join(words[i:i + 200]) for i in range(0, 200 * n, 200)]


def pool(states: np.ndarray, mask: np.ndarray) -> np.ndarray:
    m = mask[..., None].astype(np.float32)
    v = (states * m).sum(1) / m.sum(1)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def measure(run, batches) -> tuple[float, float, np.ndarray]:
    run(batches[:1])
    best = None
    for _ in range(2):
        w, c = time.perf_counter(), time.process_time()
        out = run(batches)
        t = (time.perf_counter() - w, time.process_time() - c)
        best = t if best is None or t[0] < best[0] else best
    return best[0], best[1], out


def int8_weights(model) -> int:
    """Replace each constant weight matrix of an OpenVINO model by int8 values (symmetric, per output channel) and
    their scales, the pattern OpenVINO's CPU plugin runs as compressed weights; how many were replaced."""
    import openvino.opset13 as ops

    replaced = 0
    for op in model.get_ordered_ops():
        w = op.input_value(1).get_node() if op.get_type_name() == "MatMul" else None
        if w is not None and w.get_type_name() == "Convert":  # half-precision weights, converted on use
            w = w.input_value(0).get_node()
        if w is None or w.get_type_name() != "Constant" or len(w.get_output_shape(0)) != 2:
            continue
        weights = w.get_data().astype(np.float32)  # (in, out)
        scale = np.maximum(np.abs(weights).max(axis=0, keepdims=True), 1e-12) / 127.0
        q = ops.constant(np.clip(np.round(weights / scale), -127, 127).astype(np.int8))
        op.input(1).replace_source_output(ops.multiply(ops.convert(q, "f32"), ops.constant(scale)).output(0))
        replaced += 1
    return replaced


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--windows", type=int, default=96)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()

    import onnxruntime as ort
    import openvino as ov
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from transformers import AutoModel, AutoTokenizer

    from kmh.modelkit import ONNX_FILE
    from kmh.settings import Settings, set_offline_env

    set_offline_env()
    model_dir = Settings().embedding_model_path
    texts = windows(args.windows)
    tok = AutoTokenizer.from_pretrained(str(model_dir), local_files_only=True)
    batches = [tok(texts[i:i + 16], padding=True, truncation=True, max_length=512, return_tensors="np")
               for i in range(0, len(texts), 16)]
    tokens = int(sum(b["attention_mask"].sum() for b in batches))
    feeds = [{"input_ids": b["input_ids"].astype(np.int64), "attention_mask": b["attention_mask"].astype(np.int64)}
             for b in batches]
    kernels = {}

    def torch_run(model):
        def run(fs):
            with torch.inference_mode():
                return np.concatenate([pool(model(input_ids=torch.from_numpy(f["input_ids"]),
                                                  attention_mask=torch.from_numpy(f["attention_mask"]))
                                            .last_hidden_state.float().numpy(), f["attention_mask"]) for f in fs])
        return run

    def session_run(infer):
        return lambda fs: np.concatenate([pool(infer(f), f["attention_mask"]) for f in fs])

    fp32 = AutoModel.from_pretrained(str(model_dir), local_files_only=True).eval()
    kernels["torch f32"] = torch_run(fp32)
    kernels["torch bf16"] = torch_run(copy.deepcopy(fp32).to(torch.bfloat16))
    kernels["torch int8 dynamic"] = torch_run(torch.ao.quantization.quantize_dynamic(
        copy.deepcopy(fp32), {torch.nn.Linear: torch.ao.quantization.per_channel_dynamic_qconfig}))
    onnx = model_dir / ONNX_FILE
    with tempfile.TemporaryDirectory() as tmp:
        q8 = Path(tmp) / "int8.onnx"
        quantize_dynamic(str(onnx), str(q8), weight_type=QuantType.QInt8, per_channel=True)
        options = ort.SessionOptions()
        options.intra_op_num_threads = torch.get_num_threads()
        for name, path in (("onnxruntime f32", onnx), ("onnxruntime int8 dynamic", q8)):
            s = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
            kernels[name] = session_run(lambda f, s=s: s.run(None, f)[0])
        core = ov.Core()

        def ov_run(model, config):
            req = core.compile_model(model, "CPU", config).create_infer_request()
            return session_run(lambda f: req.infer(f)[0])

        kernels["openvino f32"] = ov_run(core.read_model(str(onnx)), {"INFERENCE_PRECISION_HINT": "f32"})
        kernels["openvino bf16"] = ov_run(core.read_model(str(onnx)), {"INFERENCE_PRECISION_HINT": "bf16"})
        w8 = core.read_model(str(onnx))
        int8_weights(w8)
        kernels["openvino int8 weights, int8 dynamic activations"] = ov_run(
            w8, {"INFERENCE_PRECISION_HINT": "bf16", "DYNAMIC_QUANTIZATION_GROUP_SIZE": "32"})

        figures, ref = {}, None
        for name, run in kernels.items():
            wall, cpu, vectors = measure(run, feeds)
            ref = vectors if ref is None else ref
            cos = (vectors * ref).sum(1)
            figures[name] = {"passages_per_second": round(len(texts) / wall, 2),
                             "passages_per_cpu_second": round(len(texts) / cpu, 2),
                             "gflop_per_second": round(tokens * 42e6 / wall / 1e9),
                             "min_cosine_to_f32": round(float(cos.min()), 5),
                             "mean_cosine_to_f32": round(float(cos.mean()), 5)}
            print(f"{name:<48} {figures[name]}", flush=True)
    base = figures["torch f32"]["passages_per_second"]
    for f in figures.values():
        f["speed_over_torch_f32"] = round(f["passages_per_second"] / base, 2)
    print(f"{len(texts)} windows, {tokens} tokens ({tokens / len(texts):.0f} per window), "
          f"{torch.get_num_threads()} threads")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
