using System.Security.Cryptography;
using System.Text;

namespace LoraLab.Cli.Serve;

/// `Authorization: Bearer KEY`, compared in constant time: both sides are hashed first, so neither the key's
/// content nor its length shows in how long a wrong guess takes.
public sealed class ApiKeyCheck(string key)
{
    readonly byte[] _expected = SHA256.HashData(Encoding.UTF8.GetBytes(key));

    public bool Allows(string? authorization)
    {
        const string scheme = "Bearer ";
        if (authorization is null || !authorization.StartsWith(scheme, StringComparison.OrdinalIgnoreCase)) return false;
        var given = SHA256.HashData(Encoding.UTF8.GetBytes(authorization[scheme.Length..].Trim()));
        return CryptographicOperations.FixedTimeEquals(given, _expected);
    }
}
