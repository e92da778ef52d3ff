using LoraLab.Data;
using LoraLab.Models;
using LoraLab.Tokenization;
using LoraLab.Training;

namespace LoraLab.Demo;

/// What the demo hands to the fine-tuning step: the loaded base (trained in place), its tokenizer and folder,
/// the encoded datasets, the loop's options and the folder for everything the step writes.
public sealed record AdapterTrainingRequest(CausalLM Model, ITokenizer Tokenizer, string BaseDir, BuiltDataset Train,
    BuiltDataset Validation, LoraLab.Configuration.RunConfig Options, string OutDir);

/// What the fine-tuning step did: the training run, how many parameters it trained, where it saved the trained
/// weights (an adapter, or a whole model) and, when it has one, the merged model folder.
public sealed record AdapterTrainingOutcome(string Method, TrainResult Training, long TrainableParameters,
    long TotalParameters, string SavedDir, string? MergedDir);

/// The demo's fine-tuning method. After <see cref="Train"/> returns, `request.Model` must compute with the
/// fine-tuned weights (adapter attached or merged), because the demo measures it again as it is.
public interface IAdapterTrainer
{
    /// Short name for reports ("full fine-tuning", "LoRA r=8").
    string Method { get; }

    /// Default learning rate for this method (the demo's --lr overrides it).
    double DefaultLr { get; }

    AdapterTrainingOutcome Train(AdapterTrainingRequest request, Action<StepReport>? onStep, CancellationToken cancel);
}
