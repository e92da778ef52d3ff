namespace LoraLab.Runtime;

/// The widths of the MLP block the `auto` probe times: the model's hidden and intermediate sizes.
public readonly record struct ProbeShape(long Hidden, long Intermediate)
{
    /// The `small` benchmark config's, for when no model is at hand (doctor).
    public static readonly ProbeShape Small = new(512, 1408);

    /// Wider than a 1B model's layers times the same way and only makes the probe slower (a 7B model's would take
    /// seconds), so widths are capped at 1024 and 2816.
    public ProbeShape Capped() => new(Math.Min(Hidden, 1024), Math.Min(Intermediate, 2816));

    public static ProbeShape Of(Models.ModelConfig cfg) => new(cfg.HiddenSize, cfg.IntermediateSize);

    /// The shape of the model folder `dir`; null where its config.json is missing or unreadable, so that the loader,
    /// which runs next, reports the folder's problem in its own words.
    public static ProbeShape? OfFolder(string dir)
    {
        var path = Path.Combine(dir, "config.json");
        if (!File.Exists(path)) return null;
        try { return Of(Models.ModelConfig.Load(path)); }
        catch (UserException) { return null; }
    }
}
