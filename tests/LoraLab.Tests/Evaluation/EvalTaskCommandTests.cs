using System.Text.Json;
using LoraLab.Adapters;
using LoraLab.Evaluation.Tasks;
using LoraLab.ModelFiles;
using LoraLab.Tests.Adapters;
using Xunit;

namespace LoraLab.Tests.Tasks;

/// `loralab eval --task`: several adapters scored side by side on the same examples in one run.
[Collection("cli")]
public class EvalTaskCommandTests
{
    static readonly string Model = RepoFixtures.Path_("tiny-chat");
    static readonly string McData = RepoFixtures.Path_("tasks", "mc.jsonl");

    /// The questions of MultipleChoiceKnownAnswerTests as a task file: one-word choices, so learning the right one settles it.
    static string SecretData()
    {
        var path = Path.Combine(TempDir.New(), "secret.jsonl");
        File.WriteAllLines(path, MultipleChoiceKnownAnswerTests.Questions.Select(q => JsonSerializer.Serialize(new { context = q.Context, choices = q.Choices, gold = q.Gold })));
        return path;
    }

    /// An adapter for tiny-chat trained on the right answers of a task file (LoRA weights only), and one with random B.
    static (string Knows, string Random) Adapters(string data)
    {
        var root = TempDir.New();
        string knows = Path.Combine(root, "knows"), random = Path.Combine(root, "random");
        var cfg = new LoraConfig { R = 8, Alpha = 16, TargetModules = [.. LoraTargets.Presets["all"], "lm_head"] };
        using (var loaded = ModelLoader.Load(Model))
        {
            LoraInjector.Apply(loaded.Model, cfg, seed: 1);
            var encoder = new PlainTextEncoder(loaded.RequireTokenizer());
            var answers = TaskFile.LoadChoices(data, TaskFormat.Plain, TaskFields.Parse(null))
                .Select(q => { var r = encoder.Encode(q.Context, " " + q.Choices[q.Gold]); return r.Context.Concat(r.Continuation).ToArray(); }).ToList();
            TinyTraining.Train(loaded.Model, answers, steps: 20, trainable: LoraInjector.TrainableParameters(loaded.Model), lr: 5e-2);
            PeftFormat.Save(knows, loaded.Model, cfg);
        }
        using (var loaded = ModelLoader.Load(Model))
        {
            LoraInjector.Apply(loaded.Model, cfg, seed: 2);
            LoraTestModels.RandomizeB(loaded.Model, seed: 3);
            PeftFormat.Save(random, loaded.Model, cfg);
        }
        return (knows, random);
    }

    static double BaseAcc(string data, string metric)
    {
        using var loaded = ModelLoader.Load(Model);
        var r = MultipleChoice.Score(loaded.Model, new PlainTextEncoder(loaded.RequireTokenizer()), TaskFile.LoadChoices(data, TaskFormat.Plain, TaskFields.Parse(null)));
        return metric == "acc" ? r.Acc.Value : r.AccNorm.Value;
    }

    [Fact]
    public void Adapters_side_by_side_score_the_same_examples_each_on_its_own_model()
    {
        var data = SecretData();
        var (knows, random) = Adapters(data);
        var (code, stdout, err) = CliRunner.Run("eval", "--model", Model, "--task", "mc", "--data", data,
            "--adapter", knows, "--adapter", random, "--adapter", "none", "--json", "--score-batch", "4");
        Assert.True(code == 0, err);
        var root = JsonDocument.Parse(stdout).RootElement;
        Assert.Equal(4, root.GetProperty("examples").GetInt32());
        var results = root.GetProperty("results").EnumerateArray().ToList();
        Assert.Equal([knows, random, "none"], results.Select(r => r.GetProperty("adapter").GetString()));
        double Score(int i, string m) => results[i].GetProperty("scores").GetProperty(m).GetProperty("value").GetDouble();
        Assert.Equal(1.0, Score(0, "acc"));
        Assert.Equal(0.0, results[0].GetProperty("scores").GetProperty("acc").GetProperty("stderr").GetDouble());
        // the base column is the base's score: nothing of the adapters scored before it stays in the model
        Assert.Equal(BaseAcc(data, "acc"), Score(2, "acc"));
        Assert.Equal(BaseAcc(data, "acc_norm"), Score(2, "acc_norm"));
        Assert.True(Score(2, "acc") < 1.0);
        double p = Score(2, "acc");
        Assert.Equal(Math.Sqrt(p * (1 - p) / 3), results[2].GetProperty("scores").GetProperty("acc").GetProperty("stderr").GetDouble(), 12);
    }

