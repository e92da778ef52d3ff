using LoraLab.Adapters.Analysis;
using LoraLab.IO;

namespace LoraLab.Adapters.Combining;

/// `loralab combine`: several PEFT adapters on one base → one PEFT adapter, module by module, from the factors
/// alone (no base model is loaded and no out × in matrix is formed). The folder is written beside --out and renamed
/// into place once complete.
public static class AdapterCombiner
{
    public static CombineReport Combine(CombineOptions o)
    {
        if (o.AdapterDirs.Count == 0) throw new UserException("combine needs at least one adapter folder");
        if (o.Weights.Count != o.AdapterDirs.Count)
            throw new UserException($"--weights has {o.Weights.Count} value(s) for {o.AdapterDirs.Count} adapter(s); give one weight per adapter");
        foreach (var w in o.Weights)
            if (!double.IsFinite(w)) throw new UserException($"--weights: {w} is not a finite number");
        if (o.Rank is < 1) throw new UserException($"--rank must be at least 1 (got {o.Rank})");
        if (o.Rank is not null && o.Method is CombineMethod.Cat or CombineMethod.Linear)
            throw new UserException($"--rank applies to --method svd, ties, dare and dare-ties only (cat's rank is the sum of the inputs', linear keeps theirs)");
        CheckEntryWiseFlags(o);

        var adapters = new List<AdapterFactors>();
        try
        {
            foreach (var dir in o.AdapterDirs) adapters.Add(AdapterFactors.Read(dir));
            var warnings = CombineChecks.Check(adapters).ToList();
            using var generator = o.Method.IsRandom() ? new TorchSharp.torch.Generator((ulong)(o.Seed ?? 0)) : null;
            var modules = adapters[0].Modules.Select(m => CombinedModule.Build(
                adapters.Select(a => a.Modules.First(x => x.Path == m.Path)).ToList(), o, generator)).ToList();
            try
            {
                string outDir = Path.GetFullPath(o.OutDir);
                bool existed = Directory.Exists(outDir);
                using var held = OutputFolder.Claim(o.OutDir, o.Overwrite, o.AdapterDirs.Select(d => new InputPath("adapter", d)));
                var name = Path.GetFileName(outDir);
                Training.AtomicDirectory.Recover(Path.GetDirectoryName(outDir)!, n => n == name); // a killed combine into this --out
                try { Training.AtomicDirectory.Write(outDir, tmp => CombinedAdapterWriter.Write(tmp, adapters[0], modules)); }
                catch when (!existed)
                {
                    held.DeleteFolder();
                    throw;
                }
                var errors = modules.Select(m => m.RelativeError).Where(double.IsFinite).ToList();
                return new CombineReport(outDir, o.Method, modules.Count, modules.Min(m => m.R), modules.Max(m => m.R),
                    errors.Count > 0 ? errors.Max() : null, warnings);
            }
            finally
            {
                foreach (var m in modules) { m.A.Dispose(); m.B.Dispose(); }
            }
        }
        finally
        {
            foreach (var a in adapters) a.Dispose();
        }
    }

    /// --density belongs to (and is required by) ties, dare and dare-ties; --seed to the dare methods; --majority-sign
    /// to the methods that elect signs. A flag another method would ignore is refused rather than silently dropped.
    static void CheckEntryWiseFlags(CombineOptions o)
    {
        string method = o.Method.Name();
        if (o.Method.IsEntryWise())
        {
            if (o.Density is not { } d)
                throw new UserException($"--method {method} needs --density (the fraction of each adapter's ΔW entries to keep, in (0, 1]; e.g. --density 0.2)");
            if (!(d > 0 && d <= 1)) throw new UserException($"--density must be in (0, 1] (got {d.ToString(System.Globalization.CultureInfo.InvariantCulture)})");
        }
        else if (o.Density is not null)
            throw new UserException($"--density applies to --method ties, dare and dare-ties only, not {method}");
        if (o.Seed is not null && !o.Method.IsRandom())
            throw new UserException($"--seed applies to --method dare and dare-ties only (the others draw no random numbers), not {method}");
        if (o.MajoritySign is not null && !o.Method.ElectsSigns())
            throw new UserException($"--majority-sign applies to --method ties and dare-ties only, not {method}");
    }
}
