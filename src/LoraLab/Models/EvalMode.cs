namespace LoraLab.Models;

/// Runs a model in eval mode for a while (no dropout) and puts it back in training mode on Dispose when it was in it:
/// `using (EvalMode.On(model)) { ... }`, for evaluations that may run in the middle of training.
public sealed class EvalMode : IDisposable
{
    readonly CausalLM _model;
    readonly bool _wasTraining;

    EvalMode(CausalLM model)
    {
        _model = model;
        _wasTraining = model.training;
        model.eval();
    }

    public static EvalMode On(CausalLM model) => new(model);

    public void Dispose()
    {
        if (_wasTraining) _model.train();
    }
}
