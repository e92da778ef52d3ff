using System.Net;
using System.Net.Sockets;

namespace LoraLab.Cli.Serve;

/// --host as an address Kestrel binds, and whether only this machine can reach it.
public sealed record ListenAddress(string Host, IPAddress Address)
{
    public bool IsLoopback => IPAddress.IsLoopback(Address);

    /// The URL clients use: the host as given (IPv6 in brackets) and the port actually bound.
    public string Url(int port) => $"http://{(Address.AddressFamily == AddressFamily.InterNetworkV6 && Host.Contains(':') ? $"[{Host.Trim('[', ']')}]" : Host)}:{port}";

    public static ListenAddress Parse(string host)
    {
        var h = host.Trim();
        if (h.Length == 0) throw new UserException("--host: give an address (127.0.0.1, ::1, 0.0.0.0) or a host name");
        // Kestrel cannot pick a free port (--port 0) for the name "localhost", so it is bound as 127.0.0.1.
        if (h.Equals("localhost", StringComparison.OrdinalIgnoreCase)) return new(h, IPAddress.Loopback);
        if (IPAddress.TryParse(h.Trim('[', ']'), out var ip)) return new(h, ip);
        try
        {
            var found = Dns.GetHostAddresses(h);
            return new(h, found.FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork) ?? found.First());
        }
        catch (Exception e) when (e is SocketException or InvalidOperationException or ArgumentException)
        {
            throw new UserException($"--host {host}: not an IP address, and the name does not resolve");
        }
    }
}
