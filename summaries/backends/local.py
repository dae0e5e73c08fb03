"""The local LLM backend: a transformers causal LM loaded once per summaries worker process and reused.

The model is ``EMOTION_LOCAL_LLM_MODEL`` (a Hugging Face name or a local folder). Left empty it is
``tiiuae/falcon-7b-instruct`` on a CUDA worker (4-bit NF4 through bitsandbytes, about 5 GB of GPU
memory) and ``Qwen/Qwen2.5-1.5B-Instruct`` on a CPU-only one: a 7B model on a CPU takes minutes per
summary and ~28 GB of RAM in fp32, so CPU workers should use a model of at most ~1.5B parameters.

Nothing is downloaded unless ``EMOTION_LLM_ALLOW_DOWNLOAD=1``; otherwise loading uses
``local_files_only`` and a model missing from the cache is reported as such. Loading takes a lock, so
concurrent callers in one process share one model; torch and transformers are imported only here,
on first use, so the web process and the vision workers never load them for summaries.
"""

from __future__ import annotations

import io
import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from django.conf import settings

from summaries.base import (
    Availability,
    CancelFn,
    LLMReply,
    Messages,
    ProgressFn,
    SummaryCancelled,
    SummaryError,
    clean_reply,
)

logger = logging.getLogger(__name__)

GPU_DEFAULT_MODEL = "tiiuae/falcon-7b-instruct"
CPU_DEFAULT_MODEL = "Qwen/Qwen2.5-1.5B-Instruct"
CPU_MAX_PARAMS_HINT = "about 1.5B parameters"
_WEIGHT_SUFFIXES = (".safetensors", ".bin")

ModelStatus = Literal["loaded", "cached", "needs_download", "missing"]

_load_lock = threading.Lock()
_loaded: LocalLLM | None = None


def cuda_available() -> bool:
    """CUDA as this process sees it (imports torch: call it in the summaries worker, not in the web process)."""
    if settings.EMOTION_LOCAL_LLM_DEVICE == "cpu":
        return False
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


def local_model_name(cuda: bool | None = None) -> str:
    """The configured model, or the default for a worker with (``cuda=True``) or without CUDA.

    ``cuda=None`` (e.g. in the web process) goes by what the summaries worker reported, and by the CPU
    default when none did; it never imports torch. The worker itself passes what it sees.
    """
    if settings.EMOTION_LOCAL_LLM_MODEL:
        return settings.EMOTION_LOCAL_LLM_MODEL
    if cuda is None:
        from summaries import availability

        cuda = bool((availability.worker_facts() or {}).get("cuda"))
    return GPU_DEFAULT_MODEL if cuda else CPU_DEFAULT_MODEL


def _is_folder_name(name: str) -> bool:
    return name.startswith(("/", "./", "../", "~")) or Path(name).expanduser().is_dir()


def _complete_folder(folder: Path) -> bool:
    return (folder / "config.json").is_file() and any(
        p.name.endswith(_WEIGHT_SUFFIXES) for p in folder.iterdir() if p.is_file() or p.is_symlink()
    )


def _cached_snapshot(repo_id: str) -> Path | None:
    """The folder of ``repo_id`` in the Hugging Face cache when config and weights are there (no network)."""
    from huggingface_hub import snapshot_download

    try:
        folder = Path(snapshot_download(repo_id, local_files_only=True))
    except (OSError, ValueError):  # not in the cache (LocalEntryNotFoundError), a malformed repo id (ValueError)
        return None
    return folder if folder.is_dir() and _complete_folder(folder) else None


def local_model_status(name: str | None = None) -> ModelStatus:
    """``loaded`` in this process, ``cached`` on disk, ``needs_download`` from the Hub, or ``missing``
    (a local folder that does not exist or holds no model)."""
    name = name or local_model_name()
    if _loaded is not None and _loaded.name == name:
        return "loaded"
    if _is_folder_name(name):
        folder = Path(name).expanduser()
        return "cached" if folder.is_dir() and _complete_folder(folder) else "missing"
    return "cached" if _cached_snapshot(name) else "needs_download"


