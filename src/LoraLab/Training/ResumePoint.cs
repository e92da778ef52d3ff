using LoraLab.Configuration;

namespace LoraLab.Training;

/// What `--resume PATH` names: a run folder (its settings from run.yaml, its newest checkpoint) or one checkpoint
/// folder (inside RUN_DIR/checkpoints/, whose run.yaml then applies; or a bare one, whose settings come from the flags).
public sealed record ResumePoint(string? RunDir, string? Checkpoint)
{
    public static ResumePoint Locate(string path)
    {
        if (!Directory.Exists(path)) throw new UserException($"{path}: run or checkpoint folder not found");
        if (File.Exists(Path.Combine(path, TrainerState.FileName)))
        {
            var parent = Path.GetDirectoryName(Path.GetFullPath(path).TrimEnd(Path.DirectorySeparatorChar));
            var runDir = parent is not null && Path.GetFileName(parent) == RunFolder.CheckpointsFolder ? Path.GetDirectoryName(parent) : null;
            return new(runDir is not null && File.Exists(Path.Combine(runDir, RunFolder.RunYaml)) ? runDir : null, path);
        }
        if (File.Exists(Path.Combine(path, RunFolder.RunYaml))) return new(path, null);
        throw new UserException($"{path}: neither a run folder ({RunFolder.RunYaml}) nor a checkpoint folder ({TrainerState.FileName})");
    }

    /// The run's settings as recorded, over today's defaults (a key added since then takes its default).
    /// Its output folder is where it is now (moved or not), unless --out says otherwise. `given`: the --config file
    /// and flags, which must repeat any input path an older record holds relative to an unknown folder.
    public RunConfig? Recorded(SettingLayer given)
    {
        if (RunDir is null) return null;
        var yaml = Path.Combine(RunDir, RunFolder.RunYaml);
        var c = RunConfig.LoadYaml(yaml);
        RunRecord.InputPaths(c, given, yaml);
        c.Out = RunDir;
        return c;
    }

    /// The checkpoint to continue from: the one named, or the run folder's newest complete one.
    public string CheckpointDir() => Checkpoint ?? Checkpoints.Latest(RunDir!) ?? throw new UserException(
        $"{RunDir}: no complete checkpoint to resume from ({RunFolder.CheckpointsFolder}/ holds none); start the run again: {RunFolder.RestartCommand(RunDir!)}");
}