    [Fact]
    public void The_table_has_a_column_per_adapter_with_standard_errors()
    {
        var (code, stdout, err) = CliRunner.Run("eval", "--model", Model, "--task", "mc", "--data", McData, "--adapter", "none", "--limit", "4");
        Assert.True(code == 0, err);
        Assert.Contains("mc.jsonl: 4 examples", stdout);
        Assert.Contains("none (base)", stdout);
        Assert.Matches(@"acc_norm\s*│\s*\d\.\d{4} ± \d\.\d{4}", stdout);
    }

    [Fact]
    public void Template_renders_every_models_prompts_and_is_named_in_the_result()
    {
        var (code, stdout, err) = CliRunner.Run("eval", "--model", Model, "--task", "mc", "--data", McData, "--template", "alpaca", "--json");
        Assert.True(code == 0, err);
        var r = JsonDocument.Parse(stdout).RootElement.GetProperty("results")[0];
        Assert.Equal("alpaca", r.GetProperty("template").GetString());
        var (code2, stdout2, _) = CliRunner.Run("eval", "--model", Model, "--task", "mc", "--data", McData, "--json");
        Assert.Equal(0, code2);
        Assert.Equal(JsonValueKind.Null, JsonDocument.Parse(stdout2).RootElement.GetProperty("results")[0].GetProperty("template").ValueKind);
    }

    [Fact]
    public void Generation_task_scores_exact_match_with_an_answer_regex()
    {
        var data = Path.Combine(TempDir.New(), "sums.jsonl");
        File.WriteAllLines(data, ["{\"question\": \"What is 98 plus 45?\", \"answer\": \"143\"}", "{\"question\": \"What is 1 plus 1?\", \"answer\": \"2\"}"]);
        var (code, stdout, err) = CliRunner.Run("eval", "--model", Model, "--task", "gen", "--data", data, "--field", "prompt=question",
            "--answer-regex", "(\\d+)", "--max-new-tokens", "4", "--json");
        Assert.True(code == 0, err);
        var r = JsonDocument.Parse(stdout).RootElement.GetProperty("results")[0];
        Assert.Equal("none", r.GetProperty("adapter").GetString());
        Assert.Equal(0.0, r.GetProperty("scores").GetProperty("exact_match").GetProperty("value").GetDouble());
    }

    [Theory]
    [InlineData("--task", "maybe", "--task maybe: unknown task kind (mc, gen or dpo)")]
    [InlineData("--format", "squad", "--format squad: unknown format (one of jsonl, mmlu, arc, hellaswag, truthfulqa-mc1)")]
    [InlineData("--field", "question", "--field question: expected FIELD=COLUMN, e.g. --field context=question")]
    [InlineData("--field", "query=question", "--field query=question: unknown field 'query' (one of context, choices, gold, prompt, answer)")]
    public void Bad_task_flags_are_one_line_errors(string flag, string value, string message)
    {
        string[] args = flag == "--task" || flag == "--format" ? ["eval", "--model", Model, "--data", McData, flag, value] : ["eval", "--model", Model, "--data", McData, "--task", "mc", flag, value];
        var (code, _, err) = CliRunner.Run(args);
        Assert.Equal(2, code);
        Assert.Equal($"error: {message}", err.Trim());
    }

    [Fact]
    public void Several_adapters_without_a_task_are_refused()
    {
        var (code, _, err) = CliRunner.Run("eval", "--model", Model, "--data", McData, "--adapter", "a", "--adapter", "b");
        Assert.Equal(2, code);
        Assert.Contains("give --task mc|gen", err);
    }

    [Fact]
    public void A_task_file_row_with_a_missing_column_names_the_line_and_the_flag()
    {
        var data = Path.Combine(TempDir.New(), "q.jsonl");
        File.WriteAllLines(data, ["{\"context\": \"a\", \"choices\": [\"x\", \"y\"], \"gold\": 0}", "{\"question\": \"b\", \"choices\": [\"x\"], \"gold\": 0}"]);
        var (code, _, err) = CliRunner.Run("eval", "--model", Model, "--task", "mc", "--data", data);
        Assert.Equal(2, code);
        Assert.Equal($"error: {data}:2: no 'context' column (name another with --field context=COLUMN)", err.Trim());
    }
}
