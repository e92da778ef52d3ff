using LoraLab.Data;
using LoraLab.Tests.Fakes;
using Xunit;
using static LoraLab.Tests.Fakes.CharTokenizer;

namespace LoraLab.Tests.Data;

public class ExampleBuilderTests
{
    const int I = LoraLab.Data.Labels.Ignore;
    static readonly AlpacaRecord Record = new("t", "Say hi.", "", "Hi!");

    static ExampleBuilder Builder(string template, CharTokenizer? tok = null, ExampleBuilderOptions? options = null) =>
        new(tok ?? new CharTokenizer(), PromptTemplate.Get(template), options);

    [Fact]
    public void PromptIsMaskedResponseAndEosAreTargets()
    {
        var e = Builder("alpaca").Encode(Record);
        var prompt = Bytes(PromptTemplate.Get("alpaca").RenderPrompt("Say hi."));
        int[] expectedIds = [Bos, .. prompt, .. Bytes("Hi!"), Eos];
        Assert.Equal(expectedIds, e.InputIds);
        int[] expectedLabels = [I, .. prompt.Select(_ => I), .. Bytes("Hi!"), Eos];
        Assert.Equal(expectedLabels, e.Labels);
        Assert.Equal(4, e.TargetTokens);
    }

    [Fact]
    public void FinalEosIsLabelledEvenWhenPadEqualsEos()
    {
        var tok = new CharTokenizer(padId: Eos);
        var examples = new[] { Builder("alpaca", tok).Encode(Record), Builder("alpaca", tok).Encode(new AlpacaRecord("t", "Say hi.", "", "Hello there")) };
        Assert.Equal(Eos, examples[0].Labels[^1]);
        using var batch = Batcher.For(tok).Collate(examples);
        var labels = batch.Labels[0].data<long>().ToArray();
        var ids = batch.InputIds[0].data<long>().ToArray();
        int last = examples[0].Length - 1;
        Assert.Equal(Eos, labels[last]);                                  // the real EOS trains
        Assert.All(labels[(last + 1)..], l => Assert.Equal(I, l));        // the padding (also id 2) does not
        Assert.All(ids[(last + 1)..], id => Assert.Equal(Eos, id));
    }

    [Fact]
    public void ChatMLEndsOnLabelledEndOfTurnWhenItIsSpecial()
    {
        var record = new ChatRecord("t", [new("user", "Q"), new("assistant", "A")]);
        var e = Builder("chatml").Encode(record);
        int imStart = ChatSpecials["<|im_start|>"], imEnd = ChatSpecials["<|im_end|>"];
        int[] prompt = [Bos, imStart, .. Bytes("user\nQ"), imEnd, .. Bytes("\n"), imStart, .. Bytes("assistant\n")];
        Assert.Equal([.. prompt, .. Bytes("A"), imEnd], e.InputIds);
        Assert.Equal([.. prompt.Select(_ => I), .. Bytes("A"), imEnd], e.Labels);
        Assert.Equal([Eos, imEnd], Builder("chatml").StopTokenIds);

        // Without the marker as a special token it is just text, and EOS closes the example instead.
        var plain = Builder("chatml", new CharTokenizer(chatSpecials: false)).Encode(record);
        Assert.Equal([.. Bytes("A<|im_end|>"), Eos], plain.InputIds[^12..]);
        Assert.Equal(Eos, plain.Labels[^1]);
    }

    [Fact]
    public void Llama2MarkersMapToBosAndEosIds()
    {
        var record = new ChatRecord("t", [new("user", "a"), new("assistant", "b"), new("user", "c"), new("assistant", "d")]);
        var e = Builder("llama2-chat").Encode(record);
        int[] ids = [Bos, .. Bytes("[INST] a [/INST]"), .. Bytes(" b "), Eos, Bos, .. Bytes("[INST] c [/INST]"), .. Bytes(" d "), Eos];
        Assert.Equal(ids, e.InputIds);
        // Both EOS are targets; the BOS that opens the second exchange is prompt.
        Assert.Equal([Eos, Eos], e.Labels.Where(l => l == Eos));
        Assert.DoesNotContain(Bos, e.Labels);
    }

    [Fact]
    public void BosIsAddedOnceAndOnlyWhenAsked()
    {
        var text = new TextRecord("t", "<s>already has one");
        Assert.Single(Builder("plain").Encode(text).InputIds, Bos);
        Assert.Equal(Bos, Builder("plain").Encode(text).InputIds[0]);
        var noBos = Builder("plain", new CharTokenizer(addBos: false)).Encode(new TextRecord("t", "x"));
        Assert.Equal([.. Bytes("x"), Eos], noBos.InputIds);
        var forced = Builder("plain", new CharTokenizer(addBos: false), new ExampleBuilderOptions { AddBos = true }).Encode(new TextRecord("t", "x"));
        Assert.Equal(Bos, forced.InputIds[0]);
    }

