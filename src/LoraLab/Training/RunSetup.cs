using LoraLab.Adapters;
using LoraLab.Adapters.Quantization;
using LoraLab.Configuration;
using LoraLab.Data;
using LoraLab.ModelFiles;
using LoraLab.Models;
using LoraLab.Runtime;
using TorchSharp;
using static TorchSharp.torch;
using Parameter = TorchSharp.Modules.Parameter;
using DataLoader = LoraLab.Data.DataLoader;

namespace LoraLab.Training;

/// The records a run trains and validates on, as read from its files.
public sealed record RunRecords(IReadOnlyList<Record> Train, IReadOnlyList<Record>? Validation);

/// What a run trains: the parameters with gradients, and the LoRA adapters attached for it (null: every weight).
public sealed record TrainableWeights(IReadOnlyList<(string Name, Parameter Param)> Parameters, LoraConfig? Lora, LoraSummary? Summary)
{
    public long Count => Parameters.Sum(p => p.Param.numel());
}

/// The steps every training path shares (train, demo, pretrain, bench), each small and usable alone, in the order a
/// run takes them: data → model → trainable weights → loaders → optimizer. Each reads what it needs from a RunConfig.
public static class RunSetup
{
    /// The training (and validation) records, read before the model: a bad file fails in a second, not after loading weights.
    public static RunRecords LoadData(RunConfig c)
    {
        var options = DataReadOptions.From(c.MaxRecordBytes, c.EncodingErrors);
        return new RunRecords(DatasetReader.Load(c.Data!, options), c.ValData is null ? null : DatasetReader.Load(c.ValData, options));
    }

    /// The device, threads and compute dtype the config asks for, applied to libtorch (threads, seed).
    /// `cfg`: the model's shapes, which `auto` measures bf16 against fp32 for (ComputePrecision).
    public static (Device Device, ScalarType Dtype) Runtime(RunConfig c, ProbeShape? shape)
    {
        var device = Device(c);
        // Ranks of an mpirun job on one machine share its cores, unless --threads says otherwise.
        TorchRuntime.SetThreads(c.Threads ?? Launch(c)?.DefaultThreads(CpuTopology.PhysicalCores(), CpuTopology.AffinityRestricted()));
        // fp16-mixed: the frozen base computes in fp16, LoRA weights and optimizer state stay fp32, the loss is scaled.
        var precision = Precision(c, device, shape);
        manual_seed(c.Seed);
        return (device, precision.Dtype);
    }

    /// The compute dtype the config's --precision gives on `device`, and why (`auto` is measured once per process).
    public static PrecisionChoice Precision(RunConfig c, Device device, ProbeShape? shape) =>
        ForMethod(c, ComputePrecision.Resolve(RunChoices.Precision.NameOf(c.Precision), device, shape));

    /// `choice` (the machine's answer to the config's --precision) as the config's method takes it: full fine-tuning
    /// in half precision says that its weights stay fp32 (WeightDtype).
    public static PrecisionChoice ForMethod(RunConfig c, PrecisionChoice choice) =>
        WeightDtype(c, choice.Dtype) == choice.Dtype ? choice
            : choice with { Reason = $"{choice.Reason}; full fine-tuning keeps fp32 master weights and optimizer state, cast to {choice.Name} where multiplied" };

    /// The dtype the model's weights are stored and trained in for compute dtype `dtype`. Full fine-tuning trains
    /// every weight, and half-precision weights would round away updates below 1/256 (bf16) of a weight, so they
    /// stay fp32 (master weights, as PyTorch's autocast keeps them) and are cast where used. Frozen and quantized
    /// bases are stored in the compute dtype: their half-size copy is the memory saving.
    public static ScalarType WeightDtype(RunConfig c, ScalarType dtype) =>
        c.Method.TrainsEveryWeight() && dtype is ScalarType.BFloat16 or ScalarType.Float16 ? ScalarType.Float32 : dtype;

