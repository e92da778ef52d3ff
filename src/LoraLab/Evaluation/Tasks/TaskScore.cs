namespace LoraLab.Evaluation.Tasks;

/// A mean over examples and its standard error, as lm-evaluation-harness reports them: the sample standard
/// deviation (n − 1) over √n, which for 0/1 scores is √(p(1−p)/(n−1)).
public sealed record TaskScore(string Metric, double Value, double StdErr, int Count)
{
    public static TaskScore Mean(string metric, IReadOnlyList<double> values)
    {
        int n = values.Count;
        if (n == 0) return new TaskScore(metric, double.NaN, double.NaN, 0);
        double mean = values.Average();
        double stderr = n < 2 ? double.NaN : Math.Sqrt(values.Sum(v => (v - mean) * (v - mean)) / (n - 1) / n);
        return new TaskScore(metric, mean, stderr, n);
    }
}
