using LoraLab.Data;
using Parquet.Serialization;
using Xunit;

namespace LoraLab.Tests.Data;

public class DatasetReaderTests() : ScratchFolderTest("data")
{
    [Fact]
    public void ReadsAlpacaJsonArrayWithAndWithoutInput()
    {
        var path = Write("a.json", """
            [
              {"instruction": "Add", "input": "1 2", "output": "3"},
              {"instruction": "Greet", "input": "", "output": "Hi"},
              {"instruction": "No input field", "output": "ok"},
              {"instruction": "Null input", "input": null, "output": "ok"}
            ]
            """);
        var records = DatasetReader.Load(path);
        Assert.Equal(4, records.Count);
        var first = Assert.IsType<AlpacaRecord>(records[0]);
        Assert.Equal(("Add", "1 2", "3"), (first.Instruction, first.Input, first.Output));
        Assert.All(records.Skip(1), r => Assert.Equal("", ((AlpacaRecord)r).Input));
        Assert.Equal($"{path}: record [2]", records[2].Origin);
    }

    [Fact]
    public void ReadsEachFormatFromJsonLinesPerRecord()
    {
        var path = Write("mixed.jsonl", string.Join("\n",
            """{"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}]}""",
            "",
            """{"conversations": [{"from": "human", "value": "Q"}, {"from": "gpt", "value": "A"}]}""",
            """{"text": "Just text ü"}""",
            """{"input_ids": [5, 6, 7], "labels": [-100, 6, 7]}""",
            """{"input_ids": [8.0, 9]}""",
            """{"instruction": "I", "output": "O"}""") + "\n");
        var records = DatasetReader.Load(path);
        Assert.Equal(6, records.Count);
        var chat = Assert.IsType<ChatRecord>(records[0]);
        Assert.Equal(["system", "user", "assistant"], chat.Messages.Select(m => m.Role));
        var share = Assert.IsType<ChatRecord>(records[1]);
        Assert.Equal([new ChatMessage("user", "Q"), new ChatMessage("assistant", "A")], share.Messages);
        Assert.Equal($"{path}:3", share.Origin); // line numbers count the blank line
        Assert.Equal("Just text ü", Assert.IsType<TextRecord>(records[2]).Text);
        var tok = Assert.IsType<TokenizedRecord>(records[3]);
        Assert.Equal([5, 6, 7], tok.InputIds);
        Assert.Equal([-100, 6, 7], tok.Labels!);
        var floats = Assert.IsType<TokenizedRecord>(records[4]);
        Assert.Equal([8, 9], floats.InputIds); // integral floats, as some writers store ids
        Assert.Null(floats.Labels);
        Assert.IsType<AlpacaRecord>(records[5]);
    }

    public sealed class AlpacaRow { public string instruction { get; set; } = ""; public string input { get; set; } = ""; public string output { get; set; } = ""; }
    public sealed class Turn { public string role { get; set; } = ""; public string content { get; set; } = ""; }
    public sealed class ChatRow { public List<Turn> messages { get; set; } = []; }
    public sealed class TokenRow { public List<int> input_ids { get; set; } = []; }

    [Fact]
    public async Task ReadsParquetColumnsIncludingNestedMessages()
    {
        var alpaca = Path.Combine(_dir, "alpaca.parquet");
        await ParquetSerializer.SerializeAsync(new[]
        {
            new AlpacaRow { instruction = "Translate", input = "Hallo", output = "Hello" },
            new AlpacaRow { instruction = "Count", input = "", output = "1 2 3" },
        }, alpaca);
        var chat = Path.Combine(_dir, "chat.parquet");
        await ParquetSerializer.SerializeAsync(new[]
        {
            new ChatRow { messages = [new Turn { role = "user", content = "Hi" }, new Turn { role = "assistant", content = "Hey" }] },
        }, chat);
        var tokens = Path.Combine(_dir, "tokens.parquet");
        await ParquetSerializer.SerializeAsync(new[] { new TokenRow { input_ids = [3, 4, 5] } }, tokens);

        var a = DatasetReader.Load(alpaca);
        Assert.Equal(new AlpacaRecord($"{alpaca}: row 0", "Translate", "Hallo", "Hello"), a[0]);
        Assert.Equal("", ((AlpacaRecord)a[1]).Input);
        var c = Assert.IsType<ChatRecord>(Assert.Single(DatasetReader.Load(chat)));
        Assert.Equal([new ChatMessage("user", "Hi"), new ChatMessage("assistant", "Hey")], c.Messages);
        Assert.Equal([3, 4, 5], Assert.IsType<TokenizedRecord>(Assert.Single(DatasetReader.Load(tokens))).InputIds);

        // A folder reads its shards in name order.
        var all = DatasetReader.Load(_dir);
        Assert.Equal(4, all.Count);
        Assert.IsType<AlpacaRecord>(all[0]);
        Assert.IsType<ChatRecord>(all[2]);
    }

