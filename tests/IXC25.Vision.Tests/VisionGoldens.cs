using System.Security.Cryptography;
using System.Text.Json;
using IXC25.Runtime;
using IXC25.Runtime.IO;

namespace IXC25.Vision.Tests;

/// <summary>
/// Access to golden/vision (produced by golden/vision/make_goldens.py with PIL 9.4, torchvision 0.14,
/// torch 1.13). Tests never run Python; they read these committed files.
/// </summary>
internal static class VisionGoldens
{
    public static string DataPath(string name) => RepoLayout.Path("golden", "vision", "data", name);

    /// <summary>"media/x.jpg" -> golden/media/x.jpg; "vision/media/x.png" -> golden/vision/media/x.png.</summary>
    public static string MediaPath(string key) => RepoLayout.Path(["golden", .. key.Split('/')]);

    private static readonly Lazy<JsonDocument> DecodeDoc = new(() => Load("decode.json"));
    private static readonly Lazy<JsonDocument> HdDoc = new(() => Load("hd_cases.json"));
    private static readonly Lazy<JsonDocument> VideoDoc = new(() => Load("video.json"));

    public static JsonElement Decode => DecodeDoc.Value.RootElement;
    public static JsonElement HdCases => HdDoc.Value.RootElement.GetProperty("cases");
    public static JsonElement Video => VideoDoc.Value.RootElement;

    private static JsonDocument Load(string name) => JsonDocument.Parse(File.ReadAllBytes(DataPath(name)));

    public static SafetensorsFile Tensors(string name) => new(DataPath(name));

    public static string Sha256(ReadOnlySpan<byte> data) => Convert.ToHexString(SHA256.HashData(data)).ToLowerInvariant();

    public static string Sha256(ReadOnlySpan<float> data) => Sha256(System.Runtime.InteropServices.MemoryMarshal.AsBytes(data));

    public static float FromBits(JsonElement e) => BitConverter.Int32BitsToSingle((int)e.GetUInt32());

    /// <summary>Images every test may use: decoded once per test run.</summary>
    private static readonly Dictionary<string, Imaging.RgbImage> Cache = new();
    public static Imaging.RgbImage Image(string key)
    {
        lock (Cache)
        {
            if (!Cache.TryGetValue(key, out var img)) Cache[key] = img = Imaging.ImageDecoder.Decode(MediaPath(key));
            return img;
        }
    }
}
