using Xunit;

namespace LoraLab.Tests;

/// Locates `../shared` (fixtures and the peer benchmark) beside the project root.
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

    public const string SkipReason = "../shared (reference fixtures) is not beside the project root; this test needs it and is skipped.";
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

/// A fact that needs `../shared`: skipped with a clear reason when the folder is absent, run when present.
public sealed class SharedFactAttribute : FactAttribute
{
    public SharedFactAttribute()
    {
        if (SharedFixtures.Root is null) Skip = SharedFixtures.SkipReason;
    }
}

/// A theory that needs `../shared`.
public sealed class SharedTheoryAttribute : TheoryAttribute
{
    public SharedTheoryAttribute()
    {
        if (SharedFixtures.Root is null) Skip = SharedFixtures.SkipReason;
    }
}
