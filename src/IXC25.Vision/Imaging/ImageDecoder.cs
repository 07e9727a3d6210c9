using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using IXC25.Runtime;
using SkiaSharp;

namespace IXC25.Vision.Imaging;

/// <summary>Limits applied while decoding.</summary>
/// <param name="MaxPixels">Images with more pixels than this are refused from their header, before any
/// pixel memory is allocated. The default is PIL's own refusal threshold
/// (<c>DecompressionBombError</c> above 2 x <c>Image.MAX_IMAGE_PIXELS</c> = 178,956,970 pixels).</param>
/// <param name="ToolTimeout">Time one run of ffprobe or ffmpeg (video) may take before it and every process it
/// started are ended and the video refused; null: <see cref="DefaultToolTimeout"/>.</param>
public sealed record DecodeOptions(long MaxPixels = DecodeOptions.DefaultMaxPixels, TimeSpan? ToolTimeout = null)
{
    public const long DefaultMaxPixels = 2L * 89_478_485;
    /// <summary>Ten minutes: decoding 32 sampled frames of any sane video takes seconds; a hang or a hostile file must not hold the process forever.</summary>
    public static readonly TimeSpan DefaultToolTimeout = TimeSpan.FromMinutes(10);
    public static DecodeOptions Default { get; } = new();
    public TimeSpan Timeout => ToolTimeout ?? DefaultToolTimeout;
}

