namespace LoraLab.Training;

/// A checkpoint file that cannot be what was saved (cut short by a full disk or a kill during a copy, or
/// overwritten). The message says how it is wrong, never what bytes it holds.
public static class CheckpointFileError
{
    public static UserException Corrupt(string path, string how) =>
        new($"{path}: truncated or corrupt checkpoint file ({how}); resume from an earlier checkpoint");

    public static UserException Missing(string path) =>
        new($"{path}: missing from the checkpoint folder; resume from an earlier checkpoint");
}
