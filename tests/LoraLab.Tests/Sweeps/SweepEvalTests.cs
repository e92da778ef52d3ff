using LoraLab.Demo;
using LoraLab.Evaluation.Tasks;
using LoraLab.Sweeps;
using Xunit;

namespace LoraLab.Tests.Sweeps;

/// A sweep file's `eval:` tasks: parsing (errors by file:line:key), the demo default, reading the tasks.
public class SweepEvalTests
{
    const string Base = "base:\n  model: m\n  data: d.json\ngrid:\n  r: [2, 4]\n";

    static SweepFile Parse(string text) => SweepYaml.Parse("sweep.yaml", text);
    static string Error(string evalBlock) => Assert.Throws<UserException>(() => Parse(Base + evalBlock)).Message;

    [Fact]
    public void EntriesAreDemoOrTaskFilesWithEvalTasksOptions()
    {
        // two demo entries would repeat count and first
        Assert.Equal("sweep.yaml:8: eval: the task name 'count' is used twice (first at line 7; the demo tasks are named count, first and repeat)",
            Assert.Throws<UserException>(() => Parse(Base + "eval:\n  - demo\n  - {task: demo, limit: 3}\n")).Message);
        var file = Parse(Base + "eval:\n  - {task: demo, limit: 3}\n" +
            "  - task: mc\n    name: quiz\n    data: q.jsonl\n    field: {context: question, gold: label}\n    limit: 5\n" +
            "  - {task: gen, name: sums, data: s.jsonl, answer_regex: '(\\d+)', max_new_tokens: 8}\n  - {task: mc, name: arc, data: a.parquet, format: arc}\n");
        var e = file.Eval!;
        Assert.Equal(["demo", "mc", "gen", "mc"], e.Select(x => x.Kind));
        Assert.Equal((3, null, "sweep.yaml:7"), (e[0].Limit, e[0].Spec, e[0].Origin));
        Assert.Equal(("quiz", "q.jsonl", null, 5), (e[1].Name, e[1].Spec!.Data, e[1].Spec!.Format, e[1].Spec!.Limit));
        Assert.Equal(["context=question", "gold=label"], e[1].Spec!.Fields);
        Assert.Equal(("(\\d+)", 8), (e[2].Spec!.AnswerRegex, e[2].Spec!.MaxNewTokens));
        Assert.Equal(("arc", GenerationTask.DefaultMaxNewTokens), (e[3].Spec!.Format, e[3].Spec!.MaxNewTokens));
        Assert.Equal(["count", "first", "repeat", "quiz", "sums", "arc"], e.SelectMany(x => x.TaskNames));
        Assert.Equal(["count", "first", "repeat"], Parse(Base + "eval: [demo]\n").Eval!.Single().TaskNames);
        Assert.Null(Parse(Base).Eval);
    }