def availability_for(name: str, status: str, *, cuda: bool | None) -> Availability:
    """Whether a summary can run with model ``name`` in state ``status`` (as this process or a worker saw it)."""
    if status == "missing":
        return Availability(False, f"The model folder “{name}” does not exist or holds no model (config and weights).")
    if status == "needs_download" and not settings.EMOTION_LLM_ALLOW_DOWNLOAD:
        return Availability(
            False,
            f"“{name}” is not in the local model cache and downloads are off; download it once (e.g. "
            f"hf download {name}) or set EMOTION_LLM_ALLOW_DOWNLOAD=1 on the summaries worker.",
        )
    if name == GPU_DEFAULT_MODEL and cuda is False:
        return Availability(
            False,
            f"{name} needs a CUDA worker; on CPU set EMOTION_LOCAL_LLM_MODEL to a model of {CPU_MAX_PARAMS_HINT}.",
        )
    return Availability(True)


def local_availability(cuda: bool | None = None) -> Availability:
    """Availability as this process sees the model cache (``availability.backends_for`` adds the worker's view)."""
    name = local_model_name(cuda)
    return availability_for(name, local_model_status(name), cuda=cuda)


def _check_process_role() -> None:
    """Refuse to load an LLM in a worker that takes vision queues but not summaries (it would starve them)."""
    from emotionsite.celery import consumed_queues
    from emotionsite.queues import VISION_QUEUES, Queue

    queues = consumed_queues()
    if queues and Queue.SUMMARIES.value not in queues and queues & VISION_QUEUES:
        raise SummaryError("The local LLM runs only on a summaries worker.")


def _download_tqdm(report: ProgressFn) -> type:
    """A tqdm class for huggingface_hub that reports the byte progress of a download (quietly)."""
    from tqdm import tqdm

    class _Reporting(tqdm):
        def __init__(self, *args, **kwargs):
            kwargs.pop("name", None)
            kwargs.setdefault("file", io.StringIO())
            super().__init__(*args, **kwargs)

        def update(self, n=1):
            shown = super().update(n)
            if self.unit == "B" and self.total:
                report(min(1.0, self.n / self.total))
            return shown

    return _Reporting


def _throttled(report: ProgressFn | None, every_s: float = 1.0) -> ProgressFn:
    last, best = [0.0], [-1.0]

    def call(fraction: float) -> None:
        now = time.monotonic()
        if fraction <= best[0]:
            return  # two byte bars (transfer, write) report: only progress counts
        if fraction >= 1.0 or now - last[0] >= every_s:
            last[0], best[0] = now, fraction
            if report:
                report(fraction)
            from summaries import availability

            availability.update_worker_facts(local_download=round(fraction, 3))

    return call


def _source(name: str, on_download_progress: ProgressFn | None) -> str:
    """A local folder holding the model, downloading it first where that is allowed and needed."""
    if _is_folder_name(name):
        folder = Path(name).expanduser()
        if not (folder.is_dir() and _complete_folder(folder)):
            raise SummaryError(f"The model folder “{name}” does not exist or holds no model (config and weights).")
        return str(folder)
    cached = _cached_snapshot(name)
    if cached:
        return str(cached)
    if not settings.EMOTION_LLM_ALLOW_DOWNLOAD:
        raise SummaryError(
            f"“{name}” is not in the local model cache and downloads are off."  # shown to users: no setting names
        )
    from huggingface_hub import snapshot_download

    logger.info("downloading local LLM %s", name)
    report = _throttled(on_download_progress)
    files = ["*.json", "*.model", "*.txt", "*.jinja", "*.tiktoken"]  # never code: no trust_remote_code
    try:
        folder = snapshot_download(name, allow_patterns=[*files, "*.safetensors"], tqdm_class=_download_tqdm(report))
        if not _complete_folder(Path(folder)):  # an older repository with only PyTorch .bin weights
            folder = snapshot_download(name, allow_patterns=[*files, "*.bin"], tqdm_class=_download_tqdm(report))
    except Exception:  # noqa: BLE001 - network, 404, disk full...: one message naming the model
        logger.warning("downloading local LLM %s failed", name, exc_info=True)
        raise SummaryError(f"Downloading the local model “{name}” failed.") from None  # the cause is in the log
    if not _complete_folder(Path(folder)):
        raise SummaryError(f"“{name}” has no model weights (.safetensors or .bin) to download.")
    report(1.0)
    return folder


