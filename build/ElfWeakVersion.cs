// Marks one symbol-version requirement of an ELF shared object as weak (VER_FLG_WEAK).
//
// Why: TorchSharp 0.107.0's libLibTorchSharp.so requires GLIBCXX_3.4.32 (GCC 13's libstdc++), which
// Debian 12 (GLIBCXX up to 3.4.30) lacks, so the native library fails to load and TorchSharp reports a
// misleading "doesn't contain a reference to libtorch-cpu-linux-x64". Exactly one symbol carries that
// version (_ZSt21ios_base_library_initv) and no relocation references it, so it is never bound. With
// the requirement flagged weak, ld.so only notes the missing version and loads the library.
// The edit is a 2-byte change to vna_flags in .gnu.version_r; applying it twice changes nothing.
//
// This file is compiled twice: as an MSBuild inline task (build/TorchSharpLoadFix.targets) and into
// the unit tests (tests/NoPrior.Tests/ElfWeakVersionTests.cs), which check it on a copy of the package's own
// libLibTorchSharp.so, including through a hard link. Careful when editing: the build runs this code on output
// files that are hard links into the NuGet cache (Directory.Build.props), so a write in place would edit the cache.
#nullable enable
using System;
using System.IO;
using System.Text;

namespace NoPrior.Build
{
    /// <summary>Reads and edits the version-requirement table (.gnu.version_r) of an ELF64 little-endian file.</summary>
    public static class ElfWeakVersion
    {
        public const ushort VerFlgWeak = 0x2;
        const uint ShtGnuVerneed = 0x6ffffffe;

        /// <summary>Outcome of <see cref="MarkWeak"/>.</summary>
        public enum Result { NotElf64, NotRequired, AlreadyWeak, Patched }

        /// <summary>Sets VER_FLG_WEAK on the requirement named <paramref name="version"/> (e.g. GLIBCXX_3.4.32).</summary>
        public static Result MarkWeak(string path, string version)
        {
            byte[] elf = File.ReadAllBytes(path);
            var (result, flagOffset) = Find(elf, version);
            if (result != Result.Patched) return result;
            ushort flags = BitConverter.ToUInt16(elf, flagOffset);
            // Patch a private copy and put it in place: the build links NuGet's files into the output folders
            // (Directory.Build.props, CreateHardLinksFor…), and writing through such a link would edit the package
            // cache. File.Copy keeps the file mode.
            string tmp = path + ".noprior-patch";
            File.Copy(path, tmp, true);
            using (var fs = new FileStream(tmp, FileMode.Open, FileAccess.Write))
            {
                fs.Seek(flagOffset, SeekOrigin.Begin);
                fs.Write(BitConverter.GetBytes((ushort)(flags | VerFlgWeak)), 0, 2);
            }
            File.Delete(path);
            File.Move(tmp, path);
            return Result.Patched;
        }

        /// <summary>What <see cref="MarkWeak"/> would do, without writing.</summary>
        public static Result Inspect(string path, string version) => Find(File.ReadAllBytes(path), version).Item1;

