namespace LoraLab.Training;

/// The names in a `loralab train` output folder (RUN_DIR), each declared once, and the command that resumes a run.
public static class RunFolder
{
    /// The run's settings, plan and resume history (RunRecord).
    public const string RunYaml = "run.yaml";
    public const string Metrics = "metrics.jsonl";
    /// The held-out records the run validated on (scored again by `eval --run`).
    public const string Validation = "val.jsonl";
    /// Checkpoint folders, step-NNNNNN (Checkpoints).
    public const string CheckpointsFolder = "checkpoints";
    /// The final weights, written at the end of the run: a LoRA adapter or, for full fine-tuning, a model folder.
    public const string Adapter = "adapter";
    public const string Model = "model";
    /// An evaluation saved into the run (`loralab eval --run RUN_DIR --json > RUN_DIR/eval.json`), read by reports.
    public const string EvalResult = "eval.json";
    /// Where `train --report` writes the run's report.
    public const string Report = "report";

    public static string FinalFolder(bool lora) => lora ? Adapter : Model;

    public static bool HasFinalWeights(string runDir) =>
        Directory.Exists(Path.Combine(runDir, Adapter)) || Directory.Exists(Path.Combine(runDir, Model));

    /// What a run replaces by writing a temporary beside it and renaming (AtomicDirectory, MetricsLog.CutBack), in
    /// RUN_DIR and in its checkpoints folder: the names whose killed writes AtomicDirectory.Recover may clean up.
    public static bool IsReplacedWhole(string name) => name is Adapter or Model or Metrics;
    public static bool IsCheckpoint(string name) => Checkpoints.StepOf(name) is not null;

    /// `loralab train --resume RUN_DIR`, to copy: the full path, as one word a POSIX shell reads back unchanged.
    public static string ResumeCommand(string runDir) => $"loralab train --resume {ShellWord(Path.GetFullPath(runDir))}";

    /// The command that starts the run over from its recorded settings.
    public static string RestartCommand(string runDir) => $"loralab train --config {ShellWord(Path.GetFullPath(Path.Combine(runDir, RunYaml)))} --overwrite";

    static string ShellWord(string s) =>
        s.Length > 0 && s.All(ch => char.IsAsciiLetterOrDigit(ch) || "/._-+:@,=".Contains(ch)) ? s : "'" + s.Replace("'", "'\\''") + "'";
}