def _cpu_dtype(torch):
    choice = settings.EMOTION_LOCAL_LLM_CPU_DTYPE
    if choice == "auto":  # bf16 only where the CPU computes it natively; emulated bf16 is slower than fp32
        capability = str(torch.backends.cpu.get_cpu_capability()).upper()
        choice = "bfloat16" if ("AMX" in capability or "BF16" in capability) else "float32"
    return getattr(torch, choice)


def _load(name: str, on_download_progress: ProgressFn | None) -> LocalLLM:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    source = _source(name, on_download_progress)
    cuda = cuda_available()
    kwargs: dict[str, Any] = {"local_files_only": True}
    if cuda:
        from transformers import BitsAndBytesConfig

        compute = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        kwargs.update(
            device_map="auto",
            quantization_config=BitsAndBytesConfig(
                load_in_4bit=True,
                bnb_4bit_quant_type="nf4",
                bnb_4bit_compute_dtype=compute,
                bnb_4bit_use_double_quant=True,
            ),
            dtype=compute,
        )
        device = "cuda (4-bit NF4)"
    else:
        dtype = _cpu_dtype(torch)
        kwargs.update(device_map="cpu", dtype=dtype)
        device = f"cpu ({str(dtype).removeprefix('torch.')})"
    started = time.monotonic()
    try:
        tokenizer = AutoTokenizer.from_pretrained(source, local_files_only=True)
        model = AutoModelForCausalLM.from_pretrained(source, **kwargs)
    except (OSError, ValueError, ImportError, RuntimeError):
        logger.exception("loading local LLM %s failed", name)
        raise SummaryError(f"Loading the local model “{name}” failed.") from None  # the cause is in the log
    model.eval()
    logger.info("local LLM %s loaded on %s in %.1f s", name, device, time.monotonic() - started)
    return LocalLLM(name=name, model=model, tokenizer=tokenizer, device=device)


def get_local_llm(*, on_download_progress: ProgressFn | None = None) -> LocalLLM:
    """The process's local LLM, loaded on first use (downloaded first where allowed) and reused."""
    global _loaded
    name = local_model_name(cuda_available())
    with _load_lock:
        if _loaded is not None and _loaded.name == name:
            return _loaded
        _check_process_role()
        _loaded = None  # the setting changed: drop the old model before loading another
        llm = _load(name, on_download_progress)
        _loaded = llm
    from summaries import availability

    availability.update_worker_facts(local_model=name, local_status="loaded", local_device=llm.device)
    return llm


def unload_local_llm() -> None:
    """Forget the loaded model (tests; a settings change)."""
    global _loaded
    with _load_lock:
        _loaded = None


class _CancelAndProgress:
    """A StoppingCriteria: reports tokens generated / max_new_tokens and stops once the user cancels."""

    def __init__(self, prompt_length: int, max_new_tokens: int, on_progress, should_cancel) -> None:
        self.prompt_length, self.max_new_tokens = prompt_length, max_new_tokens
        self.on_progress, self.should_cancel = on_progress, should_cancel
        self.cancelled = False

    def __call__(self, input_ids, scores, **kwargs):
        import torch

        generated = input_ids.shape[1] - self.prompt_length
        if self.on_progress:
            self.on_progress(min(1.0, generated / max(1, self.max_new_tokens)))
        if self.should_cancel and self.should_cancel():
            self.cancelled = True
        return torch.full((input_ids.shape[0],), self.cancelled, dtype=torch.bool, device=input_ids.device)


