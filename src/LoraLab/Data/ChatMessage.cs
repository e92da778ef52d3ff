namespace LoraLab.Data;

/// One turn of a conversation. Roles are normalised to `system`, `user` or `assistant` by the readers.
public sealed record ChatMessage(string Role, string Content)
{
    public const string System = "system";
    public const string User = "user";
    public const string Assistant = "assistant";
}
