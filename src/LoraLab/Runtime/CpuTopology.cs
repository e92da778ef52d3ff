namespace LoraLab.Runtime;

/// Physical CPU cores (not hyper-threads): the thread count at which libtorch's matrix products run fastest.
public static class CpuTopology
{
    /// Whether this process is bound to fewer CPUs than are online (mpirun's --bind-to, taskset), read from its
    /// affinity list; a container's CPU quota, which Environment.ProcessorCount also reflects, is not binding.
    public static bool AffinityRestricted()
    {
        try
        {
            var allowed = File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith("Cpus_allowed_list:", StringComparison.Ordinal));
            if (allowed is null) return false;
            int mine = CountList(allowed["Cpus_allowed_list:".Length..]), online = CountList(File.ReadAllText("/sys/devices/system/cpu/online"));
            return mine > 0 && online > 0 && mine < online;
        }
        catch (IOException) { return false; }
        catch (UnauthorizedAccessException) { return false; }
    }

    /// How many CPUs a Linux CPU list names ("0-3,8,10-11" is 7); 0 when it does not parse.
    public static int CountList(string list)
    {
        int n = 0;
        foreach (var part in list.Trim().Split(',', StringSplitOptions.RemoveEmptyEntries))
        {
            var ends = part.Split('-');
            if (!int.TryParse(ends[0], out int a) || !int.TryParse(ends[^1], out int b) || ends.Length > 2 || b < a) return 0;
            n += b - a + 1;
        }
        return n;
    }

    /// Distinct (package, core) pairs from /sys on Linux; the logical processor count elsewhere or when unreadable.
    public static int PhysicalCores()
    {
        try
        {
            var cores = new HashSet<string>();
            foreach (var cpu in Directory.EnumerateDirectories("/sys/devices/system/cpu", "cpu*"))
            {
                var topo = Path.Combine(cpu, "topology");
                var core = Path.Combine(topo, "core_id");
                var pkg = Path.Combine(topo, "physical_package_id");
                if (File.Exists(core) && File.Exists(pkg))
                    cores.Add(File.ReadAllText(pkg).Trim() + ":" + File.ReadAllText(core).Trim());
            }
            // Inside a container the affinity mask can be smaller than the machine: never exceed it.
            if (cores.Count > 0) return Math.Min(cores.Count, Environment.ProcessorCount);
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return Environment.ProcessorCount;
    }
}
