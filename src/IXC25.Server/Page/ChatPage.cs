using Microsoft.AspNetCore.Http;

namespace IXC25.Server;

/// <summary>GET /: the chat page, one static HTML file compiled in as a resource (no build step, no CDN: works offline).</summary>
internal static class ChatPage
{
    private static readonly Lazy<byte[]> Html = new(() =>
    {
        using var s = typeof(ChatPage).Assembly.GetManifestResourceStream("IXC25.Server.index.html")
            ?? throw new InvalidOperationException("the chat page resource is missing from the assembly");
        using var ms = new MemoryStream();
        s.CopyTo(ms);
        return ms.ToArray();
    });

    public static async Task Write(HttpContext h)
    {
        h.Response.ContentType = "text/html; charset=utf-8";
        h.Response.Headers.CacheControl = "no-cache";
        // the page talks only to this origin: inline script and style, images from data: and blob: URLs
        h.Response.Headers.ContentSecurityPolicy = "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src 'self' data: blob:; connect-src 'self'";
        await h.Response.Body.WriteAsync(Html.Value, h.RequestAborted);
    }
}
