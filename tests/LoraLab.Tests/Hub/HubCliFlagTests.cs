using System.Reflection;
using LoraLab.Cli;
using LoraLab.Cli.Commands;
using LoraLab.Cli.Hub;
using LoraLab.Configuration;
using LoraLab.Hub;
using LoraLab.Training;
using Spectre.Console.Cli;
using Xunit;

namespace LoraLab.Tests.Hub;

/// The CLI's side of Hub ids that needs no Hub: which verbs take one and `--offline`, the adapter's recorded base
/// when --model is omitted, what run.yaml records, `download`'s argument checks, progress lines, doctor's rows.
[Collection("cli")]
public class HubCliFlagTests : ScratchFolderTest
{
    public HubCliFlagTests() : base("hubflags") { }

    static IReadOnlyDictionary<string, Type> Verbs
    {
        get
        {
            if (!CommandRegistry.SettingsByVerb.ContainsKey("train")) CliRunner.Run("--help");
            return CommandRegistry.SettingsByVerb;
        }
    }

    static readonly string[] ModelFlags = ["--model", "--adapter", "--base", "--ref-adapter"];

    [Fact]
    public void Every_verb_that_takes_a_model_or_adapter_takes_a_hub_id_and_has_offline()
    {
        var takers = new List<string>();
        foreach (var (verb, settings) in Verbs)
        {
            var props = settings.GetProperties();
            var modelOptions = props.Select(p => p.GetCustomAttribute<CommandOptionAttribute>()).OfType<CommandOptionAttribute>()
                .Where(o => o.LongNames.Any(l => ModelFlags.Contains("--" + l))).ToList();
            bool adapterArgs = props.Any(p => p.GetCustomAttribute<CommandArgumentAttribute>() is { ValueName: "ADAPTER" or "ADAPTERS" or "REPO" });
            bool arch = props.Any(p => p.GetCustomAttribute<CommandOptionAttribute>() is { } o && o.LongNames.Contains("arch"));
            if (modelOptions.Count == 0 && !adapterArgs && !arch && verb != "sweep") continue; // sweep: model: in its YAML
            takers.Add(verb);
            Assert.True(typeof(IOfflineFlag).IsAssignableFrom(settings), $"{verb} takes a model or adapter but has no {SharedFlags.Offline}");
            foreach (var o in modelOptions)
                Assert.True(o.ValueName is "DIR|ORG/NAME" or "NAME=DIR|ORG/NAME", $"{verb} --{o.LongNames[0]} <{o.ValueName}>: a folder or a Hub id (serve: named)");
        }
        Assert.Superset(new HashSet<string> { "train", "sweep", "eval", "generate", "chat", "merge", "combine", "analyze", "adapter validate", "data preview", "download", "params", "estimate", "bench", "serve" },
            takers.ToHashSet());
    }

    [Fact]
    public void Offline_applies_to_its_command_only()
    {
        var (code, _, err) = CliRunner.Run("generate", "--model", "loralab-tests/never-cached", "--prompt", "x", "--offline");
        Assert.Equal(2, code);
        Assert.Contains("offline (HF_HUB_OFFLINE or --offline)", err);
        Assert.Contains("loralab-tests/never-cached", err);
        Assert.False(ModelSource.ForceOffline);
    }

