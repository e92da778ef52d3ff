using LoraLab.Diagnostics.Profiling;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LoraLab.Models;

/// The decoder stack under HF's `model.` prefix: embeddings, layers, final norm.
public sealed class DecoderStack : nn.Module<Tensor, Tensor>
{
    public TokenEmbedding embed_tokens;
    public ModuleList<DecoderLayer> layers;
    public RmsNorm norm;

    public DecoderStack(string name, ModelConfig cfg, ScalarType dtype) : base(name)
    {
        embed_tokens = new TokenEmbedding("embed_tokens", cfg.VocabSize, cfg.HiddenSize, dtype);
        layers = new ModuleList<DecoderLayer>(Enumerable.Range(0, cfg.NumHiddenLayers)
            .Select(i => new DecoderLayer(i.ToString(), cfg, i, dtype)).ToArray());
        norm = new RmsNorm("norm", cfg.HiddenSize, cfg.RmsNormEps, dtype);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) => throw new NotSupportedException("use CausalLM.Forward");
}

/// A Llama / Mistral / Qwen2 causal language model whose parameter names are exactly HF's
/// (`model.layers.N.self_attn.q_proj.weight`, `lm_head.weight`, ...).
public sealed class CausalLM : nn.Module<Tensor, Tensor>
{
    public ModelConfig Config { get; }
    /// The compute dtype: activations, rotary tables, masks and the KV cache.
    public ScalarType Dtype { get; }
    /// The dtype the weights are stored (and trained) in: the compute dtype, except for full fine-tuning in half
    /// precision, whose fp32 master weights are cast to the compute dtype where they are used (mixed precision).
    public ScalarType WeightDtype { get; }
    public Device Device { get; private set; }
    public DecoderStack model;
    /// Null when the output projection is tied to the input embeddings.
    public Projection? lm_head;
    readonly RotaryEmbedding _rope;
    /// The sliding window of the model's windowed layers (one size for all of them), null when none is windowed.
    readonly int? _window;

    public CausalLM(ModelConfig cfg, ScalarType dtype, Device device, ScalarType? weightDtype = null) : base("CausalLM")
    {
        Runtime.TorchRuntime.EnsureLoaded();
        Config = cfg;
        Dtype = dtype;
        WeightDtype = weightDtype ?? dtype;
        Device = device;
        model = new DecoderStack("model", cfg, WeightDtype);
        lm_head = cfg.TieWordEmbeddings ? null : new Projection("lm_head", cfg.HiddenSize, cfg.VocabSize, false);
        RegisterComponents();
        _rope = new RotaryEmbedding(cfg, device);
        _window = Enumerable.Range(0, cfg.NumHiddenLayers).Select(cfg.WindowOf).FirstOrDefault(w => w is not null);
        if (device.type != DeviceType.CPU) this.to(device);
    }

    public override Tensor forward(Tensor inputIds) => Forward(inputIds);

    /// Activation checkpointing: in training, each decoder layer keeps only its input and is run again during
    /// backward (about one extra forward pass of the layers for a fraction of the activation memory).
    public bool GradientCheckpointing { get; set; }

    /// Logits (B, T, vocab) for token ids (B, T). `positionIds` (B, T) default to past..past+T-1;
    /// `documentIds` (B, T) restrict attention to tokens of the same document (packing).
    public Tensor Forward(Tensor inputIds, Tensor? positionIds = null, Tensor? documentIds = null, IKvCache? cache = null)
    {
        using var hidden = Hidden(inputIds, positionIds, documentIds, cache);
        return Head(hidden);
    }

    /// The output projection applied to final hidden states.
    public Tensor Head(Tensor hidden) =>
        lm_head is null ? CastLinear.Apply(hidden, model.embed_tokens.weight, null) : lm_head.forward(hidden);

