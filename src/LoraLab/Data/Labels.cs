namespace LoraLab.Data;

/// Label conventions shared by the data pipeline and the loss.
public static class Labels
{
    /// Label of a position that is not a training target (PyTorch's `ignore_index` default).
    public const int Ignore = -100;
}
