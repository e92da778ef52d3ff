using System.Diagnostics;
using LoraLab.Adapters;
using LoraLab.Models;
using LoraLab.Runtime;
using LoraLab.Tokenization;
using LoraLab.Configuration;
using LoraLab.Training;
using Xunit;

namespace LoraLab.Tests.Inputs;

/// Every small input file LoraLab parses whole must be a regular file under its size cap: a config symlinked to
/// /dev/zero, a FIFO or a multi-GB file is refused with one line before anything is read.
public class BoundedFileTests : IDisposable
{
    readonly string _dir = TempDir.New("bounded");
    public void Dispose() => Directory.Delete(_dir, recursive: true);

    public static TheoryData<string> Inputs => new()
    {
        "config.json", "tokenizer.json", "tokenizer_config.json", "adapter_config.json", "loralab_adapter.json", "tokenizer.model", "run.yaml",
    };

    /// Reads `file` in `_dir` the way the CLI does.
    void ReadAsLoraLabDoes(string file)
    {
        switch (file)
        {
            case "config.json": ModelConfig.Load(Path.Combine(_dir, file)); break;
            case "tokenizer.json" or "tokenizer.model": TokenizerLoader.Load(_dir); break;
            case "tokenizer_config.json": TokenizerSettings.Read(_dir); break;
            case "adapter_config.json": PeftFormat.ReadConfig(_dir); break;
            case "loralab_adapter.json": AdapterProvenance.Read(_dir); break;
            case "run.yaml": RunConfig.LoadYaml(Path.Combine(_dir, file)); break;
            default: throw new ArgumentException(file);
        }
    }

    /// The error, with a deadline: before the fix a FIFO blocked forever in open(2).
    UserException Refusal(string file)
    {
        var task = Task.Run(() => Assert.Throws<UserException>(() => ReadAsLoraLabDoes(file)));
        Assert.True(task.Wait(TimeSpan.FromSeconds(20)), $"reading {file} did not finish");
        return task.Result;
    }

    [Theory, MemberData(nameof(Inputs))]
    public void AFileOverTheCapIsRefusedBeforeItIsRead(string file)
    {
        var path = Path.Combine(_dir, file);
        long limit = (file switch { "tokenizer.json" => FileLimit.TokenizerJson, "tokenizer.model" => FileLimit.SentencePieceModel,
            "run.yaml" => FileLimit.RunConfig, _ => FileLimit.JsonConfig }).Bytes;
        using (var f = File.Create(path)) f.SetLength(limit + 1); // sparse: no disk used
        var e = Refusal(file);
        Assert.StartsWith($"{path}: ", e.Message);
        Assert.Contains($"is over the {BoundedFile.Size(limit)} limit for a", e.Message);
    }

    [Theory, MemberData(nameof(Inputs))]
    public void AFifoIsRefusedWithoutOpeningIt(string file)
    {
        var fifo = Path.Combine(_dir, "pipe");
        Process.Start("mkfifo", fifo)!.WaitForExit();
        File.CreateSymbolicLink(Path.Combine(_dir, file), fifo);
        var e = Refusal(file);
        Assert.Contains("is a FIFO (named pipe)", e.Message);
        Assert.Contains("not a regular file", e.Message);
    }

    [Fact]
    public void ASymlinkToDevZeroIsRefusedNamingTheTarget()
    {
        var path = Path.Combine(_dir, "config.json");
        File.CreateSymbolicLink(path, "/dev/zero");
        var e = Refusal("config.json");
        Assert.Equal($"{path}: is a character device (/dev/zero), not a regular file; a JSON config file must be a regular file", e.Message);
    }

    [Fact]
    public void AFileUnderTheCapReadsThroughALink()
    {
        var real = Path.Combine(_dir, "real.json");
        File.WriteAllText(real, "\uFEFF{\"a\": 1}");
        var link = Path.Combine(_dir, "link.json");
        File.CreateSymbolicLink(link, real);
        Assert.Equal("{\"a\": 1}", BoundedFile.ReadText(link, FileLimit.JsonConfig));
    }

    /// Only ENOENT means "not found": where statx fails otherwise (ELOOP here; EPERM/ENOSYS under a container's
    /// seccomp filter, which a test cannot set up) the file is looked at by .NET, and the error says what is wrong.
    [Fact]
    public void AStatxFailureOtherThanNotFoundIsNotCalledMissing()
    {
        var path = Path.Combine(_dir, "config.json");
        File.CreateSymbolicLink(path, Path.Combine(_dir, "loop"));
        File.CreateSymbolicLink(Path.Combine(_dir, "loop"), path);
        var e = Refusal("config.json");
        Assert.StartsWith($"{path}: cannot be opened (Too many levels of symbolic links", e.Message);
    }

    [Fact]
    public void SizesAreQuotedInDecimalUnits()
    {
        Assert.Equal("4.2 GB", BoundedFile.Size(4_200_000_000));
        Assert.Equal("16 MB", BoundedFile.Size(16_000_000));
    }
}
