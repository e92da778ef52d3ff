using LoraLab.Adapters;
using LoraLab.Adapters.Quantization;
using LoraLab.Models;
using LoraLab.Training;

namespace LoraLab.Estimation;

/// Predicts a training step's peak memory from the architecture alone (no weights, no tensors), part by part.
///
/// Activations count what libtorch's autograd keeps between forward and backward in this implementation, per token
/// and layer, in the compute dtype. libtorch saves an input only when a gradient that needs it is computed, so a
/// frozen projection's input is kept only if it carries an adapter (A needs it) or trains (full fine-tuning):
/// - RMSNorm: its input (when a gradient flows back through it) and, when the norm weight trains, its output;
/// - q/k/v's shared input, o's input, gate/up's shared input, down's input: when one of them trains;
/// - LoRA: A's output (r values) per adapted projection; DoRA also its projection's output before the row scale;
/// - attention (fused kernel): q, k, v and the output (2·q + 2·kv) when a gradient flows through it;
/// - SwiGLU: gate and up outputs and silu(gate) (3·I);
/// - the head (chunked loss): the final norm's input and the hidden-state gradient per row, one logit chunk (softmax
///   and gradient are built in place), and for full fine-tuning the head weight's gradient buffer.
/// With activation checkpointing each layer keeps only its input, and one layer is live again during its backward.
/// On the CPU, the process's resident memory adds the runtime and what glibc keeps of freed temporaries.
public static class MemoryEstimator
{
    /// Resident memory of a LoraLab process after start-up and its first tensor operations, before any model:
    /// .NET runtime, libtorch, MKL: the set-up RSS of `loralab bench --arch tiny` (BENCHMARKS.md, "Memory estimate against
    /// measured peaks"; tiny's weights are 0.7 MB).
    public const long CpuRuntimeBytes = 178L << 20;

    /// glibc serves tensors below its mmap threshold (8 MB here, see NativeHeap) from its heap and keeps freed blocks
    /// mapped for reuse; blocks freed in forward in a different size order than they are requested leave holes (the
    /// step hands them back before backward once they have grown, see NativeHeap.TrimIfGrown). The factor, slack per
    /// activation byte, is fitted to the `small` peaks only (LoRA all / q,v, full, checkpointed: 0.41–0.83) and
    /// checked on `medium` (BENCHMARKS.md).
    public const double AllocatorSlack = 0.65;

    /// QLoRA dequantizes every projection per call into temporaries of several sizes, which fragments the heap
    /// further: slack per byte of the layers' dense float32 projection weights below the mmap threshold, fitted on
    /// `small` QLoRA (all of whose projections are below it).
    public const double DequantizationSlack = 1.4;

