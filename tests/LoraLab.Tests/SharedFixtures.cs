using Xunit;

namespace LoraLab.Tests;

/// Locates `../shared` beside the project root: references the project did not write (the Llama 2 tokenizer, the
/// Stanford Alpaca seed tasks, the peer). Everything the project can make itself is in tests/LoraLab.Tests/Fixtures.
public static class SharedFixtures
{
    public static readonly string? Root = Find();

    static string? Find()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "LoraLab.slnx")))
            {
                var shared = Path.GetFullPath(Path.Combine(dir.FullName, "..", "shared"));
                return Directory.Exists(Path.Combine(shared, "fixtures")) ? shared : null;
            }
        }
        return null;
    }

    public static string Path_(params string[] parts) =>
        Path.Combine(new[] { Root ?? throw new InvalidOperationException("../shared is absent") }.Concat(parts).ToArray());

    public static string SkipReason(string what) => $"needs {what} from ../shared, which is not beside the project root";

    public const string Llama2Tokenizer = "the Llama 2 tokenizer.model (Meta's, from llama2.c; its training data is not ours to regenerate it)";
    public const string AlpacaSeedTasks = "the Stanford Alpaca seed tasks (human-written data, CC BY-NC 4.0)";
    public const string PeerFixtures = "the fixtures the peer made there (to check the committed copies against them)";
}

/// Reference checkpoints committed with the tests (made by tools/make_reference_models.py).
public static class RepoFixtures
{
    public static readonly string Root = Find();

    static string Find()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "LoraLab.slnx")))
                return Path.Combine(dir.FullName, "tests", "LoraLab.Tests", "Fixtures");
        throw new InvalidOperationException("repository root (LoraLab.slnx) not found above the test binaries");
    }

    public static string Path_(params string[] parts) => Path.Combine(new[] { Root }.Concat(parts).ToArray());
}

/// A fact that needs `what` from `../shared`: skipped saying so when the folder is absent, run when present.
public sealed class SharedFactAttribute : FactAttribute
{
    public SharedFactAttribute(string what)
    {
        if (SharedFixtures.Root is null) Skip = SharedFixtures.SkipReason(what);
    }
}

/// A theory that needs `what` from `../shared`.
public sealed class SharedTheoryAttribute : TheoryAttribute
{
    public SharedTheoryAttribute(string what)
    {
        if (SharedFixtures.Root is null) Skip = SharedFixtures.SkipReason(what);
    }
}