/// <summary>
/// Decodes PNG, JPEG (baseline, progressive, gray, CMYK), WebP, BMP and GIF (first frame) with
/// SkiaSharp into 8-bit RGB, with the result of PIL 9.4's <c>Image.open(path).convert('RGB')</c>:
/// alpha is dropped (not composited), palettes are expanded, gray is replicated, no colour management,
/// EXIF orientation is NOT applied. 16-bit grayscale PNGs are refused (PIL's conversion clamps every
/// value above 255 to white instead of scaling, which no caller wants; see docs/DEVIATIONS.md).
/// </summary>
public static class ImageDecoder
{
    /// <summary>Decodes the file at <paramref name="path"/>. Every failure is an <see cref="IxcException"/> naming the file.</summary>
    public static RgbImage Decode(string path, DecodeOptions? options = null)
    {
        options ??= DecodeOptions.Default;
        Span<byte> head = stackalloc byte[64];
        int n;
        try
        {
            using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1);
            n = fs.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException or ArgumentException)
        { throw new IxcException($"{path}: cannot read the image file ({e.Message})", e); }
        CheckHeader(head[..n], path, options);
        (byte, byte, byte)? gifTransparent = null;
        if (IsGif(head[..n]))
        {
            try { gifTransparent = GifTransparentColor(File.ReadAllBytes(path)); }
            catch (IOException e) { throw new IxcException($"{path}: cannot read the image file ({e.Message})", e); }
        }
        // Skia reads the file itself (no managed copy of the encoded bytes).
        using var codec = SKCodec.Create(path, out var createResult);
        return DecodeWith(codec, createResult, path, options, gifTransparent);
    }

    /// <summary>Decodes an encoded image held in memory; <paramref name="name"/> is used in error messages.</summary>
    public static RgbImage Decode(ReadOnlySpan<byte> encoded, string name, DecodeOptions? options = null)
    {
        options ??= DecodeOptions.Default;
        CheckHeader(encoded[..Math.Min(encoded.Length, 64)], name, options);
        using var data = SKData.CreateCopy(encoded);
        // the codec owns the stream (and disposes it) once created
        using var codec = SKCodec.Create(new SKMemoryStream(data), out var createResult);
        return DecodeWith(codec, createResult, name, options, IsGif(encoded) ? GifTransparentColor(encoded) : null);
    }

    private static RgbImage DecodeWith(SKCodec? codec, SKCodecResult createResult, string name, DecodeOptions options, (byte, byte, byte)? gifTransparent)
    {
        if (codec is null)
            throw new IxcException(createResult switch
            {
                SKCodecResult.IncompleteInput => $"{name}: the image file is truncated (its header is incomplete)",
                SKCodecResult.Unimplemented => $"{name}: unsupported image format (expected PNG, JPEG, WebP, BMP or GIF)",
                _ => $"{name}: not a recognised image (expected PNG, JPEG, WebP, BMP or GIF; decoder says {createResult})",
            });
        var info = codec.Info;
        CheckSize(info.Width, info.Height, name, options);
        return DecodePixels(codec, info.Width, info.Height, name, gifTransparent);
    }

    /// <summary>Reads only the header: (width, height) as PIL reports them (no EXIF rotation).</summary>
    public static (int Width, int Height) ReadSize(string path)
    {
        try
        {
            using var codec = SKCodec.Create(path, out var r)
                ?? throw new IxcException($"{path}: cannot read the image: not a recognised image (expected PNG, JPEG, WebP, BMP or GIF; decoder says {r})");
            return (codec.Info.Width, codec.Info.Height);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        { throw new IxcException($"{path}: cannot read the image file ({e.Message})", e); }
    }

    private static void CheckSize(long width, long height, string name, DecodeOptions options)
    {
        if (width <= 0 || height <= 0) throw new IxcException($"{name}: the image header declares an empty size {width}x{height}");
        long pixels = width * height;
        if (pixels > options.MaxPixels)
            throw new IxcException($"{name}: {width}x{height} = {pixels} pixels exceeds the limit of {options.MaxPixels} (possible decompression bomb; raise the pixel limit to allow it)");
    }

    /// <summary>Checks from the first bytes: empty file; PNG IHDR (size limit before Skia sees the data, 16-bit gray refused).</summary>
    private static void CheckHeader(ReadOnlySpan<byte> d, string name, DecodeOptions options)
    {
        if (d.Length == 0) throw new IxcException($"{name}: the file is empty, expected an image (PNG, JPEG, WebP, BMP or GIF)");
        ReadOnlySpan<byte> sig = [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];
        if (d.Length < 8 || !d[..8].SequenceEqual(sig)) return;
        if (d.Length < 8 + 8 + 13 || !d.Slice(12, 4).SequenceEqual("IHDR"u8))
            throw new IxcException($"{name}: the PNG file is truncated or corrupt (no IHDR chunk)");
        long w = BinaryPrimitives.ReadUInt32BigEndian(d.Slice(16, 4));
        long h = BinaryPrimitives.ReadUInt32BigEndian(d.Slice(20, 4));
        byte bitDepth = d[24], colorType = d[25];
        CheckSize(w, h, name, options);
        if (bitDepth == 16 && (colorType == 0 || colorType == 4))
            throw new IxcException($"{name}: 16-bit grayscale PNG is not supported (PIL's convert('RGB') clamps its values to 0..255 instead of scaling them); convert it to 8 bits first");
    }

    private static unsafe RgbImage DecodePixels(SKCodec codec, int width, int height, string name, (byte, byte, byte)? transparentColor)
    {
        var info = new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        long rgbaBytes = (long)width * height * 4;
        if (rgbaBytes > int.MaxValue)
            throw new IxcException($"{name}: {width}x{height} is too large to decode into one buffer (more than 2 GiB of RGBA)");
        // the RGBA buffer is a temporary: pooled, so repeated decodes do not page-fault it in each time
        byte[] rgba = System.Buffers.ArrayPool<byte>.Shared.Rent((int)rgbaBytes);
        try
        {
            // a pooled buffer holds old pixels: GIF frames need not cover the canvas, so start from transparent
            if (codec.EncodedFormat == SKEncodedImageFormat.Gif) rgba.AsSpan(0, (int)rgbaBytes).Clear();
            SKCodecResult result;
            fixed (byte* p = rgba)
                result = codec.GetPixels(info, (IntPtr)p, info.RowBytes, new SKCodecOptions(0));
            switch (result)
            {
                case SKCodecResult.Success: break;
                case SKCodecResult.IncompleteInput:
                    throw new IxcException($"{name}: the image file is truncated (image data ends early)");
                case SKCodecResult.ErrorInInput:
                    throw new IxcException($"{name}: the image data is corrupt");
                default:
                    throw new IxcException($"{name}: cannot decode the image ({result})");
            }
            var used = rgba.AsSpan(0, (int)rgbaBytes);
            if (codec.EncodedFormat == SKEncodedImageFormat.Gif && transparentColor is { } tc)
                FillTransparent(used, tc);
            var rgb = BufferCache<byte>.Rent(checked(width * height * 3));
            RgbaToRgb(used, rgb);
            return new RgbImage(width, height, rgb);
        }
        finally { System.Buffers.ArrayPool<byte>.Shared.Return(rgba); }
    }

    private static bool IsGif(ReadOnlySpan<byte> d) => d.Length >= 6 && (d[..6].SequenceEqual("GIF87a"u8) || d[..6].SequenceEqual("GIF89a"u8));

    /// <summary>
    /// The palette colour of the first frame's transparent index, or null when it has none. Skia decodes
    /// transparent GIF pixels as (0, 0, 0, 0); PIL's convert('RGB') shows the palette entry of that index.
    /// </summary>
    internal static (byte R, byte G, byte B)? GifTransparentColor(ReadOnlySpan<byte> d)
    {
        if (d.Length < 13) return null;
        int pos = 13;
        ReadOnlySpan<byte> globalTable = default;
        byte screenFlags = d[10];
        if ((screenFlags & 0x80) != 0)
        {
            int size = 3 << ((screenFlags & 7) + 1);
            if (pos + size > d.Length) return null;
            globalTable = d.Slice(pos, size);
            pos += size;
        }
        int transparentIndex = -1;
        while (pos < d.Length)
        {
            byte b = d[pos++];
            if (b == 0x21) // extension
            {
                if (pos >= d.Length) return null;
                byte label = d[pos++];
                if (label == 0xF9 && pos + 5 < d.Length && d[pos] == 4)
                    transparentIndex = (d[pos + 1] & 1) != 0 ? d[pos + 4] : -1;
                while (pos < d.Length && d[pos] != 0) pos += d[pos] + 1; // sub-blocks
                pos++;
            }
            else if (b == 0x2C) // first image descriptor
            {
                if (transparentIndex < 0 || pos + 9 > d.Length) return null;
                byte flags = d[pos + 8];
                ReadOnlySpan<byte> table = globalTable;
                if ((flags & 0x80) != 0)
                {
                    int size = 3 << ((flags & 7) + 1);
                    if (pos + 9 + size > d.Length) return null;
                    table = d.Slice(pos + 9, size);
                }
                int i = transparentIndex * 3;
                return i + 2 < table.Length ? (table[i], table[i + 1], table[i + 2]) : ((byte)0, (byte)0, (byte)0);
            }
            else return null;
        }
        return null;
    }

    private static void FillTransparent(Span<byte> rgba, (byte R, byte G, byte B) c)
    {
        for (int i = 0; i < rgba.Length; i += 4)
            if (rgba[i + 3] == 0) { rgba[i] = c.R; rgba[i + 1] = c.G; rgba[i + 2] = c.B; }
    }

    /// <summary>Drops every fourth byte: RGBA RGBA ... -> RGB RGB ...</summary>
    internal static void RgbaToRgb(ReadOnlySpan<byte> rgba, Span<byte> rgb)
    {
        int n = rgba.Length / 4;
        int i = 0;
        if (Vector128.IsHardwareAccelerated)
        {
            // 4 pixels (16 bytes) in, 12 bytes out; store 16 and advance 12 (the tail is overwritten next).
            var shuffle = Vector128.Create((byte)0, 1, 2, 4, 5, 6, 8, 9, 10, 12, 13, 14, 0x80, 0x80, 0x80, 0x80);
            ref byte src = ref MemoryMarshal.GetReference(rgba);
            ref byte dst = ref MemoryMarshal.GetReference(rgb);
            for (; i + 6 <= n; i += 4) // keep 16 writable bytes: (i + 4) * 3 + 4 <= n * 3
            {
                var v = Vector128.LoadUnsafe(ref src, (nuint)(i * 4));
                Vector128.Shuffle(v, shuffle).StoreUnsafe(ref dst, (nuint)(i * 3));
            }
        }
        for (; i < n; i++)
        {
            rgb[i * 3] = rgba[i * 4];
            rgb[i * 3 + 1] = rgba[i * 4 + 1];
            rgb[i * 3 + 2] = rgba[i * 4 + 2];
        }
    }
}
