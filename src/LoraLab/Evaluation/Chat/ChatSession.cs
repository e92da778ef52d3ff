using LoraLab.Data;
using LoraLab.Models;

namespace LoraLab.Evaluation.Chat;

/// A chat with a model: each reply is generated from the whole kept conversation, rendered as in training, and
/// streamed as text. Every turn prefills a fresh KV cache that is freed when the reply ends, so dropping turns
/// never leaves stale positions behind and memory does not grow with the number of turns.
public sealed class ChatSession : IDisposable
{
    readonly CausalLM _model;
    readonly ExampleBuilder _builder;
    readonly SamplingOptions _sampling;
    /// Seeded once: each turn samples on from where the last stopped (seeding every turn made equal replies likely).
    readonly TorchSharp.torch.Generator _sampler;

    /// `sampling.StopIds` is replaced by the builder's (EOS and the template's end-of-turn token).
    public ChatSession(CausalLM model, ExampleBuilder builder, SamplingOptions sampling, int contextTokens, string? system = null)
    {
        _model = model;
        _builder = builder;
        _sampling = sampling with { StopIds = builder.StopTokenIds.ToArray() };
        _sampler = new TorchSharp.torch.Generator((ulong)sampling.Seed, TorchSharp.torch.CPU);
        Conversation = new Conversation(builder, contextTokens, system);
    }

    public void Dispose() => _sampler.Dispose();

    public Conversation Conversation { get; }

    /// Answers one message: `onPrompt` sees the prompt (before generation), `onText` each piece of text as it is
    /// generated.
    public ChatReply Reply(string message, Action<string> onText, Action<TurnPrompt>? onPrompt = null)
    {
        var prompt = Conversation.Next(message, _sampling.MaxNewTokens);
        onPrompt?.Invoke(prompt);
        var text = new ReplyText(_builder.Tokenizer, _builder.Template.EndOfTurn);
        var result = TextGenerator.Generate(_model, prompt.Ids, _sampling with { MaxNewTokens = prompt.MaxNewTokens },
            id => Emit(onText, text.Push(id)), () => text.Ended, _sampler);
        Emit(onText, text.Finish());
        Conversation.Add(message, text.Text);
        bool ended = text.Ended || result.Tokens.Count > 0 && _sampling.StopIds.Contains(result.Tokens[^1]);
        return new ChatReply(text.Text, ended, result.Tokens.Count, prompt);
    }

    static void Emit(Action<string> onText, string piece)
    {
        if (piece.Length > 0) onText(piece);
    }
}

/// A reply: its text, whether it ended with EOS or the end-of-turn marker (else the token budget ran out), the tokens
/// generated, and the prompt it answered.
public sealed record ChatReply(string Text, bool Ended, int Tokens, TurnPrompt Prompt);
