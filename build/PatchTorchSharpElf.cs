// MSBuild task (compiled by RoslynCodeTaskFactory): marks libLibTorchSharp.so's GLIBCXX_3.4.32 need as weak.
using System;
using System.IO;
using System.Text;
#if !LORALAB_LIBRARY
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;
#endif

#if !LORALAB_LIBRARY
public class LoraLabPatchTorchSharpElf : Task
{
    const string Needed = TorchSharpElfPatch.Needed;

    [Required] public string[] Directories { get; set; }

    public override bool Execute()
    {
        if (TorchSharpElfPatch.SystemLibStdCxxHas(Needed))
        {
            Log.LogMessage(MessageImportance.Low, "libstdc++ provides " + Needed + "; TorchSharp needs no patch.");
            return true;
        }
        foreach (var dir in Directories)
        {
            if (string.IsNullOrEmpty(dir) || !Directory.Exists(dir)) continue;
            foreach (var file in Directory.EnumerateFiles(dir, "libLibTorchSharp.so", SearchOption.AllDirectories))
            {
                try
                {
                    var bytes = File.ReadAllBytes(file);
                    int changed = TorchSharpElfPatch.MarkWeak(bytes, Needed);
                    if (changed < 0) { Log.LogWarning("TorchSharp compat: " + file + " is not a 64-bit little-endian ELF; left alone."); continue; }
                    if (changed == 0) continue; // already weak, or no such requirement
                    // Write a fresh file and rename over: a hard link to the NuGet cache is never written through.
                    var tmp = file + ".loralab-tmp";
                    File.WriteAllBytes(tmp, bytes);
                    File.Delete(file);
                    File.Move(tmp, file);
                    Log.LogMessage(MessageImportance.High, "TorchSharp compat: marked " + Needed + " weak in " + file);
                }
                catch (IOException e)
                {
                    Log.LogWarning("TorchSharp compat: could not patch " + file + ": " + e.Message);
                }
            }
        }
        return !Log.HasLoggedErrors;
    }
}
#endif

/// The ELF edit itself, shared by the build task and by `loralab doctor` (compiled into the library too).
public static class TorchSharpElfPatch
{
    public const string Needed = "GLIBCXX_3.4.32";
    const uint ShtGnuVerneed = 0x6ffffffe;
    const ushort VerFlgWeak = 0x2;

    public static bool SystemLibStdCxxHas(string version)
    {
        string[] candidates =
        {
            "/usr/lib/x86_64-linux-gnu/libstdc++.so.6", "/lib/x86_64-linux-gnu/libstdc++.so.6",
            "/usr/lib/aarch64-linux-gnu/libstdc++.so.6", "/usr/lib64/libstdc++.so.6", "/lib64/libstdc++.so.6",
            "/usr/lib/libstdc++.so.6",
        };
        bool anyFound = false;
        var needle = Encoding.ASCII.GetBytes(version + "\0");
        foreach (var path in candidates)
        {
            if (!File.Exists(path)) continue;
            anyFound = true;
            if (IndexOf(File.ReadAllBytes(path), needle) >= 0) return true;
        }
        return !anyFound; // no system libstdc++ found where we look: do not guess, leave the library alone
    }

    static int IndexOf(byte[] hay, byte[] needle)
    {
        for (int i = 0; i + needle.Length <= hay.Length; i++)
        {
            int j = 0;
            while (j < needle.Length && hay[i + j] == needle[j]) j++;
            if (j == needle.Length) return i;
        }
        return -1;
    }

    /// Returns the number of Vernaux entries changed, 0 if none needed a change, -1 if not an ELF64 LE file.
    public static int MarkWeak(byte[] b, string versionName) => Visit(b, versionName, write: true);

    /// Counts the still-strong (unpatched) requirements of versionName; -1 if not an ELF64 LE file.
    public static int CountStrong(byte[] b, string versionName) => Visit(b, versionName, write: false);

    static int Visit(byte[] b, string versionName, bool write)
    {
        if (b.Length < 64 || b[0] != 0x7f || b[1] != (byte)'E' || b[2] != (byte)'L' || b[3] != (byte)'F' || b[4] != 2 || b[5] != 1)
            return -1;
        ulong shoff = BitConverter.ToUInt64(b, 0x28);
        ushort shentsize = BitConverter.ToUInt16(b, 0x3A);
        ushort shnum = BitConverter.ToUInt16(b, 0x3C);
        int changed = 0;
        for (int s = 0; s < shnum; s++)
        {
            long sh = (long)shoff + (long)s * shentsize;
            if (sh + 64 > b.Length) return -1;
            uint type = BitConverter.ToUInt32(b, (int)sh + 4);
            if (type != ShtGnuVerneed) continue;
            long offset = (long)BitConverter.ToUInt64(b, (int)sh + 0x18);
            uint link = BitConverter.ToUInt32(b, (int)sh + 0x28);
            long strSh = (long)shoff + (long)link * shentsize;
            long strOff = (long)BitConverter.ToUInt64(b, (int)strSh + 0x18);
            long vn = offset;
            while (true)
            {
                ushort cnt = BitConverter.ToUInt16(b, (int)vn + 2);
                uint aux = BitConverter.ToUInt32(b, (int)vn + 8);
                uint next = BitConverter.ToUInt32(b, (int)vn + 12);
                long va = vn + aux;
                for (int i = 0; i < cnt; i++)
                {
                    ushort flags = BitConverter.ToUInt16(b, (int)va + 4);
                    uint name = BitConverter.ToUInt32(b, (int)va + 8);
                    uint vnaNext = BitConverter.ToUInt32(b, (int)va + 12);
                    if (ReadCString(b, strOff + name) == versionName && (flags & VerFlgWeak) == 0)
                    {
                        if (write)
                        {
                            ushort nf = (ushort)(flags | VerFlgWeak);
                            b[va + 4] = (byte)(nf & 0xff);
                            b[va + 5] = (byte)(nf >> 8);
                        }
                        changed++;
                    }
                    if (vnaNext == 0) break;
                    va += vnaNext;
                }
                if (next == 0) break;
                vn += next;
            }
        }
        return changed;
    }

    static string ReadCString(byte[] b, long at)
    {
        long end = at;
        while (end < b.Length && b[end] != 0) end++;
        return Encoding.ASCII.GetString(b, (int)at, (int)(end - at));
    }
}
