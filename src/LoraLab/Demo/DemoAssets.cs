using LoraLab.Data;
using LoraLab.Data.Demo;
using LoraLab.Models;
using LoraLab.Tokenization.Training;

namespace LoraLab.Demo;

/// The demo's fixed ingredients: where the committed base model and datasets live, the tokenizer recipe,
/// and the base model's architecture.
public static class DemoAssets
{
    public const string BaseFolder = "demo-base";
    public const string DataFolder = "demo-data";
    public const string TrainFile = "train.json";
    public const string HeldOutFile = "heldout.json";
    /// The preference pairs made from train.json and heldout.json (DemoPreferences), for `demo --dpo`.
    public const string PrefsTrainFile = "prefs-train.jsonl", PrefsHeldOutFile = "prefs-heldout.jsonl";
    public static readonly SpecialTokenRoles Specials = new("<s>", "</s>", "<pad>");

    /// The `assets` folder: beside the application (the CLI copies it to its output), or else the nearest
    /// `assets` folder holding the demo base found walking up from the current directory (a source checkout).
    public static string Locate()
    {
        var beside = Path.Combine(AppContext.BaseDirectory, "assets");
        if (Directory.Exists(Path.Combine(beside, BaseFolder))) return beside;
        for (var dir = new DirectoryInfo(Directory.GetCurrentDirectory()); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "assets");
            if (Directory.Exists(Path.Combine(candidate, BaseFolder))) return candidate;
        }
        throw new UserException($"the demo assets were not found: expected {Path.Combine(beside, BaseFolder)} (rebuild the CLI, which copies assets/ beside it)");
    }

    /// The demo model's architecture: a 4-layer Llama with grouped-query attention and tied embeddings,
    /// about 1.8 M parameters, so an fp16 checkpoint stays well under 5 MB and trains quickly on two CPU cores.
    public static ModelConfig ModelConfig(int vocabSize, int bosId, int eosId) => new()
    {
        ModelType = "llama",
        VocabSize = vocabSize,
        HiddenSize = 192,
        IntermediateSize = 512,
        NumHiddenLayers = 4,
        NumAttentionHeads = 6,
        NumKeyValueHeads = 2,
        HeadDim = 32,
        RmsNormEps = 1e-5,
        RopeTheta = 10000,
        TieWordEmbeddings = true,
        MaxPositionEmbeddings = 512,
        BosTokenId = bosId,
        EosTokenId = eosId,
    };

    /// Learns the demo tokenizer from the corpus and the rendered Alpaca text of the task examples (so the
    /// prompt wording gets merges too), and writes it to <paramref name="dir"/> in Hugging Face form.
    public static BpeVocabulary TrainTokenizer(string dir, IEnumerable<string> corpus, IEnumerable<DemoExample> examples, int vocabSize)
    {
        var template = new AlpacaTemplate();
        var taskText = examples.Select(e => PromptTemplate.Concat(template.Render(new AlpacaRecord("demo", e.Instruction, e.Input, e.Output))));
        var vocab = ByteLevelBpeTrainer.Train(corpus.Concat(taskText), vocabSize, [Specials.Bos, Specials.Eos, Specials.Pad]);
        HfTokenizerWriter.Write(dir, vocab, Specials, modelMaxLength: 512);
        return vocab;
    }
}
