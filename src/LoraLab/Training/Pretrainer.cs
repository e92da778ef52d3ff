using LoraLab.Data;
using LoraLab.ModelFiles;
using LoraLab.Models;
using LoraLab.Tokenization;
using Parameter = TorchSharp.Modules.Parameter;
using DataLoader = LoraLab.Data.DataLoader;
using static TorchSharp.torch;

namespace LoraLab.Training;

/// What <see cref="Pretrainer.Run"/> trains and how.
public sealed record PretrainOptions
{
    public required ModelConfig Model { get; init; }
    public required LoraLab.Configuration.RunConfig Train { get; init; }
    /// Tokens per training row.
    public int SeqLength { get; init; } = 128;
    /// Share of rows held out to measure validation loss.
    public double ValidationShare { get; init; } = 0.05;
    /// Dtype of the saved `model.safetensors` (training runs in Train's device and precision: the CLI asks for CPU fp32).
    public ScalarType SaveDtype { get; init; } = ScalarType.Float16;
}

public sealed record PretrainResult(TrainResult Train, string ModelDir, long Parameters, long CorpusTokens, int TrainRows, int ValidationRows);

/// Trains a Llama-family model from random weights on plain text (every weight trainable) and writes it as a
/// Hugging Face model folder. Documents are tokenized as BOS + text + EOS, laid end to end, and cut into rows
/// of fixed length, so no compute is spent on padding.
public static class Pretrainer
{
    public static PretrainResult Run(PretrainOptions o, IReadOnlyList<string> documents, ITokenizer tokenizer, string tokenizerDir,
        string outDir, string runDir, Action<StepReport>? onStep = null, Action<EvalReport>? onEval = null, CancellationToken cancel = default)
    {
        Runtime.TorchRuntime.EnsureLoaded();
        if (tokenizer.VocabSize > o.Model.VocabSize)
            throw new UserException($"the tokenizer has {tokenizer.VocabSize} tokens but the model's vocab_size is {o.Model.VocabSize}");
        var rows = ChunkCorpus(documents, tokenizer, o.SeqLength);
        int valRows = Math.Max(1, (int)Math.Round(rows.Count * o.ValidationShare));
        if (rows.Count - valRows < 1) throw new UserException($"the corpus gives only {rows.Count} rows of {o.SeqLength} tokens: too little to train on");
        var (train, val) = DatasetSplit.Split(rows, (double)valRows / rows.Count, o.Train.Seed);

        using var model = RunSetup.RandomModel(o.Model, o.Train);
        var trainable = RunSetup.Trainable(model, null, o.Train.Seed).Parameters;
        var (trainLoader, valLoader) = RunSetup.Loaders(train, val, Batcher.For(tokenizer), o.Train);
        Directory.CreateDirectory(runDir);
        var trainer = new Trainer(model, trainable, o.Train, trainLoader, valLoader, runDir, new FullModelWeights(model));
        if (onStep is not null) trainer.Step += onStep;
        if (onEval is not null) trainer.Evaluated += onEval;
        var result = trainer.Run(null, cancel);
        model.eval();
        ModelFolderWriter.Write(outDir, model, o.SaveDtype, tokenizerDir, tokenizer.PadId);
        return new PretrainResult(result, outDir, ModelShapes.TotalParameters(o.Model), rows.Sum(r => (long)r.Length), train.Count, val.Count);
    }

    /// BOS + document + EOS for every document, concatenated and cut into rows of `seqLength` tokens
    /// (the remainder shorter than a row is dropped). Every token is a target.
    public static IReadOnlyList<TokenizedExample> ChunkCorpus(IEnumerable<string> documents, ITokenizer tokenizer, int seqLength)
    {
        if (seqLength < 2) throw new UserException($"sequence length must be at least 2, got {seqLength}");
        var stream = new List<int>();
        foreach (var doc in documents)
        {
            if (tokenizer.BosId is int bos) stream.Add(bos);
            stream.AddRange(tokenizer.Encode(doc));
            if (tokenizer.EosId is int eos) stream.Add(eos);
        }
        var rows = new List<TokenizedExample>();
        for (int at = 0; at + seqLength <= stream.Count; at += seqLength)
        {
            var ids = stream.GetRange(at, seqLength).ToArray();
            rows.Add(new TokenizedExample(ids, (int[])ids.Clone()));
        }
        if (rows.Count == 0) throw new UserException($"the corpus has {stream.Count} tokens, fewer than one row of {seqLength}");
        return rows;
    }
}
