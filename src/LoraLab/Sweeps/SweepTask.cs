using LoraLab.Data;
using LoraLab.Data.Demo;
using LoraLab.Demo;
using LoraLab.Evaluation.Tasks;

namespace LoraLab.Sweeps;

/// One task a sweep scores every run on, its examples read and checked: named for its columns (`count acc`).
public sealed record SweepTask(string Name, TaskData Data)
{
    /// The demo world's tasks on the held-out demo examples (assets/demo-data/heldout.json): `count` as multiple
    /// choice, `first` as exact match of the first word; `limit` keeps the first N examples of each.
    public static IReadOnlyList<SweepTask> Demo(int? limit = null, int maxNewTokens = DemoWorldTasks.MaxNewTokens, string? assetsDir = null)
    {
        TaskFile.CheckLimit(limit);
        var heldOut = DemoTasks.FromRecords(DatasetReader.Load(Path.Combine(assetsDir ?? DemoAssets.Locate(), DemoAssets.DataFolder, DemoAssets.HeldOutFile)));
        List<T> First<T>(IEnumerable<T> xs) => (limit is int n ? xs.Take(n) : xs).ToList();
        return
        [
            new(DemoWorldTasks.CountTask, new TaskData(First(DemoWorldTasks.Counting(heldOut)), null, null, maxNewTokens)),
            new(DemoWorldTasks.FirstTask, new TaskData(null, First(DemoWorldTasks.FirstWord(heldOut)), null, maxNewTokens)),
            new(DemoWorldTasks.RepeatTask, new TaskData(null, First(DemoWorldTasks.RepeatWord(heldOut)), null, maxNewTokens)),
        ];
    }

    /// A task file (mc or gen), read whole and checked.
    public static SweepTask FromFile(string name, TaskSpec spec, DataReadOptions? options = null) => new(name, spec.Load(options));
}
