using LoraLab.Serving;

namespace LoraLab.Cli.Serve;

/// One `--adapter NAME=DIR` of `serve`: the model name clients send and the adapter's folder or Hub id.
public sealed record AdapterArgument(string Name, string Dir)
{
    public static AdapterArgument Parse(string value)
    {
        int eq = value.IndexOf('=');
        if (eq <= 0 || eq == value.Length - 1 || string.IsNullOrWhiteSpace(value[..eq]) || string.IsNullOrWhiteSpace(value[(eq + 1)..]))
            throw new UserException($"--adapter '{value}': expected NAME=DIR (the model name clients send, then the adapter folder or Hub id), e.g. --adapter support=runs/a/adapter");
        var name = value[..eq].Trim();
        if (!ServedModel.IsName(name)) throw new UserException($"--adapter '{value}': the name '{name}' has a space or control character in it");
        return new(name, value[(eq + 1)..].Trim());
    }
}
