using LoraLab.Data;
using Xunit;

namespace LoraLab.Tests.Data;

public class PromptTemplateTests
{
    static readonly ChatRecord Conversation = new("t:1",
    [
        new("system", "You are terse."),
        new("user", "Hi"),
        new("assistant", "Hello."),
        new("user", " Bye "),
        new("assistant", " Later. "),
    ]);

    static string Trainable(IEnumerable<Segment> s) => string.Concat(s.Where(x => x.Trainable).Select(x => x.Text));

    [Fact]
    public void AlpacaMatchesStanfordWordingWithInput()
    {
        var segments = PromptTemplate.Get("alpaca").Render(new AlpacaRecord("t", "Sum the numbers.", "2, 3", "5"));
        Assert.Equal(
            "Below is an instruction that describes a task, paired with an input that provides further context. Write a response that appropriately completes the request.\n\n" +
            "### Instruction:\nSum the numbers.\n\n### Input:\n2, 3\n\n### Response:", segments[0].Text);
        Assert.False(segments[0].Trainable);
        Assert.Equal(new Segment("5", true), segments[1]);
    }

    [Fact]
    public void AlpacaMatchesStanfordWordingWithoutInput()
    {
        var t = PromptTemplate.Get("alpaca");
        var expected = "Below is an instruction that describes a task. Write a response that appropriately completes the request.\n\n" +
                       "### Instruction:\nName a {colour}.\n\n### Response:";
        var segments = t.Render(new AlpacaRecord("t", "Name a {colour}.", "", "Red"));
        Assert.Equal([new Segment(expected, false), new Segment("Red", true)], segments);
        Assert.Equal(expected, t.RenderPrompt("Name a {colour}."));
        // Braces in the user's text are not placeholders.
        Assert.Contains("### Input:\n{instruction}\n", t.RenderPrompt("x", "{instruction}"));
    }

    [Fact]
    public void ChatMLRendersTurnsAndTrainsAssistantContentWithEndMarker()
    {
        var segments = PromptTemplate.Get("chatml").Render(Conversation);
        Assert.Equal(
            "<|im_start|>system\nYou are terse.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello.<|im_end|>" +
            "\n<|im_start|>user\n Bye <|im_end|>\n<|im_start|>assistant\n Later. <|im_end|>", PromptTemplate.Concat(segments));
        Assert.Equal("Hello.<|im_end|> Later. <|im_end|>", Trainable(segments));
    }

    [Fact]
    public void Llama3RendersHeadersAndTrimsContent()
    {
        var t = PromptTemplate.Get("llama3");
        var segments = t.Render(Conversation);
        Assert.Equal(
            "<|start_header_id|>system<|end_header_id|>\n\nYou are terse.<|eot_id|>" +
            "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>" +
            "<|start_header_id|>assistant<|end_header_id|>\n\nHello.<|eot_id|>" +
            "<|start_header_id|>user<|end_header_id|>\n\nBye<|eot_id|>" +
            "<|start_header_id|>assistant<|end_header_id|>\n\nLater.<|eot_id|>", PromptTemplate.Concat(segments));
        Assert.Equal("Hello.<|eot_id|>Later.<|eot_id|>", Trainable(segments));
        Assert.Equal("<|eot_id|>", t.EndOfTurn);
    }

    [Fact]
    public void Llama2ChatFoldsSystemIntoFirstTurnAsMetaDoes()
    {
        var segments = PromptTemplate.Get("llama2-chat").Render(Conversation);
        Assert.Equal(
            "[INST] <<SYS>>\nYou are terse.\n<</SYS>>\n\nHi [/INST] Hello. </s>" +
            "<s>[INST] Bye [/INST] Later. </s>", PromptTemplate.Concat(segments));
        Assert.Equal(" Hello. </s> Later. </s>", Trainable(segments));
    }

    [Fact]
    public void Llama2ChatRejectsTurnsThatDoNotAlternate()
    {
        var bad = new ChatRecord("data.jsonl:4", [new("user", "a"), new("user", "b"), new("assistant", "c")]);
        var e = Assert.Throws<UserException>(() => PromptTemplate.Get("llama2-chat").Render(bad));
        Assert.StartsWith("data.jsonl:4: ", e.Message);
        Assert.Contains("turn 1 is 'user'", e.Message);
    }

    [Theory]
    [InlineData("chatml")]
    [InlineData("llama3")]
    [InlineData("llama2-chat")]
    [InlineData("alpaca")]
    public void GenerationPromptIsExactlyTheUntrainedPrefixOfTraining(string name)
    {
        var t = PromptTemplate.Get(name);
        ChatRecord record = name == "alpaca"
            ? new("t", [new("user", "Tell a joke."), new("assistant", "No.")])
            : Conversation;
        var training = t.Render(record);
        var prompt = t.RenderPromptSegments(record.Messages.Take(record.Messages.Count - 1).ToList());
        // The prompt's segments are the training segments up to the last response.
        Assert.Equal(prompt, training.Take(training.Count - 1));
        Assert.True(training[^1].Trainable);
    }

