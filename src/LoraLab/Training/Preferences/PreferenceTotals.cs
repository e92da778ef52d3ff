using LoraLab.Configuration;
using static TorchSharp.torch;

namespace LoraLab.Training.Preferences;

/// Sums of a preference objective's terms over the micro-batches of a step or an evaluation, kept on the device and
/// read back once: the loss and the metrics TRL logs (its `/` written `_`): rewards_chosen, rewards_rejected,
/// rewards_margin, rewards_accuracy, logps_chosen, logps_rejected; for ORPO also nll_loss, log_odds_ratio, log_odds_chosen.
public sealed class PreferenceTotals(PreferenceSettings settings, Device device) : IDisposable
{
    // Slots: pair-loss sum, rewards chosen, rewards rejected, pairs with chosen > rejected, logps chosen, logps rejected,
    // chosen NLL sum, chosen tokens, log-odds sum, pairs.
    const int Slots = 10;
    readonly Tensor _sums = zeros(Slots, dtype: ScalarType.Float64, device: device);

    public void Add(PreferenceLossTerms t, Tensor policyChosen, Tensor policyRejected, Tensor countChosen)
    {
        using var scope = NewDisposeScope();
        var zero = zeros(1, dtype: ScalarType.Float32, device: device).squeeze();
        var parts = stack(new[]
        {
            t.PairLoss.detach().sum(), t.RewardsChosen.sum(), t.RewardsRejected.sum(),
            t.RewardsChosen.gt(t.RewardsRejected).to(ScalarType.Float32).sum(),
            policyChosen.detach().sum(), policyRejected.detach().sum(),
            t.ChosenNllSum?.detach() ?? zero, countChosen.sum(), t.LogOdds?.sum() ?? zero,
            full(1, (float)t.PairLoss.shape[0], device: device).squeeze(),
        }).to(ScalarType.Float64);
        _sums.add_(parts);
    }

    /// The mean loss (ORPO: the chosen NLL per chosen token plus the mean odds-ratio term) and the metrics by name.
    public (double Loss, Dictionary<string, double> Metrics) Result()
    {
        using var cpu = _sums.cpu();
        var s = cpu.data<double>().ToArray();
        double pairs = Math.Max(1, s[9]);
        var m = new Dictionary<string, double>
        {
            ["rewards_chosen"] = s[1] / pairs, ["rewards_rejected"] = s[2] / pairs, ["rewards_margin"] = (s[1] - s[2]) / pairs,
            ["rewards_accuracy"] = s[3] / pairs, ["logps_chosen"] = s[4] / pairs, ["logps_rejected"] = s[5] / pairs,
        };
        double loss = s[0] / pairs;
        if (settings.Method == TrainMethod.Orpo)
        {
            double nll = s[6] / Math.Max(1, s[7]);
            m["nll_loss"] = nll;
            m["log_odds_ratio"] = -s[0] / pairs / settings.OrpoAlpha;
            m["log_odds_chosen"] = s[8] / pairs;
            loss += nll;
        }
        return (loss, m);
    }

    public void Dispose() => _sums.Dispose();
}
