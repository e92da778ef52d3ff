using LoraLab.Configuration;
using LoraLab.Training;

namespace LoraLab.Sweeps;

/// `sweep --collect INTO OTHER...`: copies the run folders of other shards' sweep folders into INTO/runs/. A run that
/// INTO lacks is copied; one it holds is kept, unless INTO's is not finished and the other's is (a run retried on
/// another machine). Two runs of one name whose settings differ are refused: they are not the same run.
public static class SweepCollect
{
    /// Returns the names copied.
    public static IReadOnlyList<string> Merge(string into, IReadOnlyList<string> others)
    {
        foreach (var dir in others.Prepend(into))
            if (!Directory.Exists(SweepFolder.RunsOf(dir))) throw new UserException($"{dir}: not a sweep folder (no {SweepFolder.Runs}/)");
        var copied = new List<string>();
        foreach (var other in others)
            foreach (var source in SweepFolder.RunDirs(other))
            {
                var name = Path.GetFileName(source);
                var target = Path.Combine(SweepFolder.RunsOf(into), name);
                if (Directory.Exists(target))
                {
                    if (Settings(target) is { } a && Settings(source) is { } b && a != b)
                        throw new UserException($"{source}: run '{name}' is also in {SweepFolder.RunsOf(into)} with other settings ({RunFolder.RunYaml} differs)");
                    if (RunFolder.HasFinalWeights(target) || !RunFolder.HasFinalWeights(source)) continue;
                    Directory.Delete(target, recursive: true);
                }
                Copy(source, target, Path.Combine(into, $".collecting-{name}"));
                copied.Add(name);
            }
        return copied;
    }

    /// What a run learns from, as run.yaml records it: the settings that change learning (not `out` or threads, which
    /// differ between machines for the same run). Null without a readable run.yaml.
    static string? Settings(string runDir)
    {
        var yaml = Path.Combine(runDir, RunFolder.RunYaml);
        if (!File.Exists(yaml)) return null;
        var c = RunConfig.LoadYaml(yaml);
        return string.Join("\n", RunSettings.All.Where(s => s.ChangesLearning).Select(s => $"{s.Key}={s.Format(s.Get(c))}"));
    }

    /// Copies into a temporary folder in INTO (outside runs/, on the same file system) and renames it into place, so
    /// a killed collect leaves no half-copied run folder.
    static void Copy(string source, string target, string tmp)
    {
        if (Directory.Exists(tmp)) Directory.Delete(tmp, recursive: true);
        CopyTree(source, tmp);
        Directory.Move(tmp, target);
    }

    static void CopyTree(string source, string target)
    {
        Directory.CreateDirectory(target);
        foreach (var f in Directory.GetFiles(source)) File.Copy(f, Path.Combine(target, Path.GetFileName(f)));
        foreach (var d in Directory.GetDirectories(source)) CopyTree(d, Path.Combine(target, Path.GetFileName(d)));
    }
}