    /// Token embeddings in the compute dtype (a cast of the looked-up rows when the table is kept in fp32).
    Tensor Embed(Tensor ids)
    {
        var rows = model.embed_tokens.forward(ids);
        if (rows.dtype == Dtype) return rows;
        using (rows) return rows.to(Dtype);
    }

    /// The output layer's weight (vocab, hidden) when the head is a plain linear map (dense, or tied to the
    /// embeddings) with no active adapter; null otherwise. Lets the loss run the head in chunks.
    public Tensor? DenseHeadWeight => lm_head is null ? model.embed_tokens.weight
        : lm_head.Quantized is null && !lm_head.AdapterActive ? lm_head.Weight : null;

    /// Final-norm hidden states (B, T, hidden).
    public Tensor Hidden(Tensor inputIds, Tensor? positionIds = null, Tensor? documentIds = null, IKvCache? cache = null)
    {
        using var scope = NewDisposeScope();
        long b = inputIds.shape[0], t = inputIds.shape[1], past = cache?.Length ?? 0;
        positionIds ??= arange(past, past + t, dtype: ScalarType.Int64, device: inputIds.device).unsqueeze(0).expand(b, t);
        var (cos, sin) = _rope.For(positionIds, past + t, Dtype);
        ForwardContext Context(Tensor? mask, bool causal, ForwardContext? windowed) =>
            NewContext(cos, sin, mask, causal, cache, windowed, t, inputIds.device);
        // Sliding-window layers need a mask of their own only once the keys reach further back than the window.
        var windowed = _window is int w && past + t > w ? Context(BuildMask(t, past, documentIds, inputIds.device, w), false, null) : null;
        var ctx = Context(BuildMask(t, past, documentIds, inputIds.device), documentIds is null && past == 0 && t > 1, windowed);

        using var hidden = Layers(OpProfile.Out(ProfiledOp.Embedding, Embed(OpProfile.In(ProfiledOp.Embedding, inputIds))), ctx);
        cache?.Advance(t);
        return model.norm.forward(hidden).MoveToOuterDisposeScope();
    }

    /// Runs every decoder layer on `x` (consumed); the caller owns the result.
    Tensor Layers(Tensor x, ForwardContext ctx)
    {
        foreach (var layer in model.layers)
        {
            var next = GradientCheckpointing && training && is_grad_enabled()
                ? CheckpointedLayer.Forward(layer, x, ctx)
                : layer.Forward(x, ctx);
            x.Dispose();
            x = next;
        }
        return x;
    }

    /// Logits (B, vocab) at position `last[i]` of row i of `inputIds` (B, T), from position 0 (a prefill of right-padded
    /// prompts into `cache`): the head runs on those B positions only, not on every padded one.
    public Tensor LastLogits(Tensor inputIds, Tensor last, IKvCache cache)
    {
        using var scope = NewDisposeScope();
        var hidden = Hidden(inputIds, cache: cache);
        long b = hidden.shape[0], h = hidden.shape[2];
        var rows = hidden.gather(1, last.view(b, 1, 1).expand(b, 1, h)).squeeze(1);
        return Head(rows).MoveToOuterDisposeScope();
    }

    /// Logits (B, vocab) for one new token in each of B sequences held in a <see cref="SlotKvCache"/>: row i is token
    /// `ids[i]` at position `positions[i]` of the sequence in slot `slots[i]` (int64 (B) tensors on the model's
    /// device), attending to that slot's positions 0..positions[i]. `span` is max(positions) + 1.
    public Tensor DecodeStep(Tensor ids, Tensor slots, Tensor positions, long span, SlotKvCache cache)
    {
        using var scope = NewDisposeScope();
        var pos = positions.unsqueeze(1);
        var (cos, sin) = _rope.For(pos, span, Dtype);
        var keys = arange(span, device: ids.device).unsqueeze(0);
        // (B, 1, 1, span): each row sees its own positions only (others' slots are shorter or longer)
        Tensor Mask(int? window) => Allowed(pos, keys, window).unsqueeze(1).unsqueeze(1);
        var view = cache.Decode(slots, positions, span);
        ForwardContext Context(Tensor mask, ForwardContext? windowed) => NewContext(cos, sin, mask, false, view, windowed, 1, ids.device);
        var windowed = _window is int w && span > w ? Context(Mask(w), null) : null;
        var ctx = Context(Mask(null), windowed);
        using var hidden = Layers(Embed(ids.unsqueeze(1)), ctx);
        using var normed = model.norm.forward(hidden);
        return Head(normed).squeeze(1).MoveToOuterDisposeScope();
    }