def plain_prompt(messages: Messages) -> str:
    """For tokenizers without a chat template: labelled turns, ending where the assistant answers."""
    labels = {"system": "Instructions", "user": "User", "assistant": "Assistant"}
    turns = [f"{labels.get(m['role'], m['role'].title())}: {m['content'].strip()}" for m in messages]
    return "\n\n".join(turns) + "\n\nAssistant:"


@dataclass
class LocalLLM:
    name: str
    model: Any
    tokenizer: Any
    device: str

    def __post_init__(self) -> None:
        self._generate_lock = threading.Lock()  # one generation at a time per process: memory, not correctness

    def context_length(self) -> int | None:
        config = self.model.config
        for attr in ("max_position_embeddings", "n_positions", "max_sequence_length", "seq_length"):
            value = getattr(config, attr, None)
            if isinstance(value, int) and value > 0:
                return value
        return None

    def _fit_context(self, prompt_length: int, max_new_tokens: int) -> int:
        """Shorten the reply to the room the model's context leaves; refuse a prompt that does not fit."""
        context = self.context_length()
        if context is None:
            return max_new_tokens
        room = context - prompt_length
        if room < min(32, max_new_tokens):
            raise SummaryError(
                f"The prompt ({prompt_length} tokens) leaves no room in the context of “{self.name}” "
                f"({context} tokens); choose a model with a longer context."
            )
        return min(max_new_tokens, room)

    def prompt_text(self, messages: Messages) -> str:
        from jinja2 import TemplateError

        if getattr(self.tokenizer, "chat_template", None):
            try:
                return self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
            except (TemplateError, ValueError):  # templates that refuse a system turn
                merged = [{"role": "user", "content": "\n\n".join(m["content"] for m in messages)}]
                return self.tokenizer.apply_chat_template(merged, tokenize=False, add_generation_prompt=True)
        return plain_prompt(messages)

    def generate(
        self,
        messages: Messages,
        *,
        max_new_tokens: int,
        on_progress: ProgressFn | None = None,
        should_cancel: CancelFn | None = None,
    ) -> LLMReply:
        import torch
        from transformers import StoppingCriteriaList

        if should_cancel and should_cancel():
            raise SummaryCancelled()
        text = self.prompt_text(messages)
        has_template = bool(getattr(self.tokenizer, "chat_template", None))
        inputs = self.tokenizer(text, return_tensors="pt", add_special_tokens=not has_template)
        device = next(self.model.parameters()).device
        # Falcon-style tokenizers return token_type_ids, which causal LMs' generate refuses
        inputs = {k: v.to(device) for k, v in inputs.items() if k in ("input_ids", "attention_mask")}
        prompt_length = inputs["input_ids"].shape[1]
        max_new_tokens = self._fit_context(prompt_length, max_new_tokens)
        criteria = _CancelAndProgress(prompt_length, max_new_tokens, on_progress, should_cancel)
        pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else self.tokenizer.eos_token_id
        try:
            with self._generate_lock, torch.inference_mode():
                output = self.model.generate(
                    **inputs,
                    max_new_tokens=max_new_tokens,
                    do_sample=False,  # the same data gives the same summary
                    repetition_penalty=1.1,
                    pad_token_id=pad,
                    stopping_criteria=StoppingCriteriaList([criteria]),
                )
        except torch.OutOfMemoryError:
            raise SummaryError(f"The local model “{self.name}” ran out of memory while generating.") from None
        if criteria.cancelled:
            raise SummaryCancelled()
        reply = clean_reply(self.tokenizer.decode(output[0][prompt_length:], skip_special_tokens=True))
        if not reply:
            raise SummaryError(f"The local model “{self.name}” produced no text.")
        return LLMReply(text=reply, model=self.name)
