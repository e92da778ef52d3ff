namespace LoraLab.Serving;

/// What the engine reports for metrics (called on the engine thread; keep it cheap).
public interface IServeObserver
{
    /// After each decode step: the rows it decoded and the requests still waiting.
    void Step(int batchSize, int waiting);
    void FirstToken(string model, double secondsSinceSubmit);
    void NextToken(string model, double secondsSincePrevious);
    void Finished(string model, int promptTokens, int completionTokens, FinishReason reason);
}
