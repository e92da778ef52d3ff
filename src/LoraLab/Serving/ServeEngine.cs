using System.Collections.Concurrent;
using System.Diagnostics;
using LoraLab.Adapters;
using LoraLab.Data;
using LoraLab.Evaluation;
using LoraLab.Evaluation.Chat;
using LoraLab.ModelFiles;
using LoraLab.Models;
using LoraLab.Tokenization;
using static TorchSharp.torch;

namespace LoraLab.Serving;

/// A completion the engine accepted: its reader gets text pieces and then one end (see <see cref="CompletionEvent"/>).
public sealed record CompletionStream(string Model, int PromptTokens, System.Threading.Channels.ChannelReader<CompletionEvent> Events);

/// Continuous batching over one base model and many adapters. One engine thread owns the model: at every step it
/// takes in the waiting requests while slots are free (prefilled together, right-padded), then decodes one token for
/// every running sequence in a single forward pass, each row through its own adapter; a sequence that ends
/// or whose client goes away leaves the batch at once. Everything that touches the model or the tokenizer runs on
/// that thread, so callers only queue work and read channels.
public sealed class ServeEngine : IDisposable
{
    readonly LoadedModel _loaded;
    readonly ITokenizer _tok;
    readonly IServeObserver? _observer;
    readonly SlotKvCache _cache;
    readonly AdapterBank _bank;
    readonly ConcurrentDictionary<string, ServedAdapter> _models = new(StringComparer.Ordinal);
    readonly ConcurrentQueue<Action> _commands = new();
    readonly Queue<Sequence> _waiting = new();
    readonly List<Sequence> _running = new();
    readonly Stack<int> _freeSlots;
    readonly AutoResetEvent _wake = new(false);
    readonly Thread _thread;
    readonly TaskCompletionSource _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);
    readonly string? _template;
    volatile bool _admitting = true, _closed;
    long _stopDeadline = long.MaxValue;
    readonly Lazy<BaseFingerprint> _fingerprint;
    int _waitingCount, _runningCount;

    public string BaseId { get; }
    public int MaxBatch { get; }
    public int MaxContext { get; }
    /// Requests accepted and not yet decoding / decoding now (for /metrics).
    public int Waiting => Volatile.Read(ref _waitingCount);
    public int Running => Volatile.Read(ref _runningCount);
    /// Bytes of the KV cache allocated for every slot.
    public long CacheBytes => _cache.Bytes;

    public ServeEngine(LoadedModel loaded, ServeOptions options, IServeObserver? observer = null)
    {
        _loaded = loaded;
        _tok = loaded.RequireTokenizer();
        _observer = observer;
        int window = loaded.Config.MaxPositionEmbeddings;
        _fingerprint = new(() => BaseFingerprint.Compute(loaded.Dir), LazyThreadSafetyMode.ExecutionAndPublication);
        MaxContext = options.MaxContext ?? Math.Min(window, ServeOptions.DefaultMaxContext);
        if (MaxContext < 2 || MaxContext > window)
            throw new UserException($"--max-context {MaxContext}: must be in [2, {window}] (the model's max_position_embeddings)");
        if (options.MaxBatch < 1) throw new UserException($"--max-batch {options.MaxBatch}: must be at least 1");
        MaxBatch = options.MaxBatch;
        _template = options.Template;
        BaseId = options.BaseName ?? Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(loaded.Dir)));
        _models[BaseId] = new ServedAdapter
        {
            Info = new ServedModel(BaseId, loaded.Dir, null, DateTimeOffset.UtcNow.ToUnixTimeSeconds()),
            Chat = ChatBuilder(null, new List<string>()),
        };
        _bank = new AdapterBank(loaded.Model);
        _cache = new SlotKvCache(loaded.Config, MaxBatch, MaxContext, loaded.Model.Dtype, loaded.Model.Device);
        _freeSlots = new Stack<int>(Enumerable.Range(0, MaxBatch).Reverse());
        _thread = new Thread(Loop) { IsBackground = true, Name = "loralab-serve" };
        _thread.Start();
    }

    /// The base and every loaded adapter, the base first.
    public IReadOnlyList<ServedModel> Models() =>
        _models.Values.Where(m => !m.Unloaded).Select(m => m.Info).OrderBy(m => m.Parent is not null).ThenBy(m => m.Id, StringComparer.Ordinal).ToArray();

    /// Reads a PEFT adapter (safetensors only), checks it against the base (modules, shapes, finite values, and the
    /// base fingerprint it records), and serves it as `name`. Warnings (e.g. no recorded template) go to `warnings`.
    public async Task<ServedModel> LoadAdapterAsync(string name, string dir, ICollection<string>? warnings = null)
    {
        if (!ServedModel.IsName(name)) throw ServeRequestException.Invalid($"'lora_name': {ServedModel.NameRule}.", "lora_name");
        if (_models.ContainsKey(name)) throw ServeRequestException.Invalid($"a model named '{name}' is already served", "lora_name");
        // Reading and checking the files (and hashing the base, once) happen off the engine thread: decoding goes on.
        var (provenance, weights) = await Task.Run(() => Read(dir));
        using (weights)
            return await OnEngine(() =>
            {
                if (_models.ContainsKey(name)) throw ServeRequestException.Invalid($"a model named '{name}' is already served", "lora_name");
                ExampleBuilder? chat;
                try { chat = ChatBuilder(provenance, warnings ?? new List<string>()); }
                catch (UserException e) { throw ServeRequestException.Invalid(e.Message, "lora_path"); }
                var model = new ServedAdapter
                {
                    Info = new ServedModel(name, dir, BaseId, DateTimeOffset.UtcNow.ToUnixTimeSeconds()),
                    BankId = _bank.Add(weights),
                    Chat = chat,
                };
                _models[name] = model;
                return model.Info;
            });
    }

    (AdapterProvenance? Provenance, AdapterWeights Weights) Read(string dir)
    {
        try
        {
            var provenance = AdapterProvenance.Read(dir);
            if (provenance?.BaseFingerprint is { } recorded)
            {
                var cmp = recorded.CompareTo(_fingerprint.Value);
                if (!cmp.Matches)
                    throw new UserException($"{dir}: the adapter was trained on a different base than the one served ({cmp.Describe()})");
            }
            return (provenance, PeftFormat.Read(dir, _loaded.Model));
        }
        catch (UserException e) { throw ServeRequestException.Invalid(e.Message, "lora_path"); }
    }

    /// Stops serving `name` at once (requests naming it get 404); sequences already accepted for it finish first.
    public Task UnloadAdapterAsync(string name) => OnEngine(() =>
    {
        if (!_models.TryGetValue(name, out var m) || m.Unloaded)
            throw ServeRequestException.NotFound($"The adapter '{name}' is not loaded.", "lora_name");
        if (m.BankId is null) throw ServeRequestException.Invalid($"'{name}' is the base model, not an adapter", "lora_name");
        m.Unloaded = true;
        _models.TryRemove(name, out _);
        ReleaseIfUnused(m);
        return true;
    });

    /// Renders and checks the request on the engine thread and queues it; refusals throw
    /// <see cref="ServeRequestException"/>. Cancelling `cancel` (the client went away) ends the sequence at the next step.
    public Task<CompletionStream> SubmitAsync(CompletionRequest request, CancellationToken cancel)
    {
        if (!_admitting) return Task.FromException<CompletionStream>(new ServeRequestException(503, "the server is shutting down"));
        return OnEngine(() =>
        {
            if (!_admitting) throw new ServeRequestException(503, "the server is shutting down");
            var seq = Accept(request);
            seq.Model.InFlight++;
            _waiting.Enqueue(seq);
            Interlocked.Increment(ref _waitingCount);
            seq.OnCancel = cancel.Register(() => { seq.Cancel(); _wake.Set(); });
            return new CompletionStream(seq.Model.Info.Id, seq.Prompt.Length, seq.Events.Reader);
        });
    }

    /// Stops admitting (new requests get 503), lets running and waiting requests finish for up to `grace`, ends the
    /// rest as cancelled, and stops the engine thread.
    public Task StopAsync(TimeSpan grace)
    {
        _admitting = false;
        Interlocked.Exchange(ref _stopDeadline, Stopwatch.GetTimestamp() + (long)(grace.TotalSeconds * Stopwatch.Frequency));
        _wake.Set();
        return _exited.Task;
    }

    public void Dispose()
    {
        if (_thread.IsAlive)
        {
            StopAsync(TimeSpan.Zero);
            _thread.Join();
        }
        _bank.Dispose();
        _cache.Dispose();
    }

    /// Runs `work` on the engine thread between steps. Once the engine has stopped, work is refused (503) instead: on
    /// the engine's last pass over the queue, or here when it was queued after that pass.
    Task<T> OnEngine<T>(Func<T> work)
    {
        var done = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        _commands.Enqueue(() =>
        {
            if (_closed) { done.TrySetException(new ServeRequestException(503, "the server is shutting down")); return; }
            try { done.TrySetResult(work()); }
            catch (Exception e) { done.TrySetException(e); }
        });
        _wake.Set();
        if (_closed) while (_commands.TryDequeue(out var refused)) refused();
        return done.Task;
    }

    /// The builder for chats with a model: its recorded template, else --template, else the tokenizer's own chat
    /// template when it is a known form; null when none (raw completions only).
    ExampleBuilder? ChatBuilder(AdapterProvenance? provenance, ICollection<string> warnings)
    {
        var recorded = provenance is null ? null : ServingTemplate.Builder(_tok, null, provenance, warnings);
        if (recorded is not null) return recorded;
        if (_template is not null) return new ExampleBuilder(_tok, PromptTemplate.Resolve(_template, _tok.ChatTemplate));
        return ServingTemplate.OwnChat(_tok);
    }

    Sequence Accept(CompletionRequest r)
    {
        if (!_models.TryGetValue(r.Model, out var model) || model.Unloaded)
            throw ServeRequestException.NotFound($"The model '{r.Model}' does not exist.");
        // what the sampler can take (the HTTP layer checks OpenAI's ranges first; this guards every other caller)
        if (r.MaxTokens is < 1) throw ServeRequestException.Invalid($"'max_tokens' must be at least 1, got {r.MaxTokens}", "max_tokens");
        if (!(r.Temperature >= 0) || double.IsInfinity(r.Temperature)) throw ServeRequestException.Invalid($"'temperature' must be a number, 0 or more, got {r.Temperature}", "temperature");
        if (!(r.TopP > 0 && r.TopP <= 1)) throw ServeRequestException.Invalid($"'top_p' must be in (0, 1], got {r.TopP}", "top_p");
        int[] ids;
        IReadOnlyList<int> stopIds;
        string? endOfTurn = null;
        string param;
        if (r.Messages is not null)
        {
            param = "messages";
            var chat = model.Chat ?? throw ServeRequestException.Invalid(
                $"model '{model.Info.Id}' has no chat template (none recorded, and the tokenizer's is not a known form); use /v1/completions, or start the server with --template NAME", param);
            if (r.Messages.Count == 0) throw ServeRequestException.Invalid("'messages' must contain at least one message", param);
            try { ids = chat.EncodePrompt(r.Messages); }
            catch (UserException e) { throw ServeRequestException.Invalid(e.Message, param); }
            stopIds = chat.StopTokenIds;
            endOfTurn = chat.Template.EndOfTurn;
        }
        else
        {
            param = "prompt";
            ids = _tok.Encode(r.Prompt ?? throw ServeRequestException.Invalid("'prompt' is required", param), addBos: _tok.AddBosByDefault).ToArray();
            stopIds = _loaded.EosId is int eos ? new[] { eos } : Array.Empty<int>();
        }
        if (ids.Length == 0) throw ServeRequestException.Invalid("the prompt is empty (no tokens)", param);
        if (ids.Length >= MaxContext)
            throw new ServeRequestException(400, $"This model's maximum context length is {MaxContext} tokens. However, your {param} resulted in {ids.Length} tokens.", param, "context_length_exceeded");
        if (r.MaxTokens is int max && ids.Length + max > MaxContext)
            throw new ServeRequestException(400, $"This model's maximum context length is {MaxContext} tokens. However, you requested {ids.Length + max} tokens ({ids.Length} in the {param}, {max} for the completion). Please reduce the length of the {param} or completion.", "max_tokens", "context_length_exceeded");
        int maxNew = r.MaxTokens ?? MaxContext - ids.Length;
        if (r.IgnoreEos) (stopIds, endOfTurn) = (Array.Empty<int>(), null);
        return new Sequence
        {
            Model = model,
            Prompt = ids,
            Sampling = new SamplingOptions { MaxNewTokens = maxNew, Temperature = r.Temperature, TopP = r.TopP, Seed = r.Seed ?? Random.Shared.NextInt64(), StopIds = stopIds.ToArray() },
            Text = new ReplyText(_tok, endOfTurn, r.Stop),
        };
    }

    void Loop()
    {
        try
        {
            using var _ = no_grad();
            while (true)
            {
                try
                {
                    while (_commands.TryDequeue(out var command)) command();
                    if (Stopwatch.GetTimestamp() >= Interlocked.Read(ref _stopDeadline)) CancelAll();
                    foreach (var gone in _running.Where(s => s.Cancelled).ToArray()) Remove(gone);
                    DropCancelledWaiting();
                    Admit();
                    if (_running.Count > 0) { Decode(); continue; }
                    if (!_admitting && _waiting.Count == 0 && _commands.IsEmpty) break;
                }
                catch (Exception e)
                {
                    // a defect in one step must not stop the server: end what was in flight, keep serving
                    Console.Error.WriteLine($"error: serving step failed: {e.Message}");
                    CancelAll();
                }
                _wake.WaitOne(_admitting ? 1000 : 50);
            }
        }
        finally
        {
            _closed = true;
            _exited.TrySetResult();
            while (_commands.TryDequeue(out var command)) command();
        }
    }

    /// A waiting request whose client went away ends now, not when its turn for a slot comes.
    void DropCancelledWaiting()
    {
        if (!_waiting.Any(s => s.Cancelled)) return;
        for (int n = _waiting.Count; n > 0; n--)
        {
            var seq = _waiting.Dequeue();
            if (!seq.Cancelled) { _waiting.Enqueue(seq); continue; }
            Interlocked.Decrement(ref _waitingCount);
            Release(seq, FinishReason.Cancelled);
        }
    }

    /// Takes waiting requests into free slots (up to a token budget a pass) and prefills them together.
    void Admit()
    {
        var admitted = new List<Sequence>();
        while (_waiting.Count > 0 && _freeSlots.Count > 0)
        {
            var next = _waiting.Peek();
            int longest = Math.Max(next.Prompt.Length, admitted.Count == 0 ? 0 : admitted.Max(s => s.Prompt.Length));
            if (admitted.Count > 0 && (admitted.Count + 1) * longest > PrefillTokens) break;
            _waiting.Dequeue();
            Interlocked.Decrement(ref _waitingCount);
            if (next.Cancelled) { Release(next, FinishReason.Cancelled); continue; }
            next.Slot = _freeSlots.Pop();
            _running.Add(next);
            Interlocked.Increment(ref _runningCount);
            admitted.Add(next);
        }
        if (admitted.Count == 0) return;
        var rows = admitted.ToArray();
        try { Prefill(rows); }
        catch (Exception e)
        {
            Console.Error.WriteLine($"error: prefill failed: {e.Message}");
            foreach (var seq in rows) seq.End(FinishReason.Stop, e.Message);
        }
        foreach (var seq in rows)
            if (seq.Ended) Remove(seq);
    }

    /// Padded positions a prefill pass may hold (rows × longest prompt): bounds its activations, as vLLM's
    /// max_num_batched_tokens does; a prompt longer than this is prefilled alone.
    int PrefillTokens => Math.Max(MaxContext, 2048);

    /// The prompts, right-padded, in one pass into their slots, each through its own adapter; then each row's first
    /// token from its last prompt position.
    void Prefill(Sequence[] rows)
    {
        using var scope = NewDisposeScope();
        var device = _loaded.Model.Device;
        int t = rows.Max(s => s.Prompt.Length);
        var padded = new long[rows.Length * t];
        for (int i = 0; i < rows.Length; i++)
            for (int j = 0; j < rows[i].Prompt.Length; j++) padded[i * t + j] = rows[i].Prompt[j];
        _bank.Routing.PerRow(rows.Select(s => s.Model.BankId).ToArray(), device);
        var ids = Int64(padded, device).view(rows.Length, t);
        var slots = Int64(rows.Select(s => (long)s.Slot), device);
        var last = Int64(rows.Select(s => (long)s.Prompt.Length - 1), device);
        var logits = _loaded.Model.LastLogits(ids, last, _cache.Prefill(slots, t));
        foreach (var seq in rows) seq.Length = seq.Prompt.Length;
        TakeAll(rows, logits);
    }

    /// One token for every running sequence, in one forward pass.
    void Decode()
    {
        var rows = _running.ToArray();
        try
        {
            using var scope = NewDisposeScope();
            var device = _loaded.Model.Device;
            _bank.Routing.PerRow(rows.Select(s => s.Model.BankId).ToArray(), device);
            var ids = Int64(rows.Select(s => (long)s.LastToken), device);
            var slots = Int64(rows.Select(s => (long)s.Slot), device);
            var positions = Int64(rows.Select(s => s.Length), device);
            long span = rows.Max(s => s.Length) + 1;
            var logits = _loaded.Model.DecodeStep(ids, slots, positions, span, _cache);
            foreach (var seq in rows) seq.Length++;
            TakeAll(rows, logits);
        }
        catch (Exception e)
        {
            Console.Error.WriteLine($"error: decode step failed: {e.Message}");
            foreach (var seq in rows) seq.End(FinishReason.Stop, e.Message);
        }
        _observer?.Step(rows.Length, _waiting.Count);
        foreach (var seq in rows)
            if (seq.Ended || seq.Cancelled) Remove(seq);
    }

    /// One int64 value per row (ids, slots, positions) on the model's device.
    static Tensor Int64(IEnumerable<long> values, Device device) => tensor(values.ToArray(), dtype: ScalarType.Int64, device: device);

    /// Row i's next token from logits (B, vocab): greedy rows by one argmax over the batch, sampled rows by their own
    /// sampler; a row whose logits are not finite ends with an error instead.
    void TakeAll(Sequence[] rows, Tensor logits)
    {
        using var host = logits.to(ScalarType.Float32).cpu();
        using var finiteRows = isfinite(host).all(1);
        using var argmax = host.argmax(1);
        var finite = finiteRows.data<bool>().ToArray();
        var greedy = argmax.data<long>().ToArray();
        for (int i = 0; i < rows.Length; i++)
        {
            var seq = rows[i];
            if (!finite[i]) { seq.End(FinishReason.Stop, NonFinite(seq)); continue; }
            if (seq.Sampling.Temperature <= 0) { Take(seq, (int)greedy[i]); continue; }
            using var row = host[i];
            Take(seq, TextGenerator.Sample(row, seq.Sampling, seq.Sampler));
        }
    }

    string NonFinite(Sequence seq) =>
        $"the model's logits are NaN/Inf at generated token {seq.Generated + 1} (non-finite weights, or values that overflow {_loaded.Model.Dtype})";

    /// A sampled token: streamed as text, and the sequence ends at a stop id, a stop string, or its token budget.
    void Take(Sequence seq, int id)
    {
        long now = Stopwatch.GetTimestamp();
        if (seq.Generated == 0) _observer?.FirstToken(seq.Model.Info.Id, Stopwatch.GetElapsedTime(seq.SubmittedAt, now).TotalSeconds);
        else _observer?.NextToken(seq.Model.Info.Id, Stopwatch.GetElapsedTime(seq.LastTokenAt, now).TotalSeconds);
        seq.LastTokenAt = now;
        seq.Generated++;
        seq.LastToken = id;
        seq.Emit(seq.Text.Push(id));
        if (seq.Sampling.StopIds.Contains(id) || seq.Text.Ended) seq.End(FinishReason.Stop);
        else if (seq.Generated >= seq.Sampling.MaxNewTokens) seq.End(FinishReason.Length);
    }

    void Remove(Sequence seq)
    {
        _running.Remove(seq);
        Interlocked.Decrement(ref _runningCount);
        _freeSlots.Push(seq.Slot);
        Release(seq, FinishReason.Cancelled);
    }

    /// Ends `seq` (as `reason` unless it already ended), reports it and frees what it held.
    void Release(Sequence seq, FinishReason reason)
    {
        seq.End(reason);
        _observer?.Finished(seq.Model.Info.Id, seq.Prompt.Length, seq.Generated, seq.Reason!.Value);
        seq.Model.InFlight--;
        ReleaseIfUnused(seq.Model);
        seq.Dispose();
    }

    void ReleaseIfUnused(ServedAdapter m)
    {
        if (m is { Unloaded: true, InFlight: 0, BankId: int id }) _bank.Remove(id);
    }

    void CancelAll()
    {
        foreach (var seq in _running.ToArray()) { seq.Cancel(); Remove(seq); }
        while (_waiting.Count > 0) { Interlocked.Decrement(ref _waitingCount); Release(_waiting.Dequeue(), FinishReason.Cancelled); }
    }
}
