using System.Text.Json;
using LoraLab.Tokenization;
using Xunit;

namespace LoraLab.Tests;

public class TokenizerTests
{
    public static TheoryData<int> GoldenCaseIndexes()
    {
        var data = new TheoryData<int>();
        for (int i = 0; i < 6; i++) data.Add(i);
        return data;
    }

    static (string Text, int[] Ids, int[] IdsWithBos) GoldenCase(int index)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(SharedFixtures.Path_("fixtures", "llama2-tokenizer", "golden.json")));
        var c = doc.RootElement.GetProperty("cases")[index];
        return (c.GetProperty("text").GetString()!,
            c.GetProperty("ids").EnumerateArray().Select(e => e.GetInt32()).ToArray(),
            c.GetProperty("ids_with_bos").EnumerateArray().Select(e => e.GetInt32()).ToArray());
    }

    static string Llama2Model => SharedFixtures.Path_("fixtures", "llama2-tokenizer", "tokenizer.model");

    [SharedFact]
    public void Llama2_golden_has_the_cases_the_theory_covers()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(SharedFixtures.Path_("fixtures", "llama2-tokenizer", "golden.json")));
        Assert.Equal(6, doc.RootElement.GetProperty("cases").GetArrayLength());
    }

    [SharedTheory]
    [MemberData(nameof(GoldenCaseIndexes))]
    public void Llama2_sentencepiece_model_matches_golden_ids(int index)
    {
        var (text, ids, idsWithBos) = GoldenCase(index);
        var tok = SentencePieceBpeTokenizer.Load(Llama2Model);
        Assert.Equal(ids, tok.Encode(text));
        Assert.Equal(idsWithBos, tok.Encode(text, addBos: true));
        Assert.Equal(text, tok.Decode(ids));
        Assert.Equal(text, tok.Decode(idsWithBos));
    }
}
