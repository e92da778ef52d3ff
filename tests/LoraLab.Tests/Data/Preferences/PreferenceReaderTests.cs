using LoraLab.Data;
using LoraLab.Data.Preferences;
using Parquet.Serialization;
using Xunit;

namespace LoraLab.Tests.Data.Preferences;

public class PreferenceReaderTests() : ScratchFolderTest("prefs")
{
    const string Chat = """{"prompt": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}], "chosen": [{"role": "assistant", "content": "Hello!"}], "rejected": [{"role": "assistant", "content": "Go away."}]}""";

    [Fact]
    public void ReadsStringAndConversationalRowsFromJsonLines()
    {
        var path = Write("p.jsonl", "{\"prompt\": \"2+2=\", \"chosen\": \"4\", \"rejected\": \"5\"}\n\n" + Chat + "\n");
        var rows = PreferenceReader.Load(path);
        Assert.Equal(new TextPreference($"{path}:1", path, 1, "2+2=", "4", "5"), rows[0]);
        var c = Assert.IsType<ChatPreference>(rows[1]);
        Assert.Equal(($"{path}:3", 3), (c.Origin, c.Line));
        Assert.Equal([new ChatMessage("system", "Be brief."), new ChatMessage("user", "Hi")], c.Prompt);
        Assert.Equal([new ChatMessage("assistant", "Hello!")], c.Chosen);
        Assert.Equal([new ChatMessage("assistant", "Go away.")], c.Rejected);
    }

    [Fact]
    public void ReadsJsonArraysByElement()
    {
        var path = Write("p.json", "[\n{\"prompt\": \"a\", \"chosen\": \"b\", \"rejected\": \"c\"},\n" + Chat + "\n]");
        var rows = PreferenceReader.Load(path);
        Assert.Equal(2, rows.Count);
        Assert.Equal(($"{path}: record [1]", 1), (rows[1].Origin, rows[1].Line));
        var e = Assert.Throws<UserException>(() => PreferenceReader.Load(Write("bad.json", "[{\"prompt\": \"a\", \"chosen\": \"b\", \"rejected\": \"c\"}, {\"prompt\": \"a\", \"chosen\": \"\", \"rejected\": \"c\"}]")));
        Assert.Equal($"{Path.Combine(_dir, "bad.json")}: record [1]: field 'chosen' is empty", e.Message);
    }

    public sealed class TextRow { public string prompt { get; set; } = ""; public string chosen { get; set; } = ""; public string rejected { get; set; } = ""; }
    public sealed class Turn { public string role { get; set; } = ""; public string content { get; set; } = ""; }
    public sealed class ChatRow { public List<Turn> prompt { get; set; } = []; public List<Turn> chosen { get; set; } = []; public List<Turn> rejected { get; set; } = []; }

    [Fact]
    public async Task ReadsParquetRowsIncludingMessageColumns()
    {
        var text = Path.Combine(_dir, "text.parquet");
        await ParquetSerializer.SerializeAsync(new[] { new TextRow { prompt = "a", chosen = "b", rejected = "c" }, new TextRow { prompt = "d", chosen = "", rejected = "f" } }, text);
        var e = Assert.Throws<UserException>(() => PreferenceReader.Load(text));
        Assert.Equal($"{text}: row 1: field 'chosen' is empty", e.Message);

        var chat = Path.Combine(_dir, "chat.parquet");
        await ParquetSerializer.SerializeAsync(new[]
        {
            new ChatRow { prompt = [new Turn { role = "user", content = "Hi" }], chosen = [new Turn { role = "assistant", content = "Hey" }], rejected = [new Turn { role = "assistant", content = "No" }] },
        }, chat);
        var c = Assert.IsType<ChatPreference>(Assert.Single(PreferenceReader.Load(chat)));
        Assert.Equal(($"{chat}: row 0", 0), (c.Origin, c.Line));
        Assert.Equal([new ChatMessage("assistant", "No")], c.Rejected);
        Assert.True(PreferenceReader.IsPreferenceFile(chat));
    }

