using LoraLab.Hub;
using Xunit;

namespace LoraLab.Tests.Hub;

/// What reads as a Hub repo id and what stays a local path.
public class HubRepoIdTests
{
    [Theory]
    [InlineData("TinyLlama/TinyLlama-1.1B-Chat-v1.0", "TinyLlama/TinyLlama-1.1B-Chat-v1.0", "main")]
    [InlineData("test-org/tiny", "test-org/tiny", "main")]
    [InlineData("org_1/name.v2", "org_1/name.v2", "main")]
    [InlineData(" test-org/tiny ", "test-org/tiny", "main")]
    [InlineData("test-org/tiny@v1.0", "test-org/tiny", "v1.0")]
    [InlineData("test-org/tiny@refs/pr/1", "test-org/tiny", "refs/pr/1")]
    [InlineData("test-org/tiny@0123456789abcdef0123456789abcdef01234567", "test-org/tiny", "0123456789abcdef0123456789abcdef01234567")]
    public void Accepts(string value, string id, string revision)
    {
        var repo = HubRepoId.TryParse(value);
        Assert.NotNull(repo);
        Assert.Equal(id, repo.Id);
        Assert.Equal(revision, repo.Revision);
        Assert.Equal("models--" + id.Replace("/", "--"), repo.FolderName);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("tiny")]                      // a bare name: a local folder
    [InlineData("./a/b")]
    [InlineData("../a/b")]
    [InlineData("/abs/x")]
    [InlineData("a/b/c")]
    [InlineData("a/b/")]
    [InlineData("a--b/c")]
    [InlineData("a/b..c")]
    [InlineData("a/b.")]
    [InlineData("a/b-")]
    [InlineData("-a/b")]
    [InlineData(@"a\b")]
    [InlineData("a/b@")]
    [InlineData("a b/c")]
    [InlineData("~/models")]
    [InlineData("C:/models")]
    [InlineData("modèles/llama")]             // the Hub allows ASCII only: a local path
    [InlineData("a/b@re v")]
    [InlineData("a/b@../../../../evil-ref")]   // refs/{revision} would leave the cache
    [InlineData("a/b@..")]
    [InlineData("a/b@refs//x")]
    public void Refuses(string? value) => Assert.Null(HubRepoId.TryParse(value));

    [Fact]
    public void Names_longer_than_the_hub_allows_are_refused()
    {
        Assert.NotNull(HubRepoId.TryParse("o/" + new string('n', 94)));
        Assert.Null(HubRepoId.TryParse("o/" + new string('n', 95)));
    }

    [Fact]
    public void Only_a_full_40_hex_revision_is_a_commit()
    {
        Assert.True(HubRepoId.TryParse("a/b@" + new string('a', 40))!.RevisionIsCommit);
        Assert.False(HubRepoId.TryParse("a/b@" + new string('a', 39))!.RevisionIsCommit);
        Assert.False(HubRepoId.TryParse("a/b@main")!.RevisionIsCommit);
        Assert.False(HubRepoId.TryParse("a/b@" + new string('A', 40))!.RevisionIsCommit);   // as huggingface_hub: lower-case hex only
        Assert.Equal("a/b", HubRepoId.TryParse("a/b")!.ToString());
        Assert.Equal("a/b@v1", HubRepoId.TryParse("a/b@v1")!.ToString());
    }
}