    /// The device the config asks for; a rank of a distributed run on CUDA takes the GPU of its local rank.
    public static Device Device(RunConfig c)
    {
        var device = Devices.Resolve(c.Device);
        var launch = Launch(c);
        if (device.type == DeviceType.CUDA && device.index >= 0 && launch is { LocalSize: > 1 })
            throw new UserException($"--device {c.Device} with several ranks on this machine would put them all on one GPU; give --device cuda, and each rank takes the GPU of its local rank");
        // Modulo the visible GPUs: a launcher that gives each rank one GPU (CUDA_VISIBLE_DEVICES) leaves one to see.
        return device.type == DeviceType.CUDA && device.index < 0 && launch is not null
            ? new Device(DeviceType.CUDA, launch.LocalRank % Math.Max(1, (int)cuda.device_count())) : device;
    }

    /// Where this process sits in the mpirun job of a --distributed mpi run (null: one process).
    static Distributed.MpiLaunch? Launch(RunConfig c) => c.Distributed == DistributedMode.Mpi ? Distributed.MpiLaunch.FromEnvironment() : null;

    /// The LoRA adapters the config describes (null for full fine-tuning and GaLore); `baseModel` is recorded in adapter_config.json
    /// (a Hub repo id as given, as PEFT records it; a folder as its full path).
    public static LoraConfig? Lora(RunConfig c, string? baseModel)
    {
        if (c.Method.TrainsEveryWeight()) return null;
        var lora = new LoraConfig
        {
            R = c.R, Alpha = c.Alpha, Dropout = c.LoraDropout, UseRslora = c.UseRslora, UseDora = c.UseDora, Init = c.Init, RankPattern = c.RankPattern ?? new Dictionary<string, int>(),
            AlphaPattern = c.AlphaPattern ?? new Dictionary<string, double>(),
            TargetModules = LoraTargets.Parse(c.Targets, c.LoraHead), BaseModelNameOrPath = baseModel is null ? null : Hub.ModelSource.BaseModelName(baseModel),
            Revision = baseModel is null ? null : Hub.ModelSource.BaseModelRevision(baseModel),
        };
        lora.Validate("--targets/--r/--alpha");
        return lora;
    }

    /// The base model folder in the config's device, dtype and storage (quantized for QLoRA), its shapes checked
    /// against `lora` before any weight is read.
    public static LoadedModel LoadModel(RunConfig c, LoraConfig? lora)
    {
        var dir = Hub.ModelSource.Resolve(c.Model!); // run.yaml keeps the value given (a Hub id stays one)
        var (device, dtype) = Runtime(c, ProbeShape.OfFolder(dir));
        var load = LoadOptionsFor(c, device, dtype);
        if (c.QuantizedBase) load = load with { QuantizerFor = Quantizers.For(c.BaseQuantization) };
        // Targets and rank are checked against config.json's shapes (once they match the checkpoint) before any weight is loaded.
        if (lora is not null) load = load with { CheckConfig = cfg => LoraSite.Plan(cfg, lora, "--r") };
        if (c.Method == TrainMethod.Galore) load = load with { CheckConfig = cfg => ResolveGalore(c, cfg) };
        return ModelLoader.Load(dir, load);
    }

    /// How a run of config `c` loads its base on `device` computing in `dtype`: weights in WeightDtype (full
    /// fine-tuning's fp32 master weights under half precision).
    public static LoadOptions LoadOptionsFor(RunConfig c, Device device, ScalarType dtype) =>
        new() { Device = device, Dtype = dtype, WeightDtype = WeightDtype(c, dtype) };