    public static MemoryEstimate Estimate(ModelConfig c, MemoryEstimateOptions o)
    {
        o.Validate();
        bool galore = o.Method == "galore", full = o.Method == "full" || galore, qlora = o.Method == "qlora";
        long bytes = o.DtypeBytes;
        // Full fine-tuning (and GaLore, which trains every weight too) keeps fp32 master weights in any precision
        // (RunSetup.WeightDtype); activations take `bytes`.
        long weightBytes = full ? 4 : bytes;
        IReadOnlyList<LoraSite> sites = full ? Array.Empty<LoraSite>()
            : LoraSite.Plan(c, new LoraConfig { R = o.R, Alpha = 2.0 * o.R, TargetModules = LoraTargets.Parse(o.Targets), UseDora = o.Dora });
        var adapted = sites.Select(s => s.Path).ToHashSet();

        // Weights: dense in the compute dtype (full fine-tuning: fp32); under QLoRA the decoder projections are packed (lm_head stays dense).
        long weights = 0, constants = 0;
        foreach (var (name, shape) in ModelShapes.Expected(c))
        {
            long n = shape.Aggregate(1L, (a, b) => a * b);
            bool packed = qlora && name.StartsWith("model.layers.") && name.EndsWith("_proj.weight");
            if (!packed) { weights += n * weightBytes; continue; }
            long total = QuantizedSize.Bytes(shape[0], shape[1], o.Quantize);
            long payload = o.Quantize == "int8" ? n : (n + 1) / 2;
            weights += payload;
            constants += total - payload;
        }
        long adapterParams = sites.Sum(s => s.Parameters);
        long adapter = adapterParams * 4; // LoRA A/B are float32 whatever the base dtype
        long trainableBytes = full ? ModelShapes.TotalParameters(c) * weightBytes : adapter;
        long gradients = trainableBytes;
        long optimizer = 2 * trainableBytes;
        if (galore)
        {
            // Projected moments and projections for the decoder projections, AdamW's moments for the rest, all fp32.
            // The SVD's temporaries at a refresh step (U, S, Vᵀ of one gradient) are not counted.
            int rank = o.GaloreRank ?? GaloreWeights.DefaultRank(c);
            GaloreWeights.CheckRank(rank, ModelShapes.Expected(c), Configuration.RunSettings.GaloreRank.Flag);
            optimizer = GaloreWeights.StateElements(rank, ModelShapes.Expected(c)) * weightBytes;
        }

        double tokens = (double)o.Batch * o.Seq;
        var perLayer = Enumerable.Range(0, c.NumHiddenLayers).Select(i => LayerElements(c, i, full, adapted, o.R, o.Dora)).ToArray();
        double layersElems = o.GradCheckpointing
            ? c.NumHiddenLayers * (double)c.HiddenSize + 2 * perLayer.Max()
            : perLayer.Sum();
        double activations = layersElems * tokens * bytes;
        // Recomputation allocates the same temporaries, so the allocator's slack follows the full activation volume.
        double churn = perLayer.Sum() * tokens * bytes;
        // The head: final norm input (+ output when it trains) and the hidden-state gradient per predicted row.
        double rows = o.Batch * (o.Seq - 1.0);
        double head = rows * c.HiddenSize * bytes * (full ? 3 : 2);
        bool chunked = !adapted.Contains("lm_head"); // an adapted head takes the plain (B·T, vocab) logits path
        head += chunked ? Math.Min(ChunkedHeadLoss.ChunkElements, rows * c.VocabSize) * 4.0 : 3.0 * rows * c.VocabSize * 4;
        if (full) head += (long)c.VocabSize * c.HiddenSize * weightBytes; // the head weight's gradient buffer
        activations += head;
        churn += head;
        double dequantSlack = 0;
        if (qlora)
        {
            // Each packed projection is dequantized per call (forward and again in backward): the dense float32
            // weight plus its float32 code levels, for the largest projection, are live at once. Dequantized weights
            // of 8 MB and more are mapped on their own and unmapped when freed (NativeHeap); the smaller ones
            // fragment the heap.
            var dense = ModelShapes.LayerProjections.Select(m => ModelShapes.ProjectionDims(c, m.Split('.')[1]))
                .Select(d => d.In * d.Out * 4L).ToList();
            activations += 2.0 * dense.Max();
            dequantSlack = DequantizationSlack * c.NumHiddenLayers * dense.Where(b => b < Runtime.NativeHeap.MmapThreshold).Sum();
        }

        bool cpu = o.Device == "cpu";
        return new MemoryEstimate
        {
            Weights = weights, QuantConstants = constants, Adapter = adapter, Gradients = gradients, OptimizerState = optimizer,
            Activations = (long)activations,
            Runtime = cpu ? CpuRuntimeBytes : 0,
            AllocatorSlack = cpu ? (long)(AllocatorSlack * churn + dequantSlack) : 0,
        };
    }

    /// Values kept per token by decoder layer i (see the class comment).
    static double LayerElements(ModelConfig c, int i, bool full, HashSet<string> adapted, int r, bool dora)
    {
        string p = $"model.layers.{i}.";
        bool Trains(string module) => full || adapted.Contains(p + module);
        long h = c.HiddenSize, q = (long)c.NumAttentionHeads * c.HeadDim, kv = (long)c.NumKeyValueHeads * c.HeadDim, inter = c.IntermediateSize;
        // a gradient reaches layer i's input unless everything below it is frozen (LoRA: only layer 0)
        bool xReq = full || i > 0;
        bool qkvTrains = Trains("self_attn.q_proj") || Trains("self_attn.k_proj") || Trains("self_attn.v_proj");
        bool attnReq = xReq || qkvTrains;
        bool hReq = attnReq || Trains("self_attn.o_proj");
        bool gateUpTrains = Trains("mlp.gate_proj") || Trains("mlp.up_proj");
        bool mlpReq = hReq || gateUpTrains;
        double e = 0;
        if (xReq) e += h;                                   // input_layernorm's input
        if (full) e += 2 * h;                               // both norms' outputs, for their weights' gradients
        if (qkvTrains) e += h;                              // q/k/v input
        if (attnReq) e += 2 * q + 2 * kv;                   // attention q, k, v, output
        if (Trains("self_attn.o_proj")) e += q;             // o input
        if (hReq) e += h;                                   // post_attention_layernorm's input
        if (gateUpTrains) e += h;                           // gate/up input
        if (mlpReq) e += 3 * inter;                         // gate, up, silu(gate)
        if (Trains("mlp.down_proj")) e += inter;            // down input
        e += r * ModelShapes.LayerProjections.Count(m => !full && adapted.Contains(p + m));
        // DoRA keeps each adapted projection's pre-scale output (W x + s·BA x) for the magnitude's gradient
        if (dora) e += ModelShapes.LayerProjections.Where(m => adapted.Contains(p + m)).Sum(m => ModelShapes.ProjectionDims(c, m.Split('.')[1]).Out);
        return e;
    }
}