    /// What every layer of a pass shares; with grouped-query attention also the mask over g·T query rows.
    ForwardContext NewContext(Tensor cos, Tensor sin, Tensor? mask, bool causal, IKvCache? cache, ForwardContext? windowed, long t, Device device) => new()
    {
        Cos = cos, Sin = sin, Mask = mask, IsCausal = causal, Cache = cache, Windowed = windowed,
        GroupedMask = Config.NumKeyValueHeads == Config.NumAttentionHeads ? null
            : GroupedMask(mask, causal, Config.NumAttentionHeads / Config.NumKeyValueHeads, t, device),
    };

    /// Which keys each query may see: key position k ≤ query position q, and with `window` also k > q − window
    /// (transformers' sliding window counts the query itself). Broadcasts `queries` against `keys`.
    static Tensor Allowed(Tensor queries, Tensor keys, int? window)
    {
        var allowed = keys.le(queries);
        return window is int w ? allowed.logical_and(keys.gt(queries.sub(w))) : allowed;
    }

    /// The attention mask over g·T query rows (row j·T + i is position i), as 0 / −inf in the compute dtype so SDPA
    /// adds it without converting a boolean mask in every layer.
    Tensor? GroupedMask(Tensor? mask, bool causal, long g, long t, Device device)
    {
        if (mask is null && !causal) return null;
        using var scope = NewDisposeScope();
        var allowed = mask ?? ones(t, t, dtype: ScalarType.Bool, device: device).tril().unsqueeze(0).unsqueeze(0);
        var rows = allowed.repeat(1, 1, g, 1);
        return zeros(rows.shape, dtype: Dtype, device: device).masked_fill_(rows.logical_not(), double.NegativeInfinity).MoveToOuterDisposeScope();
    }

    /// Boolean (B or 1, 1, T, past + T) mask, true = may attend; null for plain causal attention (is_causal) or one new
    /// token that sees everything. With `window` a query at position p sees keys p − window < k ≤ p (transformers'
    /// sliding window: the window counts the query itself).
    public static Tensor? BuildMask(long t, long past, Tensor? documentIds, Device device, int? window = null)
    {
        if (window is null && documentIds is null && (past == 0 || t == 1)) return null;
        using var scope = NewDisposeScope();
        var q = arange(past, past + t, device: device).unsqueeze(1);
        var k = arange(past + t, device: device).unsqueeze(0);
        var allowed = Allowed(q, k, window);
        // Packed rows: a token sees earlier tokens of its own document only (block-diagonal).
        if (documentIds is not null) allowed = documentIds.unsqueeze(2).eq(documentIds.unsqueeze(1)).logical_and(allowed);
        else allowed = allowed.unsqueeze(0);
        return allowed.unsqueeze(1).MoveToOuterDisposeScope();
    }

    /// Every dense tensor under its HF name (base weights, norms, embeddings), for saving a plain model.
    public IEnumerable<(string Name, Tensor Tensor)> BaseTensors()
    {
        foreach (var (n, p) in named_parameters())
            if (!n.Contains("lora_")) yield return (n, p);
    }