    /// A copy of the tiny-llama adapter whose adapter_config.json records `baseModel` (null: none).
    string AdapterRecording(string? baseModel, string? revision = null)
    {
        var dir = Path.Combine(_dir, "adapter");
        Directory.CreateDirectory(dir);
        foreach (var f in Directory.GetFiles(RepoFixtures.Path_("tiny-llama-lora"))) File.Copy(f, Path.Combine(dir, Path.GetFileName(f)), true);
        var cfg = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "adapter_config.json")))!.AsObject();
        cfg["base_model_name_or_path"] = baseModel;
        cfg["revision"] = revision;
        File.WriteAllText(Path.Combine(dir, "adapter_config.json"), cfg.ToJsonString());
        return dir;
    }

    [Fact]
    public void Without_model_the_adapters_recorded_base_is_used_and_said()
    {
        var adapter = AdapterRecording(RepoFixtures.Path_("tiny-llama"));
        var (code, stdout, err) = CliRunner.Run("generate", "--adapter", adapter, "--prompt-ids", "1,2", "--max-new-tokens", "1");
        Assert.True(code == 0, err + stdout);
        Assert.Contains($"note: no --model given; using the adapter's base {RepoFixtures.Path_("tiny-llama")}", err);
    }

    [Fact]
    public void Without_model_a_recorded_hub_base_is_taken_at_its_recorded_revision()
    {
        var adapter = AdapterRecording("loralab-tests/never-cached", revision: "v1");
        var (code, _, err) = CliRunner.Run("generate", "--adapter", adapter, "--prompt-ids", "1,2", "--offline");
        Assert.Equal(2, code);
        Assert.Contains("using the adapter's base loralab-tests/never-cached@v1", err);
        Assert.Contains("no snapshot of loralab-tests/never-cached@v1", err);
    }

    [Fact]
    public void Download_overwrite_without_local_dir_is_refused()
    {
        var (code, _, err) = CliRunner.Run("download", "test-org/tiny", "--overwrite", "--offline");
        Assert.Equal(2, code);
        Assert.Equal("error: --overwrite applies to --local-dir only (the cache is never overwritten)", err.Trim());
    }

    [Fact]
    public void Without_model_and_without_a_recorded_base_model_is_still_required()
    {
        var adapter = AdapterRecording(null);
        var (code, _, err) = CliRunner.Run("generate", "--adapter", adapter, "--prompt-ids", "1,2");
        Assert.Equal(2, code);
        Assert.Equal("error: " + ModelSettings.ModelRequired, err.Trim());
    }

    [Fact]
    public void Run_yaml_records_a_hub_id_as_given_and_a_folder_in_full()
    {
        Assert.Equal("test-org/tiny@v1", RunRecord.FullPath(RunSettings.Model, "test-org/tiny@v1"));
        Assert.Equal("test-org/adapter", RunRecord.FullPath(RunSettings.RefAdapter, "test-org/adapter"));
        Assert.Equal(Path.GetFullPath("test-org/data.jsonl"), RunRecord.FullPath(RunSettings.Data, "test-org/data.jsonl")); // data is a path
        Directory.CreateDirectory(Path.Combine(_dir, "org", "name"));
        var folder = Path.Combine(_dir, "org", "name");
        Assert.Equal(folder, RunRecord.FullPath(RunSettings.Model, folder));
        Assert.Equal("test-org/tiny", ModelSource.BaseModelName("test-org/tiny"));
    }

    [Fact]
    public void Download_refuses_a_value_that_is_no_repo_id_and_two_revisions()
    {
        var (code, _, err) = CliRunner.Run("download", "test-org/tiny@v1", "--revision", "v2", "--offline");
        Assert.Equal(2, code);
        Assert.Equal("error: test-org/tiny@v1 and --revision v2 name two revisions; give one", err.Trim());
        (code, _, err) = CliRunner.Run("download", "/abs/path", "--offline");
        Assert.Equal(2, code);
        Assert.Contains("not a Hugging Face Hub repo id", err);
    }

    [Fact]
    public void Progress_off_a_terminal_is_one_line_per_file_and_a_cut_one_is_closed()
    {
        var err = new StringWriter();
        var bars = new DownloadProgressBars(err);
        var a = bars.Start("config.json", 1536, 0);
        a.Advance(1536);
        a.Done();
        bars.Start("model.safetensors", 3L << 20, 1L << 20).Advance(10);
        bars.Close();
        var lines = err.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Length);
        Assert.Matches(@"^downloading config\.json \(1\.5 KiB\) \.\.\. done \(\d+\.\d s\)$", lines[0]);
        Assert.Equal("downloading model.safetensors (3.0 MiB, resuming at 1.0 MiB) ... stopped", lines[1]);
    }

    [Fact]
    public void Doctor_rows_name_the_cache_its_origin_size_and_token_state_but_never_the_token()
    {
        var cache = Path.Combine(_dir, "hub");
        var blobs = Directory.CreateDirectory(Path.Combine(cache, "models--org--name", "blobs")).FullName;
        File.WriteAllBytes(Path.Combine(blobs, "abc"), new byte[2048]);
        var env = new Dictionary<string, string?> { ["HF_HUB_CACHE"] = cache, ["HF_TOKEN"] = "hf_secret123", ["HF_HUB_OFFLINE"] = "1", ["HF_HOME"] = _dir };
        var rows = HubDoctorRows.Collect(k => env.GetValueOrDefault(k)).ToDictionary(r => r.Name, r => r.Value);
        Assert.Equal($"{cache} (from HF_HUB_CACHE)", rows["Hub cache"]);
        Assert.Equal("2.0 KiB in 1 repo", rows["Hub cache size"]);
        Assert.Equal("https://huggingface.co", rows["Hub endpoint"]);
        Assert.Equal("set (from HF_TOKEN)", rows["Hub token"]);
        Assert.StartsWith("yes", rows["Hub offline"]);
        Assert.DoesNotContain(rows.Values, v => v.Contains("hf_secret123"));

        env = new() { ["HF_HOME"] = _dir };
        rows = HubDoctorRows.Collect(k => env.GetValueOrDefault(k)).ToDictionary(r => r.Name, r => r.Value);
        Assert.Equal($"{Path.Combine(_dir, "hub")} (from HF_HOME/hub)", rows["Hub cache"]);
        Assert.StartsWith("not set", rows["Hub token"]);
        Assert.Equal("no", rows["Hub offline"]);
    }
}
