using LoraLab.ModelFiles;
using static TorchSharp.torch;

namespace LoraLab.Training.Relora;

/// A ReLoRA run's checkpoint weights: the current adapter (PEFT format, through `adapter`) and, in
/// `relora_base.safetensors`, the fp32 base weights of the adapted modules, which earlier restarts merged updates
/// into. A resumed run loads the model folder's base and then these over it, so it continues from the same numbers.
public sealed class ReloraCheckpointWeights(IWeightStore adapter, ReloraRestarts restarts) : IWeightStore
{
    public const string BaseFile = "relora_base.safetensors";

    public void Save(string dir)
    {
        adapter.Save(dir);
        SafeTensorsWriter.Save(Path.Combine(dir, BaseFile), restarts.BaseWeights());
    }

    public void Load(string dir)
    {
        adapter.Load(dir);
        string path = Path.Combine(dir, BaseFile);
        if (!File.Exists(path)) throw CheckpointFileError.Missing(path);
        using var file = SafeTensorsFile.Open(path);
        using var _ = no_grad();
        foreach (var a in restarts.Adapters)
        {
            string name = a.Path + ".weight";
            if (!file.Tensors.ContainsKey(name)) throw CheckpointFileError.Corrupt(path, $"no tensor '{name}', which this run adapts");
            var w = a.Base.Weight!;
            if (!file.Info(name).Shape.SequenceEqual(w.shape))
                throw CheckpointFileError.Corrupt(path, $"'{name}' is [{string.Join(", ", file.Info(name).Shape)}], the model's is [{string.Join(", ", w.shape)}]");
            using var t = file.Read(name, w.dtype, w.device);
            NonFinite.Check(t, path, name);
            w.copy_(t);
            a.Dora?.BaseChanged(); // its kept ‖W‖² was the model folder's
        }
    }
}
