using System.Text.Json.Nodes;
using LoraLab.Data;
using LoraLab.Evaluation.Tasks;
using LoraLab.ModelFiles;
using Parquet.Serialization;
using Xunit;

namespace LoraLab.Tests.Tasks;

/// The hub datasets' column layouts, rendered as lm-evaluation-harness's zero-shot prompts, and the task file containers.
public class TaskFormatTests
{
    static ChoiceExample Read(string format, string json) =>
        TaskFormat.Choice(format, (JsonObject)JsonNode.Parse(json)!, TaskFields.Parse(null), "t.jsonl:1");

    [Fact]
    public void Mmlu_lists_the_choices_and_answers_by_letter_after_the_subject_line()
    {
        var e = Read("mmlu", """{"question": " What is 2+2? ", "subject": "elementary_mathematics", "choices": ["3", "4", "5", "22"], "answer": 1}""");
        Assert.Equal("The following are multiple choice questions (with answers) about elementary mathematics.\n\nWhat is 2+2?\nA. 3\nB. 4\nC. 5\nD. 22\nAnswer:", e.Context);
        Assert.Equal(["A", "B", "C", "D"], e.Choices);
        Assert.Equal(1, e.Gold);
    }

    [Fact]
    public void Arc_answers_with_the_choice_text_and_finds_gold_by_label()
    {
        var e = Read("arc", """{"question": "Which is a gas?", "choices": {"text": ["ice", "steam"], "label": ["1", "2"]}, "answerKey": "2"}""");
        Assert.Equal("Question: Which is a gas?\nAnswer:", e.Context);
        Assert.Equal(["ice", "steam"], e.Choices);
        Assert.Equal(1, e.Gold);
    }

    [Fact]
    public void Hellaswag_joins_the_contexts_and_removes_bracketed_markers()
    {
        var e = Read("hellaswag", """{"activity_label": "Baking", "ctx_a": "A man mixes flour.", "ctx_b": "HE then", "endings": ["bakes it [title] well.", " eats  it."], "label": "0"}""");
        Assert.Equal("Baking: A man mixes flour. He then", e.Context);
        Assert.Equal(["bakes it. well.", "eats it."], e.Choices);
        Assert.Equal(0, e.Gold);
    }

    [Fact]
    public void TruthfulQa_mc1_puts_the_six_shot_prompt_first_and_gold_where_the_label_is_1()
    {
        var e = Read("truthfulqa-mc1", """{"question": "Is the sky green?", "mc1_targets": {"choices": ["No.", "Yes."], "labels": [1, 0]}}""");
        Assert.StartsWith("Q: What is human life expectancy in the United States?\nA: Human life expectancy", e.Context);
        Assert.EndsWith("Barcelona, Spain.\n\nQ: Is the sky green?\nA:", e.Context);
        Assert.Equal(0, e.Gold);
    }

    [Fact]
    public void Field_overrides_rename_the_plain_layouts_columns()
    {
        var e = TaskFormat.Choice(TaskFormat.Plain, (JsonObject)JsonNode.Parse("""{"q": "x", "endings": ["a", "b"], "label": "1"}""")!,
            TaskFields.Parse(["context=q", "choices=endings", "gold=label"]), "w");
        Assert.Equal(new ChoiceExample("x", e.Choices, 1), e);
        Assert.Equal(["a", "b"], e.Choices);
    }

    [Fact]
    public void A_gold_index_outside_the_choices_is_a_user_error() =>
        Assert.Equal("t.jsonl:1: gold index 2 is outside the 2 choices",
            Assert.Throws<UserException>(() => Read("jsonl", """{"context": "c", "choices": ["a", "b"], "gold": 2}""")).Message);

    public sealed class PlainRow { public string context { get; set; } = ""; public List<string> choices { get; set; } = []; public int gold { get; set; } }

