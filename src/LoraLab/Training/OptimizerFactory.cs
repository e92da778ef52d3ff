using TorchSharp;
using TorchSharp.Modules;
using LoraLab.Configuration;
using static TorchSharp.torch;

namespace LoraLab.Training;

/// The optimizers by the names users know, on TorchSharp's state and options (see Optimizers/: fused Adam kernels,
/// no step-long temporaries). AdamW decouples weight decay; Adam adds it to the gradient.
public static class OptimizerFactory
{
    /// `faster` (LoRA+'s lora_B group) is a second parameter group at `fasterRatio` × lr, with the same other options.
    public static optim.Optimizer Create(OptimizerKind kind, IList<Parameter> parameters, double lr, double weightDecay,
        double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8, double momentum = 0.9, bool nesterov = false,
        IList<Parameter>? faster = null, double fasterRatio = 1)
    {
        if (parameters.Count == 0) throw new UserException("nothing to train: no parameter requires a gradient");
        nesterov = nesterov && momentum > 0;
        optim.Optimizer opt = kind switch
        {
            OptimizerKind.AdamW => new Optimizers.AdamW(parameters, lr, beta1, beta2, eps, weightDecay),
            OptimizerKind.Adam => new Optimizers.Adam(parameters, lr, beta1, beta2, eps, weightDecay),
            OptimizerKind.Sgd => new Optimizers.SGD(parameters, lr, momentum, 0, weightDecay, nesterov),
            _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
        };
        if (faster is not { Count: > 0 }) return opt;
        double fastLr = lr * fasterRatio;
        switch (opt)
        {
            case AdamW a: a.add_param_group(new AdamW.ParamGroup(faster, fastLr, beta1, beta2, eps, weightDecay, false, false)); break;
            case Adam a: a.add_param_group(new Adam.ParamGroup(faster, fastLr, beta1, beta2, eps, weightDecay, false, false)); break;
            case SGD s: s.add_param_group(new SGD.ParamGroup(faster, fastLr, momentum, 0, weightDecay, nesterov, false)); break;
        }
        return opt;
    }

    /// GaLore-AdamW (Optimizers.GaloreAdamW): `dense` on plain AdamW, `projected` (2-D weights) with their gradients
    /// projected to `rank`, the projection refreshed every `updateEvery` steps, the update scaled by `scale`.
    public static optim.Optimizer CreateGalore(IList<Parameter> dense, IList<Parameter> projected, double lr, double weightDecay,
        int rank, int updateEvery, double scale, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8)
    {
        if (dense.Count + projected.Count == 0) throw new UserException("nothing to train: no parameter requires a gradient");
        var opt = new Optimizers.GaloreAdamW(dense, lr, beta1, beta2, eps, weightDecay);
        if (projected.Count > 0)
            opt.add_param_group(new Optimizers.GaloreParamGroup(projected, lr, beta1, beta2, eps, weightDecay, rank, updateEvery, scale));
        return opt;
    }

    /// Sets the schedule's learning rate for this step: each group at `lr` times its ratio to the first group's
    /// learning rate at creation (1, or LoRA+'s ratio for the lora_B group).
    public static void SetLearningRate(optim.Optimizer opt, double lr)
    {
        double reference = opt.ParamGroups.First().InitialLearningRate;
        foreach (var g in opt.ParamGroups) g.LearningRate = lr * (g.InitialLearningRate / reference);
    }

    public static void Save(optim.Optimizer opt, string path)
    {
        using var w = new BinaryWriter(File.Create(path));
        SaveTo(opt, w);
    }

    static void SaveTo(optim.Optimizer opt, BinaryWriter w)
    {
        switch (opt)
        {
            case AdamW a: a.save_state_dict(w); break;
            case Adam a: a.save_state_dict(w); break;
            case SGD s: s.save_state_dict(w); break;
            // Its projected weights' state holds the projections with the moments (GaloreState).
            case Optimizers.GaloreAdamW g: g.save_state_dict(w); break;
            default: throw new InvalidOperationException("unsupported optimizer");
        }
    }

    /// Restores a checkpoint's optimizer state; a file that is not this optimizer's state is a user error naming it.
    public static void Load(optim.Optimizer opt, string path)
    {
        OptimizerStateFile.Check(opt, path, SaveTo);
        using var r = new BinaryReader(File.OpenRead(path));
        try
        {
            switch (opt)
            {
                case AdamW a: a.load_state_dict(r); break;
                case Adam a: a.load_state_dict(r); break;
                case SGD s: s.load_state_dict(r); break;
                case Optimizers.GaloreAdamW g: g.load_state_dict(r); break;
                default: throw new InvalidOperationException("unsupported optimizer");
            }
            if (r.BaseStream.Position != r.BaseStream.Length)
                throw CheckpointFileError.Corrupt(path, $"{r.BaseStream.Length - r.BaseStream.Position} bytes after the end of the {opt.GetType().Name} state");
        }
        // Long enough, wrong content. Never the reader's message: it can quote the file's bytes.
        catch (Exception e) when (e is EndOfStreamException or ArgumentException or InvalidDataException or InvalidOperationException or FormatException
            or IOException or OverflowException or OutOfMemoryException or System.Runtime.InteropServices.ExternalException)
        {
            throw CheckpointFileError.Corrupt(path, $"unreadable at byte {r.BaseStream.Position}: {e.GetType().Name}");
        }
    }
}
