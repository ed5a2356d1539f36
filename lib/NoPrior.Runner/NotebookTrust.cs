using System.Globalization;
using System.Numerics;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;

namespace NoPrior.Runner;

/// <summary>
/// Signs executed notebooks the way Jupyter's notary does (nbformat's <c>NotebookNotary</c>), with the workbook's
/// own key and signature database in its project-local Jupyter data folder (<c>out/jupyter/data</c>, the folder
/// <c>build/jupyter.sh</c> gives Jupyter), so <c>./workbook notebook</c> opens them trusted and their charts' scripts
/// run. Nothing is written to the user's own Jupyter folders.
/// <para>The signature is an HMAC-SHA256, keyed with the bytes of <c>notebook_secret</c>, over the notebook as
/// nbformat reads it (multi-line strings joined, transient metadata dropped): every key of every object in sorted
/// order followed by its value, strings as UTF-8, other scalars as Python's <c>str()</c> prints them. It is stored in
/// the SQLite table <c>nbsignatures</c> of <c>nbsignatures.db</c>, where Jupyter looks it up.</para>
/// </summary>
public static class NotebookTrust
{
    /// <summary>The workbook's Jupyter data folder, as in build/jupyter.sh.</summary>
    public static string DataDirectory => Path.Combine(NoPrior.Workbook.RepositoryRoot, "out", "jupyter", "data");

    /// <summary>Signs a notebook file: computes its signature and records it in the data folder's database.</summary>
    public static string Sign(string ipynbPath, string? dataDirectory = null)
    {
        string dir = dataDirectory ?? DataDirectory;
        Directory.CreateDirectory(dir);
        string signature = Signature(File.ReadAllText(ipynbPath), Secret(dir));
        Store(Path.Combine(dir, "nbsignatures.db"), signature);
        return signature;
    }