    [Theory]
    [InlineData("""{"prompt": "a", "chosen": "b"}""", "field 'rejected' is missing (preference rows need 'prompt', 'chosen' and 'rejected')")]
    [InlineData("""{"chosen": "b", "rejected": "c"}""", "field 'prompt' is missing")]
    [InlineData("""{"prompt": "a", "chosen": null, "rejected": "c"}""", "field 'chosen' is missing")]
    [InlineData("""{"messages": [{"role": "user", "content": "a"}]}""", "found 'messages': this is supervised (SFT) data, not preference pairs")]
    [InlineData("""{"prompt": "a", "chosen": 3, "rejected": "c"}""", "field 'chosen' must be a string or a list of {\"role\", \"content\"} messages, found a number")]
    [InlineData("""{"prompt": {"x": 1}, "chosen": "b", "rejected": "c"}""", "field 'prompt' must be a string or a list of {\"role\", \"content\"} messages, found an object")]
    [InlineData("""{"prompt": "a", "chosen": [{"role": "assistant", "content": "b"}], "rejected": "c"}""", "field 'chosen' is a list of messages but 'prompt' is a string; a row's 'prompt', 'chosen' and 'rejected' are all strings or all lists")]
    [InlineData("""{"prompt": [{"role": "user", "content": "a"}], "chosen": [{"role": "assistant", "content": "b"}], "rejected": "c"}""", "field 'rejected' is a string but 'prompt' is a list of messages")]
    [InlineData("""{"prompt": "", "chosen": "b", "rejected": "c"}""", "field 'prompt' is empty")]
    [InlineData("""{"prompt": "a", "chosen": "b", "rejected": ""}""", "field 'rejected' is empty")]
    [InlineData("""{"prompt": [{"role": "user", "content": "a"}], "chosen": [{"role": "robot", "content": "b"}], "rejected": [{"role": "assistant", "content": "c"}]}""", "field 'chosen[0].role' has unknown role 'robot'")]
    [InlineData("""{"prompt": [{"role": "user", "content": "a"}], "chosen": [{"role": "user", "content": "b"}], "rejected": [{"role": "assistant", "content": "c"}]}""", "field 'chosen[0].role' is 'user'; a completion holds assistant messages only")]
    [InlineData("""{"prompt": [{"role": "user", "content": "a"}], "chosen": [{"role": "assistant", "content": "b"}], "rejected": [{"role": "assistant", "content": ""}]}""", "field 'rejected[0].content' is empty")]
    [InlineData("""{"prompt": [{"role": "user", "content": "a"}], "chosen": [{"role": "assistant"}], "rejected": [{"role": "assistant", "content": "c"}]}""", "field 'chosen[0].content' is missing")]
    [InlineData("""{"prompt": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}], "chosen": [{"role": "assistant", "content": "b"}], "rejected": [{"role": "assistant", "content": "c"}]}""", "field 'prompt[1].role' is 'assistant'; the prompt must end with a user message")]
    [InlineData("""{"prompt": [], "chosen": [{"role": "assistant", "content": "b"}], "rejected": [{"role": "assistant", "content": "c"}]}""", "field 'prompt' is an empty list")]
    [InlineData("""["prompt", "chosen"]""", "expected a JSON object per record, found a list")]
    public void EveryBadRowNamesFileLineAndField(string row, string expected)
    {
        var path = Write("bad.jsonl", "{\"prompt\": \"ok\", \"chosen\": \"y\", \"rejected\": \"n\"}\n" + row + "\n");
        var e = Assert.Throws<UserException>(() => PreferenceReader.Load(path));
        Assert.StartsWith($"{path}:2: ", e.Message);
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void MalformedJsonEmptyAndMissingFilesAreUserErrors()
    {
        var bad = Write("bad.jsonl", "{\"prompt\": \"a\", \"chosen\": \"b\", \"rejected\": \"c\"}\n{\"prompt\": \"a\",}\n");
        Assert.StartsWith($"{bad}:2: malformed JSON", Assert.Throws<UserException>(() => PreferenceReader.Load(bad)).Message);
        var empty = Write("empty.jsonl", "\n");
        Assert.Equal($"{empty}: the preference data is empty (no records)", Assert.Throws<UserException>(() => PreferenceReader.Load(empty)).Message);
        var missing = Path.Combine(_dir, "nope.jsonl");
        Assert.Equal($"preference data not found: {missing}", Assert.Throws<UserException>(() => PreferenceReader.Load(missing)).Message);
    }

    [Fact]
    public void IsPreferenceFileTellsPairsFromSupervisedData()
    {
        Assert.True(PreferenceReader.IsPreferenceFile(Write("p.jsonl", "{\"prompt\": \"a\", \"chosen\": \"b\", \"rejected\": \"c\"}\n{not json")));
        Assert.True(PreferenceReader.IsPreferenceFile(Write("p.json", "[" + Chat + "]")));
        Assert.False(PreferenceReader.IsPreferenceFile(Write("sft.jsonl", "{\"instruction\": \"a\", \"output\": \"b\"}\n")));
        Assert.False(PreferenceReader.IsPreferenceFile(Write("half.jsonl", "{\"prompt\": \"a\", \"chosen\": \"b\"}\n")));
        Assert.False(PreferenceReader.IsPreferenceFile(Write("broken.jsonl", "{oops\n")));
        Assert.False(PreferenceReader.IsPreferenceFile(Path.Combine(_dir, "missing.jsonl")));
        var folder = Directory.CreateDirectory(Path.Combine(_dir, "shards")).FullName;
        File.WriteAllText(Path.Combine(folder, "a.jsonl"), "{\"prompt\": \"a\", \"chosen\": \"b\", \"rejected\": \"c\"}\n");
        File.WriteAllText(Path.Combine(folder, "b.jsonl"), "{\"prompt\": \"d\", \"chosen\": \"e\", \"rejected\": \"f\"}\n");
        Assert.True(PreferenceReader.IsPreferenceFile(folder));
        Assert.Equal(["a", "d"], PreferenceReader.Load(folder).Select(r => ((TextPreference)r).Prompt));
    }
}