    /// A model of architecture `cfg` from random weights (pretraining, benchmarks), in the config's device, dtype and storage.
    public static CausalLM RandomModel(ModelConfig cfg, RunConfig c)
    {
        var (device, dtype) = Runtime(c, ProbeShape.Of(cfg));
        var model = new CausalLM(cfg, dtype, device, WeightDtype(c, dtype));
        try
        {
            if (c.QuantizedBase) Quantizers.Attach(model, c.BaseQuantization);
            model.InitializeRandom(c.Seed);
            return model;
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// Attaches `lora` (initialised from `seed`) and returns its parameters, or makes every weight trainable when it is null.
    public static TrainableWeights Trainable(CausalLM model, LoraConfig? lora, int seed)
    {
        if (lora is null)
        {
            foreach (var (_, p) in model.named_parameters()) p.requires_grad = true;
            return new TrainableWeights(model.named_parameters().Select(t => (t.name, t.parameter)).ToList(), null, null);
        }
        var summary = LoraInjector.Apply(model, lora, seed);
        return new TrainableWeights(model.named_parameters().Where(t => t.parameter.requires_grad).Select(t => (t.name, t.parameter)).ToList(), lora, summary);
    }

    /// The shuffled training loader (rows packed to the sequence length with --packing) and the in-order validation loader.
    public static (DataLoader Train, DataLoader? Validation) Loaders(IReadOnlyList<TokenizedExample> train, IReadOnlyList<TokenizedExample>? validation,
        Batcher batcher, RunConfig c, int? packLength = null) =>
        (new DataLoader(train, batcher, c.MicroBatchSize, c.Seed, shuffle: true, packLength: packLength),
         validation is not { Count: > 0 } ? null : new DataLoader(validation, batcher, c.MicroBatchSize, c.Seed, shuffle: false));

    /// GaLore's rank for the model of `cfg`: hidden_size / 4 unless given, written into the config (run.yaml records it),
    /// and refused before any weight is read when it does not fit a projection. Nothing for other methods.
    public static void ResolveGalore(RunConfig c, ModelConfig cfg)
    {
        if (c.Method != TrainMethod.Galore) return;
        c.GaloreRank ??= GaloreWeights.DefaultRank(cfg);
        GaloreWeights.CheckRank(c.GaloreRank.Value, ModelShapes.Expected(cfg), c.NameOf(RunSettings.GaloreRank));
    }

    /// The config's optimizer over the trained weights. With LoRA+ (--loraplus-lr-ratio) the lora_B weights and other 1-D
    /// trained weights form a second group at the ratio × lr, as PEFT's create_loraplus_optimizer groups them. GaLore:
    /// the decoder projections (GaloreWeights) in a projected group, every other weight on plain AdamW (ResolveGalore first).
    public static optim.Optimizer Optimizer(RunConfig c, IReadOnlyList<(string Name, Parameter Param)> parameters)
    {
        if (c.Method == TrainMethod.Galore)
        {
            int rank = c.GaloreRank ?? throw new InvalidOperationException("RunSetup.ResolveGalore sets the GaLore rank from the model first");
            bool Projected((string Name, Parameter Param) p) => GaloreWeights.IsProjected(p.Name, p.Param.shape);
            GaloreWeights.CheckRank(rank, parameters.Select(p => (p.Name, p.Param.shape)), c.NameOf(RunSettings.GaloreRank));
            return OptimizerFactory.CreateGalore(parameters.Where(p => !Projected(p)).Select(p => p.Param).ToList(),
                parameters.Where(Projected).Select(p => p.Param).ToList(), c.Lr, c.WeightDecay, rank, c.GaloreUpdateEvery, c.GaloreScale);
        }
        if (c.LoraplusLrRatio is not double ratio)
            return OptimizerFactory.Create(c.Optimizer, parameters.Select(p => p.Param).ToList(), c.Lr, c.WeightDecay, momentum: c.Momentum, nesterov: c.Nesterov);
        bool Faster((string Name, Parameter Param) p) => p.Name.Contains("lora_B") || p.Param.dim() == 1;
        return OptimizerFactory.Create(c.Optimizer, parameters.Where(p => !Faster(p)).Select(p => p.Param).ToList(), c.Lr, c.WeightDecay,
            momentum: c.Momentum, nesterov: c.Nesterov, faster: parameters.Where(Faster).Select(p => p.Param).ToList(), fasterRatio: ratio);
    }
}
