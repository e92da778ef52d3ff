using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;
using LoraLab.Runtime;
using TorchSharp;
using Xunit;

namespace LoraLab.Tests;

public class MklCpuDispatchTests
{
    /// The cache is found only behind the exact instructions `mov eax,[rip+d]; test eax,eax; js`: d counts from the
    /// end of the 6-byte mov, and any other code (another MKL build) is left alone.
    [Fact]
    public void CacheAddressIsReadOffTheExpectedInstructionsOnly()
    {
        var fn = (IntPtr)0x10_0000;
        byte[] code = [0x8B, 0x05, 0x1A, 0x67, 0x98, 0x09, 0x85, 0xC0, 0x78];
        Assert.Equal(fn + 6 + 0x0998671A, MklCpuDispatch.CacheAddress(fn, code));
        byte[] negative = [0x8B, 0x05, 0xF0, 0xFF, 0xFF, 0xFF, 0x85, 0xC0, 0x78];
        Assert.Equal(fn + 6 - 16, MklCpuDispatch.CacheAddress(fn, negative));
        byte[] other = [0x8B, 0x05, 0x1A, 0x67, 0x98, 0x09, 0x85, 0xC0, 0x79];
        Assert.Equal(IntPtr.Zero, MklCpuDispatch.CacheAddress(fn, other));
        Assert.Equal(IntPtr.Zero, MklCpuDispatch.CacheAddress(fn, code.AsSpan(0, 8)));
    }

    /// In a fresh process (as `loralab` runs) the switch is applied on an AMD x64 Linux CPU with AVX2, and says why not
    /// elsewhere; with the opt-out variable it is off.
    [Fact]
    public void DoctorReportsTheKernelChoice()
    {
        var (rc, stdout, stderr) = CliRunner.RunProcess("doctor");
        Assert.True(rc == 0, stderr);
        var row = stdout.Split('\n').FirstOrDefault(l => l.Contains("MKL kernels")) ?? "";
        bool amd = RuntimeInformation.IsOSPlatform(OSPlatform.Linux) && RuntimeInformation.ProcessArchitecture == Architecture.X64
                   && MklCpuDispatch.CpuVendor() == "AuthenticAMD";
        Assert.Contains(!amd ? "not needed" : Avx2.IsSupported && Fma.IsSupported ? "applied (AMD" : "lacks AVX2", row);
    }

    /// Products on whichever kernels MKL now runs equal a float64 reference (the AVX2 path must be right on this CPU),
    /// in the shapes a training step uses: plain, transposed operands, and a batched product.
    [Fact]
    public void ProductsMatchAFloat64Reference()
    {
        TorchRuntime.EnsureLoaded();
        using var scope = torch.NewDisposeScope();
        var g = new torch.Generator(7);
        var a = torch.randn(257, 513, generator: g);
        var b = torch.randn(513, 1409, generator: g);
        foreach (var (x, y) in new[] { (a, b), (a.t().contiguous().t(), b.t().contiguous().t()) })
        {
            var want = x.to(torch.float64).matmul(y.to(torch.float64));
            var got = x.matmul(y).to(torch.float64);
            Assert.True(torch.allclose(got, want, rtol: 1e-4, atol: 1e-3), $"max error {(got - want).abs().max().item<double>()}");
        }
        var p = torch.randn(8, 64, 128, generator: g);
        var q = torch.randn(8, 128, 96, generator: g);
        var bwant = p.to(torch.float64).bmm(q.to(torch.float64));
        Assert.True(torch.allclose(p.bmm(q).to(torch.float64), bwant, rtol: 1e-4, atol: 1e-3));
    }
}