    [Fact]
    public void BadEntriesAreNamedByFileLineAndKey()
    {
        Assert.Equal("sweep.yaml:7: eval: 'dem': a task is demo or a mapping with task: demo|mc|gen", Error("eval:\n  - dem\n"));
        Assert.Equal("sweep.yaml:6: eval: expected a list of tasks (- demo, or - {task: mc, name: NAME, data: FILE})", Error("eval: demo\n"));
        Assert.Equal("sweep.yaml:7: eval: unknown key 'limt' (did you mean 'limit'?)", Error("eval:\n  - {task: demo, limt: 2}\n"));
        Assert.Equal("sweep.yaml:7: eval: task: 'qa' is not a task kind (demo|mc|gen)", Error("eval:\n  - {task: qa}\n"));
        Assert.Equal("sweep.yaml:7: eval: task: missing (demo|mc|gen)", Error("eval:\n  - {name: x}\n"));
        Assert.Equal("sweep.yaml:7: eval: name: missing (a mc task needs name: and data:)", Error("eval:\n  - {task: mc, data: q.jsonl}\n"));
        Assert.Equal("sweep.yaml:9: eval: data: applies to mc and gen tasks (the demo tasks take limit and max_new_tokens)",
            Error("eval:\n  - task: demo\n    limit: 2\n    data: x.jsonl\n"));
        Assert.Equal("sweep.yaml:8: eval: limit: expected a whole number, got 'many'", Error("eval:\n  - task: demo\n    limit: many\n"));
        Assert.Equal("sweep.yaml:7: eval: --limit must be at least 1 (got 0)", Error("eval:\n  - {task: demo, limit: 0}\n"));
        Assert.Equal("sweep.yaml:7: eval: --field applies to --format jsonl (--format mmlu has fixed columns)",
            Error("eval:\n  - {task: mc, name: m, data: m.parquet, format: mmlu, field: {context: q}}\n"));
        Assert.Equal("sweep.yaml:7: eval: --answer-regex applies to --task gen", Error("eval:\n  - {task: mc, name: m, data: m.jsonl, answer_regex: x}\n"));
        Assert.StartsWith("sweep.yaml:7: eval: --format csv: unknown format", Error("eval:\n  - {task: mc, name: m, data: m.jsonl, format: csv}\n"));
        Assert.StartsWith("sweep.yaml:7: eval: --field x=: expected FIELD=COLUMN", Error("eval:\n  - {task: mc, name: m, data: m.jsonl, field: {x: }}\n"));
        Assert.Equal("sweep.yaml:7: eval: name: 'my quiz' may hold only letters, digits, '.', '_', '+' and '-'", Error("eval:\n  - {task: gen, name: my quiz, data: q.jsonl}\n"));
        Assert.Equal("sweep.yaml:8: eval: the task name 'Quiz' is used twice (first at line 7; the demo tasks are named count, first and repeat)",
            Error("eval:\n  - {task: gen, name: quiz, data: q.jsonl}\n  - {task: mc, name: Quiz, data: q.jsonl}\n"));
        Assert.Equal("sweep.yaml:7: duplicate key 'eval' (first at line 6)", Error("eval: [demo]\neval: [demo]\n"));
    }

    [Fact]
    public void WithoutEvalTheDemoBaseGetsTheDemoTasksAndOtherModelsNone()
    {
        var demoBase = Path.Combine(DemoAssets.Locate(), DemoAssets.BaseFolder);
        var demo = SweepTasks.Entries(Parse($"base:\n  model: {demoBase}{Path.DirectorySeparatorChar}\n  data: d.json\ngrid:\n  r: [2, 4]\n"));
        Assert.Equal(["count", "first", "repeat"], demo.Single().TaskNames);
        Assert.Empty(SweepTasks.Entries(Parse(Base)));
        Assert.Empty(SweepTasks.Entries(Parse($"base:\n  model: {Path.Combine(TempDir.New(), DemoAssets.BaseFolder)}\n  data: d.json\ngrid:\n  r: [2]\n")));
        // eval: given wins over the default
        Assert.Equal(["quiz"], SweepTasks.Entries(Parse($"base:\n  model: {demoBase}\n  data: d.json\ngrid:\n  r: [2]\neval:\n  - {{task: mc, name: quiz, data: q.jsonl}}\n"))
            .SelectMany(e => e.TaskNames));
        Assert.Empty(SweepTasks.Entries(Parse($"base:\n  model: {demoBase}\n  data: d.json\ngrid:\n  r: [2]\neval: []\n")));
    }

    [Fact]
    public void TheDemoTasksAreTheHeldOutExamplesFirstNOfEachAndAMissingTaskFileNamesTheEntry()
    {
        var all = SweepTask.Demo();
        var three = SweepTask.Demo(limit: 3);
        Assert.Equal(["count", "first", "repeat"], three.Select(t => t.Name));
        Assert.Equal([3, 3, 3], three.Select(t => t.Data.Count));
        Assert.True(all[0].Data.Count > 3 && all[1].Data.Count > 3);
        Assert.Equal(all[0].Data.Choices!.Take(3), three[0].Data.Choices!);
        Assert.Equal(all[1].Data.Generation!.Take(3), three[1].Data.Generation!);

        var missing = Path.Combine(TempDir.New(), "q.jsonl");
        var file = Parse(Base + $"eval:\n  - {{task: mc, name: quiz, data: {missing}}}\n");
        Assert.Equal($"sweep.yaml:7: eval: {missing}: task file not found", Assert.Throws<UserException>(() => SweepTasks.Load(file.Eval!)).Message);
    }
}
