using LoraLab.ModelFiles;
using LoraLab.Models;
using static TorchSharp.torch;

namespace LoraLab.Training.Relora;

/// A ReLoRA run's final output: the base with every restart's update and the current adapter merged in, as a
/// Hugging Face model folder (as --method full writes model/). The last adapter alone is relative to a base its
/// restarts changed, so it is not written. fp32 like the master weights it comes from: the update of a module
/// stays exact in the file, and `loralab analyze model/ --base BASE` reads it without rounding noise.
public static class ReloraMergedModel
{
    /// `modelDir`: the folder the model was loaded from. Weights the run never changed are copied from it exactly
    /// when the model holds them in a half precision (bf16 compute rounds a fp32 or fp16 base).
    public static void Write(string dir, CausalLM model, ReloraRestarts restarts, string modelDir)
    {
        var written = restarts.MergedWeights();
        try
        {
            if (model.WeightDtype != ScalarType.Float32)
            {
                using var files = CheckpointFiles.Open(modelDir);
                foreach (var (name, _) in model.BaseTensors())
                    if (!written.ContainsKey(name) && files.Contains(name)) written[name] = files.Read(name, ScalarType.Float32);
            }
            ModelFolderWriter.Write(dir, model, ScalarType.Float32, modelDir, replacing: written);
        }
        finally { foreach (var t in written.Values) t.Dispose(); }
    }
}
