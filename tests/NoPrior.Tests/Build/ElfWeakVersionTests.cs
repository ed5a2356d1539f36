using System.Runtime.InteropServices;
using NoPrior.Build;

namespace NoPrior.Tests;

/// <summary>build/ElfWeakVersion.cs, the TorchSharp load fix, on the real libLibTorchSharp.so of the NuGet package.</summary>
public class ElfWeakVersionTests : IDisposable
{
    const string Version = "GLIBCXX_3.4.32";
    readonly string _dir = Directory.CreateTempSubdirectory("noprior-elf-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>The package's own file, which no build edits (the outputs get patched private copies).</summary>
    static string PackageShim()
    {
        string root = Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } p ? p
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        string shim = Path.Combine(root, "torchsharp", "0.107.0", "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
        Assert.True(File.Exists(shim), $"TorchSharp's native shim is not in the NuGet cache at {shim}");
        return shim;
    }

    [DllImport("libc", SetLastError = true)]
    static extern int link(string existing, string newPath);

    [Fact]
    public void The_package_shim_requires_the_missing_version_strictly()
    {
        // The hypothesis of the fix: TorchSharp 0.107.0's shim needs GLIBCXX_3.4.32 and does not mark it weak.
        Assert.Equal(ElfWeakVersion.Result.Patched, ElfWeakVersion.Inspect(PackageShim(), Version));
    }

    [Fact]
    public void Marking_weak_edits_two_bytes_once_and_never_writes_through_a_hard_link()
    {
        string original = Path.Combine(_dir, "original.so"), linked = Path.Combine(_dir, "linked.so");
        File.Copy(PackageShim(), original);
        Assert.Equal(0, link(original, linked)); // as the build links package files into output folders
        byte[] before = File.ReadAllBytes(original);

        Assert.Equal(ElfWeakVersion.Result.Patched, ElfWeakVersion.MarkWeak(linked, Version));
        Assert.Equal(ElfWeakVersion.Result.AlreadyWeak, ElfWeakVersion.Inspect(linked, Version));
        Assert.Equal(ElfWeakVersion.Result.AlreadyWeak, ElfWeakVersion.MarkWeak(linked, Version)); // idempotent

        // The other name of the same file is untouched: the patch went to a private copy.
        Assert.Equal(before, File.ReadAllBytes(original));
        Assert.Equal(ElfWeakVersion.Result.Patched, ElfWeakVersion.Inspect(original, Version));
        byte[] after = File.ReadAllBytes(linked);
        Assert.Equal(before.Length, after.Length);
        var changed = Enumerable.Range(0, before.Length).Where(i => before[i] != after[i]).ToArray();
        Assert.Single(changed); // VER_FLG_WEAK (0x2) in the low byte of vna_flags
        Assert.Equal(before[changed[0]] | ElfWeakVersion.VerFlgWeak, after[changed[0]]);
    }

    [Fact]
    public void Files_the_fix_does_not_apply_to_are_left_alone()
    {
        string text = Path.Combine(_dir, "notes.so");
        File.WriteAllText(text, "not an ELF file at all, but long enough to have a header of sixty-four bytes or more......");
        byte[] before = File.ReadAllBytes(text);
        Assert.Equal(ElfWeakVersion.Result.NotElf64, ElfWeakVersion.MarkWeak(text, Version));
        Assert.Equal(before, File.ReadAllBytes(text));

        string shim = Path.Combine(_dir, "shim.so");
        File.Copy(PackageShim(), shim);
        Assert.Equal(ElfWeakVersion.Result.NotRequired, ElfWeakVersion.MarkWeak(shim, "GLIBCXX_9.9.99"));
        Assert.Equal(File.ReadAllBytes(PackageShim()), File.ReadAllBytes(shim));
    }
}
