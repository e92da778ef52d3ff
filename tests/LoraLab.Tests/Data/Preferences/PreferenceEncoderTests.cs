using LoraLab.Data;
using LoraLab.Data.Preferences;
using LoraLab.Tokenization;
using Xunit;

namespace LoraLab.Tests.Data.Preferences;

/// Ids on tiny-chat's SentencePiece tokenizer (BOS 1, EOS 2); the expected pieces are sentencepiece's own
/// (`/usr/bin/python3`: `spm.SentencePieceProcessor(model_file=...).encode(text)`).
public class PreferenceEncoderTests
{
    const int Bos = 1, Eos = 2;
    static readonly int[] WhatIs = [291, 455, 264, 305, 442, 476, 492, 476, 66];   // "What is 2+2?"
    static readonly int[] Four = [442, 477], Five = [336, 450, 412];                 // "4", "five"

    static readonly Lazy<ITokenizer> TinyChat = new(() => TokenizerLoader.Load(RepoFixtures.Path_("tiny-chat")));

    /// tiny-chat's tokenizer with a tokenizer_config.json that turns BOS off.
    static ITokenizer WithoutBos()
    {
        var dir = TempDir.New("nobos");
        File.Copy(Path.Combine(RepoFixtures.Path_("tiny-chat"), "tokenizer.model"), Path.Combine(dir, "tokenizer.model"));
        File.WriteAllText(Path.Combine(dir, "tokenizer_config.json"), """{"add_bos_token": false}""");
        return TokenizerLoader.Load(dir);
    }

    static PreferenceEncoder Encoder(string template = "plain", int maxSeq = 256, int maxPrompt = 128, ITokenizer? tok = null, bool? addBos = null) =>
        new(tok ?? TinyChat.Value, PromptTemplate.Get(template), maxSeq, maxPrompt, addBos);

    static TextPreference Text(string prompt, string chosen = "4", string rejected = "five", int line = 1) =>
        new($"p.jsonl:{line}", "p.jsonl", line, prompt, chosen, rejected);

    static ChatPreference Chat(params ChatMessage[] prompt) =>
        new("c.jsonl:1", "c.jsonl", 1, prompt, [new("assistant", "Hello!")], [new("assistant", "Go away.")]);

    [Fact]
    public void PlainStringsAreBosPromptThenCompletionThenEos()
    {
        var set = Encoder().Encode([Text("What is 2+2?", line: 7)]);
        var p = Assert.Single(set.Pairs);
        Assert.Equal([Bos, .. WhatIs], p.Prompt);
        Assert.Equal([.. Four, Eos], p.Chosen);
        Assert.Equal([.. Five, Eos], p.Rejected);
        Assert.Equal((0, "p.jsonl", 7), (p.Index, p.Source, p.Line));
        Assert.Equal(new PreferenceStats(1, 0, 0, 0, 10, 3, 4), set.Stats);
        Assert.Equal(2 * 10 + 3 + 4, set.Stats.Tokens);
    }

    [Fact]
    public void BosFollowsTheTokenizerConfigOrTheCallersDecision()
    {
        var noBos = Encoder(tok: WithoutBos());
        Assert.False(noBos.AddsBos);
        Assert.Equal(WhatIs, noBos.Encode([Text("What is 2+2?")]).Pairs[0].Prompt);
        Assert.Equal(WhatIs, Encoder(addBos: false).Encode([Text("What is 2+2?")]).Pairs[0].Prompt);
        Assert.Equal([Bos, .. WhatIs], Encoder(tok: WithoutBos(), addBos: true).Encode([Text("What is 2+2?")]).Pairs[0].Prompt);
    }

    [Fact]
    public void APromptThatAlreadyStartsWithBosTextGetsNoSecondBos()
    {
        var p = Encoder().Encode([Text("<s>What is 2+2?")]).Pairs[0];
        Assert.Equal([Bos, .. WhatIs], p.Prompt);
    }

