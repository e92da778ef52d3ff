#!/usr/bin/env python3
"""Makes the reference fixtures under tests/LoraLab.Tests/Fixtures, so a plain clone runs every parity and `train`
test. Checkpoints come from the PyTorch peer in ../shared/bench/peer_llama.py (HF conventions, LoRA as PEFT computes
it); the tokenizer from the SentencePiece library (the one Llama 2's tokenizer.model was trained with). Everything is
seeded: running it again rewrites the same bytes. Run once by a developer; the outputs are committed.
    apt-get install -y python3-torch python3-sentencepiece
    /usr/bin/python3 tools/make_reference_models.py
"""
import io, json, os, random, sys, types
here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "..", "shared", "bench"))
import peer_llama as P

out = os.path.join(here, "..", "tests", "LoraLab.Tests", "Fixtures")
ALL = "q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj"

VARIANTS = {
    # multi-query attention (1 kv head), tied embeddings, large rope_theta, eps 1e-6
    "mqa-tied": dict(vocab_size=300, hidden_size=48, intermediate_size=128, num_hidden_layers=2, num_attention_heads=6,
                     num_key_value_heads=1, max_position_embeddings=128, rms_norm_eps=1e-6, rope_theta=500000.0, tie_word_embeddings=True),
    # plain multi-head attention (kv = heads), 3 layers, small theta
    "mha-3layer": dict(vocab_size=256, hidden_size=32, intermediate_size=96, num_hidden_layers=3, num_attention_heads=4,
                       num_key_value_heads=4, max_position_embeddings=64, rms_norm_eps=1e-5, rope_theta=1000.0, tie_word_embeddings=False),
}

def peer_models():
    for name, cfg in VARIANTS.items():
        P.CFGS[name] = cfg
        d = os.path.join(out, name)
        P.export(types.SimpleNamespace(cfg=name, seed=11, dir=d))
        P.export_adapter(types.SimpleNamespace(cfg=name, seed=11, dir=d + "-lora", targets=ALL, rank=8, alpha=16.0))
    # the peer's `tiny` (GQA 8/4 heads, untied head) and PEFT adapters for it: ../shared/fixtures/tiny-llama and
    # tiny-llama-lora were made with the same commands, and the tests check the copies match where ../shared is present
    tiny = os.path.join(out, "tiny-llama")
    P.export(types.SimpleNamespace(cfg="tiny", seed=7, dir=tiny))
    for suffix, targets, rank, alpha in [("", "q_proj,v_proj", 4, 8.0), ("-all", ALL, 8, 16.0), ("-mlp-r2", "gate_proj,down_proj", 2, 3.0)]:
        P.export_adapter(types.SimpleNamespace(cfg="tiny", seed=7, dir=tiny + "-lora" + suffix, targets=targets, rank=rank, alpha=alpha))


# ---- instruction data: Alpaca JSON the project wrote (records with and without input, lists, code, Unicode) ----
COLOURS = ["red", "blue", "green", "yellow", "purple", "orange", "black", "white"]
FRUITS = ["apple", "pear", "plum", "cherry", "mango", "kiwi", "lemon", "fig", "grape", "peach"]
WORDS = ["cat", "house", "river", "book", "tree", "car", "bird", "window", "garden", "cloud"]
FRENCH = [("good morning", "bonjour"), ("thank you", "merci"), ("see you soon", "à bientôt"), ("how are you?", "ça va ?"),
          ("a coffee, please", "un café, s'il vous plaît"), ("good night", "bonne nuit")]
SENTENCES = ["the quick brown fox jumps", "we walk to the old bridge", "rain falls on the quiet town",
             "she reads a long naïve story", "my friend bakes fresh bread", "the river runs past the mill"]
EMOJI = [("I love the sun", "☀️"), ("It is my birthday", "🎂"), ("That was funny", "😂"), ("Good job", "👍"), ("Have a nice day", "🙂")]

