using System.Runtime.Intrinsics.X86;
using NoPrior.LinearAlgebra;
using static TorchSharp.torch;

namespace NoPrior.Tests;

[CollectionDefinition("MatMul settings", DisableParallelization = true)]
public class MatMulSettingsCollection { }
