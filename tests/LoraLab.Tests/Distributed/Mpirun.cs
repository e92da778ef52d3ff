using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using Xunit;

namespace LoraLab.Tests.Distributed;

/// `loralab` as the ranks of an Open MPI job on this machine: `mpirun --allow-run-as-root --oversubscribe` around the
/// command line CliRunner starts the built program with, one app context per `ranks` entry (Open MPI's MPMD form
/// `-np 1 A : -np 1 B` when there are several).
sealed class Mpirun : IDisposable
{
    public const string Install = "apt-get install -y openmpi-bin";
    public static readonly Lazy<bool> Available = new(() =>
    {
        try
        {
            using var p = Process.Start(new ProcessStartInfo("mpirun", "--version") { RedirectStandardOutput = true, RedirectStandardError = true })!;
            p.StandardOutput.ReadToEnd(); p.StandardError.ReadToEnd();
            p.WaitForExit();
            return p.ExitCode == 0;
        }
        catch (System.ComponentModel.Win32Exception) { return false; }
    });

    readonly Process _p;
    readonly StringBuilder _out = new(), _err = new();
    public readonly Stopwatch Clock = Stopwatch.StartNew();

    Mpirun(ProcessStartInfo psi)
    {
        _p = new Process { StartInfo = psi };
        _p.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (_out) _out.AppendLine(e.Data); };
        _p.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (_err) _err.AppendLine(e.Data); };
        _p.Start();
        _p.BeginOutputReadLine();
        _p.BeginErrorReadLine();
    }

    /// Starts `np` ranks of `loralab args`.
    public static Mpirun Start(int np, params string[] args) => StartMpmd([(np, args)]);

    /// Starts one app context per entry: `np` ranks each of `loralab args`; `tagOutput`: each line of a rank's output
    /// starts with `[job,rank]<stdout>:` (see ByRank).
    public static Mpirun StartMpmd(IReadOnlyList<(int Np, string[] Args)> contexts, bool tagOutput = false)
    {
        var psi = new ProcessStartInfo("mpirun") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add("--allow-run-as-root");
        psi.ArgumentList.Add("--oversubscribe");
        if (tagOutput) psi.ArgumentList.Add("--tag-output");
        for (int i = 0; i < contexts.Count; i++)
        {
            if (i > 0) psi.ArgumentList.Add(":");
            var program = CliRunner.StartInfo(contexts[i].Args); // the built program as CliRunner runs it, and its environment
            psi.ArgumentList.Add("-np");
            psi.ArgumentList.Add(contexts[i].Np.ToString());
            psi.ArgumentList.Add(program.FileName);
            foreach (var a in program.ArgumentList) psi.ArgumentList.Add(a);
            foreach (var (k, v) in program.Environment) psi.Environment[k] = v; // mpirun passes its environment to local ranks
        }
        return new Mpirun(psi);
    }

    /// Runs `np` ranks of `loralab args` to the end.
    public static (int Rc, string Stdout, string Stderr, TimeSpan Took) Run(int np, params string[] args)
    {
        using var job = Start(np, args);
        return job.Wait(TimeSpan.FromMinutes(3));
    }

    public int Pid => _p.Id;

    /// What each rank printed to `stream` ("stdout" or "stderr") in a job started with tagOutput, terminal control
    /// sequences left out (Open MPI gives each rank a terminal, so .NET's console writes its set-up sequence).
    public static Dictionary<int, string> ByRank(string output, string stream)
    {
        var parts = Regex.Split(output, @"\[\d+,(\d+)\]<(stdout|stderr)>:");
        var byRank = new Dictionary<int, string>();
        for (int i = 1; i + 2 < parts.Length; i += 3)
        {
            if (parts[i + 1] != stream) continue;
            var rank = int.Parse(parts[i]);
            byRank[rank] = byRank.GetValueOrDefault(rank, "") + Regex.Replace(parts[i + 2], @"\e\[[0-9;?]*[A-Za-z]|\e[=>]", "");
        }
        return byRank;
    }

    /// Waits for the job to end (fails after `limit`, the job killed) and returns its exit status and output.
    public (int Rc, string Stdout, string Stderr, TimeSpan Took) Wait(TimeSpan limit)
    {
        if (!_p.WaitForExit(limit))
        {
            KillAll();
            Assert.Fail($"mpirun did not end within {limit.TotalSeconds:0} s; it printed:\n{Stdout}\n{Stderr}");
        }
        _p.WaitForExit(); // the output's end
        return (_p.ExitCode, Stdout, Stderr, Clock.Elapsed);
    }

    public bool HasExited => _p.HasExited;
    public string Stdout { get { lock (_out) return _out.ToString(); } }
    public string Stderr { get { lock (_err) return _err.ToString(); } }

    /// The rank processes, mpirun's children, by OMPI_COMM_WORLD_RANK (read from /proc/PID/environ); waits until
    /// `np` are there.
    public Dictionary<int, int> Ranks(int np)
    {
        var sw = Stopwatch.StartNew();
        while (true)
        {
            var ranks = new Dictionary<int, int>();
            foreach (var dir in Directory.EnumerateDirectories("/proc"))
            {
                if (!int.TryParse(Path.GetFileName(dir), out var pid)) continue;
                try
                {
                    var stat = File.ReadAllText(Path.Combine(dir, "stat"));
                    var ppid = int.Parse(stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[1]);
                    if (ppid != _p.Id) continue;
                    var rank = File.ReadAllText(Path.Combine(dir, "environ")).Split('\0')
                        .FirstOrDefault(v => v.StartsWith("OMPI_COMM_WORLD_RANK=", StringComparison.Ordinal));
                    if (rank is not null) ranks[int.Parse(rank["OMPI_COMM_WORLD_RANK=".Length..])] = pid;
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException) { } // gone meanwhile
            }
            if (ranks.Count == np) return ranks;
            if (sw.Elapsed.TotalSeconds > 30 || _p.HasExited) Assert.Fail($"found ranks {string.Join(", ", ranks.Keys)} of mpirun {_p.Id}, not {np}:\n{Stdout}\n{Stderr}");
            Thread.Sleep(50);
        }
    }

    public const int SigKill = 9, SigStop = 19; // Linux

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "kill")]
    static extern int Kill(int pid, int signal);

    /// Sends `signal`; a process that is already gone is no error.
    public static void Signal(int pid, int signal) => Kill(pid, signal);

    readonly List<int> _signalled = [];

    /// Sends `signal` to a rank and remembers it, so Dispose kills it for sure (a stopped rank must not outlive the test).
    public void SignalRank(int pid, int signal)
    {
        _signalled.Add(pid);
        Signal(pid, signal);
    }

    void KillAll()
    {
        foreach (var pid in _signalled) Signal(pid, SigKill);
        try { if (!_p.HasExited) _p.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
    }

    public void Dispose()
    {
        KillAll();
        _p.WaitForExit();
        _p.Dispose();
    }
}

/// A fact that runs `loralab` under mpirun: skipped, naming the command that installs Open MPI, where it is missing.
public sealed class MpirunFactAttribute : FactAttribute
{
    public MpirunFactAttribute()
    {
        if (!Mpirun.Available.Value) Skip = $"mpirun is not installed ({Mpirun.Install})";
    }
}

public sealed class MpirunTheoryAttribute : TheoryAttribute
{
    public MpirunTheoryAttribute()
    {
        if (!Mpirun.Available.Value) Skip = $"mpirun is not installed ({Mpirun.Install})";
    }
}

/// The tests that start mpirun jobs run one at a time, alone: each job's ranks want the machine's cores.
[CollectionDefinition("mpirun", DisableParallelization = true)]
public sealed class MpirunCollection { }
