using LoraLab.Adapters;
using LoraLab.Hub;

namespace LoraLab.Cli.Commands;

/// A command's --model and --adapter values as local folders, resolved once where the command starts
/// (ModelSource.Resolve: a folder is itself; `org/name[@revision]` is fetched into, or found in, the Hub cache).
public static class ModelInputs
{
    public static string? Adapter(string? value) => string.IsNullOrWhiteSpace(value) ? null : ModelSource.Resolve(value);

    /// The base model's folder: --model resolved; without --model, the base the adapter in `adapterDir` records
    /// (adapter_config.json's base_model_name_or_path, a folder or a Hub id), as PEFT's AutoPeftModel loads it,
    /// said on stderr; with neither, `required` is the error.
    public static string Model(string? model, string? adapterDir, string required)
    {
        if (!string.IsNullOrWhiteSpace(model)) return ModelSource.Resolve(model);
        if (RecordedBase(adapterDir) is not { } recorded) throw new UserException(required);
        if (ModelSource.HubRepo(recorded) is null && !Directory.Exists(recorded))
            throw new UserException($"{required}: the adapter's recorded base ({recorded}) is neither a folder here nor a Hugging Face Hub id");
        Console.Error.WriteLine($"note: no --model given; using the adapter's base {recorded}");
        return ModelSource.Resolve(recorded);
    }

    /// For verbs that need both (merge, adapter validate): the adapter's folder and its base's, the base from
    /// --model or else the one the adapter records.
    public static (string Model, string Adapter) BaseAndAdapter(string? model, string? adapter)
    {
        const string modelRequired = "--model is required (the base model folder or Hub id)";
        if (string.IsNullOrWhiteSpace(model) && string.IsNullOrWhiteSpace(adapter)) throw new UserException(modelRequired);
        if (string.IsNullOrWhiteSpace(adapter)) throw new UserException("--adapter is required (a PEFT adapter folder or Hub id)");
        var adapterDir = Adapter(adapter)!;
        return (Model(model, adapterDir, modelRequired), adapterDir);
    }

    /// The recorded base, with its recorded revision for a Hub id (`org/name@revision`).
    static string? RecordedBase(string? adapterDir)
    {
        if (adapterDir is null || !File.Exists(Path.Combine(adapterDir, PeftFormat.ConfigFile))) return null;
        var cfg = PeftFormat.ReadConfig(adapterDir);
        if (cfg.BaseModelNameOrPath is not { Length: > 0 } recorded) return null;
        return cfg.Revision is { Length: > 0 } rev && ModelSource.HubRepo(recorded) is { Revision: HubRepoId.DefaultRevision } ? $"{recorded}@{rev}" : recorded;
    }
}
