using LoraLab.Adapters;
using LoraLab.Configuration;
using LoraLab.Data;
using LoraLab.Models;
using LoraLab.Training;

namespace LoraLab.Demo;

/// The demo's default: LoRA on every linear layer of the blocks (the practical finding: all layers beat q,v only),
/// alpha = 2r. Saves the adapter in PEFT form with its provenance, then merges it into a standalone model folder.
public sealed class LoraDemoTrainer(int rank = 16, double alpha = 32, string targets = "all") : IAdapterTrainer
{
    public string Method => $"LoRA r={rank}, alpha={alpha:G}, targets {targets}";
    public double DefaultLr => 3e-3;

    public AdapterTrainingOutcome Train(AdapterTrainingRequest r, Action<StepReport>? onStep, CancellationToken cancel)
    {
        var c = r.Options.Clone();
        (c.Method, c.R, c.Alpha, c.Targets, c.LoraDropout) = (TrainMethod.Lora, rank, alpha, targets, 0);
        var lora = RunSetup.Lora(c, r.BaseDir)!;
        var trainable = RunSetup.Trainable(r.Model, lora, c.Seed);
        var builder = new ExampleBuilder(r.Tokenizer, new AlpacaTemplate(), new ExampleBuilderOptions { MaxSeqLength = 256 });
        var store = new AdapterStore(r.Model, lora, r.BaseDir, AdapterProvenance.ForTraining(builder, r.BaseDir, null));
        var (train, val) = RunSetup.Loaders(r.Train.Examples, r.Validation.Examples, Batcher.For(r.Tokenizer), c);
        var trainer = new Trainer(r.Model, trainable.Parameters, c, train, val, r.OutDir, store);
        if (onStep is not null) trainer.Step += onStep;
        var result = trainer.Run(null, cancel);
        r.Model.eval();

        var adapterDir = Path.Combine(r.OutDir, "adapter");
        AtomicDirectory.Write(adapterDir, store.Save);
        var mergedDir = Path.Combine(r.OutDir, "merged");
        AdapterMerger.MergeToFolder(new MergeOptions { BaseDir = r.BaseDir, AdapterDir = adapterDir, OutDir = mergedDir, Overwrite = true });
        return new AdapterTrainingOutcome(Method, result, trainable.Count, ModelShapes.TotalParameters(r.Model.Config), adapterDir, mergedDir);
    }
}
