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

    /// All 1,200 training and 125 held-out examples of the demo data, batch 16, one epoch: 75 steps, as lora-tips' full
    /// scale, so LoRA here is lora-tips' baseline run for run. (Two epochs made full fine-tuning and GaLore overfit the
    /// demo: val loss 0.71 and 1.19 against LoRA's 0.18 while their train loss fell to 0.03.)
    public static readonly MethodsScale Full = new("full", 400, 50, 16, 1);
    /// 160 training and 16 held-out examples of each task, batch 8, one epoch: 60 steps, as lora-tips' quick scale.
    public static readonly MethodsScale Quick = new("quick", 160, 16, 8, 1);
}
