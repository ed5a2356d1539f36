using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using TorchSharp;

namespace NoPrior;

/// <summary>
/// Makes libtorch errors in TorchSharp exports that lack TorchSharp's own catch (matmul, autograd.grad, cummax, …)
/// managed <see cref="ExternalException"/>s with libtorch's message instead of a process abort: TorchSharp's
/// P/Invokes to "LibTorchSharp" are resolved through libNoPriorTorchGuard.so (build/TorchSharpErrorGuard.cpp, built
/// next to libLibTorchSharp.so), whose guarded exports catch the C++ exception and whose other exports are the shim's
/// own. Installed when the NoPrior assembly is first used (module initializer); hosts call <see cref="Install"/> before
/// running user code, since a P/Invoke bound before the resolver exists stays bound to the unguarded shim.
/// </summary>
public static class TorchNativeErrors
{
    static readonly object Gate = new();
    static IntPtr _guard;

    /// <summary>Whether TorchSharp's native calls go through the guard; <see cref="Status"/> says why not.</summary>
    public static bool Installed { get; private set; }

    /// <summary>"installed: path", or why the guard is not in use.</summary>
    public static string Status { get; private set; } = "not installed";

    /// <summary>The guard library's file name.</summary>
    public const string LibraryName = "libNoPriorTorchGuard.so";

    // A library's module initializer is deliberate here: the guard must be in place before TorchSharp binds its first
    // P/Invoke, and a notebook's first use of the library may be any TorchSharp call through it.
    [ModuleInitializer]
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Usage", "CA2255", Justification = "the guard must precede TorchSharp's first P/Invoke binding")]
    internal static void OnLoad() => Install();

    /// <summary>Routes TorchSharp's native calls through the guard (Linux x64; idempotent; never throws).</summary>
    public static void Install()
    {
        lock (Gate)
        {
            if (Installed || Status.StartsWith("failed", StringComparison.Ordinal)) return;
            if (!OperatingSystem.IsLinux() || RuntimeInformation.ProcessArchitecture != Architecture.X64)
            {
                Status = "not needed on this platform"; return;
            }
            Assembly torchSharp = typeof(torch).Assembly;
            string path = Path.Combine(Path.GetDirectoryName(torchSharp.Location) ?? AppContext.BaseDirectory,
                "runtimes", "linux-x64", "native", LibraryName);
            if (!File.Exists(path))
            {
                Status = $"failed: {path} is missing (it is built by build/TorchSharpLoadFix.targets)";
                Console.Error.WriteLine($"NoPrior: {Status}; a libtorch error in torch.matmul or autograd.grad will abort the process.");
                return;
            }
            try
            {
                NativeLibrary.SetDllImportResolver(torchSharp, (name, _, _) =>
                {
                    if (name != "LibTorchSharp") return IntPtr.Zero;
                    lock (Gate) { if (_guard == IntPtr.Zero) _guard = NativeLibrary.Load(path); }
                    return _guard;
                });
                Installed = true;
                Status = $"installed: {path}";
            }
            catch (InvalidOperationException e)   // someone else registered a resolver for TorchSharp
            {
                Status = $"failed: {e.Message}";
                Console.Error.WriteLine($"NoPrior: TorchSharp error guard not installed ({e.Message}).");
            }
        }
    }
}
