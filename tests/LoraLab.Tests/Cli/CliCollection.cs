using Xunit;

namespace LoraLab.Tests.Cli;

[CollectionDefinition("cli", DisableParallelization = true)]
public sealed class CliCollection { }