    /// Fills all weights with HF's default initialisation (normal 0.02, norms 1) from a seed: for
    /// pretraining from scratch and for benchmarks.
    public void InitializeRandom(long seed, double std = 0.02)
    {
        using var _ = no_grad();
        var gen = new torch.Generator((ulong)seed, Device);
        foreach (var (name, shape) in ModelShapes.Expected(Config))
        {
            using var t = name.EndsWith("norm.weight") ? ones(shape, dtype: WeightDtype, device: Device)
                : name.EndsWith(".bias") ? zeros(shape, dtype: WeightDtype, device: Device)
                : normal(0, std, shape, dtype: WeightDtype, device: Device, generator: gen);
            LoadTensor(name, t);
        }
    }

    /// Copies one HF-named tensor into the model (converted to the model's weight dtype and device).
    public void LoadTensor(string name, Tensor value)
    {
        using var _ = no_grad();
        using var v = value.to(WeightDtype, Device);
        var parts = name.Split('.');
        if (name == "model.embed_tokens.weight") { CheckShape(name, model.embed_tokens.weight, v); model.embed_tokens.weight.copy_(v); return; }
        if (name == "model.norm.weight") { CheckShape(name, model.norm.weight, v); model.norm.weight.copy_(v); return; }
        if (name == "lm_head.weight" && lm_head is not null) { lm_head.SetWeight(v); return; }
        if (parts.Length >= 5 && parts[0] == "model" && parts[1] == "layers" && int.TryParse(parts[2], out int i) && i >= 0 && i < Config.NumHiddenLayers)
        {
            var layer = model.layers[i];
            string rest = string.Join('.', parts.Skip(3));
            switch (rest)
            {
                case "input_layernorm.weight": CheckShape(name, layer.input_layernorm.weight, v); layer.input_layernorm.weight.copy_(v); return;
                case "post_attention_layernorm.weight": CheckShape(name, layer.post_attention_layernorm.weight, v); layer.post_attention_layernorm.weight.copy_(v); return;
            }
            var proj = FindProjection(i, parts[3] + "." + parts[4]);
            if (proj is not null && parts.Length == 6)
            {
                if (parts[5] == "weight") { proj.SetWeight(v); return; }
                if (parts[5] == "bias" && proj.HasBias) { proj.SetBias(v); return; }
            }
        }
        throw new UserException($"unexpected tensor '{name}' for a {Config.ModelType} model with {Config.NumHiddenLayers} layers");
    }

    /// The projection `module` (e.g. "self_attn.q_proj") of layer i, or lm_head for ("lm_head", -1).
    public Projection? FindProjection(int layer, string module)
    {
        if (module == "lm_head") return lm_head;
        var l = model.layers[layer];
        return module switch
        {
            "self_attn.q_proj" => l.self_attn.q_proj,
            "self_attn.k_proj" => l.self_attn.k_proj,
            "self_attn.v_proj" => l.self_attn.v_proj,
            "self_attn.o_proj" => l.self_attn.o_proj,
            "mlp.gate_proj" => l.mlp.gate_proj,
            "mlp.up_proj" => l.mlp.up_proj,
            "mlp.down_proj" => l.mlp.down_proj,
            _ => null,
        };
    }

    /// Every projection with its HF module path (e.g. "model.layers.3.mlp.up_proj", "lm_head").
    public IEnumerable<(string Path, int Layer, string Module, Projection Projection)> Projections()
    {
        for (int i = 0; i < Config.NumHiddenLayers; i++)
            foreach (var m in ModelShapes.LayerProjections)
                yield return ($"model.layers.{i}.{m}", i, m.Split('.')[1], FindProjection(i, m)!);
        if (lm_head is not null) yield return ("lm_head", -1, "lm_head", lm_head);
    }

    static void CheckShape(string name, Tensor target, Tensor v)
    {
        if (!target.shape.SequenceEqual(v.shape))
            throw new UserException($"{name}: expected shape [{string.Join(", ", target.shape)}], got [{string.Join(", ", v.shape)}]");
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) _rope.Dispose();
        base.Dispose(disposing);
    }
}
