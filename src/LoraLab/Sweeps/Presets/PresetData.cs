using LoraLab.Data;
using LoraLab.Data.Demo;
using LoraLab.Demo;

namespace LoraLab.Sweeps.Presets;

/// The slice of the demo data a preset trains and scores on, written to DIR/data/: train.json (the first N examples
/// of each task, in the demo's mixed order) and heldout.json (the first M of each task, the examples the demo tasks
/// score).
public static class PresetData
{
    public const string Folder = "data", TrainData = "train.json", HeldOutData = "heldout.json";

    /// Writes train.json and heldout.json and returns what they hold.
    public static (IReadOnlyList<DemoExample> Train, IReadOnlyList<DemoExample> HeldOut) Write(string dir, int trainPerTask, int heldOutPerTask, string assetsDir)
    {
        var data = Directory.CreateDirectory(Path.Combine(dir, Folder)).FullName;
        var train = DemoTasks.FromRecords(DatasetReader.Load(Path.Combine(assetsDir, DemoAssets.DataFolder, DemoAssets.TrainFile)));
        var held = DemoTasks.FromRecords(DatasetReader.Load(Path.Combine(assetsDir, DemoAssets.DataFolder, DemoAssets.HeldOutFile)));
        var trainCut = FirstOfEachTask(train, trainPerTask);
        WriteFile(Path.Combine(data, TrainData), trainCut);
        var heldCut = FirstOfEachTask(held, heldOutPerTask);
        WriteFile(Path.Combine(data, HeldOutData), heldCut);
        return (trainCut, heldCut);
    }

    static List<DemoExample> FirstOfEachTask(IReadOnlyList<DemoExample> examples, int perTask)
    {
        var taken = new Dictionary<string, int>();
        return examples.Where(e => (taken[e.Task] = taken.GetValueOrDefault(e.Task) + 1) <= perTask).ToList();
    }

    /// Same content → same bytes, so a restarted preset finds its data unchanged and its finished runs valid.
    public static void WriteFile(string path, IReadOnlyList<DemoExample> examples)
    {
        var text = DemoTasks.AlpacaJson(examples);
        if (File.Exists(path) && File.ReadAllText(path) == text) return;
        IO.AtomicFile.WriteAllText(path, text);
    }
}
