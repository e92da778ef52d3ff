using LoraLab.Data;
using LoraLab.ModelFiles;
using LoraLab.Models;
using LoraLab.Training;
using static TorchSharp.torch;

namespace LoraLab.Demo;

/// Fine-tunes every weight of the base (no adapter): the reference the demo's tasks were checked against,
/// and a working stand-in until an adapter method is plugged in. Saves the tuned model as a model folder;
/// there is nothing to merge.
public sealed class FullFineTuneTrainer : IAdapterTrainer
{
    public string Method => "full fine-tuning";
    public double DefaultLr => 1e-3;

    public AdapterTrainingOutcome Train(AdapterTrainingRequest r, Action<StepReport>? onStep, CancellationToken cancel)
    {
        var trainable = RunSetup.Trainable(r.Model, null, r.Options.Seed).Parameters;
        var (train, val) = RunSetup.Loaders(r.Train.Examples, r.Validation.Examples, Batcher.For(r.Tokenizer), r.Options);
        var trainer = new Trainer(r.Model, trainable, r.Options, train, val, r.OutDir, new FullModelWeights(r.Model));
        if (onStep is not null) trainer.Step += onStep;
        var result = trainer.Run(null, cancel);
        r.Model.eval();
        foreach (var (_, p) in trainable) p.requires_grad = false;
        var saved = Path.Combine(r.OutDir, "model");
        ModelFolderWriter.Write(saved, r.Model, ScalarType.Float32, r.BaseDir, r.Tokenizer.PadId);
        long total = ModelShapes.TotalParameters(r.Model.Config);
        return new AdapterTrainingOutcome(Method, result, total, total, saved, null);
    }
}
