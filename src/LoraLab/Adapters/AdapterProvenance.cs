using System.Text.Json;
using System.Text.Json.Nodes;
using LoraLab.Data;
using LoraLab.Tokenization;

namespace LoraLab.Adapters;

/// What an adapter was trained with, beside its PEFT files as `loralab_adapter.json` (PEFT ignores unknown files,
/// so adapter_config.json stays PEFT-clean): the prompt template, the BOS/EOS policy, and a fingerprint of the base
/// model. Serving reads it so prompts are rendered exactly as in training and a wrong base is noticed.
public sealed record AdapterProvenance
{
    public const string FileName = "loralab_adapter.json";
    const string Format = "loralab-adapter/1";

    public required string Template { get; init; }
    public bool AddBos { get; init; }
    public int? BosId { get; init; }
    public int? EosId { get; init; }
    public string? EndOfTurn { get; init; }
    public int? EndOfTurnId { get; init; }
    /// Ids that end a response (EOS and the end-of-turn token).
    public IReadOnlyList<int> StopIds { get; init; } = Array.Empty<int>();
    public bool TrainOnInputs { get; init; }
    public int? MaxSeqLength { get; init; }
    /// The base's quantization during training ("nf4", "fp4", "int8"), null when it was dense.
    public string? BaseQuantization { get; init; }
    public string? BaseModel { get; init; }
    public BaseFingerprint? BaseFingerprint { get; init; }

    /// The record of a training run that renders examples with `builder` on the base in `baseModelDir` (a folder or a
    /// Hub id, recorded as ModelSource.BaseModelName).
    public static AdapterProvenance ForTraining(ExampleBuilder builder, string baseModelDir, string? quantization) => new()
    {
        Template = builder.Template.Name,
        AddBos = builder.AddsBos,
        BosId = builder.Tokenizer.BosId,
        EosId = builder.Tokenizer.EosId,
        EndOfTurn = builder.Template.EndOfTurn,
        EndOfTurnId = builder.EndOfTurnId,
        StopIds = builder.StopTokenIds,
        TrainOnInputs = builder.Options.TrainOnInputs,
        MaxSeqLength = builder.Options.MaxSeqLength,
        BaseQuantization = quantization,
        BaseModel = Hub.ModelSource.BaseModelName(baseModelDir),
        BaseFingerprint = BaseFingerprint.Compute(Hub.ModelSource.Resolve(baseModelDir)),
    };

    /// A builder that renders prompts as training did: the recorded template and BOS policy. Differences between
    /// the tokenizer now and the recorded ids go to `warnings` (the prompt would then not match training).
    public ExampleBuilder Builder(ITokenizer tokenizer, ICollection<string> warnings)
    {
        if (tokenizer.EosId != EosId)
            warnings.Add($"the tokenizer's EOS id is {tokenizer.EosId?.ToString() ?? "none"}, but the adapter was trained with {EosId?.ToString() ?? "none"}");
        if (AddBos && tokenizer.BosId != BosId)
            warnings.Add($"the tokenizer's BOS id is {tokenizer.BosId?.ToString() ?? "none"}, but the adapter was trained with {BosId?.ToString() ?? "none"}");
        var builder = new ExampleBuilder(tokenizer, PromptTemplate.Get(Template), new ExampleBuilderOptions { AddBos = AddBos });
        if (EndOfTurnId is int e && builder.EndOfTurnId != e)
            warnings.Add($"the end-of-turn token '{EndOfTurn}' was id {e} in training but is {builder.EndOfTurnId?.ToString() ?? "not a single token"} now");
        return builder;
    }

    public static void Write(string dir, AdapterProvenance p)
    {
        Directory.CreateDirectory(dir);
        var json = new JsonObject
        {
            ["format"] = Format,
            ["template"] = p.Template,
            ["add_bos"] = p.AddBos,
            ["bos_id"] = p.BosId,
            ["eos_id"] = p.EosId,
            ["end_of_turn"] = p.EndOfTurn,
            ["end_of_turn_id"] = p.EndOfTurnId,
            ["stop_ids"] = new JsonArray(p.StopIds.Select(i => (JsonNode?)JsonValue.Create(i)).ToArray()),
            ["train_on_inputs"] = p.TrainOnInputs,
            ["max_seq_length"] = p.MaxSeqLength,
            ["base_quantization"] = p.BaseQuantization,
            ["base_model"] = p.BaseModel,
            ["base_fingerprint"] = p.BaseFingerprint?.ToJson(),
        };
        string path = Path.Combine(dir, FileName);
        IO.AtomicFile.WriteAllText(path, json.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
    }

    /// The record in `dir`, or null when the adapter has none (e.g. one trained with PEFT).
    public static AdapterProvenance? Read(string dir)
    {
        string path = Path.Combine(dir, FileName);
        if (!File.Exists(path)) return null;
        JsonObject o;
        try { o = JsonNode.Parse(Runtime.BoundedFile.ReadText(path, Runtime.FileLimit.JsonConfig)) as JsonObject ?? throw new UserException($"{path}: expected a JSON object"); }
        catch (JsonException e) { throw new UserException($"{path}: not valid JSON ({e.Message})"); }
        if (o["format"]?.GetValue<string>() != Format) throw new UserException($"{path}: field 'format' must be '{Format}'");
        try
        {
            string template = o["template"]?.GetValue<string>() ?? throw new UserException($"{path}: missing field 'template'");
            if (!PromptTemplate.Names.Contains(template)) throw new UserException($"{path}: field 'template' = '{template}' is not a known template ({string.Join(", ", PromptTemplate.Names)})");
            return new AdapterProvenance
            {
                Template = template,
                AddBos = o["add_bos"]?.GetValue<bool>() ?? false,
                BosId = o["bos_id"]?.GetValue<int>(),
                EosId = o["eos_id"]?.GetValue<int>(),
                EndOfTurn = o["end_of_turn"]?.GetValue<string>(),
                EndOfTurnId = o["end_of_turn_id"]?.GetValue<int>(),
                StopIds = o["stop_ids"] is JsonArray a ? a.Select(x => x!.GetValue<int>()).ToArray() : Array.Empty<int>(),
                TrainOnInputs = o["train_on_inputs"]?.GetValue<bool>() ?? false,
                MaxSeqLength = o["max_seq_length"]?.GetValue<int>(),
                BaseQuantization = o["base_quantization"]?.GetValue<string>(),
                BaseModel = o["base_model"]?.GetValue<string>(),
                BaseFingerprint = o["base_fingerprint"] is JsonObject f ? BaseFingerprint.FromJson(f, path) : null,
            };
        }
        catch (Exception e) when (e is InvalidOperationException or FormatException or NullReferenceException)
        {
            throw new UserException($"{path}: a field has the wrong type ({e.Message})");
        }
    }
}
