using LoraLab.Adapters;
using LoraLab.Data;
using LoraLab.Models;
using LoraLab.Training;
using DataLoader = LoraLab.Data.DataLoader;

namespace LoraLab.Demo;

/// The demo's default: LoRA on every linear layer of the blocks (the practical finding: all layers beat q,v only),
/// alpha = 2r. Saves the adapter in PEFT form with its provenance, then merges it into a standalone model folder.
public sealed class LoraDemoTrainer(int rank = 16, double alpha = 32, string targets = "all") : IAdapterTrainer
{
    public string Method => $"LoRA r={rank}, alpha={alpha:G}, targets {targets}";
    public double DefaultLr => 3e-3;

    public AdapterTrainingOutcome Train(AdapterTrainingRequest r, Action<StepReport>? onStep, CancellationToken cancel)
    {
        var lora = new LoraConfig { R = rank, Alpha = alpha, TargetModules = LoraTargets.Parse(targets), BaseModelNameOrPath = Path.GetFullPath(r.BaseDir) };
        var summary = LoraInjector.Apply(r.Model, lora, r.Options.Seed);
        var trainable = r.Model.named_parameters().Where(p => p.parameter.requires_grad).Select(p => (p.name, p.parameter)).ToList();
        var builder = new ExampleBuilder(r.Tokenizer, new AlpacaTemplate(), new ExampleBuilderOptions { MaxSeqLength = 256 });
        var store = new AdapterStore(r.Model, lora, r.BaseDir, AdapterProvenance.ForTraining(builder, r.BaseDir, null));
        var batcher = Batcher.For(r.Tokenizer);
        var trainer = new Trainer(r.Model, trainable, r.Options,
            new DataLoader(r.Train.Examples, batcher, r.Options.MicroBatchSize, r.Options.Seed),
            new DataLoader(r.Validation.Examples, batcher, r.Options.MicroBatchSize, r.Options.Seed, shuffle: false),
            r.OutDir, store);
        if (onStep is not null) trainer.Step += onStep;
        var result = trainer.Run(null, cancel);
        r.Model.eval();

        var adapterDir = Path.Combine(r.OutDir, "adapter");
        AtomicDirectory.Write(adapterDir, store.Save);
        var mergedDir = Path.Combine(r.OutDir, "merged");
        AdapterMerger.MergeToFolder(new MergeOptions { BaseDir = r.BaseDir, AdapterDir = adapterDir, OutDir = mergedDir, Overwrite = true });
        long trainableCount = trainable.Sum(t => t.parameter.numel());
        return new AdapterTrainingOutcome(Method, result, trainableCount, ModelShapes.TotalParameters(r.Model.Config), adapterDir, mergedDir);
    }
}
