using LoraLab.Configuration;
using static TorchSharp.torch;

namespace LoraLab.Training.Preferences;

/// One micro-batch's preference loss terms, per pair: the loss to average over pairs, the rewards (detached) and, for
/// ORPO, the chosen completions' NLL sum and the log odds ratio. The formulas follow TRL (DPOTrainer, ORPOTrainer):
/// z = (π_c − π_r) − (ref_c − ref_r) on summed completion log-probs;
/// sigmoid: −(1−ε)·logσ(βz) − ε·logσ(−βz) (ε: conservative DPO's label smoothing); hinge: relu(1 − βz);
/// ipo: (z' − 1/(2β))², z' from log-ratios divided by each completion's token count; rewards β·(π − ref).
/// ORPO: λ·−logσ(log odds), the odds from per-token mean log-probs a: (a_c − a_r) − (log(1−e^a_c) − log(1−e^a_r)),
/// plus the chosen completions' NLL (averaged over the window's chosen tokens by the caller); rewards λ·a.
public sealed class PreferenceLossTerms : IDisposable
{
    public Tensor PairLoss { get; }
    public Tensor RewardsChosen { get; }
    public Tensor RewardsRejected { get; }
    /// ORPO only: −(sum of the chosen completions' token log-probs), and each pair's log odds ratio.
    public Tensor? ChosenNllSum { get; }
    public Tensor? LogOdds { get; }

    PreferenceLossTerms(Tensor loss, Tensor rc, Tensor rr, Tensor? nll, Tensor? odds)
    {
        PairLoss = loss; RewardsChosen = rc; RewardsRejected = rr; ChosenNllSum = nll; LogOdds = odds;
    }

    /// `policy*`: summed completion log-probs (with gradients), `count*`: completion tokens, `ref*`: the reference's sums
    /// (DPO only). All have one entry per pair.
    public static PreferenceLossTerms Compute(PreferenceSettings s, Tensor policyChosen, Tensor policyRejected, Tensor countChosen, Tensor countRejected,
        Tensor? refChosen, Tensor? refRejected)
    {
        using var scope = NewDisposeScope();
        if (s.Method == TrainMethod.Orpo)
        {
            var ac = policyChosen.div(countChosen.clamp_min(1));
            var ar = policyRejected.div(countRejected.clamp_min(1));
            var logOdds = ac.sub(ar).sub(Log1mExp(ac).sub(Log1mExp(ar)));
            var orLoss = nn.functional.logsigmoid(logOdds).mul(-s.OrpoAlpha);
            return new PreferenceLossTerms(orLoss, ac.detach().mul(s.OrpoAlpha), ar.detach().mul(s.OrpoAlpha),
                policyChosen.sum().neg(), logOdds.detach()).MoveToOuterDisposeScope();
        }
        if (refChosen is null || refRejected is null) throw new InvalidOperationException("DPO needs the reference's log-probabilities");
        var chosenRatio = policyChosen.sub(refChosen);
        var rejectedRatio = policyRejected.sub(refRejected);
        Tensor loss;
        switch (s.Loss)
        {
            case PreferenceLoss.Ipo:
                var z = chosenRatio.div(countChosen.clamp_min(1)).sub(rejectedRatio.div(countRejected.clamp_min(1)));
                loss = z.sub(1 / (2 * s.Beta)).pow(2);
                break;
            case PreferenceLoss.Hinge:
                loss = nn.functional.relu(chosenRatio.sub(rejectedRatio).mul(-s.Beta).add(1));
                break;
            default:
                var bz = chosenRatio.sub(rejectedRatio).mul(s.Beta);
                loss = nn.functional.logsigmoid(bz).mul(-(1 - s.LabelSmoothing));
                if (s.LabelSmoothing > 0) loss = loss.sub(nn.functional.logsigmoid(bz.neg()).mul(s.LabelSmoothing));
                break;
        }
        return new PreferenceLossTerms(loss, chosenRatio.detach().mul(s.Beta), rejectedRatio.detach().mul(s.Beta), null, null).MoveToOuterDisposeScope();
    }

    /// log(1 − e^x) for x < 0, stable at both ends (Mächler): log(−expm1(x)) near 0, log1p(−e^x) far from it.
    static Tensor Log1mExp(Tensor x)
    {
        var near = x.gt(-Math.Log(2));
        // Both branches are evaluated; clamping keeps the unused one finite so its gradient is not NaN.
        var a = x.clamp_max(-1e-7).expm1().neg().log();
        var b = x.clamp_max(-Math.Log(2)).exp().neg().log1p();
        return where(near, a, b);
    }

    /// Every tensor of these terms moved to the dispose scope around the current one; returns this.
    public PreferenceLossTerms MoveToOuterDisposeScope()
    {
        PairLoss.MoveToOuterDisposeScope(); RewardsChosen.MoveToOuterDisposeScope(); RewardsRejected.MoveToOuterDisposeScope();
        ChosenNllSum?.MoveToOuterDisposeScope(); LogOdds?.MoveToOuterDisposeScope();
        return this;
    }

    public void Dispose()
    {
        PairLoss.Dispose(); RewardsChosen.Dispose(); RewardsRejected.Dispose(); ChosenNllSum?.Dispose(); LogOdds?.Dispose();
    }
}