        static (Result, int) Find(byte[] elf, string version)
        {
            if (elf.Length < 64 || elf[0] != 0x7f || elf[1] != (byte)'E' || elf[2] != (byte)'L' || elf[3] != (byte)'F'
                || elf[4] != 2 /* ELFCLASS64 */ || elf[5] != 1 /* little-endian */)
                return (Result.NotElf64, -1);
            long shoff = BitConverter.ToInt64(elf, 0x28);
            int shentsize = BitConverter.ToUInt16(elf, 0x3A);
            int shnum = BitConverter.ToUInt16(elf, 0x3C);
            for (int s = 0; s < shnum; s++)
            {
                long sh = shoff + (long)s * shentsize;
                if (sh + 64 > elf.Length) return (Result.NotElf64, -1);
                if (BitConverter.ToUInt32(elf, (int)sh + 4) != ShtGnuVerneed) continue;
                long off = BitConverter.ToInt64(elf, (int)sh + 0x18);
                int link = (int)BitConverter.ToUInt32(elf, (int)sh + 0x28);
                int count = (int)BitConverter.ToUInt32(elf, (int)sh + 0x2C);
                long strOff = BitConverter.ToInt64(elf, (int)(shoff + (long)link * shentsize) + 0x18);
                long vn = off;
                for (int i = 0; i < count; i++)
                {
                    int cnt = BitConverter.ToUInt16(elf, (int)vn + 2);
                    long aux = vn + BitConverter.ToUInt32(elf, (int)vn + 8);
                    for (int j = 0; j < cnt; j++)
                    {
                        uint name = BitConverter.ToUInt32(elf, (int)aux + 8);
                        if (ReadString(elf, strOff + name) == version)
                        {
                            int flagOffset = (int)aux + 4;
                            bool weak = (BitConverter.ToUInt16(elf, flagOffset) & VerFlgWeak) != 0;
                            return (weak ? Result.AlreadyWeak : Result.Patched, flagOffset);
                        }
                        aux += BitConverter.ToUInt32(elf, (int)aux + 12);
                    }
                    vn += BitConverter.ToUInt32(elf, (int)vn + 12);
                }
            }
            return (Result.NotRequired, -1);
        }

        static string ReadString(byte[] elf, long at)
        {
            long end = at;
            while (end < elf.Length && elf[end] != 0) end++;
            return Encoding.ASCII.GetString(elf, (int)at, (int)(end - at));
        }

        /// <summary>True if some libstdc++ on this system defines <paramref name="version"/> (then no edit is needed).</summary>
        public static bool SystemLibStdCxxHas(string version, out string? libPath)
        {
            string[] candidates = {
                "/usr/lib/x86_64-linux-gnu/libstdc++.so.6", "/usr/lib/aarch64-linux-gnu/libstdc++.so.6",
                "/usr/lib64/libstdc++.so.6", "/usr/lib/libstdc++.so.6", "/lib64/libstdc++.so.6" };
            byte[] needle = Encoding.ASCII.GetBytes(version + "\0");
            foreach (var c in candidates)
            {
                if (!File.Exists(c)) continue;
                libPath = c;
                return IndexOf(File.ReadAllBytes(c), needle) >= 0;
            }
            libPath = null;
            return false;
        }

        static int IndexOf(byte[] hay, byte[] needle)
        {
            for (int i = 0; i <= hay.Length - needle.Length; i++)
            {
                int k = 0;
                while (k < needle.Length && hay[i + k] == needle[k]) k++;
                if (k == needle.Length) return i;
            }
            return -1;
        }
    }
}

#if !NOPRIOR_TESTS
namespace NoPrior.Build
{
    /// <summary>MSBuild task: marks GLIBCXX_3.4.32 weak in each given libLibTorchSharp.so when the system libstdc++ lacks it.</summary>
    public class MarkGlibcxxWeak : Microsoft.Build.Utilities.Task
    {
        [Microsoft.Build.Framework.Required] public string[] Files { get; set; } = Array.Empty<string>();
        public string Version { get; set; } = "GLIBCXX_3.4.32";

        public override bool Execute()
        {
            if (!System.Runtime.InteropServices.RuntimeInformation.IsOSPlatform(System.Runtime.InteropServices.OSPlatform.Linux)) return true;
            if (ElfWeakVersion.SystemLibStdCxxHas(Version, out var lib))
            {
                Log.LogMessage(Microsoft.Build.Framework.MessageImportance.Low, $"{lib} provides {Version}; TorchSharp needs no edit.");
                return true;
            }
            foreach (var f in Files)
            {
                if (!File.Exists(f)) continue;
                var r = ElfWeakVersion.MarkWeak(f, Version);
                Log.LogMessage(Microsoft.Build.Framework.MessageImportance.Normal, $"TorchSharp load fix: {f}: {r}");
            }
            return true;
        }
    }
}
#endif
