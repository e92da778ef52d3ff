using LoraLab.Models;
using Xunit;
using static TorchSharp.torch;

namespace LoraLab.Tests.Models;

/// EvalMode, the scope every evaluation inside a training run uses: eval mode within it, the mode it found after it.
public class EvalModeTests
{
    [Fact]
    public void The_scope_evaluates_and_restores_training_only_where_it_found_it()
    {
        var cfg = new ModelConfig
        {
            ModelType = "llama", VocabSize = 16, HiddenSize = 16, IntermediateSize = 32, NumHiddenLayers = 1, NumAttentionHeads = 2,
            NumKeyValueHeads = 1, HeadDim = 8, MaxPositionEmbeddings = 32,
        };
        using var m = new CausalLM(cfg, ScalarType.Float32, CPU);
        m.train();
        using (EvalMode.On(m)) Assert.False(m.training);
        Assert.True(m.training);
        m.eval();
        using (EvalMode.On(m)) Assert.False(m.training);
        Assert.False(m.training);
    }
}