    [Fact]
    public void TrainOnInputsLabelsEverythingButBos()
    {
        var e = Builder("alpaca", options: new ExampleBuilderOptions { TrainOnInputs = true }).Encode(Record);
        Assert.Equal(I, e.Labels[0]);
        Assert.Equal(e.InputIds[1..], e.Labels[1..]);
    }

    [Fact]
    public void TruncateKeepsStartAndEosWhileDropCounts()
    {
        var shortOne = new AlpacaRecord("t", "a", "", "b");
        var longOne = new AlpacaRecord("t", "a", "", new string('x', 200));
        int max = Builder("alpaca").Encode(shortOne).Length + 20;
        var full = Builder("alpaca").Encode(longOne);

        var truncated = Builder("alpaca", options: new() { MaxSeqLength = max }).Build([shortOne, longOne]);
        Assert.Equal(new DataStats(2, 0, 1, truncated.Stats.Tokens, truncated.Stats.TargetTokens), truncated.Stats);
        var cut = truncated.Examples[1];
        Assert.Equal(max, cut.Length);
        Assert.Equal(full.InputIds[..(max - 1)], cut.InputIds[..^1]);
        Assert.Equal((Eos, Eos), (cut.InputIds[^1], cut.Labels[^1]));

        var dropped = Builder("alpaca", options: new() { MaxSeqLength = max, LongExamples = LongExamplePolicy.Drop }).Build([shortOne, longOne]);
        Assert.Equal((1, 1, 0), (dropped.Stats.Examples, dropped.Stats.Dropped, dropped.Stats.Truncated));
    }

    [Fact]
    public void TruncationInsideThePromptDropsTheExample()
    {
        var longPrompt = new AlpacaRecord("t", new string('q', 300), "", "answer");
        var ok = new AlpacaRecord("t", "a", "", "b");
        var built = Builder("alpaca", options: new() { MaxSeqLength = 150 }).Build([longPrompt, ok]);
        Assert.Equal((1, 1, 0), (built.Stats.Examples, built.Stats.Dropped, built.Stats.Truncated));
        var all = Assert.Throws<UserException>(() => Builder("alpaca", options: new() { MaxSeqLength = 10, LongExamples = LongExamplePolicy.Drop }).Build([ok]));
        Assert.Contains("all 1 examples were dropped", all.Message);
    }

    [Fact]
    public void StatsCountTokensAndTargets()
    {
        var built = Builder("alpaca").Build([Record, Record]);
        var one = Builder("alpaca").Encode(Record);
        Assert.Equal(2L * one.Length, built.Stats.Tokens);
        Assert.Equal(8L, built.Stats.TargetTokens);
        Assert.Equal(8.0 / (2 * one.Length), built.Stats.TargetShare, 12);
    }

    [Fact]
    public void PreTokenizedRecordsPassThrough()
    {
        var b = Builder("chatml");
        var e = b.Encode(new TokenizedRecord("t", [5, 6, 7], null));
        Assert.Equal([5, 6, 7], e.InputIds);
        Assert.Equal([5, 6, 7], e.Labels);
        Assert.Equal([I, 6, 7], b.Encode(new TokenizedRecord("t", [5, 6, 7], [I, 6, 7])).Labels);
        var bad = Assert.Throws<UserException>(() => b.Encode(new TokenizedRecord("d.jsonl:9", [5, 999], null)));
        Assert.StartsWith("d.jsonl:9: field 'input_ids[1]' = 999 is outside the vocabulary", bad.Message);
        var noTargets = Assert.Throws<UserException>(() => b.Build([new TokenizedRecord("t", [5, 6], [I, I])]));
        Assert.Contains("no training targets", noTargets.Message);
    }

    [Theory]
    [InlineData("chatml")]
    [InlineData("llama3")]
    [InlineData("llama2-chat")]
    public void GenerationPromptIdsArePrefixOfTrainingIds(string template)
    {
        var b = Builder(template);
        var messages = new List<ChatMessage> { new("system", "S"), new("user", "U1"), new("assistant", "A1"), new("user", "U2"), new("assistant", "A2") };
        var training = b.Encode(new ChatRecord("t", messages));
        var prompt = b.EncodePrompt(messages.Take(4).ToList());
        Assert.Equal(prompt, training.InputIds[..prompt.Length]);
        // Where the prompt ends, the last response's targets begin.
        Assert.Equal(I, training.Labels[prompt.Length - 1]);
        Assert.NotEqual(I, training.Labels[prompt.Length]);
        Assert.Equal(b.EncodePrompt("Q"), b.EncodePrompt([new ChatMessage("user", "Q")]));
    }
}
