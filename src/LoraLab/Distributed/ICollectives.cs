using static TorchSharp.torch;

namespace LoraLab.Distributed;

/// What data-parallel training asks of the processes it runs on. Every call is collective: each rank makes the same
/// calls in the same order. `during` says what the exchange was for, in the message that ends a job whose ranks
/// stopped answering.
public interface ICollectives : IDisposable
{
    int Rank { get; }
    int Size { get; }
    /// How gradients travel: "mpi", or "nccl" for CUDA tensors.
    string Backend { get; }
    /// Sums a contiguous float32 tensor over every rank, in place.
    void SumInPlace(Tensor flat, string during);
    /// Sums numbers over every rank, in place (counts, loss sums).
    void Sum(double[] values, string during);
    /// Every rank's bytes (each rank gives the same length), indexed by rank. `watched: false` for the exchanges
    /// made while ranks join, which wait as long as the slowest rank takes to load.
    byte[][] Gather(byte[] mine, string during, bool watched = true);
    /// Rank 0's contents of a contiguous tensor copied into every rank's.
    void Broadcast(Tensor t, string during, bool watched = true);
}
