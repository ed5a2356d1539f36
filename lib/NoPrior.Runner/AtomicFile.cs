namespace NoPrior.Runner;

/// <summary>Files written whole or not at all: the text goes to <c>path.tmp</c>, which is then renamed over the path, so
/// a reader (or a crash) never sees half a file. The folder is created when missing.</summary>
static class AtomicFile
{
    public static void WriteAllText(string path, string text)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        File.WriteAllText(path + ".tmp", text);
        File.Move(path + ".tmp", path, overwrite: true);
    }
}