def instruction_records(n=48, seed=3):
    r = random.Random(seed)
    def add():
        a, b = r.randint(2, 99), r.randint(2, 99)
        return "Add the two numbers.", f"{a} and {b}", f"{a} + {b} = {a + b}."
    def reverse():
        s = r.choice(SENTENCES)
        return "Reverse the order of the words.", s, " ".join(reversed(s.split()))
    def colour():
        return "Name a colour.", "", r.choice(COLOURS).capitalize() + "."
    def fruits():
        k = r.randint(2, 4)
        return f"List {['two', 'three', 'four'][k - 2]} fruits.", "", "\n".join(f"{i + 1}. {f}" for i, f in enumerate(r.sample(FRUITS, k)))
    def french():
        en, fr = r.choice(FRENCH)
        return "Translate the phrase into French.", en, fr
    def plural():
        w = r.choice(WORDS)
        return "Give the plural of the word.", w, w + "s"
    def sort():
        xs = r.sample(range(1, 60), r.randint(3, 6))
        return "Sort the numbers in ascending order.", ", ".join(map(str, xs)), ", ".join(map(str, sorted(xs)))
    def code():
        k = r.randint(2, 5)
        return (f"Write a Python function that multiplies a number by {k}.", "",
                f"def times_{k}(x):\n    \"\"\"Returns x * {k}.\"\"\"\n    return x * {k}")
    def emoji():
        s, e = r.choice(EMOJI)
        return "Add an emoji that fits the sentence.", s, f"{s} {e}"
    def story():
        w, c = r.choice(WORDS), r.choice(COLOURS)
        return (f"Write a short story about a {c} {w}.", "",
                f"Once there was a {c} {w}. Every morning it watched the town wake up. "
                f"One day a child stopped, smiled and said hello, and the {w} was never lonely again.")
    kinds = [add, reverse, colour, fruits, french, plural, sort, code, emoji, story]
    return [dict(zip(("instruction", "input", "output"), kinds[i % len(kinds)]())) for i in range(n)]

def instructions():
    d = os.path.join(out, "instructions"); os.makedirs(d, exist_ok=True)
    recs = instruction_records()
    with open(os.path.join(d, "data.json"), "w", encoding="utf-8") as f: json.dump(recs, f, ensure_ascii=False, indent=1)
    return recs


# ---- a SentencePiece BPE tokenizer trained the way Llama 2's was (byte fallback, split digits, dummy prefix) ----
ALPACA_PROMPT = ("Below is an instruction that describes a task. Write a response that appropriately completes the request.\n\n"
                 "### Instruction:\n{}\n\n### Response:\n")
TOKENIZER_CASES = ["Hello", "Hello world", ALPACA_PROMPT.format("Name a colour."), "LoRA: r=256, α=512 → 7B on one GPU (14 GB)!",
                   "  leading spaces and\ttabs", "naïve café 日本語 🙂", "12345 + 678 = 13023"]

def sentencepiece_tokenizer(recs, vocab_size=512):
    import sentencepiece as spm
    lines = []
    for r in recs:
        lines += [ALPACA_PROMPT.format(r["instruction"] + ("\n\n### Input:\n" + r["input"] if r["input"] else "")), r["output"]]
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter([l.replace("\n", " ") for l in lines]), model_writer=model, vocab_size=vocab_size,
        model_type="bpe", byte_fallback=True, split_digits=True, add_dummy_prefix=True, normalization_rule_name="identity",
        remove_extra_whitespaces=False, allow_whitespace_only_pieces=True, character_coverage=0.99995,
        unk_id=0, bos_id=1, eos_id=2, pad_id=-1, num_threads=1, shuffle_input_sentence=False, minloglevel=2)
    d = os.path.join(out, "tiny-sentencepiece"); os.makedirs(d, exist_ok=True)
    path = os.path.join(d, "tokenizer.model")
    with open(path, "wb") as f: f.write(model.getvalue())
    sp = spm.SentencePieceProcessor(model_file=path)
    cases = [dict(text=t, ids=sp.encode(t), ids_with_bos=[sp.bos_id()] + sp.encode(t)) for t in TOKENIZER_CASES]
    json.dump(dict(vocab_size=sp.vocab_size(), bos_id=sp.bos_id(), eos_id=sp.eos_id(), cases=cases),
              open(os.path.join(d, "golden.json"), "w", encoding="utf-8"), ensure_ascii=False, indent=1)
    return path, sp.vocab_size()


def chat_model(tokenizer, vocab):
    """A complete model folder for `loralab train`: a small random Llama (the peer's weights) and the tokenizer above."""
    P.CFGS["tiny-chat"] = dict(vocab_size=vocab, hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
                               num_key_value_heads=2, max_position_embeddings=512, rms_norm_eps=1e-5, rope_theta=10000.0, tie_word_embeddings=False)
    d = os.path.join(out, "tiny-chat")
    P.export(types.SimpleNamespace(cfg="tiny-chat", seed=5, dir=d))
    with open(tokenizer, "rb") as f, open(os.path.join(d, "tokenizer.model"), "wb") as g: g.write(f.read())


if __name__ == "__main__":
    peer_models()
    path, vocab = sentencepiece_tokenizer(instructions())
    chat_model(path, vocab)
