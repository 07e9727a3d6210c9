namespace IXC25.Conformance.Tests;

/// <summary>
/// A port as a small shell script speaking just enough of the protocol: it answers the handshake (surface
/// tokenize), then runs a shell snippet for every request with $id set. Shared with IXC25.Cli.Tests (linked).
/// </summary>
internal static class ShellPort
{
    /// <summary>Writes the script to a new temporary file and returns its path (the caller deletes it).</summary>
    public static string Write(string behaviour, string name = "shell")
    {
        string path = Path.Combine(Path.GetTempPath(), $"ixc25-port-{Guid.NewGuid():N}.sh");
        File.WriteAllText(path, """
            #!/bin/sh
            while IFS= read -r line; do
              id=$(printf '%s' "$line" | sed -E 's/^\{"id":([0-9]+).*/\1/')
              case "$line" in
                *'"surface":"hello"'*) printf '{"id":%s,"status":"ok","name":"NAME","version":"1","protocol_version":1,"surfaces":["tokenize"]}\n' "$id" ;;
                *) BEHAVIOUR ;;
              esac
            done
            """.Replace("NAME", name).Replace("BEHAVIOUR", behaviour));
        return path;
    }
}
