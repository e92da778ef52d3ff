using System.Text.Json;
using LoraLab.Adapters;
using LoraLab.Tests.Adapters;
using LoraLab.Tests.Cli;
using Xunit;

namespace LoraLab.Tests.Guardrails;

/// One short `loralab train` run, then what the guardrails do with its adapter: the sidecar it writes, the stop
/// rate it reports, and generate/eval rendering prompts with the recorded template.
[Collection("cli")]
public class TrainedAdapterTests
{
    static string Data => LoraTestModels.Instructions;

    [Fact]
    public void TrainingRecordsTheTemplateAndBaseReportsStopRateAndServingUsesTheRecord()
    {
        var model = LoraTestModels.TinyChatModel();
        var outDir = Path.Combine(TempDir.New(), "run");
        var (code, stdout, err) = CliRunner.Run("train", "--model", model, "--data", Data, "--out", outDir, "--batch-size", "2",
            "--micro-batch-size", "2", "--max-seq-length", "96", "--lr", "1e-2", "--warmup-steps", "0", "--max-steps", "2",
            "--threads", "2", "--stop-rate-prompts", "2");
        Assert.True(code == 0, err + stdout);
        var adapter = Path.Combine(outDir, "adapter");

        // the sidecar: template, BOS/EOS policy, base fingerprint; adapter_config.json stays PEFT-clean
        var p = AdapterProvenance.Read(adapter)!;
        Assert.Equal("alpaca", p.Template);
        Assert.True(p.AddBos);
        Assert.Equal((1, 2), (p.BosId, p.EosId));
        Assert.Equal(new[] { 2 }, p.StopIds);
        Assert.Null(p.BaseQuantization);
        Assert.True(p.BaseFingerprint!.CompareTo(BaseFingerprint.Compute(model)).Matches);
        Assert.DoesNotContain("template", File.ReadAllText(Path.Combine(adapter, PeftFormat.ConfigFile)));
        var checkpoint = Directory.GetDirectories(Path.Combine(outDir, "checkpoints")).Single();
        Assert.NotNull(AdapterProvenance.Read(checkpoint));

        // the stop rate, in the summary and in metrics.jsonl
        Assert.Contains("stops within 64 tokens", stdout);
        var stop = File.ReadLines(Path.Combine(outDir, "metrics.jsonl")).Select(l => JsonDocument.Parse(l).RootElement)
            .Single(r => r.GetProperty("type").GetString() == "stop_rate");
        Assert.Equal(2, stop.GetProperty("prompts").GetInt32());
        Assert.Equal(64, stop.GetProperty("max_new_tokens").GetInt32());
        Assert.InRange(stop.GetProperty("base_rate").GetDouble(), 0, 1);
        Assert.InRange(stop.GetProperty("tuned_rate").GetDouble(), 0, 1);

        // generate renders with the recorded template by default, warns when told another, refuses --raw with --template
        string[] gen = ["generate", "--model", model, "--adapter", adapter, "--prompt", "Name a colour.", "--max-new-tokens", "3", "--threads", "2"];
        (code, _, err) = CliRunner.Run(gen);
        Assert.True(code == 0, err);
        Assert.Equal("", err);
        (code, _, err) = CliRunner.Run([.. gen, "--template", "chatml"]);
        Assert.True(code == 0, err);
        Assert.Contains("trained with template 'alpaca'", err);
        (code, _, err) = CliRunner.Run([.. gen, "--raw", "--template", "alpaca"]);
        Assert.Equal(2, code);
        (code, _, err) = CliRunner.Run([.. gen, "--raw", "--input", "x"]);
        Assert.Equal(2, code);
        Assert.Contains("--input needs a template", err);

        // eval scores instruction data on the responses, rendered with the recorded template
        var data = Path.Combine(TempDir.New(), "val.jsonl");
        File.WriteAllText(data, "{\"instruction\": \"Name a colour.\", \"input\": \"\", \"output\": \"Blue.\"}\n");
        (code, stdout, err) = CliRunner.Run("eval", "--model", model, "--adapter", adapter, "--data", data, "--json", "--threads", "2");
        Assert.True(code == 0, err);
        var r = JsonDocument.Parse(stdout).RootElement;
        Assert.Equal("alpaca", r.GetProperty("template").GetString());
        Assert.True(r.GetProperty("tokens").GetInt64() is > 0 and < 10);   // only the response (and EOS) is scored

        // chat: stdin lines with the recorded template (alpaca: one message at a time), until /exit; a chat template keeps the history
        (code, stdout, err) = Chat("Name a colour.\nAnd another?\n/exit\nnever read\n", "chat", "--model", model, "--adapter", adapter, "--max-new-tokens", "3", "--threads", "2", "--show-prompt");
        Assert.True(code == 0, err);
        var prompts = err.Split("--- prompt (")[1..];
        Assert.Equal(2, prompts.Length);   // two turns, then /exit; the line after it is never read
        Assert.Contains("### Instruction:\nAnd another?\n\n### Response:", prompts[1]);
        Assert.DoesNotContain("Name a colour.", prompts[1]);
        (code, _, err) = Chat("Hi\nMore\n", "chat", "--model", model, "--template", "llama2-chat", "--system", "Be brief.", "--max-new-tokens", "2", "--threads", "2", "--show-prompt");
        Assert.True(code == 0, err);
        prompts = err.Split("--- prompt (")[1..];
        Assert.Contains("Be brief.", prompts[1]);
        Assert.Contains("Hi [/INST]", prompts[1]);
        Assert.Contains("More [/INST]", prompts[1]);
        (code, _, err) = Chat("", "chat", "--model", model);
        Assert.Equal(2, code);
        Assert.Contains("chat needs a template", err);
    }

    static (int, string, string) Chat(string input, params string[] args)
    {
        var old = Console.In;
        Console.SetIn(new StringReader(input));
        try { return CliRunner.Run(args); }
        finally { Console.SetIn(old); }
    }
}
