using LoraLab.Distributed;
using Xunit;

namespace LoraLab.Tests.Distributed;

/// The watchdog ends the process (here: a fake exit) once when a watched exchange outlives the timeout, and never when
/// each exchange finishes in time. In the cli collection: it writes to Console.Error, which the test captures.
[Collection("cli")]
public class CollectiveWatchdogTests
{
    static (List<int> Exits, string Err) Watch(Action<CollectiveWatchdog> exchanges)
    {
        var exits = new List<int>();
        var old = Console.Error;
        var err = new StringWriter();
        Console.SetError(TextWriter.Synchronized(err));
        try
        {
            using var dog = new CollectiveWatchdog(TimeSpan.FromMilliseconds(300), () => "rank 1 of 2", code => { lock (exits) exits.Add(code); });
            exchanges(dog);
        }
        finally { Console.SetError(old); }
        lock (exits) return (exits.ToList(), err.ToString());
    }

    [Fact]
    public void FiresOnceAfterTheTimeoutWithTheMessage()
    {
        var (exits, err) = Watch(dog =>
        {
            var guard = dog.Watch("summing the gradients of step 3");
            Thread.Sleep(1000); // past the timeout, and long enough to see it fire again if it would
        });
        Assert.Equal([CollectiveWatchdog.ExitCode], exits);
        Assert.StartsWith("error: rank 1 of 2: no answer from the other ranks for 0 s summing the gradients of step 3; a rank died or hangs", err);
        Assert.Single(err.Trim().Split('\n'));
    }

    [Fact]
    public void NeverFiresWhenEachExchangeEndsInTime()
    {
        var (exits, err) = Watch(dog =>
        {
            for (int i = 0; i < 8; i++) // 8 × 100 ms: longer than the timeout in all, each exchange well within it
                using (dog.Watch($"exchange {i}")) Thread.Sleep(100);
            Thread.Sleep(600);
        });
        Assert.Empty(exits);
        Assert.Equal("", err);
    }
}