    [Fact]
    public void MalformedJsonLineNamesFileAndLine()
    {
        var path = Write("bad.jsonl", "{\"text\": \"a\"}\n{\"text\": \"b\"}\n{\"text\": \"c\",}\n");
        var e = Assert.Throws<UserException>(() => DatasetReader.Load(path));
        Assert.StartsWith($"{path}:3: malformed JSON", e.Message);
    }

    [Fact]
    public void MalformedJsonArrayNamesFileLine()
    {
        var path = Write("bad.json", "[\n {\"text\": \"a\"},\n {\"text\": b}\n]");
        var e = Assert.Throws<UserException>(() => DatasetReader.Load(path));
        Assert.StartsWith($"{path}:3: malformed JSON", e.Message);
    }

    [Fact]
    public void MissingFieldNamesRecordAndField()
    {
        var array = Write("missing.json", """[{"instruction": "a", "output": "b"}, {"instruction": "c"}]""");
        var e = Assert.Throws<UserException>(() => DatasetReader.Load(array));
        Assert.Contains($"{array}: record [1]", e.Message);
        Assert.Contains("field 'output' is missing", e.Message);

        var lines = Write("missing.jsonl", "{\"text\": \"ok\"}\n{\"messages\": [{\"role\": \"user\"}]}\n");
        e = Assert.Throws<UserException>(() => DatasetReader.Load(lines));
        Assert.Contains($"{lines}:2", e.Message);
        Assert.Contains("field 'messages[0].content' is missing", e.Message);
    }

    [Theory]
    [InlineData("""{"messages": [{"role": "bot", "content": "x"}]}""", "field 'messages[0].role' has unknown role 'bot'")]
    [InlineData("""{"conversations": [{"from": "human", "value": 3}]}""", "field 'conversations[0].value' must be a string, found a number")]
    [InlineData("""{"messages": "hi"}""", "field 'messages' must be a list")]
    [InlineData("""{"input_ids": [1, 2], "labels": [1]}""", "field 'labels' has 1 entries but 'input_ids' has 2")]
    [InlineData("""{"input_ids": [1, "x"]}""", "field 'input_ids[1]' must be an integer")]
    [InlineData("""{"prompt": "a", "completion": "b"}""", "record has none of the known fields (found 'prompt', 'completion')")]
    [InlineData("""["not", "an", "object"]""", "expected a JSON object per record")]
    public void BadRecordsAreUserErrorsNamingTheField(string line, string expected)
    {
        var path = Write("bad.jsonl", "{\"text\": \"fine\"}\n" + line + "\n");
        var e = Assert.Throws<UserException>(() => DatasetReader.Load(path));
        Assert.StartsWith($"{path}:2: ", e.Message);
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void EmptyDatasetAndMissingPathAreErrors()
    {
        var empty = Write("empty.jsonl", "\n\n");
        Assert.Contains("empty", Assert.Throws<UserException>(() => DatasetReader.Load(empty)).Message);
        var emptyArray = Write("empty.json", "[]");
        Assert.Contains("empty", Assert.Throws<UserException>(() => DatasetReader.Load(emptyArray)).Message);
        var missing = Path.Combine(_dir, "nope.jsonl");
        Assert.Contains(missing, Assert.Throws<UserException>(() => DatasetReader.Load(missing)).Message);
    }

    [Fact]
    public void NonParquetFileWithParquetExtensionIsUserError()
    {
        var path = Write("fake.parquet", "this is not parquet");
        var e = Assert.Throws<UserException>(() => DatasetReader.Load(path));
        Assert.StartsWith($"{path}: cannot read as Parquet", e.Message);
    }
}
