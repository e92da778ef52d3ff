namespace LoraLab.Models;

/// Where a projection's adapter delta s·B·A lives. One value instead of an "enabled" flag plus a "merged" flag, so
/// no combination can count the delta twice (a merged weight plus a running adapter path).
public enum AdapterState
{
    /// The adapter path runs: y = W x (+ b) + delta(x).
    Active,
    /// The adapter path is skipped and W holds the base: y = W x (+ b).
    Disabled,
    /// The delta is folded into W and the adapter path is skipped: y = (W + s·B·A) x (+ b).
    Merged,
}