    /// <summary>
    /// <see cref="Sign"/> for the runner: a notebook that cannot be signed (no repository root, a locked or broken
    /// database) is still a result, so this writes one line to <paramref name="log"/> instead of failing the run.
    /// </summary>
    public static bool TrySign(string ipynbPath, TextWriter log)
    {
        try { Sign(ipynbPath); return true; }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or SqliteException or InvalidDataException)
        {
            log.WriteLine($"workbook: could not sign {ipynbPath} for Jupyter ({e.GetType().Name}: {e.Message}); it will open untrusted, its charts as static images.");
            return false;
        }
    }

    /// <summary>The key: the bytes of <c>notebook_secret</c>, created as Jupyter does (1024 random bytes, base64 lines) if missing.</summary>
    public static byte[] Secret(string dataDirectory)
    {
        string path = Path.Combine(dataDirectory, "notebook_secret");
        if (File.Exists(path)) return File.ReadAllBytes(path);
        var b64 = Convert.ToBase64String(RandomNumberGenerator.GetBytes(1024));
        var text = new StringBuilder();
        for (int i = 0; i < b64.Length; i += 76) text.Append(b64, i, Math.Min(76, b64.Length - i)).Append('\n');
        var bytes = Encoding.ASCII.GetBytes(text.ToString());
        try
        {
            var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
            if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            using (var f = new FileStream(path, options)) f.Write(bytes);
            return bytes;
        }
        catch (IOException) when (File.Exists(path))
        {
            return File.ReadAllBytes(path);  // another process created it first
        }
    }

    /// <summary>nbformat's <c>compute_signature</c> of a notebook's JSON text.</summary>
    public static string Signature(string notebookJson, byte[] secret)
    {
        var nb = JsonNode.Parse(notebookJson) as JsonObject ?? throw new InvalidDataException("A notebook must be a JSON object.");
        AsRead(nb);
        using var hmac = new HMACSHA256(secret);
        using var stream = new CryptoStream(Stream.Null, hmac, CryptoStreamMode.Write);
        Feed(nb, stream);
        stream.FlushFinalBlock();
        return Convert.ToHexStringLower(hmac.Hash!);
    }

    /// <summary>What nbformat's reader does before the notary sees a v4 notebook: rejoin_lines and strip_transient.</summary>
    static void AsRead(JsonObject nb)
    {
        if (nb["metadata"] is JsonObject meta)
            foreach (var key in new[] { "orig_nbformat", "orig_nbformat_minor", "signature" }) meta.Remove(key);
        if (nb["cells"] is not JsonArray cells) return;
        foreach (var cell in cells.OfType<JsonObject>())
        {
            (cell["metadata"] as JsonObject)?.Remove("trusted");
            if (cell["source"] is JsonArray source) cell["source"] = Joined(source);
            if (cell["attachments"] is JsonObject attachments)
                foreach (var (_, bundle) in attachments) if (bundle is JsonObject b) RejoinBundle(b);
            if ((string?)cell["cell_type"] != "code" || cell["outputs"] is not JsonArray outputs) continue;
            foreach (var output in outputs.OfType<JsonObject>())
            {
                string type = output["output_type"] is JsonValue v && v.TryGetValue<string>(out var s) ? s : "";
                if (type is "execute_result" or "display_data") { if (output["data"] is JsonObject data) RejoinBundle(data); }
                else if (type.Length > 0 && output["text"] is JsonArray text) output["text"] = Joined(text);
            }
        }
    }

    static void RejoinBundle(JsonObject bundle)
    {
        foreach (var key in bundle.Select(p => p.Key).ToList())
        {
            bool jsonMime = key == "application/json" || (key.StartsWith("application/", StringComparison.Ordinal) && key.EndsWith("+json", StringComparison.Ordinal));
            if (!jsonMime && bundle[key] is JsonArray lines && lines.All(l => l is JsonValue lv && lv.GetValueKind() == JsonValueKind.String))
                bundle[key] = Joined(lines);
        }
    }

    static JsonValue Joined(JsonArray lines) =>
        lines.All(l => l is JsonValue lv && lv.GetValueKind() == JsonValueKind.String)
            ? JsonValue.Create(string.Concat(lines.Select(l => l!.GetValue<string>())))
            : throw new InvalidDataException("A multi-line string field holds something other than strings.");

    /// <summary>nbformat's <c>yield_everything</c>, written into the HMAC.</summary>
    static void Feed(JsonNode? node, Stream into)
    {
        switch (node)
        {
            case JsonObject obj:
                foreach (var (key, value) in obj.OrderBy(p => p.Key, StringComparer.Ordinal))
                {
                    Write(into, key);
                    Feed(value, into);
                }
                break;
            case JsonArray arr:
                foreach (var item in arr) Feed(item, into);
                break;
            case null:
                Write(into, "None");
                break;
            case JsonValue value:
                Write(into, value.GetValueKind() switch
                {
                    JsonValueKind.String => value.GetValue<string>(),
                    JsonValueKind.True => "True",
                    JsonValueKind.False => "False",
                    JsonValueKind.Number => PythonNumber(value.ToJsonString()),
                    var k => throw new InvalidDataException($"Unexpected JSON value kind {k}."),
                });
                break;
        }
    }

    static void Write(Stream s, string text) => s.Write(Encoding.UTF8.GetBytes(text));

    /// <summary>Python's <c>str()</c> of what <c>json.loads</c> makes of a JSON number: an int, or a float's repr.</summary>
    public static string PythonNumber(string json)
    {
        if (json.IndexOfAny(['.', 'e', 'E']) < 0) return BigInteger.Parse(json, CultureInfo.InvariantCulture).ToString(CultureInfo.InvariantCulture);
        return PythonFloat(double.Parse(json, NumberStyles.Float, CultureInfo.InvariantCulture));
    }

    /// <summary>Python's <c>repr(float)</c>: the shortest round-trip digits, scientific below 1e-4 and from 1e16 on.</summary>
    public static string PythonFloat(double d)
    {
        if (double.IsNaN(d)) return "nan";
        if (double.IsInfinity(d)) return d > 0 ? "inf" : "-inf";
        if (d == 0) return double.IsNegative(d) ? "-0.0" : "0.0";
        string r = d.ToString("R", CultureInfo.InvariantCulture);
        bool negative = r[0] == '-';
        if (negative) r = r[1..];
        int exp = 0, e = r.IndexOfAny(['E', 'e']);
        if (e >= 0) { exp = int.Parse(r[(e + 1)..], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture); r = r[..e]; }
        int dot = r.IndexOf('.');
        string digits = dot >= 0 ? r[..dot] + r[(dot + 1)..] : r;
        int point = dot >= 0 ? dot : r.Length;           // digits[0..point] is the integer part, before the exponent
        int lead = 0;
        while (lead < digits.Length - 1 && digits[lead] == '0') lead++;
        digits = digits[lead..]; point -= lead;
        digits = digits.TrimEnd('0');
        if (digits.Length == 0) digits = "0";
        int first = point + exp - 1;                     // decimal exponent of the first significant digit
        string body;
        if (first < -4 || first >= 16)
            body = digits[0] + (digits.Length > 1 ? "." + digits[1..] : "") + "e" + (first < 0 ? "-" : "+") + Math.Abs(first).ToString("00", CultureInfo.InvariantCulture);
        else if (first >= 0)
            body = digits.Length > first + 1 ? digits[..(first + 1)] + "." + digits[(first + 1)..] : digits.PadRight(first + 1, '0') + ".0";
        else
            body = "0." + new string('0', -first - 1) + digits;
        return (negative ? "-" : "") + body;
    }

    /// <summary>Records a signature in Jupyter's signature database (same schema as nbformat's SQLiteSignatureStore).</summary>
    static void Store(string dbPath, string signature)
    {
        using var db = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = dbPath, Pooling = false, DefaultTimeout = 30 }.ToString());
        db.Open();
        Exec(db, """
            CREATE TABLE IF NOT EXISTS nbsignatures
            (
                id integer PRIMARY KEY AUTOINCREMENT,
                algorithm text,
                signature text,
                path text,
                last_seen timestamp
            )
            """);
        Exec(db, "CREATE INDEX IF NOT EXISTS algosig ON nbsignatures(algorithm, signature)");
        string now = DateTime.UtcNow.ToString("yyyy-MM-dd HH:mm:ss.ffffff", CultureInfo.InvariantCulture);
        using var update = db.CreateCommand();
        update.CommandText = "UPDATE nbsignatures SET last_seen = $now WHERE algorithm = 'sha256' AND signature = $sig";
        update.Parameters.AddWithValue("$now", now);
        update.Parameters.AddWithValue("$sig", signature);
        if (update.ExecuteNonQuery() > 0) return;
        using var insert = db.CreateCommand();
        insert.CommandText = "INSERT INTO nbsignatures (algorithm, signature, last_seen) VALUES ('sha256', $sig, $now)";
        insert.Parameters.AddWithValue("$now", now);
        insert.Parameters.AddWithValue("$sig", signature);
        insert.ExecuteNonQuery();
    }

    static void Exec(SqliteConnection db, string sql)
    {
        using var cmd = db.CreateCommand();
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }
}
