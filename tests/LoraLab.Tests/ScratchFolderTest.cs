namespace LoraLab.Tests;

/// A test class whose every test gets its own scratch folder (deleted after the test), and writes files into it.
public abstract class ScratchFolderTest : IDisposable
{
    protected readonly string _dir;

    protected ScratchFolderTest(string tag) => _dir = TempDir.New(tag);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// Writes `content` to `name` in the scratch folder and returns its path.
    protected string Write(string name, string content)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllText(path, content);
        return path;
    }
}
