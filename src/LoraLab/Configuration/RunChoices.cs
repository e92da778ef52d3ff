using LoraLab.Adapters.Quantization;
using LoraLab.Data;

namespace LoraLab.Configuration;

/// What a run trains: LoRA adapters on a dense base, on a quantized base (QLoRA), or every weight (plain AdamW, or
/// GaLore's low-rank projected AdamW), on next-token loss; or a LoRA adapter on preference pairs (DPO and its losses,
/// with the base as reference; reference-free ORPO).
public enum TrainMethod { Lora, Qlora, Full, Dpo, Orpo, Galore }

public static class TrainMethods
{
    /// Full-parameter training: every weight trains (fp32 master weights, a model folder as output, no adapter). GaLore
    /// differs from full fine-tuning only in its optimizer.
    public static bool TrainsEveryWeight(this TrainMethod m) => m is TrainMethod.Full or TrainMethod.Galore;
}

/// DPO's loss on the reference-relative margin: sigmoid (the DPO paper), ipo (squared, length-normalised), hinge.
public enum PreferenceLoss { Sigmoid, Ipo, Hinge }

/// Compute precision of a run. Fp16Mixed: fp16 base, fp32 adapters and optimizer state, dynamic loss scaling.
public enum Precision { Auto, Fp32, Bf16, Fp16Mixed }

public enum OptimizerKind { AdamW, Adam, Sgd }

/// How many processes train one run: this one alone, or every rank of an `mpirun` job (data parallel).
public enum DistributedMode { None, Mpi }

/// The decay after linear warmup.
public enum ScheduleKind { Constant, Linear, Cosine }

/// The spelling of every enum run setting's values (YAML, flags, run.yaml, messages).
public static class RunChoices
{
    public static readonly Choices<TrainMethod> Method = new((TrainMethod.Lora, "lora"), (TrainMethod.Qlora, "qlora"), (TrainMethod.Full, "full"),
        (TrainMethod.Galore, "galore"), (TrainMethod.Dpo, "dpo"), (TrainMethod.Orpo, "orpo"));
    /// The methods that train on next-token loss (what `bench` and `estimate` model).
    public static readonly TrainMethod[] Supervised = [TrainMethod.Lora, TrainMethod.Qlora, TrainMethod.Full, TrainMethod.Galore];
    public static readonly Choices<PreferenceLoss> PreferenceLoss = new((Configuration.PreferenceLoss.Sigmoid, "sigmoid"),
        (Configuration.PreferenceLoss.Ipo, "ipo"), (Configuration.PreferenceLoss.Hinge, "hinge"));
    public static readonly Choices<Precision> Precision = new((Configuration.Precision.Auto, "auto"), (Configuration.Precision.Fp32, "fp32"),
        (Configuration.Precision.Bf16, "bf16"), (Configuration.Precision.Fp16Mixed, "fp16-mixed"));
    public static readonly Choices<DistributedMode> Distributed = new((DistributedMode.None, "none"), (DistributedMode.Mpi, "mpi"));
    public static readonly Choices<OptimizerKind> Optimizer = new((OptimizerKind.AdamW, "adamw"), (OptimizerKind.Adam, "adam"), (OptimizerKind.Sgd, "sgd"));
    public static readonly Choices<ScheduleKind> Schedule = new((ScheduleKind.Constant, "constant"), (ScheduleKind.Linear, "linear"), (ScheduleKind.Cosine, "cosine"));
    public static readonly Choices<LongExamplePolicy> LongExamples = new((LongExamplePolicy.Truncate, "truncate"), (LongExamplePolicy.Drop, "drop"));
    public static readonly Choices<EncodingErrors> EncodingErrors = new((Data.EncodingErrors.Strict, "strict"), (Data.EncodingErrors.Replace, "replace"));
    /// PEFT's init_lora_weights, spelled for a flag (pissa-fast is PEFT's pissa_niter_16).
    public static readonly Choices<Adapters.LoraInit> Init = new((Adapters.LoraInit.Kaiming, "kaiming"), (Adapters.LoraInit.Gaussian, "gaussian"),
        (Adapters.LoraInit.Pissa, "pissa"), (Adapters.LoraInit.PissaFast, "pissa-fast"), (Adapters.LoraInit.Olora, "olora"));
    public static readonly Choices<QuantScheme> Quantize = new((QuantScheme.Nf4, "nf4"), (QuantScheme.Fp4, "fp4"), (QuantScheme.Int8, "int8"));
}
