"""The local LLM backend end to end with a tiny causal LM built here: random weights, a tokenizer trained
on the spot, saved with save_pretrained and loaded offline through get_local_llm (the real code path)."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import pytest

from summaries.backends import local
from summaries.base import SummaryCancelled, SummaryError

MESSAGES = [
    {"role": "system", "content": "You summarize emotion timelines. Cite times as mm:ss."},
    {"role": "user", "content": "Alice: happy 00:00-00:04, sad 00:08-00:12. Bob: angry 00:02-00:06."},
]
CHAT_TEMPLATE = (
    "{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}\n{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)
CORPUS = [
    "Alice was happy at 00:02 and sad at 00:08.",
    "Bob looked angry between 00:02 and 00:06, then calm.",
    "Attention was high, moderate or low; the group was mostly neutral.",
    "Summarize the emotion timeline and cite times as mm:ss.",
] * 20


def _build_tiny_model(folder: Path, *, chat_template: str | None, llama: bool = False) -> None:
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400, special_tokens=["<unk>", "<pad>", "<eos>"], initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    tok.train_from_iterator(CORPUS, trainer)
    # the Llama one returns token_type_ids like Falcon's tokenizer does; Llama's generate refuses them
    names = ["input_ids", "token_type_ids", "attention_mask"] if llama else ["input_ids", "attention_mask"]
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=tok, unk_token="<unk>", pad_token="<pad>", eos_token="<eos>", model_input_names=names
    )
    if chat_template:
        tokenizer.chat_template = chat_template
    tokenizer.save_pretrained(folder)

    torch.manual_seed(0)
    if llama:  # nn.Linear layers, which bitsandbytes quantizes to 4 bits
        from transformers import LlamaConfig, LlamaForCausalLM

        config = LlamaConfig(
            vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
            num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=8192,
            bos_token_id=tokenizer.eos_token_id, eos_token_id=tokenizer.eos_token_id,
        )  # fmt: skip
        model = LlamaForCausalLM(config)
    else:
        config = GPT2Config(
            vocab_size=len(tokenizer), n_positions=512, n_embd=32, n_layer=2, n_head=2,
            bos_token_id=tokenizer.eos_token_id, eos_token_id=tokenizer.eos_token_id,
        )  # fmt: skip
        model = GPT2LMHeadModel(config)
    # Random weights may pick the end token early; without it every run generates max_new_tokens.
    model.generation_config.eos_token_id = None
    model.save_pretrained(folder)


@pytest.fixture(scope="module")
def tiny_models(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("tiny-llm")
    folders = {"chat": root / "chat", "plain": root / "plain"}
    _build_tiny_model(folders["chat"], chat_template=CHAT_TEMPLATE)
    _build_tiny_model(folders["plain"], chat_template=None)
    return folders


@pytest.fixture
def use_model(settings):
    def use(name: str) -> None:
        settings.EMOTION_LOCAL_LLM_MODEL = name
        settings.EMOTION_LLM_ALLOW_DOWNLOAD = False
        settings.EMOTION_LOCAL_LLM_DEVICE = "cpu"

    local.unload_local_llm()
    yield use
    local.unload_local_llm()


def test_generates_text_with_progress_through_the_real_load_path(tiny_models, use_model):
    use_model(str(tiny_models["chat"]))
    assert local.local_model_status() == "cached"
    assert local.local_availability().available

    llm = local.get_local_llm()
    progress: list[float] = []
    reply = llm.generate(MESSAGES, max_new_tokens=12, on_progress=progress.append)

    assert reply.model == str(tiny_models["chat"])
    assert isinstance(reply.text, str) and reply.text.strip()
    assert all(ch >= " " or ch in "\n\t" for ch in reply.text)  # random weights emit NUL bytes; removed
    assert llm.device.startswith("cpu (")
    # one report per generated token, ending at max_new_tokens / max_new_tokens
    assert progress == sorted(progress) and progress[-1] == pytest.approx(1.0)
    assert len(progress) == 12 and progress[0] == pytest.approx(1 / 12)
    assert local.local_model_status() == "loaded"
    # the chat template shaped the prompt
    assert llm.prompt_text(MESSAGES).startswith("<|system|>You summarize")
    assert llm.prompt_text(MESSAGES).endswith("<|assistant|>")


def test_cancellation_stops_generation(tiny_models, use_model):
    use_model(str(tiny_models["chat"]))
    llm = local.get_local_llm()
    progress: list[float] = []

    with pytest.raises(SummaryCancelled):
        llm.generate(MESSAGES, max_new_tokens=50, on_progress=progress.append, should_cancel=lambda: len(progress) >= 3)
    assert len(progress) == 3  # stopped at the first poll that saw the cancel, not after 50 tokens

    with pytest.raises(SummaryCancelled):  # cancelled before it started: no generation at all
        llm.generate(MESSAGES, max_new_tokens=50, on_progress=progress.append, should_cancel=lambda: True)
    assert len(progress) == 3


def test_plain_prompt_without_chat_template(tiny_models, use_model):
    use_model(str(tiny_models["plain"]))
    llm = local.get_local_llm()
    prompt = llm.prompt_text(MESSAGES)
    assert prompt == (
        "Instructions: You summarize emotion timelines. Cite times as mm:ss.\n\n"
        "User: Alice: happy 00:00-00:04, sad 00:08-00:12. Bob: angry 00:02-00:06.\n\nAssistant:"
    )
    assert llm.generate(MESSAGES, max_new_tokens=4).text.strip()


def test_loaded_once_and_shared_between_threads(tiny_models, use_model, monkeypatch):
    use_model(str(tiny_models["chat"]))
    loads: list[str] = []
    real_load = local._load
    monkeypatch.setattr(local, "_load", lambda name, progress: loads.append(name) or real_load(name, progress))

    got: list[object] = []
    threads = [threading.Thread(target=lambda: got.append(local.get_local_llm())) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(got) == 4 and all(g is got[0] for g in got)
    assert loads == [str(tiny_models["chat"])]
    assert local.get_local_llm() is got[0]


def test_hub_name_from_the_cache_offline_and_needs_download(tiny_models, use_model, tmp_path, monkeypatch):
    """A Hugging Face name found in the cache loads without network; one absent would need a download."""
    import huggingface_hub.constants as hf_constants

    cache = tmp_path / "hub"
    snapshot = cache / "models--tiny-org--tiny-gpt2" / "snapshots" / ("a" * 40)
    shutil.copytree(tiny_models["chat"], snapshot)
    (cache / "models--tiny-org--tiny-gpt2" / "refs").mkdir()
    (cache / "models--tiny-org--tiny-gpt2" / "refs" / "main").write_text("a" * 40)
    monkeypatch.setattr(hf_constants, "HF_HUB_CACHE", str(cache))

    use_model("tiny-org/tiny-gpt2")
    assert local.local_model_status() == "cached"
    assert local.get_local_llm().generate(MESSAGES, max_new_tokens=3).model == "tiny-org/tiny-gpt2"
    assert local.local_model_status() == "loaded"

    use_model("tiny-org/not-downloaded")
    assert local.local_model_status() == "needs_download"
    availability = local.local_availability()
    assert not availability.available
    assert "not in the local model cache" in availability.reason and "EMOTION_LLM_ALLOW_DOWNLOAD" in availability.reason
    with pytest.raises(SummaryError, match="downloads are off") as failed:
        local.get_local_llm()
    assert "EMOTION_" not in str(failed.value)  # a summary's error is shown to users: no setting names


def test_missing_folder_and_defaults(use_model, settings, tmp_path):
    use_model(str(tmp_path / "no-such-model"))
    assert local.local_model_status() == "missing"
    assert "does not exist" in local.local_availability().reason
    with pytest.raises(SummaryError, match="does not exist or holds no model"):
        local.get_local_llm()

    settings.EMOTION_LOCAL_LLM_MODEL = ""
    assert local.local_model_name(cuda=True) == "tiiuae/falcon-7b-instruct"
    assert local.local_model_name(cuda=False) == "Qwen/Qwen2.5-1.5B-Instruct"
    gpu_model_on_cpu = local.availability_for("tiiuae/falcon-7b-instruct", "cached", cuda=False)
    assert not gpu_model_on_cpu.available and "CUDA" in gpu_model_on_cpu.reason


@pytest.mark.gpu
def test_cuda_loads_in_4bit_nf4(use_model, settings, tmp_path):
    """On a CUDA worker the model loads through bitsandbytes in 4-bit NF4 and still generates and cancels."""
    import bitsandbytes as bnb

    _build_tiny_model(tmp_path / "llama", chat_template=CHAT_TEMPLATE, llama=True)
    use_model(str(tmp_path / "llama"))
    settings.EMOTION_LOCAL_LLM_DEVICE = "auto"
    llm = local.get_local_llm()
    assert llm.device == "cuda (4-bit NF4)"
    layers = [m for m in llm.model.modules() if isinstance(m, bnb.nn.Linear4bit)]
    assert layers and all(m.weight.quant_type == "nf4" for m in layers)
    assert next(llm.model.parameters()).device.type == "cuda"

    progress: list[float] = []
    assert llm.generate(MESSAGES, max_new_tokens=6, on_progress=progress.append).text.strip()
    assert len(progress) == 6
    progress.clear()
    with pytest.raises(SummaryCancelled):
        llm.generate(MESSAGES, max_new_tokens=30, on_progress=progress.append, should_cancel=lambda: len(progress) >= 2)
    assert len(progress) == 2


@pytest.mark.django_db
def test_download_where_allowed_reports_progress(tiny_models, use_model, settings, monkeypatch, tmp_path):
    """With EMOTION_LLM_ALLOW_DOWNLOAD=1 a model missing from the cache is fetched (here by a stand-in for
    the Hub's snapshot_download that drives the given tqdm class as the real one does), its byte progress
    reported to the caller and to the worker facts, then loaded from the downloaded folder."""
    import huggingface_hub
    from huggingface_hub.errors import LocalEntryNotFoundError

    from summaries import availability

    downloaded = tmp_path / "snapshot"
    calls: list[dict] = []

    def snapshot_download(repo_id, *, local_files_only=False, tqdm_class=None, **kwargs):
        calls.append({"repo_id": repo_id, "local_files_only": local_files_only})
        if local_files_only:
            if downloaded.exists():
                return str(downloaded)
            raise LocalEntryNotFoundError("not in the cache")
        bar = tqdm_class(total=4000, unit="B", desc="Downloading bytes")
        for _ in range(4):
            bar.update(1000)
        bar.close()
        shutil.copytree(tiny_models["chat"], downloaded)
        return str(downloaded)

    monkeypatch.setattr(huggingface_hub, "snapshot_download", snapshot_download)
    use_model("tiny-org/remote-only")
    assert local.local_model_status() == "needs_download"
    assert not local.local_availability().available
    settings.EMOTION_LLM_ALLOW_DOWNLOAD = True
    assert local.local_availability().available

    monkeypatch.setattr(availability, "_worker_name", "download-test-worker")
    progress: list[float] = []
    try:
        llm = local.get_local_llm(on_download_progress=progress.append)
        facts = availability.worker_facts("download-test-worker")
    finally:
        availability._redis().hdel(availability._facts_key(), "download-test-worker")
    assert [c["local_files_only"] for c in calls][-2:] == [True, False]  # the cache first, then one download
    assert progress[0] == pytest.approx(0.25) and progress[-1] == 1.0 and progress == sorted(progress)
    assert facts["local_download"] == 1.0 and facts["local_status"] == "loaded"
    assert facts["local_model"] == "tiny-org/remote-only"
    assert llm.generate(MESSAGES, max_new_tokens=2).model == "tiny-org/remote-only"


def test_reply_fits_the_context(tiny_models, use_model):
    use_model(str(tiny_models["chat"]))
    llm = local.get_local_llm()
    assert llm.context_length() == 512  # the tiny GPT-2's n_positions
    assert llm._fit_context(400, 400) == 112  # the reply is shortened to the room left
    assert llm._fit_context(10, 400) == 400
    long_prompt = [{"role": "user", "content": "Alice was happy at 00:02. " * 300}]
    with pytest.raises(SummaryError, match=r"leaves no room in the context of .* \(512 tokens\)"):
        llm.generate(long_prompt, max_new_tokens=16)


def test_never_loaded_in_a_vision_worker(tiny_models, use_model, monkeypatch):
    from emotionsite import celery as celery_module

    use_model(str(tiny_models["chat"]))
    monkeypatch.setattr(celery_module, "_consumed_queues", {"live", "inference"})
    with pytest.raises(SummaryError, match="only on a summaries worker"):
        local.get_local_llm()
    assert local.local_model_status() == "cached"  # nothing was loaded

    monkeypatch.setattr(celery_module, "_consumed_queues", {"summaries"})
    assert local.get_local_llm().name == str(tiny_models["chat"])
