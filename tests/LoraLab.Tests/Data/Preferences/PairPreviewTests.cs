using LoraLab.Data;
using LoraLab.Data.Preferences;
using LoraLab.Tokenization;
using Xunit;

namespace LoraLab.Tests.Data.Preferences;

/// `loralab data preview` of a preference file, and the checks behind it.
[Collection("cli")]
public class PairPreviewTests() : ScratchFolderTest("pairpreview")
{
    static PreferenceEncoder Encoder(int maxSeq = 256, int maxPrompt = 128) =>
        new(TokenizerLoader.Load(RepoFixtures.Path_("tiny-chat")), PromptTemplate.Get("plain"), maxSeq, maxPrompt);

    static TextPreference Text(string prompt, string chosen, string rejected) => new("p.jsonl:1", "p.jsonl", 1, prompt, chosen, rejected);

    [Fact]
    public void ACleanPairHasNoWarningsAndCutOnesSayWhatWasLost()
    {
        var clean = PairPreview.Inspect(Encoder(), Text("What is 2+2?", "4", "five"));
        Assert.Empty(clean.Warnings);
        Assert.Equal((10, 3, 4), (clean.Prompt.Length, clean.Chosen.Length, clean.Rejected.Length));

        var cut = PairPreview.Inspect(Encoder(maxSeq: 8, maxPrompt: 6), Text("What is 2+2?", "4", "five"));
        Assert.Equal((6, 2, 2), (cut.Prompt.Length, cut.Chosen.Length, cut.Rejected.Length));
        Assert.Equal((10, 3, 4), (cut.FullPrompt, cut.FullChosen, cut.FullRejected));
        Assert.Contains("prompt of 10 tokens > max prompt length 6: keeps its last 6 (BOS kept in front)", cut.Warnings);
        Assert.Contains("rejected: prompt + 4 tokens > max sequence length 8: cut to 2 tokens, without its EOS", cut.Warnings);

        var dropped = PairPreview.Inspect(Encoder(maxSeq: 10, maxPrompt: 64), Text("What is 2+2?", "4", "five"));
        Assert.True(dropped.Dropped);
        Assert.Contains(dropped.Warnings, w => w.Contains("the pair would be dropped"));

        var same = PairPreview.Inspect(Encoder(), Text("<s><s>Q", "4", "4"));
        Assert.Contains(same.Warnings, w => w.StartsWith("doubled BOS"));
        Assert.Contains(same.Warnings, w => w.StartsWith("chosen and rejected are the same tokens"));
    }

    [Fact]
    public void PreviewCommandShowsPairsWithMaskedPromptsCountsAndTheSetsNote()
    {
        var data = Write("prefs.jsonl",
            "{\"prompt\": \"What is 2+2?\", \"chosen\": \"4\", \"rejected\": \"five\"}\n" +
            "{\"prompt\": [{\"role\": \"user\", \"content\": \"Hi\"}], \"chosen\": [{\"role\": \"assistant\", \"content\": \"Hello!\"}], \"rejected\": [{\"role\": \"assistant\", \"content\": \"Go away.\"}]}\n");
        var (code, stdout, err) = CliRunner.Run("data", "preview", "--model", RepoFixtures.Path_("tiny-chat"), "--data", data, "--template", "chatml", "--max-prompt-length", "40");
        Assert.True(code == 0, err);
        var text = string.Join(" ", stdout.Split((char[])['\n', '\r'], StringSplitOptions.RemoveEmptyEntries).Select(l => l.Trim())); // Spectre wraps long lines
        Assert.Contains("preference pairs · template chatml · BOS added · EOS 2 after each completion", text);
        Assert.Contains("prompt (10 tokens, masked): <s> What is 2+2?", text);   // SentencePiece's dummy-prefix space
        Assert.Contains("chosen (3 tokens): « 4</s>»", text);
        Assert.Contains("rejected (4 tokens): « five</s>»", text);
        Assert.Contains("prompt (40 tokens, cut from 44, masked): <s>", text);
        Assert.Contains("chosen (13 tokens): « Hello!<|im_end|></s>»", text);
        Assert.Contains("all 2 records: preference pairs: 2 kept, 0 dropped", text);
        Assert.Contains("1 prompts cut to their last 40 tokens", text);

        // Without --max-prompt-length the prompt keeps half the max sequence length.
        (code, stdout, err) = CliRunner.Run("data", "preview", "--model", RepoFixtures.Path_("tiny-chat"), "--data", data, "--template", "chatml", "--max-seq-length", "60");
        Assert.True(code == 0, err);
        Assert.Contains("prompt (30 tokens, cut from 44, masked)", stdout);

        // Supervised data still previews as examples, and the preference-only flag says why it does not apply.
        var sft = Write("sft.jsonl", "{\"instruction\": \"Say hi\", \"output\": \"Hi\"}\n");
        (code, stdout, err) = CliRunner.Run("data", "preview", "--model", RepoFixtures.Path_("tiny-chat"), "--data", sft);
        Assert.True(code == 0, err);
        Assert.Contains("example 1", stdout);
        (code, _, err) = CliRunner.Run("data", "preview", "--model", RepoFixtures.Path_("tiny-chat"), "--data", sft, "--max-prompt-length", "8");
        Assert.Equal(2, code);
        Assert.Contains($"--max-prompt-length: {sft} is supervised data, not preference pairs", err);
    }

    [Fact]
    public void PreviewCommandNamesABadRowAndFails()
    {
        var data = Write("bad.jsonl", "{\"prompt\": \"a\", \"chosen\": \"b\", \"rejected\": \"c\"}\n{\"prompt\": \"a\", \"chosen\": [], \"rejected\": \"c\"}\n");
        var (code, _, err) = CliRunner.Run("data", "preview", "--model", RepoFixtures.Path_("tiny-chat"), "--data", data);
        Assert.Equal(2, code);
        Assert.Contains($"{data}:2: field 'chosen' is a list of messages but 'prompt' is a string", err);
    }
}
