using static TorchSharp.torch;
using Ts = TorchSharp.Modules;

namespace LoraLab.Training.Optimizers;

/// A parameter's running moments as the tensors its optimizer updates in place: `First` is Adam's m or SGD's
/// momentum buffer (null until SGD's first step), `Second` Adam's v (null for SGD), `MaxSecond` AMSGrad's running
/// maximum of v (null without AMSGrad).
public readonly record struct Moments(Tensor? First, Tensor? Second, Tensor? MaxSecond);

/// An optimizer whose per-parameter moments can be reached (ReLoRA prunes them at each restart).
public interface IMomentState
{
    Moments MomentsOf(Ts.Parameter parameter);
}
