namespace LoraLab.Runtime;

/// Physical CPU cores (not hyper-threads): the thread count at which libtorch's matrix products run fastest.
public static class CpuTopology
{
    /// Whether this process may run on fewer CPUs than the machine has (a launcher or container bound it).
    public static bool AffinityRestricted()
    {
        try
        {
            int all = Directory.EnumerateDirectories("/sys/devices/system/cpu", "cpu*")
                .Count(d => Path.GetFileName(d)[3..] is { Length: > 0 } n && n.All(char.IsAsciiDigit));
            return all > 0 && Environment.ProcessorCount < all;
        }
        catch (IOException) { return false; }
        catch (UnauthorizedAccessException) { return false; }
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