    [Fact]
    public void ChatTemplatesAcceptAlpacaRecords()
    {
        var text = PromptTemplate.Concat(PromptTemplate.Get("chatml").Render(new AlpacaRecord("t", "Sum.", "1 2", "3")));
        Assert.Equal("<|im_start|>user\nSum.\n\n1 2<|im_end|>\n<|im_start|>assistant\n3<|im_end|>", text);
    }

    [Fact]
    public void MismatchedRecordsAndUnknownNamesAreUserErrors()
    {
        var e = Assert.Throws<UserException>(() => PromptTemplate.Get("vicuna"));
        Assert.Contains("alpaca, chatml, llama2-chat, llama3, plain", e.Message);
        e = Assert.Throws<UserException>(() => PromptTemplate.Get("alpaca").Render(Conversation));
        Assert.StartsWith("t:1: template 'alpaca' needs exactly one user turn", e.Message);
        e = Assert.Throws<UserException>(() => PromptTemplate.Get("plain").Render(new AlpacaRecord("f:2", "a", "", "b")));
        Assert.StartsWith("f:2: template 'plain' cannot render a Alpaca record", e.Message);
        e = Assert.Throws<UserException>(() => PromptTemplate.Get("chatml").Render(new ChatRecord("f:3", [new("user", "only a question")])));
        Assert.Contains("must end with an assistant turn", e.Message);
        Assert.Equal([new Segment("raw text", true)], PromptTemplate.Get("plain").Render(new TextRecord("t", "raw text")));
    }

    // Jinja templates written for these tests in the style of models' tokenizer_config.json.
    const string ChatMLJinja =
        "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}" +
        "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";
    const string Llama3Jinja =
        "{{ bos_token }}{% for message in messages %}{{ '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' + message['content'] | trim + '<|eot_id|>' }}{% endfor %}" +
        "{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% endif %}";
    const string Llama2Jinja =
        "{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Roles must go user then assistant in turn') }}{% endif %}" +
        "{% if loop.index0 == 0 and system_message %}{% set content = '<<SYS>>\\n' + system_message + '\\n<</SYS>>\\n\\n' + message['content'] %}{% endif %}" +
        "{% if message['role'] == 'user' %}{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}{% else %}{{ ' ' + content.strip() + ' ' + eos_token }}{% endif %}{% endfor %}";

    [Fact]
    public void RecognisesSimpleModelChatTemplates()
    {
        Assert.IsType<ChatMLTemplate>(PromptTemplate.FromChatTemplate(ChatMLJinja));
        Assert.IsType<Llama3Template>(PromptTemplate.FromChatTemplate(Llama3Jinja));
        Assert.IsType<Llama2ChatTemplate>(PromptTemplate.FromChatTemplate(Llama2Jinja));
    }

    [Fact]
    public void RejectsTemplatesThatAddTheirOwnText()
    {
        // A default system prompt, a knowledge-cutoff header, tools, and unknown markup are not ours to render.
        var withDefaultSystem = "{% if messages[0]['role'] != 'system' %}{{ '<|im_start|>system\\nYou are a helpful assistant.<|im_end|>\\n' }}{% endif %}" + ChatMLJinja;
        var withDate = "{{ '<|start_header_id|>system<|end_header_id|>\\n\\nCutting Knowledge Date: December 2023' }}" + Llama3Jinja;
        var withTools = "{% if tools %}{{ tools | tojson }}{% endif %}" + ChatMLJinja;
        var mistral = "{% for m in messages %}{% if m['role'] == 'user' %}{{ '[INST] ' + m['content'] + ' [/INST]' }}{% else %}{{ m['content'] + eos_token }}{% endif %}{% endfor %}";
        var zephyr = "{% for m in messages %}{{ '<|' + m['role'] + '|>\\n' + m['content'] + eos_token }}{% endfor %}";
        foreach (var jinja in new[] { withDefaultSystem, withDate, withTools, mistral, zephyr, "", null })
            Assert.Null(PromptTemplate.FromChatTemplate(jinja));
    }

    /// `--template auto` means the same for train, data preview and serving: the model's own template when recognised,
    /// else Alpaca; a name is that template whatever the model has.
    [Fact]
    public void AutoResolvesToTheModelsTemplateOrAlpaca()
    {
        Assert.IsType<ChatMLTemplate>(PromptTemplate.Resolve("auto", ChatMLJinja));
        Assert.IsType<Llama3Template>(PromptTemplate.Resolve(" AUTO ", Llama3Jinja));
        Assert.IsType<AlpacaTemplate>(PromptTemplate.Resolve("auto", null));
        Assert.IsType<AlpacaTemplate>(PromptTemplate.Resolve("auto", "{% for m in messages %}{{ m.content }}{% endfor %}"));
        Assert.IsType<PlainTemplate>(PromptTemplate.Resolve("plain", ChatMLJinja));
        Assert.Throws<UserException>(() => PromptTemplate.Resolve("vicuna", ChatMLJinja));
    }
}