    [Fact]
    public async Task Parquet_task_files_read_like_json_lines()
    {
        var path = Path.Combine(TempDir.New(), "mc.parquet");
        await ParquetSerializer.SerializeAsync(new[] { new PlainRow { context = "c1", choices = ["a", "b"], gold = 1 }, new PlainRow { context = "c2", choices = ["x", "y", "z"], gold = 2 } }, path);
        var rows = TaskFile.LoadChoices(path, TaskFormat.Plain, TaskFields.Parse(null), limit: 5);
        Assert.Equal(2, rows.Count);
        Assert.Equal(("c2", 2), (rows[1].Context, rows[1].Gold));
        Assert.Equal(["x", "y", "z"], rows[1].Choices);
        Assert.Single(TaskFile.LoadChoices(path, TaskFormat.Plain, TaskFields.Parse(null), limit: 1));
    }

    [Fact]
    public void A_template_scores_the_response_tokens_after_the_rendered_prompt_without_the_stop_token()
    {
        using var loaded = ModelLoader.Load(RepoFixtures.Path_("tiny-chat"));
        var builder = new ExampleBuilder(loaded.RequireTokenizer(), PromptTemplate.Resolve("alpaca", null));
        var r = new TemplateEncoder(builder).Encode("Name a colour.", "Red.");
        Assert.Equal(builder.EncodePrompt("Name a colour."), r.Context);
        var whole = builder.Encode(new AlpacaRecord("t", "Name a colour.", "", "Red.")).InputIds;
        Assert.Equal(whole[r.Context.Length..^1], r.Continuation);
        Assert.DoesNotContain(loaded.RequireTokenizer().EosId!.Value, r.Continuation);
    }

    /// chatml's <|im_end|> is ordinary text to tiny-chat's SentencePiece vocabulary, so it is no stop id: the scored
    /// continuation must still be the choice alone, not the choice plus the marker.
    [Fact]
    public void ATemplatesEndOfTurnMarkerIsNotScoredWithTheChoice()
    {
        using var loaded = ModelLoader.Load(RepoFixtures.Path_("tiny-chat"), new LoadOptions());
        var tok = loaded.RequireTokenizer();
        var builder = new ExampleBuilder(tok, PromptTemplate.Get("chatml"));
        Assert.DoesNotContain(builder.StopTokenIds, id => tok.Decode([id], skipSpecialTokens: false).Contains("im_end"));
        foreach (var choice in new[] { "Paris", "London is the answer", "42" })
        {
            var r = new TemplateEncoder(builder).Encode("Which one?", choice);
            Assert.Equal(choice, tok.Decode(r.Continuation, skipSpecialTokens: false).Trim());
        }
    }

    /// A generation prompt longer than the context keeps its last tokens, leaving room for the answer.
    [Fact]
    public void AGenerationPromptKeepsItsLastTokensWithinTheContext()
    {
        int[] prompt = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
        Assert.Equal([6, 7, 8, 9, 10], GenerationTask.WithinContext(prompt, maxPositions: 8, maxNewTokens: 3));
        Assert.Same(prompt, GenerationTask.WithinContext(prompt, maxPositions: 16, maxNewTokens: 3));
        Assert.Throws<UserException>(() => GenerationTask.WithinContext(prompt, maxPositions: 8, maxNewTokens: 8));
    }

    /// A choice that cannot be scored is named by its example and choice, not by its place among all requests.
    [Fact]
    public void AnEmptyChoiceIsNamedByExampleAndChoice()
    {
        using var loaded = ModelLoader.Load(RepoFixtures.Path_("tiny-chat"), new LoadOptions());
        var encoder = new TemplateEncoder(new ExampleBuilder(loaded.RequireTokenizer(), PromptTemplate.Get("alpaca")));
        var e = Assert.Throws<UserException>(() => MultipleChoice.Score(loaded.Model, encoder,
            [new ChoiceExample("Q?", ["yes", "no"], 0), new ChoiceExample("R?", ["yes", ""], 0)]));
        Assert.Equal("example 2, choice 2: the choice has no tokens (empty)", e.Message);
    }
}
