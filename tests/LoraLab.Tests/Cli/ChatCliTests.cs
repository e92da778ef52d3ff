using LoraLab.Tests.Adapters;
using Xunit;

namespace LoraLab.Tests.Cli;

/// `loralab chat` as a program: from a pipe one reply per line and nothing else on stdout; at a terminal a prompt,
/// streamed replies, the first turn repeated in the second's prompt, and /exit.
public class ChatCliTests
{
    static string[] Args(string model, params string[] more) =>
        ["chat", "--model", model, "--template", "chatml", "--max-new-tokens", "6", "--threads", "1", "--show-prompt", .. more];

    [Fact]
    public void FromAPipeEachLineGetsOneReplyAndTheNextPromptRepeatsTheTurn()
    {
        var model = RepoFixtures.Path_("tiny-chat");
        var (rc, stdout, stderr) = CliRunner.RunProcessWithInput("Hello there\n\nAnd again\n", Args(model));
        Assert.True(rc == 0, stderr);
        var lines = stdout.Split('\n');
        Assert.Equal(3, lines.Length - 1);                     // line N answers line N: the empty message gets an empty line
        Assert.Equal("", lines[1]);
        var prompts = stderr.Split("--- prompt (")[1..];
        Assert.Equal(2, prompts.Length);
        var firstReply = stdout.Split('\n')[0];
        Assert.DoesNotContain("And again", prompts[0]);
        Assert.Contains($"<|im_start|>user\nHello there<|im_end|>\n<|im_start|>assistant\n{firstReply}<|im_end|>\n<|im_start|>user\nAnd again<|im_end|>", prompts[1]);
        Assert.DoesNotContain("> ", stderr);                   // no prompt or banner in a pipe
        Assert.DoesNotContain("chat ·", stderr);
    }

    [Fact]
    public void AFullWindowDropsTheOldestTurnWithANoteAndResetForgets()
    {
        var model = RepoFixtures.Path_("tiny-chat");
        // a chatml turn on this SentencePiece model is about 60 tokens: 130 holds two turns' prompt, not three
        var (rc, stdout, stderr) = CliRunner.RunProcessWithInput("Hello there\nAnd again\nThird one\n/reset\nFourth\n", Args(model, "--max-context", "130"));
        Assert.True(rc == 0, stderr);
        Assert.Equal(4, stdout.Split('\n').Length - 1);
        Assert.Contains("\n(context window of 130 tokens full: dropped the oldest turn, 1 kept)\n", "\n" + stderr);
        var prompts = stderr.Split("--- prompt (")[1..];
        Assert.DoesNotContain("Hello there", prompts[2]);
        Assert.Contains("And again", prompts[2]);
        Assert.DoesNotContain("Third one", prompts[3]);          // /reset

        (rc, _, stderr) = CliRunner.RunProcessWithInput("Hi\n", Args(model, "--max-context", "20"));
        Assert.Equal(2, rc);
        Assert.Contains("error: the message does not fit the context window", stderr);
    }

    [Fact]
    public void WithoutTemplateOrAdapterTheModelsOwnChatTemplateIsUsedAndTheWindowIsTheModels()
    {
        var model = LoraTestModels.TinyChatModel();
        File.WriteAllText(Path.Combine(model, "chat_template.jinja"),
            "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}" +
            "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}");
        var (rc, _, stderr) = CliRunner.RunProcessWithInput("Hi\n", "chat", "--model", model, "--max-new-tokens", "2", "--threads", "1", "--show-prompt");
        Assert.True(rc == 0, stderr);
        Assert.Contains("<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n", stderr);

        (rc, _, stderr) = CliRunner.RunProcessWithInput("Hi\n", "chat", "--model", model, "--max-context", "600");
        Assert.Equal((2, "error: --max-context 600: the model's context is 512 tokens (max_position_embeddings in its config.json)"), (rc, stderr.Trim()));
    }

    [TmuxFact]
    public void AtATerminalItAnswersTwoTurnsKeepsTheFirstInTheSecondPromptAndExitsOnSlashExit()
    {
        var model = RepoFixtures.Path_("tiny-chat");
        using var term = new Tmux($"NO_COLOR=1 {CliRunner.ShellCommand(Args(model))}; echo \"chat exited with $?\"; sleep 600");
        term.WaitFor(s => Waiting(s, 1), "the first prompt");
        term.Type("Hello there");
        term.WaitFor(s => Waiting(s, 2), "the second prompt");
        term.Type("And again");
        term.WaitFor(s => Waiting(s, 3), "the third prompt");
        term.Type("/exit");
        var screen = term.WaitFor(s => s.Contains("chat exited with"), "chat to exit");
        Assert.Contains("chat exited with 0", screen);
        Assert.StartsWith("chat · template chatml · context 512 tokens · /reset forgets the history · /exit or Ctrl-D quits", screen);
        var prompts = screen.Split("--- prompt (")[1..];
        Assert.Equal(2, prompts.Length);
        Assert.Contains("<|im_start|>user\nHello there<|im_end|>\n<|im_start|>assistant\n", prompts[1]);
        Assert.Contains("<|im_start|>user\nAnd again<|im_end|>", prompts[1]);
        // the first reply, streamed between the first prompt and the second "> ", is the assistant turn of the second prompt
        var afterFirstPrompt = screen[(screen.IndexOf("\n---\n", screen.IndexOf("--- prompt (")) + 5)..];
        var firstReply = afterFirstPrompt[..afterFirstPrompt.IndexOf('\n')];
        Assert.Contains($"{firstReply}\n(stopped at --max-new-tokens 6 without an end token)\n> And again", screen);
        Assert.Contains($"<|im_start|>assistant\n{firstReply}<|im_end|>\n<|im_start|>user\nAnd again", prompts[1]);
    }

    /// Whether the screen shows the `n`th "> " prompt, waiting for input (capture-pane trims its trailing space).
    static bool Waiting(string screen, int n)
    {
        var lines = screen.Split('\n');
        return lines[^1] == ">" && lines.Count(l => l.StartsWith('>')) == n;
    }

    /// From a pipe a reply is one line whatever it contains, and can be read back exactly.
    [Fact]
    public void APipedReplyWithNewlinesStaysOnOneLine() =>
        Assert.Equal(@"a\nb\\n\r", LoraLab.Cli.Commands.ChatCommand.OneLine("a\nb\\n\r"));
}
