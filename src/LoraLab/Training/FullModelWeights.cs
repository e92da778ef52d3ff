using LoraLab.ModelFiles;
using LoraLab.Models;

namespace LoraLab.Training;

/// Saves and restores every weight of a model (full training): `model.safetensors` + `config.json` in
/// Hugging Face form, in the model's own dtype so a resumed run continues from exactly the same numbers; the
/// tokenizer files of `tokenizerDir` are copied so the folder is a complete model.
public sealed class FullModelWeights(CausalLM model, string? tokenizerDir = null) : IWeightStore
{
    public void Save(string dir) => ModelFolderWriter.Write(dir, model, model.WeightDtype, tokenizerDir);

    public void Load(string dir)
    {
        using var files = CheckpointFiles.Open(dir);
        CheckpointShapes.Check(model.Config, files);
        foreach (var (name, _) in ModelShapes.Expected(model.Config))
        {
            using var t = files.Read(name, model.WeightDtype);
            NonFinite.Check(t, files.FileOf(name), name);
            model.LoadTensor(name, t);
        }
    }
}