    [Fact]
    public void ConversationsRenderThePromptWithTheAssistantHeaderAndTheTurnAsTheCompletion()
    {
        // ChatML's markers are ordinary text to this vocabulary: the completion is the content and "<|im_end|>", then EOS.
        var p = Encoder("chatml").Encode([Chat(new ChatMessage("user", "Hi"))]).Pairs[0];
        int[] prompt = [442, 63, 127, 434, 501, 271, 447, 446, 444, 127, 65, 454, 269, 446, 13, 504, 450, 63, 127, 434, 501, 356, 127, 65, 13, 63, 127, 434, 501, 271, 447, 446, 444, 127, 65, 296, 445, 450, 271, 447, 448, 444, 13];
        Assert.Equal([Bos, .. prompt], p.Prompt);
        Assert.Equal([442, 504, 272, 355, 36, 63, 127, 434, 501, 356, 127, 65, Eos], p.Chosen);

        // Llama 2's turn ends with "</s>", which is EOS: the completion ends with one EOS, not two.
        var l = Encoder("llama2-chat").Encode([Chat(new ChatMessage("user", "Hi"))]).Pairs[0];
        Assert.Equal([Bos, 442, 94, 464, 497, 499, 500, 96, 442, 504, 450, 442, 94, 50, 464, 497, 499, 500, 96], l.Prompt);
        Assert.Equal([266, 504, 272, 355, 36, 442, Eos], l.Chosen);
        Assert.Single(l.Rejected, Eos);
    }

    [Fact]
    public void ACompletionThatEndsWithEosTextGetsNoSecondEos()
    {
        var p = Encoder().Encode([Text("What is 2+2?", chosen: "4</s>")]).Pairs[0];
        Assert.Equal([.. Four, Eos], p.Chosen);
    }

    [Fact]
    public void TheTemplatesErrorsNameTheRow()
    {
        var e = Assert.Throws<UserException>(() => Encoder("alpaca").Encode([Chat(new ChatMessage("system", "s"), new ChatMessage("user", "Hi"))]));
        Assert.StartsWith("c.jsonl:1: field 'prompt': template 'alpaca'", e.Message);
        var plain = Assert.Throws<UserException>(() => Encoder("plain").Encode([Chat(new ChatMessage("user", "Hi"))]));
        Assert.StartsWith("c.jsonl:1: ", plain.Message);
    }

    [Fact]
    public void ALongPromptKeepsItsEndWithBosInFront()
    {
        var set = Encoder(maxPrompt: 4).Encode([Text("What is 2+2?")]);
        Assert.Equal([Bos, .. WhatIs[^3..]], set.Pairs[0].Prompt);
        Assert.Equal(1, set.Stats.PromptsCut);
        Assert.Equal(WhatIs[^4..], Encoder(maxPrompt: 4, tok: WithoutBos()).Encode([Text("What is 2+2?")]).Pairs[0].Prompt);
    }

    [Fact]
    public void ACompletionThatDoesNotFitLosesItsEndAndEos()
    {
        var set = Encoder(maxSeq: 12).Encode([Text("What is 2+2?")]);   // prompt 10 tokens: 2 left for each completion
        var p = set.Pairs[0];
        Assert.Equal(Four, p.Chosen);
        Assert.Equal(Five[..2], p.Rejected);
        Assert.Equal((12, 12), (p.ChosenLength, p.RejectedLength));
        Assert.Equal(2, set.Stats.CompletionsCut);
        Assert.Contains("2 completions cut to fit 12 tokens with their prompt", set.TruncationNote);
    }

    [Fact]
    public void APairWithNoRoomForACompletionIsDroppedAndTheRestRenumbered()
    {
        var set = Encoder(maxSeq: 10, maxPrompt: 64).Encode([Text("What is 2+2?", line: 1), Text("Hi", line: 2), Text("What is 2+2?", line: 3), Text("Hi", line: 4)]);
        Assert.Equal([0, 1], set.Pairs.Select(p => p.Index));
        Assert.Equal([2, 4], set.Pairs.Select(p => p.Line));
        Assert.Equal(2, set.Stats.Dropped);
        Assert.StartsWith("preference pairs: 2 kept, 2 dropped", set.TruncationNote);

        var e = Assert.Throws<UserException>(() => Encoder(maxSeq: 10, maxPrompt: 64).Encode([Text("What is 2+2?")], "p.jsonl"));
        Assert.StartsWith("p.jsonl: all 1 pairs were dropped", e.Message);
    }

    [Fact]
    public void TheTruncationNoteStatesLimitsAndCounts()
    {
        var set = Encoder(maxSeq: 64, maxPrompt: 32).Encode([Text("What is 2+2?")]);
        Assert.Equal("preference pairs: 1 kept, 0 dropped (no completion token fits after the prompt); 0 prompts cut to their last 32 tokens (max prompt length), " +
                     "0 completions cut to fit 64 tokens with their prompt (max sequence length); tokens: prompts 10, chosen 3, rejected 4", set.TruncationNote);
    }
}
