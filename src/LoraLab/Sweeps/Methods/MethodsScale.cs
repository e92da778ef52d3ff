using LoraLab.Data.Demo;

namespace LoraLab.Sweeps.Methods;

/// How big the methods preset runs. Every run of a scale trains the same examples in the same batches for the same
/// number of steps; `--quick` is small enough for a test to run it end to end.
public sealed record MethodsScale(string Name, int TrainPerTask, int HeldOutPerTask, int BatchSize, int Epochs)
{
    /// LoRA's seeds: their spread is the noise floor of every verdict.
    public const int Seeds = 3;

    /// Optimizer steps of every run: the training examples (TrainPerTask of each demo task) in batches, times the epochs.
    public int Steps => (DemoTasks.All.Count * TrainPerTask + BatchSize - 1) / BatchSize * Epochs;

    /// The steps of a quarter of training, rounded up: the early part the convergence findings compare.
    public int Quarter => (Steps + 3) / 4;

    /// All 1,200 training and 125 held-out examples of the demo data, batch 16, two epochs: 150 steps.
    public static readonly MethodsScale Full = new("full", 400, 50, 16, 2);
    /// 160 training and 16 held-out examples of each task, batch 8, one epoch: 60 steps, as lora-tips' quick scale.
    public static readonly MethodsScale Quick = new("quick", 160, 16, 8, 1);
}
